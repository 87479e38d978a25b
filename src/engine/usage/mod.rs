//! Successful uses collected in memory, so that Verify never writes to disk.
//! The engine drains them into the store in batches: every
//! `usage_flush_interval`, before every sweep and at shutdown. A crash loses
//! at most one interval of "last used" times.
//!
//! A flush writes each used credential's latest use into the store's
//! `last_used` tree, 8 bytes per key in batches: it neither reads nor
//! rewrites the record, and it does not move the inactivity deadline. That
//! deadline is rescheduled lazily: when it comes due, the sweep reads the
//! last use and moves it if the credential was used since (`sweep`).
//! The one exception is a credential the sweep has just disabled for
//! inactivity while a Verify that had read it as ACTIVE was answering
//! VALID: the sweep names it here ([`UsageLog::watch`]) before it commits,
//! and the flush writes that credential's use through its record, which
//! reactivates it.
//!
//! Verify answers that name a credential are also counted here, per
//! credential and UTC day by outcome (`lifecycle::usage`), and a flush adds
//! them to the store's `usage` rows, per credential and summed per account:
//! counting adds no write to Verify either. `log` is the in-memory side,
//! `report` GetUsage and the retention sweep.
//!
//! The flush's store work runs on a thread of its own at a lower priority
//! (`offload::background`): on a busy machine the threads answering Verify
//! get the cores first.

mod log;
mod report;

pub use log::UsageLog;
pub use report::{MAX_REPORT_DAYS, UsageDay, UsageQuery};

/// Days of daily usage kept unless `[schedule] usage_retention_days` says otherwise.
pub const DEFAULT_USAGE_RETENTION_DAYS: u32 = 400;

use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

use tracing::{debug, info, warn};

use super::{Actor, Engine, Error, MAX_ATTEMPTS, audit_entry, offload};
use crate::lifecycle::{self, Status, UsageBucket};
use crate::store::{Commit, UsageRow, UsageSubject};
use log::{OwnedRow, Pending};

impl Engine {
    /// Notes a VALID answer (counted, and a use), as Verify does: for
    /// benches and tests that need uses of many credentials without their
    /// secrets.
    pub fn note_valid_use(&self, credential_id: &str, account_id: &str, at: DateTime<Utc>) {
        self.usage
            .note(credential_id, account_id, UsageBucket::Valid, at);
    }

    /// Sets how many days of daily usage the sweep keeps (at least 1).
    pub fn set_usage_retention_days(&mut self, days: u32) {
        self.usage_retention_days = days.max(1);
    }

    /// Counts a Verify answer about a credential, and notes its use when
    /// VALID. Sessions are not counted (their use is their touch).
    pub(super) fn count_verify(
        &self,
        credential: &super::VerifiedCredential,
        outcome: &lifecycle::VerifyOutcome,
        at: DateTime<Utc>,
    ) {
        if credential.kind == lifecycle::Kind::Session {
            return;
        }
        if let Some(bucket) = UsageBucket::of(outcome) {
            self.usage
                .note(&credential.id, &credential.account_id, bucket, at);
        }
    }

    /// How many credentials have uses not yet written.
    pub fn pending_usage(&self) -> usize {
        self.usage.len()
    }

    /// Writes pending uses to the store (on a lowered background thread)
    /// and flushes. Returns how many credentials were updated.
    ///
    /// # Errors
    /// A storage failure; the uses not written are kept for the next flush.
    pub async fn flush_usage(&self) -> Result<usize, Error> {
        let (n_touched, n_written) = offload::background(|| self.write_usage())?;
        if n_touched + n_written > 0 {
            self.store.flush().await?;
        }
        debug!(n_written, "usage flushed");
        self.share_usage().await;
        Ok(n_written)
    }

    /// On a cluster node, after a flush: publishes this node's counts of
    /// the days that are over (so GetUsage on every node counts them), and,
    /// off the leader (where the sweep does not run), removes this node's
    /// local rows past the retention once a day. A failure is logged; the
    /// next flush tries again. Nothing to do with sled.
    async fn share_usage(&self) {
        let today = lifecycle::day_number(self.clock.now());
        let published = offload::blocking(|| {
            let _flushing = self.usage.flushing();
            self.store.publish_usage(today - 1)
        });
        match published {
            Ok(0) => {}
            Ok(n_rows) => match self.store.flush().await {
                Ok(()) => info!(n_rows, "usage of past days published to the cluster"),
                Err(e) => warn!(error = %e, "publishing usage: flush failed"),
            },
            Err(e) => warn!(error = %e, "publishing usage failed; the next flush retries"),
        }
        let leading = *self.store.leading().borrow();
        if !leading && self.usage_swept_on.swap(today, Ordering::Relaxed) != today {
            if let Err(e) = self.sweep_usage().await {
                warn!(error = %e, "removing usage past its retention failed");
            }
        }
    }

    /// Writes session touches, pending uses, counts and spent credits (not
    /// yet durable); returns how many touches and credit states, and how
    /// many last uses, were written.
    pub(super) fn write_usage(&self) -> Result<(usize, usize), Error> {
        let n_touched = self.flush_session_touches()?;
        let _flushing = self.usage.flushing();
        // The drained table is read in place and then kept, emptied, for
        // the next interval (`UsageLog::recycle`): no copy of it is made.
        let table = self.usage.drain();
        let written = self.write_drained(&table);
        self.usage.recycle(table);
        let (n_credits, n_written) = written?;
        Ok((n_touched + n_credits, n_written))
    }

