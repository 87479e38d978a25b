//! The `sessions` tree (HMAC of the session token -> session) and its
//! deadline index `session_deadlines` ((due time, token HMAC) -> ()), read
//! by the session sweep earliest first, so a sweep costs O(due), never
//! O(sessions). A session token itself is never stored.
//!
//! Each session record carries the due time of its one index entry, so
//! every write that adds, moves or removes a session changes the record
//! and its entry in one transaction.
//!
//! **Lazy rescheduling.** The entry is a "look again no later than" time,
//! computed by the engine when it writes the session (the earlier of the
//! idle deadline and the absolute end). Touches (a Verify moving
//! `last_seen_at`, flushed in batches with the usage flush) do *not* move
//! it: a touch stays one compare-and-swap on one tree, which keeps the
//! flush of many touched sessions as cheap as before the index existed.
//! When the entry comes due the sweep re-reads the session: over, it is
//! removed with its audit event; still live (touched since), its entry is
//! moved to its new deadline ([`Store::reschedule_session`]). A session in
//! use therefore comes due about once per idle timeout; the sweep's work is
//! the due entries, whatever the number of sessions. An entry earlier than
//! the session's real end is always safe (the session is just looked at
//! again); that is how the schema 4 upgrade indexes sessions written before
//! the index existed ([`Store::index_sessions`]).

use chrono::{DateTime, Utc};
use prost::Message;
use sled::transaction::ConflictableTransactionError;

use super::audit::append_audit_rows;
use super::backend::Backend;
use super::codec::{self, micros, time};
use super::users::abort_to_commit;
use super::{AuditEntry, Commit, Error, Store};
use crate::lifecycle::SessionRecord;

#[derive(Clone, PartialEq, prost::Message)]
struct StoredSession {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    account_id: String,
    #[prost(string, tag = "3")]
    username: String,
    #[prost(int64, tag = "4")]
    created_at_us: i64,
    #[prost(int64, tag = "5")]
    last_seen_at_us: i64,
    #[prost(int64, tag = "6")]
    expires_at_us: i64,
    /// Due time of the session's `session_deadlines` entry; absent in
    /// sessions written before schema 4 (until the upgrade indexes them).
    #[prost(int64, optional, tag = "7")]
    due_us: Option<i64>,
}

/// An entry of the session deadline index, as the sweep reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueSession {
    /// The HMAC of the session's token (the `sessions` key).
    pub hash: [u8; 32],
    /// When the sweep is to look at the session again.
    pub due: DateTime<Utc>,
}

pub(super) fn encode_session(session: &SessionRecord, due: Option<DateTime<Utc>>) -> Vec<u8> {
    StoredSession {
        id: session.id.clone(),
        account_id: session.account_id.clone(),
        username: session.username.clone(),
        created_at_us: micros(session.created_at),
        last_seen_at_us: micros(session.last_seen_at),
        expires_at_us: micros(session.expires_at),
        due_us: due.map(micros),
    }
    .encode_to_vec()
}

fn decode_stored(bytes: &[u8]) -> Result<StoredSession, Error> {
    StoredSession::decode(bytes).map_err(|_| Error::Corrupt("session"))
}

/// A session and the due time of its index entry (None: not yet indexed).
pub type IndexedSession = (SessionRecord, Option<DateTime<Utc>>);

/// The session and the due time of its index entry.
fn decode_session(bytes: &[u8]) -> Result<IndexedSession, Error> {
    let s = decode_stored(bytes)?;
    let session = SessionRecord {
        created_at: time(s.created_at_us)?,
        last_seen_at: time(s.last_seen_at_us)?,
        expires_at: time(s.expires_at_us)?,
        id: s.id,
        account_id: s.account_id,
        username: s.username,
    };
    Ok((session, s.due_us.map(time).transpose()?))
}

/// `session_deadlines` key: (due time, token HMAC).
fn due_key(due: DateTime<Utc>, hash: &[u8; 32]) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..8].copy_from_slice(&codec::time_key(due));
    key[8..].copy_from_slice(hash);
    key
}

