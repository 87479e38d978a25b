//! `credd restore --from FILE --data-dir DIR`: rebuilds a data directory
//! from a backup, offline. Nothing is written before the whole file is
//! checked (magic, checksum, the rows of each tree, the pepper's
//! fingerprint). The store is built in a staging directory beside the
//! target (`.NAME.restoring-PID`), the revocation journal's lines written
//! after the backup are re-applied there through the engine, and only then
//! is the staging directory renamed to the target: a crash part-way leaves
//! the target absent (or empty), never half a store. Without a journal the
//! restore refuses unless `--without-journal` says that changes after the
//! backup may be lost.

use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::DaemonError;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::secret::Pepper;
use crate::store::{self, BackupHeader};

/// What `credd restore` was asked.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The backup file.
    pub from: PathBuf,
    /// The pepper file of the store the backup was taken from (default
    /// `pepper_file` of the configuration, when it exists).
    pub pepper: Option<PathBuf>,
    /// The revocation journal (default: the one the backup was taken
    /// beside, else `[backup] journal`).
    pub journal: Option<PathBuf>,
    /// Restore without re-applying a journal.
    pub without_journal: bool,
}

fn refused(message: impl Into<String>) -> DaemonError {
    DaemonError::Restore(message.into())
}

/// Restores into `config.data_dir`; the line to print.
///
/// # Errors
/// [`DaemonError::Restore`] saying what is wrong (a non-empty target, no
/// pepper, no journal, a damaged file); store errors.
pub async fn restore(config: &Config, request: RestoreRequest) -> Result<String, DaemonError> {
    if !matches!(config.store, crate::config::StoreConfig::Sled) {
        return Err(refused(
            "credd restore builds a sled data directory: run it with a sled configuration, then carry the result into a cluster with `credd migrate --from sled:DIR --to etcd:...` (README, Backup and restore)",
        ));
    }
    let target = config.data_dir.clone();
    if std::fs::read_dir(&target).is_ok_and(|mut d| d.next().is_some()) {
        return Err(refused(format!(
            "{} is not empty: restore into an empty or new directory (move the old one aside first)",
            target.display()
        )));
    }
    let pepper_path = request
        .pepper
        .clone()
        .unwrap_or_else(|| config.pepper_file.clone());
    if !pepper_path.is_file() {
        return Err(refused(format!(
            "no pepper file at {}: pass --pepper with the pepper file of the store the backup was taken from",
            pepper_path.display()
        )));
    }
    let (pepper, _) = Pepper::load_or_create(&pepper_path)?;
    let header = store::inspect_backup(&request.from, pepper.fingerprint())?;
    let entries = journal_entries(config, &request, &header)?;
    let staging = staging_dir(&target)?;
    let built = build(
        config,
        &request,
        &pepper_path,
        &staging,
        &entries,
        header.total_rows(),
    )
    .await;
    let report = match built {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    // The target is absent or empty (checked above): rename(2) replaces an
    // empty directory.
    std::fs::rename(&staging, &target).map_err(|e| {
        refused(format!(
            "cannot move {} into place as {}: {e}",
            staging.display(),
            target.display()
        ))
    })?;
    sync_dir(target.parent().unwrap_or(Path::new(".")))?;
    Ok(format!(
        "restored {} rows ({} credentials) from a backup taken at {} into {}; journal: {}",
        header.total_rows(),
        header.rows_of("credentials"),
        header.created_at,
        target.display(),
        report
    ))
}

/// The journal lines after the backup's position, or none when the
/// operator said so; refuses when a needed journal is missing.
fn journal_entries(
    config: &Config,
    request: &RestoreRequest,
    header: &BackupHeader,
) -> Result<Vec<store::JournalEntry>, DaemonError> {
    if request.without_journal {
        return Ok(Vec::new());
    }
    // The one named, else the one the backup was taken beside (when it is
    // still there), else the configured one (when it exists).
    let recorded = header.journal.as_ref().map(|m| PathBuf::from(&m.path));
    let journal = request.journal.clone().or_else(|| {
        recorded
            .into_iter()
            .chain(config.backup.journal.clone())
            .find(|p| p.is_file())
    });
    match (&header.journal, journal) {
        (Some(mark), Some(path)) => match header.etcd_revision {
            // A cluster node's backup: any node's journal, by revision.
            Some(revision) => store::read_journal_after_revision(&path, revision),
            None => store::read_journal(&path, mark.position),
        }
        .map_err(refused),
        (Some(mark), None) => Err(refused(format!(
            "the backup was taken beside the revocation journal {}, which is not there any more: pass --journal with it (or a copy), so revocations after {} are re-applied, or --without-journal to accept losing them",
            mark.path, header.created_at
        ))),
        (None, _) => Err(refused(format!(
            "the backup was taken without a revocation journal ([backup] journal = \"\"): revocations, disables and deletions after {} cannot be re-applied; pass --without-journal to restore anyway",
            header.created_at
        ))),
    }
}

/// A fresh staging directory beside `target`, removing ones that earlier,
/// interrupted restores left.
fn staging_dir(target: &Path) -> Result<PathBuf, DaemonError> {
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .ok_or_else(|| refused(format!("{} names no directory", target.display())))?
        .to_string_lossy()
        .into_owned();
    let prefix = format!(".{name}.restoring-");
    std::fs::create_dir_all(parent)
        .map_err(|e| refused(format!("cannot create {}: {e}", parent.display())))?;
    if let Ok(entries) = std::fs::read_dir(parent) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let staging = parent.join(format!("{prefix}{}", std::process::id()));
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&staging)
        .map_err(|e| refused(format!("cannot create {}: {e}", staging.display())))?;
    Ok(staging)
}