    /// [`Engine::write_usage`] of one drained table: its counts (with the
    /// rows a failed flush left), the spent credits, then its last uses.
    fn write_drained(&self, drained: &HashMap<String, Pending>) -> Result<(usize, usize), Error> {
        let leftover = self.usage.take_leftover();
        let counted = self
            .add_usage_rows(usage_rows(drained, &leftover))
            .and_then(|()| self.write_credit_states());
        let n_credits = match counted {
            Ok(n) => n,
            Err(e) => {
                // The counts and credits are kept for the next flush by
                // the calls above; keep the drained uses too.
                let uses = drained
                    .iter()
                    .filter_map(|(id, p)| p.last_use.map(|at| (id.clone(), at)));
                self.usage.restore_uses(uses);
                return Err(e);
            }
        };
        let mut through_record = Vec::new();
        let mut plain = Vec::with_capacity(drained.len());
        for (id, pending) in drained {
            if let Some(at) = pending.last_use {
                if self.usage.is_watched(id) {
                    through_record.push((id.as_str(), at));
                } else {
                    plain.push((id.as_str(), at));
                }
            }
        }
        self.usage.age_watch();
        let mut n_written = 0;
        for (i, (id, used_at)) in through_record.iter().enumerate() {
            match self.write_use(id, *used_at) {
                Ok(written) => n_written += usize::from(written),
                Err(e) => {
                    let rest = through_record[i..].iter().chain(&plain);
                    self.usage
                        .restore_uses(rest.map(|(id, at)| ((*id).to_string(), *at)));
                    return Err(e);
                }
            }
        }
        match self.store.write_last_used(plain.iter().copied()) {
            Ok(n) => n_written += n,
            Err(e) => {
                // Rewriting the ones that did land is harmless.
                self.usage
                    .restore_uses(plain.iter().map(|(id, at)| ((*id).to_string(), *at)));
                return Err(e.into());
            }
        }
        Ok((n_credits, n_written))
    }

    /// Adds `rows` to the store; what cannot be added waits for the next
    /// flush.
    fn add_usage_rows(&self, mut rows: Vec<UsageRow<'_>>) -> Result<(), Error> {
        let mut done = 0;
        if let Err(e) = self.store.add_usage(&mut rows, &mut done) {
            let unwritten = rows[done..].iter().map(|(subject, day, counts)| {
                let (account, id) = match subject {
                    UsageSubject::Account(id) => (true, id),
                    UsageSubject::Credential(id) => (false, id),
                };
                OwnedRow {
                    account,
                    subject: (*id).to_string(),
                    day: *day,
                    counts: *counts,
                }
            });
            self.usage.leave(unwritten.collect::<Vec<_>>());
            return Err(e.into());
        }
        Ok(())
    }

    /// The latest known use of a credential: its record's, the flushed one
    /// in the `last_used` tree, and one still in memory.
    ///
    /// # Errors
    /// A storage failure.
    pub(super) fn last_use(
        &self,
        record: &lifecycle::CredentialRecord,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        let flushed = self.store.last_used(&record.id)?;
        let pending = self.usage.pending_for(&record.id);
        Ok(record.last_used_at.max(flushed).max(pending))
    }

    /// Writes one use through its record: the use's time into the record,
    /// and a reactivation if the sweep disabled it for inactivity while the
    /// Verify that used it was answering.
    pub(super) fn write_use(&self, id: &str, used_at: DateTime<Utc>) -> Result<bool, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(current) = self.store.get(id)? else {
                return Ok(false);
            };
            if current.last_used_at.is_some_and(|t| t >= used_at) {
                return Ok(false);
            }
            let mut new = current.clone();
            new.last_used_at = Some(used_at);
            let reactivate = Self::reactivated_by_use(&current, used_at);
            let audit = reactivate.then(|| {
                new.status = Status::Active;
                new.disabled_reason = None;
                new.status_reason = String::new();
                new.reactivated_at = Some(used_at);
                audit_entry(
                    &Actor::system(),
                    used_at,
                    "lifecycle.reactivate_on_use",
                    &current.id,
                    &current.account_id,
                    "used while being disabled for inactivity".to_string(),
                )
            });
            new.scheduled = lifecycle::next_deadlines(&new, &self.policy);
            if self
                .store
                .commit(Some(&current), Some(&new), audit.as_ref())?
                == Commit::Done
            {
                if reactivate {
                    info!(credential_id = %id, account_id = %current.account_id, from = "Disabled", to = "Active", reason = "used during the sweep that disabled it", "lifecycle transition");
                }
                return Ok(true);
            }
        }
        Err(Error::Contention { id: id.to_string() })
    }
}

/// The drained counts as rows: one per credential and day, their sums per
/// account and day, and the rows a failed flush left.
fn usage_rows<'a>(
    drained: &'a HashMap<String, Pending>,
    leftover: &'a [OwnedRow],
) -> Vec<UsageRow<'a>> {
    let mut by_account: HashMap<(&str, i32), lifecycle::UsageCounts> = HashMap::new();
    let mut rows = Vec::with_capacity(drained.len() + leftover.len());
    for row in leftover {
        let subject = if row.account {
            UsageSubject::Account(&row.subject)
        } else {
            UsageSubject::Credential(&row.subject)
        };
        rows.push((subject, row.day, row.counts));
    }
    for (id, pending) in drained {
        for (day, counts) in &pending.days {
            rows.push((UsageSubject::Credential(id), *day, *counts));
            if !pending.account_id.is_empty() {
                by_account
                    .entry((pending.account_id.as_str(), *day))
                    .or_default()
                    .add(counts);
            }
        }
    }
    rows.extend(
        by_account
            .into_iter()
            .map(|((account, day), counts)| (UsageSubject::Account(account), day, counts)),
    );
    rows
}
