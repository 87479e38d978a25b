//! The `audit` tree: events written in the same transaction as the change
//! they record (or on their own, for a refused attempt), and read back a
//! page at a time through a filter.

use chrono::{DateTime, Utc};

use super::backend::Backend;
use super::codec;
use super::txn::{TxResult, TxTree};
use super::{Error, Store};

/// An audit entry written in the same transaction as the change it records.
/// Never carries a secret or a hash of one.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Who did it: an admin key id, or `system` for the sweep.
    pub actor: String,
    /// What was done, e.g. `credential.create`.
    pub action: &'static str,
    /// The credential concerned.
    pub credential_id: String,
    /// Its account.
    pub account_id: String,
    /// Free-text detail (reasons, changed fields); never a secret.
    pub detail: String,
    /// `ok` for a change that was made, `denied` for a refused attempt.
    pub outcome: &'static str,
    /// The caller's `x-request-id`, or one credd made up; empty for the sweep.
    pub request_id: String,
}

/// An audit event as read back, with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Position in the log; increases with every event written.
    pub seq: u64,
    /// When it happened.
    pub at: DateTime<Utc>,
    /// Admin key id, or `system`.
    pub actor: String,
    /// What was done, e.g. `credential.revoke`.
    pub action: String,
    /// The credential concerned (empty for events about none).
    pub credential_id: String,
    /// Its account.
    pub account_id: String,
    /// `ok` or `denied`.
    pub outcome: String,
    /// Reasons, changed fields, refusal messages; never a secret.
    pub detail: String,
    /// The request that caused it.
    pub request_id: String,
}

/// Which audit events to return; unset fields match anything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact credential id.
    pub credential_id: Option<String>,
    /// Exact account id.
    pub account_id: Option<String>,
    /// Exact actor.
    pub actor: Option<String>,
    /// Exact action.
    pub action: Option<String>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Exact outcome (`ok` or `denied`).
    pub outcome: Option<String>,
}

impl AuditFilter {
    fn matches(&self, event: &AuditEvent) -> bool {
        fn same(want: Option<&String>, have: &str) -> bool {
            want.is_none_or(|w| w == have)
        }
        same(self.credential_id.as_ref(), &event.credential_id)
            && same(self.account_id.as_ref(), &event.account_id)
            && same(self.actor.as_ref(), &event.actor)
            && same(self.action.as_ref(), &event.action)
            && same(self.outcome.as_ref(), &event.outcome)
            && self.since.is_none_or(|t| event.at >= t)
            && self.until.is_none_or(|t| event.at < t)
    }
}

/// One page of the audit log.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// Matching events: in log order from `audit_page`, newest first from
    /// `audit_latest`.
    pub events: Vec<AuditEvent>,
    /// Where the next page goes on: after this position (`audit_page`), or
    /// before it (`audit_latest`); None when nothing more matches.
    pub next_after: Option<u64>,
}

/// Events removed per transaction by retention (an etcd `Txn` holds 128
/// operations).
const RETENTION_PER_TXN: usize = 100;

/// The position an audit key holds (8 bytes, big-endian).
///
/// # Errors
/// [`Error::Corrupt`] for a key of another length.
pub(super) fn audit_seq(key: &[u8]) -> Result<u64, Error> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt("audit key"))
}

/// Appends encoded audit rows inside a transaction.
pub(super) fn append_audit_rows<A>(audit: &dyn TxTree, rows: &[Vec<u8>]) -> TxResult<(), A> {
    for row in rows {
        let seq = audit.generate_id()?;
        audit.insert(&seq.to_be_bytes(), row)?;
    }
    Ok(())
}

