//! `[audit]`: the JSON-lines mirror of the audit log, if any, and how long
//! the log keeps its events.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};

/// `[audit]`: `file` mirrors the audit log as JSON lines; `retention_days`
/// (default 400, 0: for ever) is how long events are kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditFile {
    file: Option<String>,
    retention_days: Option<i64>,
}

/// `[audit]`, validated.
pub(super) struct Audit {
    pub(super) file: Option<PathBuf>,
    pub(super) retention_days: u32,
}

/// Validates `[audit]`: the mirror's path (`None` when unset or empty) and
/// the retention, 0 to 36500 days.
pub(super) fn validate(file: AuditFile, check: &Check) -> Result<Audit, ConfigError> {
    Ok(Audit {
        file: non_empty_path(file.file),
        retention_days: check.whole(
            "audit.retention_days",
            file.retention_days,
            400,
            0..=36_500,
        )?,
    })
}
