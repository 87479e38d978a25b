//! The lifecycle sweep: reads the `deadlines` index up to `now` in bounded
//! batches and applies each due credential's plan in one transaction (state,
//! indexes, audit entries and outbox notices together). Its cost grows with
//! the number of due events, never with the number of credentials.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::{Engine, Error, MAX_ATTEMPTS};
use crate::lifecycle::{self, CredentialRecord, PlannedNotice, Status};
use crate::store::{AuditEntry, Commit, OutboxNotice};

/// Due deadlines read per batch: bounds memory and the time between yields.
pub const SWEEP_BATCH: usize = 512;

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Due index entries read.
    pub due_events: usize,
    /// Credential records read (once per due credential).
    pub records_touched: usize,
    /// Transitions applied, by step name.
    pub transitions: BTreeMap<&'static str, usize>,
    /// Notices offered to the outbox (duplicates are dropped by the store).
    pub notices_queued: usize,
    /// Index entries that no record accounted for, removed.
    pub stale_entries: usize,
    /// Credentials whose due inactivity deadline moved forward because
    /// they were used since it was scheduled (lazy rescheduling).
    pub rescheduled: usize,
}

impl Engine {
    /// Flushes pending uses, then applies every deadline due at the current
    /// time. Each credential's transitions are one transaction; the database
    /// is flushed after every batch.
    ///
    /// # Errors
    /// A storage failure; what was committed before it stays committed and
    /// the rest is picked up by the next sweep.
    pub async fn sweep(&self) -> Result<SweepReport, Error> {
        self.sweep_until(&|| false).await
    }

    /// [`Engine::sweep`], stopping between batches once `stop` says so (at
    /// shutdown). What is left is due at the next sweep.
    ///
    /// # Errors
    /// As [`Engine::sweep`].
    pub async fn sweep_until(
        &self,
        stop: &(dyn Fn() -> bool + Sync),
    ) -> Result<SweepReport, Error> {
        self.flush_usage().await?;
        let now = self.clock.now();
        let mut report = SweepReport::default();
        while !stop() {
            let n_due = super::offload::blocking(|| self.sweep_batch(now, &mut report))?;
            if n_due == 0 {
                break;
            }
            self.store.flush().await?;
            tokio::task::yield_now().await;
        }
        if !stop() {
            self.sweep_sessions().await?;
        }
        if !stop() {
            let removed = self.sweep_usage().await?;
            if removed > 0 {
                report.transitions.insert("usage_rows_removed", removed);
            }
            let removed = self.sweep_audit().await?;
            if removed > 0 {
                report.transitions.insert("audit_events_removed", removed);
            }
        }
        if !stop() {
            let expired = self.expire_consents().await?;
            if expired > 0 {
                report.transitions.insert("consent_expire", expired);
            }
            let grant_notices = self.queue_grant_notices().await?;
            report.notices_queued += grant_notices;
        }
        if report.due_events > 0 {
            info!(
                due_events = report.due_events,
                records_touched = report.records_touched,
                rescheduled = report.rescheduled,
                notices_queued = report.notices_queued,
                transitions = ?report.transitions,
                "sweep finished"
            );
        }
        Ok(report)
    }

    /// Applies one batch of due deadlines (not yet durable); returns how many
    /// were due, 0 when none is left.
    fn sweep_batch(&self, now: DateTime<Utc>, report: &mut SweepReport) -> Result<usize, Error> {
        let due = self.store.due_deadlines(now, SWEEP_BATCH)?;
        if due.is_empty() {
            return Ok(0);
        }
        report.due_events += due.len();
        let mut seen: Vec<&str> = Vec::with_capacity(due.len());
        for entry in &due {
            if seen.contains(&entry.credential_id.as_str()) {
                continue;
            }
            seen.push(&entry.credential_id);
            self.sweep_credential(&entry.credential_id, now, report)?;
        }
        // Anything of this batch still indexed is not backed by its
        // record (which the plan above made current): drop it, so the
        // sweep always moves forward.
        for entry in &due {
            if self.store.has_deadline(
                &entry.credential_id,
                entry.deadline.at,
                entry.deadline.event,
            )? {
                warn!(credential_id = %entry.credential_id, event = ?entry.deadline.event, "removing a stale deadline entry");
                self.store
                    .remove_deadline(&entry.credential_id, &entry.deadline)?;
                report.stale_entries += 1;
            }
        }
        Ok(due.len())
    }

