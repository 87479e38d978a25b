//! The first admin key. On a store that has never had one, credd issues a
//! key holding every scope and writes it to `[auth] bootstrap_admin_key_file`
//! (mode 0600, written to a temporary file, synced and renamed into place).
//! A `meta` flag, set only after the file is in place, makes later starts
//! leave the file alone. `credd issue-admin-key` uses the same code to
//! recover from a lost key while the daemon is stopped.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use tracing::info;

use super::DaemonError;
use crate::engine::{Actor, Engine};
use crate::secret::Secret;

/// `meta` key set once the bootstrap key file is written.
const META_BOOTSTRAPPED: &str = "admin_key_bootstrapped";

/// Issues and writes the bootstrap admin key unless one was issued before.
/// Returns the new key's id, if one was made.
///
/// # Errors
/// Storage failures and a key file that cannot be written.
pub async fn ensure_admin_key(engine: &Engine, path: &Path) -> Result<Option<String>, DaemonError> {
    if engine.store().meta_get(META_BOOTSTRAPPED)?.is_some() {
        return Ok(None);
    }
    let id = issue_to_file(engine, path, "bootstrap").await?;
    engine.store().meta_put(META_BOOTSTRAPPED, id.as_bytes())?;
    engine.store().flush().await?;
    info!(admin_key = %id, path = %path.display(), "issued the bootstrap admin key (every scope); the key is in that file");
    Ok(Some(id))
}

/// Issues a key holding every scope and writes it to `path`, replacing what
/// was there. Returns its id.
///
/// # Errors
/// Storage failures and a key file that cannot be written.
pub async fn issue_to_file(
    engine: &Engine,
    path: &Path,
    name: &str,
) -> Result<String, DaemonError> {
    let (view, secret) = engine
        .issue_root_admin_key(&Actor::system(), name)
        .await
        .map_err(|e| DaemonError::AdminKey(e.to_string()))?;
    write_key_file(path, &secret).map_err(|source| DaemonError::KeyFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(view.record.id)
}

/// Writes `secret` and a newline to `path` with mode 0600, atomically.
fn write_key_file(path: &Path, secret: &Secret) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = Path::new(&tmp_name);
    let _ = std::fs::remove_file(tmp);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)?;
    file.write_all(secret.expose().as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}
