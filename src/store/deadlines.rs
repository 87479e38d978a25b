//! The `deadlines` tree: (due time, credential id, event) -> (), written
//! with each credential change and read by the sweep, earliest first.

use chrono::{DateTime, Utc};

use super::backend::Backend;
use super::codec;
use super::{Error, Store};
use crate::lifecycle::{Deadline, DeadlineEvent};

/// A deadline read from the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDeadline {
    /// The credential it belongs to.
    pub credential_id: String,
    /// When and what.
    pub deadline: Deadline,
}

impl Store {
    /// Deadlines due at or before `now`, earliest first, at most `limit`.
    ///
    /// # Errors
    /// sled errors and undecodable keys.
    pub fn due_deadlines(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<DueDeadline>, Error> {
        // Keys are (time, id, event): everything due at `now` sorts before
        // the bare time one microsecond later.
        let end = codec::time_key(now + chrono::Duration::microseconds(1));
        let mut due = Vec::new();
        for item in self.deadlines.range(..end.to_vec()).take(limit) {
            let (key, _) = item?;
            if key.len() < 10 {
                return Err(Error::Corrupt("deadline key"));
            }
            let at = codec::time_from_key(&key[..8])?;
            let event = codec::event_from(i64::from(key[key.len() - 1]))?;
            let credential_id = std::str::from_utf8(&key[8..key.len() - 1])
                .map_err(|_| Error::Corrupt("deadline key id"))?
                .to_string();
            due.push(DueDeadline {
                credential_id,
                deadline: Deadline { at, event },
            });
        }
        Ok(due)
    }

    /// Removes one deadline entry that no record accounts for (a stale key).
    ///
    /// # Errors
    /// sled errors.
    pub fn remove_deadline(&self, id: &str, deadline: &Deadline) -> Result<(), Error> {
        let key = codec::deadline_key(id, deadline);
        match &self.backend {
            Backend::Sled => {
                self.hold.note(&self.deadlines.name(), &key);
                self.watched(self.deadlines.remove(key).map_err(Error::from))?
            }
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => {
                self.transact([&self.deadlines], |[index]| Ok(index.remove(&key)?))?
                    .map_err(|()| Error::Corrupt("aborted deadline removal"))?;
                None
            }
        };
        Ok(())
    }

    /// Number of entries in the deadline index (for tests and metrics).
    pub fn deadline_count(&self) -> usize {
        self.deadlines.len()
    }

    /// Whether the deadline index holds this exact entry (tests).
    pub fn has_deadline(
        &self,
        id: &str,
        at: DateTime<Utc>,
        event: DeadlineEvent,
    ) -> Result<bool, Error> {
        Ok(self
            .deadlines
            .contains_key(codec::deadline_key(id, &Deadline { at, event }))?)
    }
}