impl Store {
    /// Reads the session a token hash belongs to.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_session(&self, hash: &[u8; 32]) -> Result<Option<SessionRecord>, Error> {
        Ok(self.get_session_due(hash)?.map(|(session, _)| session))
    }

    /// Reads a session with the due time of its index entry (the sweep).
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_session_due(&self, hash: &[u8; 32]) -> Result<Option<IndexedSession>, Error> {
        self.check_fresh()?;
        self.sessions
            .get(hash)?
            .map(|raw| decode_session(&raw))
            .transpose()
    }

    /// Stores a new session, indexed at `due`, with its audit event.
    ///
    /// # Errors
    /// sled errors; [`Error::DuplicateSecret`] if the hash is taken.
    pub fn insert_session(
        &self,
        hash: &[u8; 32],
        session: &SessionRecord,
        due: DateTime<Utc>,
        audit: &AuditEntry,
    ) -> Result<(), Error> {
        let bytes = encode_session(session, Some(due));
        let audit_row = codec::encode_audit(audit);
        let trees = [&self.sessions, &self.session_deadlines, &self.audit];
        let result = self.transact(trees, |[sessions, index, audit_tree]| {
            if sessions.get(hash)?.is_some() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            sessions.insert(hash, &bytes)?;
            index.insert(&due_key(due, hash), &[])?;
            append_audit_rows(*audit_tree, std::slice::from_ref(&audit_row))
        })?;
        match abort_to_commit(result) {
            Commit::Done => Ok(()),
            Commit::Conflict => Err(Error::DuplicateSecret),
        }
    }

    /// Removes a session and its index entry, with an audit event when
    /// given. Returns whether it existed.
    ///
    /// # Errors
    /// sled errors.
    pub fn remove_session(
        &self,
        hash: &[u8; 32],
        audit: Option<&AuditEntry>,
    ) -> Result<bool, Error> {
        self.end_session(hash, None, audit)
            .map(|done| done == Commit::Done)
    }

    /// Removes a session, its index entry and writes `audit` in one
    /// transaction, if the session is still exactly `expected` (as read by
    /// [`Store::get_session_due`]; None: whatever it is). `Conflict`: it
    /// changed or is gone.
    fn end_session(
        &self,
        hash: &[u8; 32],
        expected: Option<&[u8]>,
        audit: Option<&AuditEntry>,
    ) -> Result<Commit, Error> {
        let audit_row: Option<Vec<u8>> = audit.map(codec::encode_audit);
        let trees = [&self.sessions, &self.session_deadlines, &self.audit];
        self.transact(trees, |[sessions, index, audit_tree]| {
            let Some(raw) = sessions.get(hash)? else {
                return Ok(Commit::Conflict);
            };
            if expected.is_some_and(|e| e != raw.as_ref()) {
                return Ok(Commit::Conflict);
            }
            let due = decode_stored(&raw)
                .map_err(|_| ConflictableTransactionError::Abort(()))?
                .due_us;
            sessions.remove(hash)?;
            if let Some(due) = due.and_then(|us| time(us).ok()) {
                index.remove(&due_key(due, hash))?;
            }
            append_audit_rows(*audit_tree, audit_row.as_slice())?;
            Ok(Commit::Done)
        })?
        .map_err(|()| Error::Corrupt("undecodable session"))
    }

    /// The sweep's removal of a due session that is over: only if it is
    /// still `session` indexed at `entry.due` (a touch since is a
    /// `Conflict`, and the sweep reads it again).
    ///
    /// # Errors
    /// sled errors.
    pub fn expire_session(
        &self,
        entry: &DueSession,
        session: &SessionRecord,
        audit: &AuditEntry,
    ) -> Result<Commit, Error> {
        let expected = encode_session(session, Some(entry.due));
        self.end_session(&entry.hash, Some(&expected), Some(audit))
    }

    /// Moves a live session's index entry from `entry.due` to `next`, if
    /// the session is still `session` indexed at `entry.due`.
    ///
    /// # Errors
    /// sled errors.
    pub fn reschedule_session(
        &self,
        entry: &DueSession,
        session: &SessionRecord,
        next: DateTime<Utc>,
    ) -> Result<Commit, Error> {
        let expected = encode_session(session, Some(entry.due));
        let moved = encode_session(session, Some(next));
        let hash = &entry.hash;
        self.transact(
            [&self.sessions, &self.session_deadlines],
            |[sessions, index]| {
                if sessions.get(hash)?.as_deref() != Some(expected.as_slice()) {
                    return Ok(Commit::Conflict);
                }
                sessions.insert(hash, &moved)?;
                index.remove(&due_key(entry.due, hash))?;
                index.insert(&due_key(next, hash), &[])?;
                Ok(Commit::Done)
            },
        )?
        .map_err(|()| Error::Corrupt("aborted session write"))
    }

    /// Moves a session's `last_seen_at` forward (never back); a session
    /// removed meanwhile stays removed. The index entry stays where it is
    /// (lazy rescheduling, see the module doc).
    ///
    /// # Errors
    /// sled errors.
    pub fn touch_session(&self, hash: &[u8; 32], seen: DateTime<Utc>) -> Result<(), Error> {
        loop {
            let Some(raw) = self.sessions.get(hash)? else {
                return Ok(());
            };
            let mut stored = decode_stored(&raw)?;
            if stored.last_seen_at_us >= micros(seen) {
                return Ok(());
            }
            stored.last_seen_at_us = micros(seen);
            // A backup under way copies this key again (see `hold`).
            self.hold.note(&self.sessions.name(), hash);
            let swapped = match &self.backend {
                Backend::Sled => self
                    .watched(
                        self.sessions
                            .compare_and_swap(hash, Some(raw), Some(stored.encode_to_vec()))
                            .map_err(Error::from),
                    )?
                    .is_ok(),
                #[cfg(feature = "etcd")]
                Backend::Etcd(_) => {
                    let new = stored.encode_to_vec();
                    self.transact([&self.sessions], |[sessions]| {
                        if sessions.get(hash)?.as_deref() != Some(&raw[..]) {
                            return Ok(false);
                        }
                        sessions.insert(hash, &new)?;
                        Ok(true)
                    })?
                    .map_err(|()| Error::Corrupt("aborted session touch"))?
                }
            };
            if swapped {
                return Ok(());
            }
        }
    }

    /// Session index entries due at or before `now`, earliest first, at
    /// most `limit`.
    ///
    /// # Errors
    /// sled errors and undecodable keys.
    pub fn due_sessions(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<DueSession>, Error> {
        let end = codec::time_key(now + chrono::Duration::microseconds(1));
        let mut due = Vec::new();
        for item in self.session_deadlines.range(..end.to_vec()).take(limit) {
            let (key, _) = item?;
            if key.len() != 40 {
                return Err(Error::Corrupt("session deadline key"));
            }
            due.push(DueSession {
                due: codec::time_from_key(&key[..8])?,
                hash: <[u8; 32]>::try_from(&key[8..])
                    .map_err(|_| Error::Corrupt("session deadline key"))?,
            });
        }
        Ok(due)
    }

    /// Removes an index entry that no session accounts for (stale).
    ///
    /// # Errors
    /// sled errors.
    pub fn remove_session_deadline(&self, entry: &DueSession) -> Result<(), Error> {
        let key = due_key(entry.due, &entry.hash);
        match &self.backend {
            Backend::Sled => {
                self.hold.note(&self.session_deadlines.name(), &key);
                self.watched(self.session_deadlines.remove(key).map_err(Error::from))?;
            }
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => {
                self.transact([&self.session_deadlines], |[index]| Ok(index.remove(&key)?))?
                    .map_err(|()| Error::Corrupt("aborted session write"))?;
            }
        }
        Ok(())
    }

    /// Number of sessions and of session index entries (tests, benches).
    pub fn session_counts(&self) -> (usize, usize) {
        (self.sessions.len(), self.session_deadlines.len())
    }

    /// Stores many new sessions with their index entries and no audit
    /// events, a few thousand per transaction (benchmarks fill stores with
    /// it). Existing sessions under the same hashes are replaced.
    ///
    /// # Errors
    /// sled errors.
    pub fn load_sessions(
        &self,
        sessions: &[([u8; 32], SessionRecord, DateTime<Utc>)],
    ) -> Result<(), Error> {
        for chunk in sessions.chunks(4096) {
            let rows: Vec<(&[u8; 32], Vec<u8>, [u8; 40])> = chunk
                .iter()
                .map(|(hash, s, due)| (hash, encode_session(s, Some(*due)), due_key(*due, hash)))
                .collect();
            self.transact(
                [&self.sessions, &self.session_deadlines],
                |[sessions, index]| {
                    for (hash, bytes, key) in &rows {
                        sessions.insert(&hash[..], bytes)?;
                        index.insert(key, &[])?;
                    }
                    Ok(())
                },
            )?
            .map_err(|()| Error::Corrupt("aborted session write"))?;
        }
        Ok(())
    }

    /// Schema 4 upgrade: indexes every session written without an index
    /// entry at its `last_seen_at` (the store knows no idle timeout; any
    /// time at or before the real end is safe, and the first sweep moves a
    /// live session to its real deadline). Idempotent and crash-safe: the
    /// entries are written before the records that name them, and a record
    /// that names its entry is skipped, so a rerun after a crash writes the
    /// same keys again.
    pub(super) fn index_sessions(&self) -> Result<(), Error> {
        let mut n_indexed = 0usize;
        let mut pending: Vec<(sled::IVec, StoredSession)> = Vec::new();
        let mut apply = |pending: &mut Vec<(sled::IVec, StoredSession)>| -> Result<(), Error> {
            let (mut index, mut records) = (sled::Batch::default(), sled::Batch::default());
            for (key, stored) in pending.drain(..) {
                let hash = <[u8; 32]>::try_from(key.as_ref())
                    .map_err(|_| Error::Corrupt("session key"))?;
                index.insert(&due_key(time(stored.last_seen_at_us)?, &hash)[..], &[][..]);
                records.insert(key, stored.encode_to_vec());
                n_indexed += 1;
            }
            self.session_deadlines.apply_batch(index)?;
            self.sessions.apply_batch(records)?;
            Ok(())
        };
        for item in &self.sessions {
            let (key, value) = item?;
            let mut stored = decode_stored(&value)?;
            if stored.due_us.is_some() {
                continue;
            }
            stored.due_us = Some(stored.last_seen_at_us);
            pending.push((key, stored));
            if pending.len() == 4096 {
                apply(&mut pending)?;
            }
        }
        apply(&mut pending)?;
        if n_indexed > 0 {
            tracing::info!(
                sessions = n_indexed,
                "sessions indexed by deadline (schema 4)"
            );
        }
        Ok(())
    }
}
