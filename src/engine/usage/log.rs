//! The in-memory side of usage: per credential, its latest unflushed use
//! and its Verify counts per day, one map entry per credential touched
//! since the last flush (one lookup per Verify, under a std mutex held for
//! that lookup only). Rows a failed flush could not write wait in
//! `leftover` for the next one. A flush reads the table it drained in place
//! and hands it back emptied; it becomes the next drain's fresh table, so
//! the keys Verify inserts after a drain land in memory already mapped.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use smallvec::SmallVec;

use crate::lifecycle::{UsageBucket, UsageCounts, day_number};

/// What one credential did since the last flush.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pending {
    /// Its latest successful use.
    pub(crate) last_use: Option<DateTime<Utc>>,
    /// Its account (empty when only a use was noted, e.g. an admin key).
    pub(crate) account_id: String,
    /// Counts per day number; usually one day (kept inline: no
    /// allocation per credential), two across midnight.
    pub(crate) days: SmallVec<[(i32, UsageCounts); 1]>,
}

impl Pending {
    fn count(&mut self, day: i32, bucket: UsageBucket) {
        match self.days.iter_mut().find(|(d, _)| *d == day) {
            Some((_, counts)) => counts.count(bucket),
            None => {
                let mut counts = UsageCounts::default();
                counts.count(bucket);
                self.days.push((day, counts));
            }
        }
    }
}

/// A usage row of a credential (`account == false`) or of an account,
/// owned, waiting to be added to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OwnedRow {
    pub(crate) account: bool,
    pub(crate) subject: String,
    pub(crate) day: i32,
    pub(crate) counts: UsageCounts,
}

/// Unflushed uses and counts per credential id.
#[derive(Debug, Default)]
pub struct UsageLog {
    /// A std mutex: held for a map lookup only, never across an `.await`.
    pending: Mutex<HashMap<String, Pending>>,
    /// The table the last flush emptied, kept (its memory already mapped)
    /// to take `pending`'s place at the next drain: the keys Verify
    /// inserts after a drain then land in memory it does not have to fault
    /// in (see [`UsageLog::recycle`]).
    spare: Mutex<Option<HashMap<String, Pending>>>,
    /// Rows a failed flush could not add; the next flush adds them first.
    leftover: Mutex<Vec<OwnedRow>>,
    /// Credentials just disabled for inactivity, whose uses the next two
    /// flushes write through the record (see `usage`): the current set and
    /// the one before it.
    watched: Mutex<[HashSet<String>; 2]>,
    /// Held by a flush from drain to write, and by a usage report, so a
    /// report never sees counts drained but not yet written.
    flushing: Mutex<()>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl UsageLog {
    /// Notes a successful use at `at` (no count: admin keys, tests).
    pub fn record(&self, credential_id: &str, at: DateTime<Utc>) {
        with_entry(&mut lock(&self.pending), credential_id, |entry| {
            entry.last_use = entry.last_use.max(Some(at));
        });
    }

    /// Counts one Verify answer of a credential of `account_id`, and notes
    /// the use when it was VALID.
    pub fn note(
        &self,
        credential_id: &str,
        account_id: &str,
        bucket: UsageBucket,
        at: DateTime<Utc>,
    ) {
        let day = day_number(at);
        with_entry(&mut lock(&self.pending), credential_id, |entry| {
            if entry.account_id.is_empty() {
                entry.account_id = account_id.to_string();
            }
            entry.count(day, bucket);
            if bucket == UsageBucket::Valid {
                entry.last_use = entry.last_use.max(Some(at));
            }
        });
    }

    /// The latest unflushed use of one credential.
    pub fn pending_for(&self, credential_id: &str) -> Option<DateTime<Utc>> {
        lock(&self.pending)
            .get(credential_id)
            .and_then(|p| p.last_use)
    }

    /// Takes everything pending, leaving the log empty. Give the table
    /// back to [`UsageLog::recycle`] once it is emptied.
    pub(crate) fn drain(&self) -> HashMap<String, Pending> {
        let spare = lock(&self.spare).take();
        let mut pending = lock(&self.pending);
        // The same keys are likely in use next interval: keep room for them,
        // so Verify does not regrow the table under the lock.
        let room = match spare {
            Some(spare) if spare.capacity() >= pending.len() => spare,
            _ => HashMap::with_capacity(pending.len()),
        };
        std::mem::replace(&mut *pending, room)
    }

    /// Keeps a drained table, emptied, for the next drain, unless it is
    /// far larger than what it held (the keys in use have dropped).
    pub(crate) fn recycle(&self, mut table: HashMap<String, Pending>) {
        let held = table.len();
        table.clear();
        if table.capacity() <= 4 * held.max(1024) {
            *lock(&self.spare) = Some(table);
        }
    }

    /// Puts back last uses only (their counts were written).
    pub(crate) fn restore_uses(&self, uses: impl IntoIterator<Item = (String, DateTime<Utc>)>) {
        for (id, at) in uses {
            self.record(&id, at);
        }
    }

    /// Takes the rows a failed flush left.
    pub(crate) fn take_leftover(&self) -> Vec<OwnedRow> {
        std::mem::take(&mut *lock(&self.leftover))
    }

    /// Keeps rows a flush could not add, for the next one.
    pub(crate) fn leave(&self, rows: impl IntoIterator<Item = OwnedRow>) {
        lock(&self.leftover).extend(rows);
    }

    /// The unwritten counts of one credential (`account == false`) or of
    /// every credential of an account, per day, with leftover rows.
    pub(crate) fn unwritten(&self, account: bool, subject: &str) -> Vec<(i32, UsageCounts)> {
        let mut days: Vec<(i32, UsageCounts)> = Vec::new();
        let mut add =
            |day: i32, counts: &UsageCounts| match days.iter_mut().find(|(d, _)| *d == day) {
                Some((_, mine)) => mine.add(counts),
                None => days.push((day, *counts)),
            };
        for row in lock(&self.leftover).iter() {
            if row.account == account && row.subject == subject {
                add(row.day, &row.counts);
            }
        }
        let pending = lock(&self.pending);
        let entries: Box<dyn Iterator<Item = &Pending>> = if account {
            Box::new(pending.values().filter(|p| p.account_id == subject))
        } else {
            Box::new(pending.get(subject).into_iter())
        };
        for entry in entries {
            for (day, counts) in &entry.days {
                add(*day, counts);
            }
        }
        days
    }

    /// Held while a flush moves counts from memory to the store.
    pub(crate) fn flushing(&self) -> MutexGuard<'_, ()> {
        lock(&self.flushing)
    }