/// Loads the backup into `staging`, copies the pepper there when the
/// configuration keeps it inside the data directory, and re-applies the
/// journal through an engine opened on it.
async fn build(
    config: &Config,
    request: &RestoreRequest,
    pepper_path: &Path,
    staging: &Path,
    entries: &[store::JournalEntry],
    rows: u64,
) -> Result<String, DaemonError> {
    let mut staged = config.clone();
    staged.data_dir = staging.to_path_buf();
    if let Ok(inside) = config.pepper_file.strip_prefix(&config.data_dir) {
        staged.pepper_file = staging.join(inside);
        copy_private(pepper_path, &staged.pepper_file)?;
    } else if !config.pepper_file.is_file() {
        // Never let the engine below make a new pepper there.
        return Err(refused(format!(
            "the daemon reads its pepper from {}, which does not exist: put the pepper file of the store the backup was taken from there first",
            config.pepper_file.display()
        )));
    }
    // With the pepper outside the data directory, the one the daemon will
    // read is checked against the backup here.
    let (pepper, _) = Pepper::load_or_create(&staged.pepper_file)?;
    let bar = crate::progress::bar(
        Some(rows),
        "restoring {pos}/{len} rows, {per_sec}, eta {eta} {wide_bar}",
    );
    let loaded = store::restore_backup(
        &request.from,
        &staged.db_dir(),
        pepper.fingerprint(),
        &|rows| {
            bar.set_position(rows);
        },
    )?;
    bar.finish_and_clear();
    let engine = super::open_engine(&staged, Arc::new(SystemClock))?;
    let report = engine
        .reapply_journal(entries)
        .await
        .map_err(|e| refused(format!("re-applying the journal: {e}")))?;
    engine.store().flush().await?;
    drop(engine);
    sync_dir(staging)?;
    let journal = if request.without_journal {
        "not re-applied (--without-journal)".to_string()
    } else {
        format!(
            "{} lines after the backup, {} applied, {} already so, {} about what was made after it",
            entries.len(),
            report.applied,
            report.unchanged,
            report.absent
        )
    };
    Ok(format!(
        "{journal}; {} login sessions ended (users log in again)",
        loaded.sessions_ended
    ))
}

/// Copies the pepper file (mode 0600).
fn copy_private(from: &Path, to: &Path) -> Result<(), DaemonError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(from).map_err(|e| refused(format!("cannot read {}: {e}", from.display())))?,
    );
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| refused(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(|e| refused(format!("cannot write {}: {e}", to.display())))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| refused(format!("cannot write {}: {e}", to.display())))
}

fn sync_dir(dir: &Path) -> Result<(), DaemonError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| refused(format!("cannot sync {}: {e}", dir.display())))
}