impl Store {
    /// Appends an audit event on its own (a refused attempt, which changes
    /// nothing else). Durable at the next flush. Announces no webhook event
    /// on sled (it is no `transact`): only refusals and reads come here.
    ///
    /// # Errors
    /// sled errors.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), Error> {
        match self.backend {
            Backend::Sled => self.watched((|| {
                let seq = self.db.generate_id()?;
                self.hold.note(&self.audit.name(), &seq.to_be_bytes());
                self.audit
                    .insert(&seq.to_be_bytes()[..], codec::encode_audit(entry))?;
                Ok(())
            })()),
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => {
                let row = codec::encode_audit(entry);
                let rows = std::slice::from_ref(&row);
                self.transact([&self.audit], |[audit]| {
                    append_audit_rows::<()>(*audit, rows)
                })?
                .map_err(|()| Error::Corrupt("aborted audit append"))
            }
        }
    }

    /// Removes up to `limit` of the oldest events, those before `cutoff`
    /// (retention; the log is in time order but for clock steps, so the
    /// removal stops at the first event at or after `cutoff`). Returns how
    /// many. Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled errors, undecodable events, a cluster write that failed.
    pub fn remove_audit_before(&self, cutoff: DateTime<Utc>, limit: usize) -> Result<usize, Error> {
        let mut old: Vec<sled::IVec> = Vec::new();
        for item in self.audit.iter().take(limit) {
            let (key, value) = item?;
            let seq = audit_seq(&key)?;
            if codec::decode_audit(seq, &value)?.at >= cutoff {
                break;
            }
            old.push(key);
        }
        for chunk in old.chunks(RETENTION_PER_TXN) {
            self.transact([&self.audit], |[audit]| {
                for key in chunk {
                    audit.remove(key)?;
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            })?
            .map_err(|()| Error::Corrupt("aborted audit retention"))?;
        }
        Ok(old.len())
    }

    /// Up to `limit` events matching `filter` after position `after`, reading
    /// at most `max_scanned` events: a sparse filter over a long log returns
    /// a short (even empty) page with a position to continue from, rather
    /// than reading the whole log in one call.
    ///
    /// # Errors
    /// sled errors and undecodable events.
    pub fn audit_page(
        &self,
        filter: &AuditFilter,
        after: Option<u64>,
        limit: usize,
        max_scanned: usize,
    ) -> Result<AuditPage, Error> {
        let start = match after {
            Some(seq) => std::ops::Bound::Excluded(seq.to_be_bytes().to_vec()),
            None => std::ops::Bound::Unbounded,
        };
        let mut events = Vec::new();
        let mut last_seq = None;
        for (n_scanned, item) in self
            .audit
            .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
            .enumerate()
        {
            let (key, value) = item?;
            if events.len() == limit || n_scanned == max_scanned {
                // More of the log remains: continue after the last one read.
                return Ok(AuditPage {
                    events,
                    next_after: last_seq,
                });
            }
            let seq = audit_seq(&key)?;
            let event = codec::decode_audit(seq, &value)?;
            last_seq = Some(seq);
            if filter.matches(&event) {
                events.push(event);
            }
        }
        Ok(AuditPage {
            events,
            next_after: None,
        })
    }

    /// Up to `limit` events matching `filter` before position `before`
    /// (from the end of the log when `None`), newest first, reading at most
    /// `max_scanned` events. When older events remain unread, `next_after`
    /// is the oldest position read: the next call continues before it.
    /// With `filter.since`, the read stops at the first event more than an
    /// hour older than it: the log is written in time order, give or take
    /// a step of the clock.
    ///
    /// # Errors
    /// sled errors and undecodable events.
    pub fn audit_latest(
        &self,
        filter: &AuditFilter,
        before: Option<u64>,
        limit: usize,
        max_scanned: usize,
    ) -> Result<AuditPage, Error> {
        let end = match before {
            Some(seq) => std::ops::Bound::Excluded(seq.to_be_bytes().to_vec()),
            None => std::ops::Bound::Unbounded,
        };
        let mut events = Vec::new();
        let mut oldest = None;
        let older = self
            .audit
            .range::<Vec<u8>, _>((std::ops::Bound::Unbounded, end))
            .rev();
        // An hour before `since`, where the read stops (none: it does not).
        let stop = filter
            .since
            .and_then(|since| since.checked_sub_signed(chrono::Duration::hours(1)));
        for (n_scanned, item) in older.enumerate() {
            let (key, value) = item?;
            if n_scanned == max_scanned {
                return Ok(AuditPage {
                    events,
                    next_after: oldest,
                });
            }
            let seq = audit_seq(&key)?;
            let event = codec::decode_audit(seq, &value)?;
            if stop.is_some_and(|stop| event.at < stop) {
                break;
            }
            if events.len() == limit {
                // This event is next: the page goes on before the last one read.
                return Ok(AuditPage {
                    events,
                    next_after: oldest,
                });
            }
            oldest = Some(seq);
            if filter.matches(&event) {
                events.push(event);
            }
        }
        Ok(AuditPage {
            events,
            next_after: None,
        })
    }

    /// Number of audit entries (for tests and metrics).
    pub fn audit_count(&self) -> usize {
        self.audit.len()
    }
}