    /// Drops everything unflushed of a deleted credential.
    pub fn forget(&self, credential_id: &str) {
        lock(&self.pending).remove(credential_id);
    }

    /// Sends the uses of `credential_id` through its record for the next
    /// two flushes.
    pub fn watch(&self, credential_id: &str) {
        lock(&self.watched)[0].insert(credential_id.to_string());
    }

    /// Whether a drained credential's use goes through its record; call
    /// [`UsageLog::age_watch`] once per flush after asking.
    pub(crate) fn is_watched(&self, credential_id: &str) -> bool {
        lock(&self.watched)
            .iter()
            .any(|set| set.contains(credential_id))
    }

    /// Ages the watch by one flush.
    pub(crate) fn age_watch(&self) {
        let mut watched = lock(&self.watched);
        watched.swap(0, 1);
        watched[0].clear();
    }

    /// How many credentials have unflushed uses or counts.
    pub fn len(&self) -> usize {
        lock(&self.pending).len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `change` on the entry of `id`, made if missing. An id already in
/// the map allocates nothing (the entry API would allocate its key).
fn with_entry(pending: &mut HashMap<String, Pending>, id: &str, change: impl FnOnce(&mut Pending)) {
    if let Some(entry) = pending.get_mut(id) {
        change(entry);
        return;
    }
    let mut entry = Pending::default();
    change(&mut entry);
    pending.insert(id.to_string(), entry);
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    /// Only the latest use of a credential is kept, counts add up per day
    /// and per account, draining empties the log, and restored uses keep
    /// the later one.
    #[test]
    fn keeps_latest_use_and_adds_counts() {
        let log = UsageLog::default();
        let t = Utc::now();
        log.record("a", t);
        log.record("a", t - Duration::seconds(5));
        log.note("a", "acme", UsageBucket::Valid, t + Duration::seconds(5));
        log.note("a", "acme", UsageBucket::Revoked, t + Duration::seconds(9));
        log.note("a", "acme", UsageBucket::Valid, t);
        // A refusal is counted but is not a use.
        assert_eq!(log.pending_for("a"), Some(t + Duration::seconds(5)));
        let unwritten = log.unwritten(false, "a");
        let valid: u64 = unwritten
            .iter()
            .map(|(_, c)| c.get(UsageBucket::Valid))
            .sum();
        let revoked: u64 = unwritten
            .iter()
            .map(|(_, c)| c.get(UsageBucket::Revoked))
            .sum();
        assert_eq!((valid, revoked), (2, 1));
        assert_eq!(log.unwritten(true, "acme"), unwritten);
        assert!(log.unwritten(true, "other").is_empty());
        let drained = log.drain();
        assert_eq!(drained.len(), 1);
        assert!(log.is_empty());
        log.record("a", t);
        log.restore_uses([("a".to_string(), t + Duration::seconds(5))]);
        assert_eq!(log.pending_for("a"), Some(t + Duration::seconds(5)));
    }

    /// An emptied table takes the next drain's place, with its memory;
    /// one far larger than what it held is let go.
    #[test]
    fn a_drained_table_comes_back() {
        let log = UsageLog::default();
        let t = Utc::now();
        for i in 0..10_000 {
            log.record(&format!("c{i}"), t);
        }
        let table = log.drain();
        let capacity = table.capacity();
        log.recycle(table);
        log.record("a", t);
        let made_at_first_drain = log.drain();
        assert_eq!(made_at_first_drain.len(), 1);
        assert_eq!(
            lock(&log.pending).capacity(),
            capacity,
            "the kept table did not take the pending table's place"
        );
        log.record("b", t);
        let kept = log.drain();
        assert_eq!(kept.len(), 1);
        log.recycle(kept);
        assert!(
            lock(&log.spare).is_none(),
            "a table of {capacity} kept for one key"
        );
    }

    /// A watched credential stays watched for two agings.
    #[test]
    fn watch_lasts_two_flushes() {
        let log = UsageLog::default();
        log.watch("a");
        assert!(log.is_watched("a"));
        log.age_watch();
        assert!(log.is_watched("a"));
        log.age_watch();
        assert!(!log.is_watched("a"));
    }
}
