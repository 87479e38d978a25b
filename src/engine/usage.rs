//! Successful uses collected in memory, so that Verify never writes to disk.
//! The engine drains them into the store in batches: every
//! `usage_flush_interval`, before every sweep and at shutdown. A crash loses
//! at most one interval of "last used" times.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Latest unflushed use per credential id.
#[derive(Debug, Default)]
pub struct UsageLog {
    /// A std mutex: held for a map insert only, never across an `.await`.
    pending: Mutex<HashMap<String, DateTime<Utc>>>,
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

    /// How many credentials have unflushed uses.
    pub fn len(&self) -> usize {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
