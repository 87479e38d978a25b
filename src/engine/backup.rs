//! Backups and what a restore does through the engine: `backup` (a global
//! admin key with `admin:manage`, audited as `store.backup`) writes the
//! store's consistent copy off the async workers; `reapply_journal` applies
//! the revocation journal's lines written after the backup to the restored
//! store, as the actor `restore`, each with its audit event, so a key
//! revoked, disabled, deleted or rotated away after the backup stays
//! refused.

use std::path::Path;

use tracing::info;

use super::credentials::Change;
use super::{Actor, Engine, Error, audit_entry, offload};
use crate::lifecycle::{DisabledReason, Status};
use crate::store::{BackupHeader, JournalEntry, JournalEvent};

/// What re-applying the journal did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReapplyReport {
    /// Lines that changed a restored credential.
    pub applied: usize,
    /// Lines the restored store already reflected.
    pub unchanged: usize,
    /// Lines about credentials the backup does not hold (created after it).
    pub absent: usize,
}

impl Engine {
    /// Writes a consistent backup of the whole store to `out`.
    ///
    /// # Errors
    /// `PermissionDenied` unless the actor is a global key with
    /// `admin:manage`; storage and file errors (on a cluster node, also a
    /// full read of its replica during the copy).
    pub fn backup(&self, actor: &Actor, out: &Path) -> Result<BackupHeader, Error> {
        self.authorize(actor, "store.backup", "", "", actor.allows_key_management())?;
        let now = self.clock.now();
        let header = offload::blocking(|| self.store.backup(out, now))?;
        let detail = format!(
            "{} rows, {} bytes, writes held {} ms",
            header.total_rows(),
            header.body_bytes,
            header.write_hold_ms
        );
        self.store
            .append_audit(&audit_entry(actor, now, "store.backup", "", "", detail))?;
        info!(actor = %actor.id, rows = header.total_rows(), write_hold_ms = header.write_hold_ms, "backup written");
        Ok(header)
    }

    /// Applies `entries` (journal lines written after a backup) to the
    /// store restored from it.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn reapply_journal(&self, entries: &[JournalEntry]) -> Result<ReapplyReport, Error> {
        let actor = Actor::unrestricted("restore");
        let mut report = ReapplyReport::default();
        for entry in entries {
            let changed = std::sync::atomic::AtomicBool::new(false);
            let result = self
                .modify(
                    &actor,
                    &entry.id,
                    "credential.restore_reapply",
                    |current, now| {
                        let change = reapplied(entry, current, now);
                        changed.store(
                            !matches!(change, Change::Unchanged),
                            std::sync::atomic::Ordering::Relaxed,
                        );
                        Ok(change)
                    },
                )
                .await;
            match result {
                Ok(_) if changed.into_inner() => report.applied += 1,
                Ok(_) => report.unchanged += 1,
                Err(Error::NotFound { .. }) => report.absent += 1,
                Err(e) => return Err(e),
            }
        }
        info!(
            applied = report.applied,
            unchanged = report.unchanged,
            absent = report.absent,
            "journal re-applied to the restored store"
        );
        Ok(report)
    }
}

/// What journal line `entry` changes in the restored `current`.
fn reapplied(
    entry: &JournalEntry,
    current: &crate::lifecycle::CredentialRecord,
    now: chrono::DateTime<chrono::Utc>,
) -> Change {
    let why = |what: &str| format!("{what} after the backup (journal line {})", entry.n);
    let mut new = current.clone();
    match entry.event {
        JournalEvent::Deleted => return Change::Delete,
        JournalEvent::Revoked if current.status != Status::Revoked => {
            new.status = Status::Revoked;
            new.disabled_reason = None;
            new.status_reason = why("revoked");
        }
        JournalEvent::Disabled
            if crate::lifecycle::effective_status(current, now) == Status::Active =>
        {
            new.status = Status::Disabled;
            new.disabled_reason = Some(DisabledReason::Admin);
            new.status_reason = why("disabled");
        }
        JournalEvent::Retired => {
            new.versions
                .retain(|v| !entry.versions.contains(&v.version));
            if new.versions.len() == current.versions.len() {
                return Change::Unchanged;
            }
            if new.versions.is_empty() {
                // The secret that replaced it was issued after the backup.
                new.versions = current.versions.clone();
                new.status = Status::Revoked;
                new.disabled_reason = None;
                new.status_reason = why("its secret was rotated away");
            }
        }
        _ => return Change::Unchanged,
    }
    Change::Update(Box::new(new), format!("journal line {}", entry.n))
}
