//! The first admin key. On a store that has never had one, credd issues a
//! key holding every scope and writes it to `[auth] bootstrap_admin_key_file`
//! (mode 0600, written to a temporary file, synced and renamed into place).
//! A `meta` flag, set only after the file is in place, makes later starts
//! leave the file alone. The key's id is also kept in `shared_meta` (claimed
//! before the key is issued), which a cluster replicates: only the first
//! node of a cluster issues a bootstrap key, and the others start without
//! a key file (they accept that key like any other). A node that dies
//! between the claim and the file issues the key at its next start (the
//! claim names its node id); if it never comes back, `credd
//! issue-admin-key` makes one. `credd issue-admin-key` uses the same code to
//! recover from a lost key while the daemon is stopped.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use tracing::info;

use super::DaemonError;
use crate::engine::{Actor, Engine};
use crate::secret::Secret;
use crate::store::BOOTSTRAP_PENDING;

/// `meta` key set once the bootstrap key file is written.
const META_BOOTSTRAPPED: &str = "admin_key_bootstrapped";

/// Issues and writes the bootstrap admin key unless one was issued before,
/// by this node or any other of its cluster. Returns the new key's id, if
/// one was made.
///
/// # Errors
/// Storage failures and a key file that cannot be written.
pub async fn ensure_admin_key(engine: &Engine, path: &Path) -> Result<Option<String>, DaemonError> {
    let store = engine.store();
    if let Some(id) = store.meta_get(META_BOOTSTRAPPED)? {
        // Stores from before the shared marker: record it, so a migration
        // to a cluster carries it.
        if store.bootstrap_marker()?.is_none() {
            store.set_bootstrap_marker(&String::from_utf8_lossy(&id), true)?;
        }
        return Ok(None);
    }
    // Claimed by this data directory's node: a start cut off before the
    // key file was written claims it again.
    let claim = format!("{BOOTSTRAP_PENDING} {:016x}", store.node_id()?);
    let issued = match store.set_bootstrap_marker(&claim, true)? {
        true => None,
        false => store.bootstrap_marker()?.filter(|marker| *marker != claim),
    };
    if let Some(issued) = issued {
        store.meta_put(META_BOOTSTRAPPED, issued.as_bytes())?;
        store.flush().await?;
        info!(admin_key = %issued, "the bootstrap admin key was issued before, by another node of the cluster (or before a migration): this node writes no key file; use that key, or `credd issue-admin-key`");
        return Ok(None);
    }
    let id = issue_to_file(engine, path, "bootstrap").await?;
    store.set_bootstrap_marker(&id, false)?;
    store.meta_put(META_BOOTSTRAPPED, id.as_bytes())?;
    store.flush().await?;
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
