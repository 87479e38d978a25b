//! Backups and what a restore does through the engine: `backup` (a global
//! admin key with `admin:manage`, audited as `store.backup`) writes the
//! store's consistent copy off the async workers; `reapply_journal` applies
//! the revocation journal's lines written after the backup to the restored
//! store, as the actor `restore`, each with its audit event, so a key
//! revoked, disabled, deleted or rotated away after the backup stays
//! refused, and so does every key of an account suspended or a user
//! disabled or deleted after it.

use std::path::Path;

use tracing::info;

use super::credentials::Change;
use super::{Actor, Engine, Error, audit_entry, offload};
use crate::lifecycle::{AccountStatus, DisabledReason, Status, UserStatus};
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
            let outcome = match entry.event {
                JournalEvent::AccountSuspended => self.reapply_suspension(&actor, entry).await,
                JournalEvent::UserDisabled | JournalEvent::UserDeleted => {
                    self.reapply_user(&actor, entry).await
                }
                JournalEvent::Gap | JournalEvent::Start => Ok(Reapplied::Unchanged),
                _ => self.reapply_credential(&actor, entry).await,
            }?;
            match outcome {
                Reapplied::Applied => report.applied += 1,
                Reapplied::Unchanged => report.unchanged += 1,
                Reapplied::Absent => report.absent += 1,
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

    /// Re-applies a journal line about a credential.
    async fn reapply_credential(
        &self,
        actor: &Actor,
        entry: &JournalEntry,
    ) -> Result<Reapplied, Error> {
        let changed = std::sync::atomic::AtomicBool::new(false);
        let result = self
            .modify(
                actor,
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
            Ok(_) if changed.into_inner() => Ok(Reapplied::Applied),
            Ok(_) => Ok(Reapplied::Unchanged),
            Err(Error::NotFound { .. }) => Ok(Reapplied::Absent),
            Err(e) => Err(e),
        }
    }

    /// Re-applies an account's suspension.
    async fn reapply_suspension(
        &self,
        actor: &Actor,
        entry: &JournalEntry,
    ) -> Result<Reapplied, Error> {
        match self.store.get_account(&entry.account)? {
            None => Ok(Reapplied::Absent),
            Some(account) if account.status == AccountStatus::Suspended => Ok(Reapplied::Unchanged),
            Some(_) => {
                let reason = format!("suspended after the backup (journal line {})", entry.n);
                self.suspend_account(actor, &entry.account, &reason).await?;
                Ok(Reapplied::Applied)
            }
        }
    }

    /// Re-applies a user's disabling or deletion (which revokes its
    /// passcode, as DeleteUser does).
    async fn reapply_user(&self, actor: &Actor, entry: &JournalEntry) -> Result<Reapplied, Error> {
        let Some(user) = self.store.get_user(&entry.account, &entry.user)? else {
            return Ok(Reapplied::Absent);
        };
        if entry.event == JournalEvent::UserDeleted {
            self.delete_user(actor, &entry.account, &entry.user).await?;
            return Ok(Reapplied::Applied);
        }
        if user.status == UserStatus::Disabled {
            return Ok(Reapplied::Unchanged);
        }
        self.set_user_status(actor, &entry.account, &entry.user, UserStatus::Disabled)
            .await?;
        Ok(Reapplied::Applied)
    }
}

/// What re-applying one line did.
enum Reapplied {
    Applied,
    Unchanged,
    Absent,
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
