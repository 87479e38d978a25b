//! `[backup]`: scheduled backups (a cron, a directory, how many to keep)
//! and the revocation journal a restore re-applies (see README, "Backup and
//! restore").

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};
use super::schedule::validate_cron;

/// `[backup]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BackupFile {
    schedule: Option<String>,
    dir: Option<String>,
    keep: Option<i64>,
    journal: Option<String>,
}

/// `[backup]`, validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackupConfig {
    /// Six-field cron (UTC) for scheduled backups; `None`: none.
    pub schedule: Option<String>,
    /// Where scheduled backups are written (`credd-<time>.backup`).
    pub dir: Option<PathBuf>,
    /// Scheduled backups kept; older ones are removed after a new one is
    /// written.
    pub keep: u32,
    /// The revocation journal (default `<data_dir>-journal/revocations.log`,
    /// beside the data directory); `None` (`journal = ""`): none, and a
    /// restore then needs `--without-journal`.
    pub journal: Option<PathBuf>,
}

/// Where the journal goes when `[backup] journal` is unset: a directory
/// beside the data directory (`/var/lib/credd` -> `/var/lib/credd-journal/`),
/// so a restore that replaces the data directory still finds it.
pub fn default_journal(data_dir: &Path) -> PathBuf {
    let name = data_dir
        .file_name()
        .map_or_else(|| "credd".into(), |n| n.to_string_lossy().into_owned());
    data_dir
        .with_file_name(format!("{name}-journal"))
        .join("revocations.log")
}

/// Validates `[backup]`: a schedule needs a directory; the journal lives
/// outside the data directory (a restore replaces that). A cluster node
/// keeps one too (its replica journals every node's changes).
pub(super) fn validate(
    file: BackupFile,
    data_dir: &Path,
    check: &Check,
) -> Result<BackupConfig, ConfigError> {
    let schedule = file.schedule.filter(|s| !s.trim().is_empty());
    if let Some(expr) = &schedule {
        validate_cron(expr).map_err(|m| check.invalid("backup.schedule", m))?;
    }
    let dir = non_empty_path(file.dir);
    if schedule.is_some() && dir.is_none() {
        return Err(check.invalid(
            "backup.dir",
            "must name a directory when backup.schedule is set".into(),
        ));
    }
    let journal = match file.journal {
        // Unset: beside the data directory.
        None => Some(default_journal(data_dir)),
        Some(path) => non_empty_path(Some(path)),
    };
    if let Some(path) = &journal {
        if path.starts_with(data_dir) {
            return Err(check.invalid(
                "backup.journal",
                format!(
                    "{} is inside data_dir {}: a restore replaces the data directory, so the journal must live outside it",
                    path.display(),
                    data_dir.display()
                ),
            ));
        }
    }
    Ok(BackupConfig {
        schedule,
        dir,
        keep: check.whole("backup.keep", file.keep, 7, 1..=10_000)?,
        journal,
    })
}
