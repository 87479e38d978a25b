//! `[audit]`: the JSON-lines mirror of the audit log, if any.

use std::path::PathBuf;

use serde::Deserialize;

use super::check::non_empty_path;

/// `[audit]`: `file` mirrors the audit log as JSON lines.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuditFile {
    file: Option<String>,
}

/// Validates `[audit]`: the mirror's path, or `None` when unset or empty.
pub(super) fn validate(file: AuditFile) -> Option<PathBuf> {
    non_empty_path(file.file)
}