    fn sweep_credential(
        &self,
        id: &str,
        now: DateTime<Utc>,
        report: &mut SweepReport,
    ) -> Result<(), Error> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some(current) = self.store.get(id)? else {
                return Ok(());
            };
            if attempt == 0 {
                report.records_touched += 1;
            }
            // Uses flushed to `last_used` and those still in memory count:
            // this is where the inactivity deadline is rescheduled lazily.
            let mut base = current.clone();
            base.last_used_at = self.last_use(&current)?;
            let plan = lifecycle::plan_due(&base, &self.policy, now);
            if plan.steps.is_empty() {
                match self.reschedule(&current, base)? {
                    Some(Commit::Done) => report.rescheduled += 1,
                    Some(Commit::Conflict) => continue,
                    None => {}
                }
                return Ok(());
            }
            if plan
                .steps
                .iter()
                .any(|(step, _)| matches!(step, lifecycle::Step::DisableInactivity))
            {
                self.usage.watch(id);
            }
            let new = plan.record.map(|mut record| {
                record.updated_at = now;
                record.scheduled = lifecycle::next_deadlines(&record, &self.policy);
                record
            });
            let mut from = current.status;
            let audits: Vec<AuditEntry> = plan
                .steps
                .iter()
                .map(|(step, to)| {
                    let entry = AuditEntry {
                        at: now,
                        actor: "system".to_string(),
                        action: step_action(step.name()),
                        credential_id: current.id.clone(),
                        account_id: current.account_id.clone(),
                        detail: format!("{from:?} -> {to:?}"),
                        outcome: "ok",
                        request_id: String::new(),
                    };
                    from = *to;
                    entry
                })
                .collect();
            let account_contacts = self
                .accounts
                .get(&base.account_id)
                .map(|a| a.record.contact_emails.clone())
                .unwrap_or_default();
            let notices: Vec<OutboxNotice> = plan
                .notices
                .iter()
                .map(|n| outbox_notice(&base, n, &account_contacts, now))
                .collect();
            if self
                .store
                .commit_transition(Some(&current), new.as_ref(), &audits, &notices)?
                == Commit::Conflict
            {
                continue;
            }
            let mut from = current.status;
            for (step, to) in &plan.steps {
                info!(
                    credential_id = %current.id,
                    account_id = %current.account_id,
                    transition = step.name(),
                    from = ?from,
                    to = if new.is_none() && matches!(step, lifecycle::Step::DeleteInactivity) { "Deleted".to_string() } else { format!("{to:?}") },
                    reason = "policy",
                    "lifecycle transition"
                );
                from = *to;
                *report.transitions.entry(step.name()).or_default() += 1;
            }
            report.notices_queued += notices.len();
            return Ok(());
        }
        Err(Error::Contention { id: id.to_string() })
    }

    /// Writes `base` (the record with its latest use) with the deadlines
    /// that use implies, when they differ from the scheduled ones: a due
    /// inactivity deadline of a credential used since moves forward.
    /// `None` when nothing needed writing.
    fn reschedule(
        &self,
        current: &CredentialRecord,
        mut base: CredentialRecord,
    ) -> Result<Option<Commit>, Error> {
        base.scheduled = lifecycle::next_deadlines(&base, &self.policy);
        if base.scheduled == current.scheduled {
            return Ok(None);
        }
        tracing::debug!(credential_id = %current.id, "inactivity deadline moved by a later use");
        Ok(Some(self.store.commit(Some(current), Some(&base), None)?))
    }

    /// A credential disabled for inactivity while a Verify that had already
    /// read it as ACTIVE was answering VALID: the use proves it is in use, so
    /// the flush of that use reactivates it.
    pub(super) fn reactivated_by_use(record: &CredentialRecord, used_at: DateTime<Utc>) -> bool {
        record.status == Status::Disabled
            && record.disabled_reason == Some(lifecycle::DisabledReason::Inactivity)
            && used_at >= record.updated_at
            && used_at < record.expires_at
    }
}

fn step_action(step: &'static str) -> &'static str {
    match step {
        "expiry_warning" => "lifecycle.expiry_warning",
        "expire" => "lifecycle.expire",
        "disable_inactivity" => "lifecycle.disable_inactivity",
        "delete_inactivity" => "lifecycle.delete_inactivity",
        _ => "lifecycle.retire_rotation",
    }
}

/// The notice to queue: to the credential's contacts and its account's.
fn outbox_notice(
    record: &CredentialRecord,
    notice: &PlannedNotice,
    account_contacts: &[String],
    now: DateTime<Utc>,
) -> OutboxNotice {
    let mut recipients = record.notify_emails.clone();
    for contact in account_contacts {
        if !recipients.iter().any(|r| r.eq_ignore_ascii_case(contact)) {
            recipients.push(contact.clone());
        }
    }
    OutboxNotice {
        kind: notice.kind,
        deadline: notice.deadline,
        credential_id: record.id.clone(),
        account_id: record.account_id.clone(),
        name: record.name.clone(),
        credential_kind: record.kind,
        environment: record.environment,
        secret_hint: record
            .current_version()
            .map(|v| v.hint.clone())
            .unwrap_or_default(),
        expires_at: record.expires_at,
        delete_at: notice.delete_at,
        recipients,
        queued_at: now,
    }
}

#[cfg(test)]
mod tests;
