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

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tracing::{debug, info};

use super::{Actor, Engine, Error, MAX_ATTEMPTS, audit_entry, offload};
use crate::lifecycle::{self, Status};
use crate::store::Commit;

/// Credential ids with their latest use.
type Uses = Vec<(String, DateTime<Utc>)>;

/// Latest unflushed use per credential id.
#[derive(Debug, Default)]
pub struct UsageLog {
    /// A std mutex: held for a map insert only, never across an `.await`.
    pending: Mutex<HashMap<String, DateTime<Utc>>>,
    /// Credentials just disabled for inactivity, whose next two flushes go
    /// through the record (see the module doc): the current set and the
    /// one before it.
    watched: Mutex<[HashSet<String>; 2]>,
}

impl UsageLog {
    /// Notes a successful use at `at`.
    pub fn record(&self, credential_id: &str, at: DateTime<Utc>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        match pending.get_mut(credential_id) {
            Some(latest) if *latest >= at => {}
            Some(latest) => *latest = at,
            None => {
                pending.insert(credential_id.to_string(), at);
            }
        }
    }

    /// The latest unflushed use of one credential.
    pub fn pending_for(&self, credential_id: &str) -> Option<DateTime<Utc>> {
        let pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.get(credential_id).copied()
    }

    /// Takes every pending use, leaving the log empty.
    pub fn drain(&self) -> HashMap<String, DateTime<Utc>> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        // The same keys are likely in use next interval: keep room for them,
        // so Verify does not regrow the table under the lock.
        let room = HashMap::with_capacity(pending.len());
        std::mem::replace(&mut *pending, room)
    }

    /// Puts back uses that could not be written, keeping the later of two.
    pub fn restore(&self, uses: impl IntoIterator<Item = (String, DateTime<Utc>)>) {
        for (id, at) in uses {
            self.record(&id, at);
        }
    }

    /// Drops the unflushed use of a deleted credential.
    pub fn forget(&self, credential_id: &str) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.remove(credential_id);
    }

    /// Sends the uses of `credential_id` through its record for the next
    /// two flushes.
    pub fn watch(&self, credential_id: &str) {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        watched[0].insert(credential_id.to_string());
    }

    /// Splits drained uses into those to write through their record
    /// (watched) and the rest, and ages the watch by one flush.
    fn split_watched(&self, uses: HashMap<String, DateTime<Utc>>) -> (Uses, Uses) {
        let mut watched = self.watched.lock().unwrap_or_else(|e| e.into_inner());
        let (through_record, plain) = uses
            .into_iter()
            .partition(|(id, _)| watched.iter().any(|set| set.contains(id)));
        watched.swap(0, 1);
        watched[0].clear();
        (through_record, plain)
    }

    /// How many credentials have unflushed uses.
    pub fn len(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Engine {
    /// How many credentials have uses not yet written.
    pub fn pending_usage(&self) -> usize {
        self.usage.len()
    }

    /// Writes pending uses to the store and flushes. Returns how many
    /// credentials were updated.
    ///
    /// # Errors
    /// A storage failure; the uses not written are kept for the next flush.
    pub async fn flush_usage(&self) -> Result<usize, Error> {
        let (n_touched, n_written) = offload::blocking(|| self.write_usage())?;
        if n_touched + n_written > 0 {
            self.store.flush().await?;
        }
        debug!(n_written, "usage flushed");
        Ok(n_written)
    }

    /// Writes session touches and pending uses (not yet durable); returns
    /// how many of each were written.
    pub(super) fn write_usage(&self) -> Result<(usize, usize), Error> {
        let n_touched = self.flush_session_touches()?;
        let (through_record, plain) = self.usage.split_watched(self.usage.drain());
        let mut n_written = 0;
        let mut entries = through_record.into_iter();
        while let Some((id, used_at)) = entries.next() {
            match self.write_use(&id, used_at) {
                Ok(written) => n_written += usize::from(written),
                Err(e) => {
                    self.usage
                        .restore(std::iter::once((id, used_at)).chain(entries).chain(plain));
                    return Err(e);
                }
            }
        }
        let uses = plain.iter().map(|(id, at)| (id.as_str(), *at));
        match self.store.write_last_used(uses) {
            Ok(n) => n_written += n,
            Err(e) => {
                // Rewriting the ones that did land is harmless.
                self.usage.restore(plain);
                return Err(e.into());
            }
        }
        Ok((n_touched, n_written))
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

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    /// Only the latest use of a credential is kept, and draining empties the log.
    #[test]
    fn keeps_latest_use() {
        let log = UsageLog::default();
        let t = Utc::now();
        log.record("a", t);
        log.record("a", t - Duration::seconds(5));
        log.record("a", t + Duration::seconds(5));
        assert_eq!(log.pending_for("a"), Some(t + Duration::seconds(5)));
        let drained = log.drain();
        assert_eq!(drained.len(), 1);
        assert!(log.is_empty());
        log.restore(drained);
        assert_eq!(log.pending_for("a"), Some(t + Duration::seconds(5)));
    }
}
