//! The only code that touches sled: the trees, their keys and encodings, and
//! the transactions that keep them consistent. It knows nothing of policy; it
//! writes what the engine decided, atomically, and says when a record changed
//! underneath (so the engine can decide again).
//!
//! Trees: `credentials` (id -> record), `secret_index` (HMAC -> id, version),
//! `by_account` (account, id -> status, expiry), `deadlines` (due time, id,
//! event -> ()), `outbox`, `notices_sent`, `audit`, `meta`, `accounts`, `users`, `sessions`,
//! and the partner trees (see `partners`).

mod accounts;
mod codec;
mod fault;
mod group_commit;
mod partners;
mod users;
mod verify_cache;

pub use verify_cache::VerifyCacheStats;

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use prost::Message;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};

pub use partners::{PartnerChange, Replace};

use crate::lifecycle::{
    CredentialRecord, Deadline, DeadlineEvent, Environment, Kind, NoticeKind, Status,
    counts_toward_quota, is_live,
};

/// Schema written by this build. A newer one on disk is refused.
/// Version 2: `secret_index` entries carry Verify's view of their record
/// (an older credd would change records without updating it), and
/// customer keys and the partner trees exist.
/// Version 3: `by_account` values carry the credential's kind, so the quota
/// counts only the kinds it is about (an older credd reads them as corrupt).
pub const SCHEMA_VERSION: u32 = 3;

const META_SCHEMA: &[u8] = b"schema_version";
const META_PEPPER: &[u8] = b"pepper_fingerprint";

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// sled itself failed (I/O, corruption it detected).
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A flush to disk failed; nothing written since the last good flush is
    /// known to be durable.
    #[error("flush to disk failed: {0}")]
    Flush(String),
    /// Another process holds the database.
    #[error("data directory {0} is in use by another credd process (sled holds an exclusive lock)")]
    Locked(String),
    /// A value could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The data was written by a newer credd.
    #[error(
        "the database has schema version {found}, this credd understands up to {SCHEMA_VERSION}; run a newer credd"
    )]
    NewerSchema {
        /// Version on disk.
        found: u32,
    },
    /// The pepper file is not the one the database was created with.
    #[error(
        "the pepper file does not match this database (its fingerprint differs); every stored key hash was made with another pepper: restore the original pepper file or point pepper_file at it"
    )]
    PepperMismatch,
    /// Two secrets hashed alike (astronomically unlikely): the change is refused.
    #[error("secret hash collision")]
    DuplicateSecret,
}

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
    /// Matching events in log order.
    pub events: Vec<AuditEvent>,
    /// Continue after this position; None when the log has been read to its end.
    pub next_after: Option<u64>,
}

/// A notice waiting in the `outbox` tree. Holds what a mail needs, so it
/// can be written even after the credential is deleted; never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxNotice {
    /// Which message.
    pub kind: NoticeKind,
    /// The deadline it is about; with the credential id and kind, its identity.
    pub deadline: DateTime<Utc>,
    /// The credential.
    pub credential_id: String,
    /// Its account.
    pub account_id: String,
    /// Its name.
    pub name: String,
    /// API key or passcode.
    pub credential_kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// Prefix and last four characters of the current secret.
    pub secret_hint: String,
    /// Its expiry.
    pub expires_at: DateTime<Utc>,
    /// For inactivity-disabled notices: when it will be deleted.
    pub delete_at: Option<DateTime<Utc>>,
    /// The credential's `notify_emails` when queued (may be empty: the mail
    /// layer then falls back to the admin contacts).
    pub recipients: Vec<String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
}

/// Identity of an outbox notice: (credential, notice kind, deadline).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoticeKey(Vec<u8>);

impl NoticeKey {
    /// The key of a notice.
    pub fn of(notice: &OutboxNotice) -> Self {
        NoticeKey(codec::notice_key(
            &notice.credential_id,
            notice.kind,
            notice.deadline,
        ))
    }

    /// Stable bytes, e.g. for a Message-ID.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Result of [`Store::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Written.
    Done,
    /// The record on disk is not the one the change was computed from.
    Conflict,
}

/// A deadline read from the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDeadline {
    /// The credential it belongs to.
    pub credential_id: String,
    /// When and what.
    pub deadline: Deadline,
}

/// The open database and its trees. Cheap to share behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    /// Owns every flush; shared by all clones, stopped with the last one.
    group_commit: Arc<group_commit::GroupCommit>,
    /// Recently read `secret_index` values (see `verify_cache`).
    verify_cache: Arc<verify_cache::VerifyCache>,
    /// The first error after which sled cannot write (see `fault`).
    fault: Arc<fault::FaultWatch>,
    credentials: sled::Tree,
    secret_index: sled::Tree,
    by_account: sled::Tree,
    deadlines: sled::Tree,
    /// Notices waiting to be mailed, keyed (credential, notice, deadline).
    outbox: sled::Tree,
    /// (credential, notice, deadline) -> time, so a notice goes out once.
    notices_sent: sled::Tree,
    audit: sled::Tree,
    meta: sled::Tree,
    /// Account id -> account record.
    accounts: sled::Tree,
    /// (account, 0, username) -> user.
    users: sled::Tree,
    /// HMAC of a session token -> session.
    sessions: sled::Tree,
    /// Client id -> client id record.
    client_ids: sled::Tree,
    /// (account, 0, client id) -> ().
    client_ids_by_account: sled::Tree,
    /// Partner account id -> partner.
    partners: sled::Tree,
    /// Grant id -> grant.
    grants: sled::Tree,
    /// (partner, 0, client) -> the pair's latest unrevoked grant id.
    grant_pairs: sled::Tree,
    /// Consent id -> consent request.
    consents: sled::Tree,
    /// (expiry, consent id) -> () while pending.
    consent_expiry: sled::Tree,
}

enum Abort {
    Conflict,
    Duplicate,
}

/// The trees a credential change writes, inside a transaction.
struct CredentialTrees<'t> {
    credentials: &'t TransactionalTree,
    secret_index: &'t TransactionalTree,
    by_account: &'t TransactionalTree,
    deadlines: &'t TransactionalTree,
}

/// A credential change encoded ahead of its transaction, so a retried
/// transaction does no encoding work and several kinds of commit share it.
struct CredentialWrite<'r> {
    id: &'r str,
    expected: Option<&'r CredentialRecord>,
    new: Option<&'r CredentialRecord>,
    expected_bytes: Option<Vec<u8>>,
    new_bytes: Option<Vec<u8>>,
    old_hashes: Vec<([u8; 32], u32)>,
    new_hashes: Vec<([u8; 32], u32)>,
    /// Index entries to write: hash, value, and whether the hash is new
    /// (an entry whose value is unchanged is not rewritten).
    index_writes: Vec<([u8; 32], Vec<u8>, bool)>,
}

impl<'r> CredentialWrite<'r> {
    /// None when there is nothing to write (neither record given).
    fn prepare(
        expected: Option<&'r CredentialRecord>,
        new: Option<&'r CredentialRecord>,
    ) -> Option<Self> {
        let id = new.or(expected).map(|r| r.id.as_str())?;
        let hashes = |r: Option<&CredentialRecord>| -> Vec<([u8; 32], u32)> {
            r.map(|r| r.versions.iter().map(|v| (v.hash, v.version)).collect())
                .unwrap_or_default()
        };
        let old_hashes = hashes(expected);
        let new_hashes = hashes(new);
        let mut index_writes = Vec::new();
        if let Some(record) = new {
            for (hash, version) in &new_hashes {
                let value = codec::index_value(record, *version);
                let existed = old_hashes.contains(&(*hash, *version));
                let unchanged = existed
                    && expected.is_some_and(|old| codec::index_value(old, *version) == value);
                if !unchanged {
                    index_writes.push((*hash, value, !existed));
                }
            }
        }
        Some(CredentialWrite {
            id,
            expected,
            new,
            expected_bytes: expected.map(codec::encode_record),
            new_bytes: new.map(codec::encode_record),
            old_hashes,
            new_hashes,
            index_writes,
        })
    }

    /// The `secret_index` keys this write removes or rewrites. A change
    /// that leaves a hash's index value as it was (a usage flush) is not
    /// among them: sled's value, and so a cached copy of it, stays right.
    pub(crate) fn touched(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.removed_hashes()
            .chain(self.index_writes.iter().map(|(hash, _, _)| hash))
    }

    /// Hashes of the old record that the new one no longer has.
    fn removed_hashes(&self) -> impl Iterator<Item = &[u8; 32]> {
        self.old_hashes
            .iter()
            .filter(|h| !self.new_hashes.contains(h))
            .map(|(hash, _)| hash)
    }

    /// Checks the stored record is `expected` and writes `new` with every
    /// index in step.
    fn apply(
        &self,
        trees: &CredentialTrees<'_>,
    ) -> Result<(), ConflictableTransactionError<Abort>> {
        let id = self.id;
        let current = trees.credentials.get(id.as_bytes())?;
        if current.as_deref() != self.expected_bytes.as_deref() {
            return Err(ConflictableTransactionError::Abort(Abort::Conflict));
        }
        for hash in self.removed_hashes() {
            trees.secret_index.remove(&hash[..])?;
        }
        for (hash, value, new_hash) in &self.index_writes {
            if *new_hash && trees.secret_index.get(&hash[..])?.is_some() {
                return Err(ConflictableTransactionError::Abort(Abort::Duplicate));
            }
            trees.secret_index.insert(&hash[..], value.as_slice())?;
        }
        if let Some(old) = self.expected {
            trees
                .by_account
                .remove(codec::account_key(&old.account_id, id))?;
            for deadline in &old.scheduled {
                trees.deadlines.remove(codec::deadline_key(id, deadline))?;
            }
        }
        match (self.new, &self.new_bytes) {
            (Some(record), Some(bytes)) => {
                trees.by_account.insert(
                    codec::account_key(&record.account_id, id),
                    &codec::account_value(record)[..],
                )?;
                for deadline in &record.scheduled {
                    trees
                        .deadlines
                        .insert(codec::deadline_key(id, deadline), &[][..])?;
                }
                trees.credentials.insert(id.as_bytes(), bytes.as_slice())?;
            }
            _ => {
                trees.credentials.remove(id.as_bytes())?;
            }
        }
        Ok(())
    }
}

/// Appends encoded audit rows inside a transaction.
fn append_audit_rows(
    audit: &TransactionalTree,
    rows: &[Vec<u8>],
) -> Result<(), ConflictableTransactionError<Abort>> {
    for row in rows {
        let seq = audit.generate_id()?;
        audit.insert(&seq.to_be_bytes()[..], row.as_slice())?;
    }
    Ok(())
}

/// A transaction's result as a [`Commit`].
fn settle(result: Result<(), TransactionError<Abort>>) -> Result<Commit, Error> {
    match result {
        Ok(()) => Ok(Commit::Done),
        Err(TransactionError::Abort(Abort::Conflict)) => Ok(Commit::Conflict),
        Err(TransactionError::Abort(Abort::Duplicate)) => Err(Error::DuplicateSecret),
        Err(TransactionError::Storage(e)) => Err(Error::Sled(e)),
    }
}

impl Store {
    /// Opens (or creates) the database in `dir`, checks its schema version
    /// and that it was made with this pepper.
    ///
    /// # Errors
    /// [`Error::Locked`] if another process has it open, [`Error::NewerSchema`],
    /// [`Error::PepperMismatch`], or any sled error.
    pub fn open(
        dir: &Path,
        cache_capacity: u64,
        pepper_fingerprint: [u8; 32],
    ) -> Result<Self, Error> {
        Self::open_with_verify_cache(
            dir,
            cache_capacity,
            pepper_fingerprint,
            verify_cache::DEFAULT_ENTRIES,
        )
    }

    /// [`Store::open`] with a verify cache of about `verify_cache_entries`
    /// values (0 turns it off). Every clone of the store shares it.
    ///
    /// # Errors
    /// As [`Store::open`].
    pub fn open_with_verify_cache(
        dir: &Path,
        cache_capacity: u64,
        pepper_fingerprint: [u8; 32],
        verify_cache_entries: usize,
    ) -> Result<Self, Error> {
        let db = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|e| match e {
                // sled 0.34 wraps the failed lock in an `Other` error whose
                // message says so; match both that and a bare WouldBlock.
                sled::Error::Io(ref io)
                    if io.kind() == std::io::ErrorKind::WouldBlock
                        || io.to_string().contains("could not acquire lock") =>
                {
                    Error::Locked(dir.display().to_string())
                }
                other => Error::Sled(other),
            })?;
        let store = Store {
            credentials: db.open_tree("credentials")?,
            secret_index: db.open_tree("secret_index")?,
            by_account: db.open_tree("by_account")?,
            deadlines: db.open_tree("deadlines")?,
            outbox: db.open_tree("outbox")?,
            notices_sent: db.open_tree("notices_sent")?,
            audit: db.open_tree("audit")?,
            meta: db.open_tree("meta")?,
            accounts: db.open_tree("accounts")?,
            users: db.open_tree("users")?,
            sessions: db.open_tree("sessions")?,
            client_ids: db.open_tree("client_ids")?,
            client_ids_by_account: db.open_tree("client_ids_by_account")?,
            partners: db.open_tree("partners")?,
            grants: db.open_tree("grants")?,
            grant_pairs: db.open_tree("grant_pairs")?,
            consents: db.open_tree("consents")?,
            consent_expiry: db.open_tree("consent_expiry")?,
            verify_cache: Arc::new(verify_cache::VerifyCache::new(verify_cache_entries)),
            fault: Arc::new(fault::FaultWatch::default()),
            group_commit: Arc::new(
                group_commit::GroupCommit::start(db.clone())
                    .map_err(|e| Error::Flush(e.to_string()))?,
            ),
            db,
        };
        store.check_meta(pepper_fingerprint)?;
        Ok(store)
    }

    /// Rewrites every `by_account` value of schema 2 or older (status and
    /// expiry) with its credential's kind, read from the record.
    fn add_kinds_to_account_index(&self) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        let mut n_rewritten = 0usize;
        for item in &self.by_account {
            let (key, value) = item?;
            if value.len() == codec::ACCOUNT_VALUE_LEN {
                continue;
            }
            let id = key
                .iter()
                .position(|b| *b == 0)
                .map(|at| &key[at + 1..])
                .ok_or(Error::Corrupt("account index key"))?;
            match self.credentials.get(id)? {
                Some(raw) => {
                    let record = codec::decode_record(&raw)?;
                    batch.insert(key, &codec::account_value(&record)[..]);
                }
                None => batch.remove(key),
            }
            n_rewritten += 1;
        }
        self.by_account.apply_batch(batch)?;
        if n_rewritten > 0 {
            tracing::info!(
                entries = n_rewritten,
                "account index upgraded to schema 3 (kinds recorded)"
            );
        }
        Ok(())
    }

    fn check_meta(&self, pepper_fingerprint: [u8; 32]) -> Result<(), Error> {
        match self.meta.get(META_SCHEMA)? {
            Some(raw) => {
                let found = <[u8; 4]>::try_from(raw.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| Error::Corrupt("schema version"))?;
                if found > SCHEMA_VERSION {
                    return Err(Error::NewerSchema { found });
                }
                if found < SCHEMA_VERSION {
                    // Schema 1's index entries have no view and are read
                    // through their record; schema 2's `by_account` values
                    // lack the kind and are rewritten here. Both steps are
                    // idempotent, and the new version is written only after
                    // them, so a crash part-way repeats them at the next open.
                    self.add_kinds_to_account_index()?;
                    self.db.flush()?;
                    self.meta
                        .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                }
            }
            None => {
                self.meta
                    .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        match self.meta.get(META_PEPPER)? {
            Some(stored) if stored.as_ref() != pepper_fingerprint.as_slice() => {
                return Err(Error::PepperMismatch);
            }
            Some(_) => {}
            None => {
                if !self.credentials.is_empty() {
                    return Err(Error::PepperMismatch);
                }
                self.meta.insert(META_PEPPER, &pepper_fingerprint)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// Reads one credential.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get(&self, id: &str) -> Result<Option<CredentialRecord>, Error> {
        self.credentials
            .get(id.as_bytes())?
            .map(|raw| codec::decode_record(&raw))
            .transpose()
    }

    /// Which credential and version a secret hash belongs to.
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn lookup_secret(&self, hash: &[u8; 32]) -> Result<Option<(String, u32)>, Error> {
        Ok(self
            .index_entry(hash)?
            .map(|entry| (entry.credential_id, entry.version)))
    }

    fn index_entry(&self, hash: &[u8; 32]) -> Result<Option<codec::StoredIndexEntry>, Error> {
        self.verify_cache
            .get_or_read(hash, || self.secret_index.get(hash))?
            .map(|raw| {
                codec::StoredIndexEntry::decode(raw.as_ref())
                    .map_err(|_| Error::Corrupt("secret index entry"))
            })
            .transpose()
    }

    /// [`Store::lookup_secret`] with the slim record Verify needs, when the
    /// entry carries one: every field Verify reads (status, expiry, account,
    /// kind, scopes, user, client id, grant, the presented version and its
    /// hash), with names, texts, contacts, usage, other times and the
    /// schedule left empty.
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn lookup_secret_view(
        &self,
        hash: &[u8; 32],
    ) -> Result<Option<(String, u32, Option<CredentialRecord>)>, Error> {
        let Some(entry) = self.index_entry(hash)? else {
            return Ok(None);
        };
        let view = entry
            .view
            .as_deref()
            .map(|bytes| codec::decode_view(bytes, hash, entry.version))
            .transpose()?;
        Ok(Some((entry.credential_id, entry.version, view)))
    }

    /// Live credentials (ACTIVE or DISABLED, not past expiry) of an account.
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn count_live(&self, account_id: &str, now: DateTime<Utc>) -> Result<u32, Error> {
        let mut prefix = account_id.as_bytes().to_vec();
        prefix.push(0);
        let mut n_live = 0u32;
        for item in self.by_account.scan_prefix(&prefix) {
            let (_, value) = item?;
            let (status, expires_at, kind) = codec::decode_account_value(&value)?;
            if counts_toward_quota(kind) && is_live(status, expires_at, now) {
                n_live += 1;
            }
        }
        Ok(n_live)
    }

    /// Credentials in id order, after `after_id`, of one account or of all.
    /// The iterator reads lazily, so a caller can stop at a page's end.
    pub fn scan<'a>(
        &'a self,
        account_id: Option<&str>,
        after_id: Option<&str>,
    ) -> Box<dyn Iterator<Item = Result<CredentialRecord, Error>> + 'a> {
        match account_id {
            None => {
                let start = match after_id {
                    Some(id) => std::ops::Bound::Excluded(id.as_bytes().to_vec()),
                    None => std::ops::Bound::Unbounded,
                };
                Box::new(
                    self.credentials
                        .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
                        .map(|item| {
                            item.map_err(Error::from)
                                .and_then(|(_, v)| codec::decode_record(&v))
                        }),
                )
            }
            Some(account) => {
                let mut prefix = account.as_bytes().to_vec();
                prefix.push(0);
                let mut end = account.as_bytes().to_vec();
                end.push(1);
                let start = match after_id {
                    Some(id) => std::ops::Bound::Excluded(codec::account_key(account, id)),
                    None => std::ops::Bound::Included(prefix.clone()),
                };
                let prefix_len = prefix.len();
                Box::new(
                    self.by_account
                        .range::<Vec<u8>, _>((start, std::ops::Bound::Excluded(end)))
                        .filter_map(move |item| {
                            let key = match item {
                                Ok((key, _)) => key,
                                Err(e) => return Some(Err(Error::from(e))),
                            };
                            // A record deleted between the index read and this
                            // get is skipped rather than reported.
                            match self.credentials.get(&key[prefix_len..]) {
                                Ok(Some(raw)) => Some(codec::decode_record(&raw)),
                                Ok(None) => None,
                                Err(e) => Some(Err(Error::from(e))),
                            }
                        }),
                )
            }
        }
    }

    /// Replaces `expected` (None: the credential must not exist) by `new`
    /// (None: delete it), keeping every index in step, and appends `audit` (if any),
    /// all in one transaction. Returns [`Commit::Conflict`] without writing if
    /// the stored record is not `expected`.
    ///
    /// Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled errors; [`Error::DuplicateSecret`] if a new hash is already indexed.
    pub fn commit(
        &self,
        expected: Option<&CredentialRecord>,
        new: Option<&CredentialRecord>,
        audit: Option<&AuditEntry>,
    ) -> Result<Commit, Error> {
        let audits = match audit {
            Some(audit) => std::slice::from_ref(audit),
            None => &[],
        };
        self.commit_transition(expected, new, audits, &[])
    }

    /// [`Store::commit`] with any number of audit entries and notices, all in
    /// the same transaction. A notice whose (credential, kind, deadline) is
    /// already in the outbox or in `notices_sent` is not queued again.
    ///
    /// # Errors
    /// As [`Store::commit`].
    pub fn commit_transition(
        &self,
        expected: Option<&CredentialRecord>,
        new: Option<&CredentialRecord>,
        audits: &[AuditEntry],
        notices: &[OutboxNotice],
    ) -> Result<Commit, Error> {
        let Some(write) = CredentialWrite::prepare(expected, new) else {
            return Ok(Commit::Done);
        };
        let audit_rows: Vec<Vec<u8>> = audits.iter().map(codec::encode_audit).collect();
        let notice_rows: Vec<(Vec<u8>, Vec<u8>)> = notices
            .iter()
            .map(|n| {
                (
                    codec::notice_key(&n.credential_id, n.kind, n.deadline),
                    codec::encode_notice(n),
                )
            })
            .collect();
        let result = (
            &self.credentials,
            &self.secret_index,
            &self.by_account,
            &self.deadlines,
            &self.audit,
            &self.outbox,
            &self.notices_sent,
        )
            .transaction(
                |(credentials, secret_index, by_account, deadlines, audit_tree, outbox, sent)| {
                    write.apply(&CredentialTrees {
                        credentials,
                        secret_index,
                        by_account,
                        deadlines,
                    })?;
                    append_audit_rows(audit_tree, &audit_rows)?;
                    for (key, value) in &notice_rows {
                        if outbox.get(key)?.is_none() && sent.get(key)?.is_none() {
                            outbox.insert(key.as_slice(), value.as_slice())?;
                        }
                    }
                    Ok(())
                },
            );
        self.verify_cache.invalidate(write.touched());
        self.watched(settle(result))
    }

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
        self.watched(
            self.deadlines
                .remove(codec::deadline_key(id, deadline))
                .map_err(Error::from),
        )?;
        Ok(())
    }

    /// Every notice waiting in the outbox, in key order.
    ///
    /// # Errors
    /// sled errors and undecodable notices.
    pub fn outbox(&self) -> Result<Vec<OutboxNotice>, Error> {
        Ok(self
            .pending_notices(usize::MAX)?
            .into_iter()
            .map(|(_, n)| n)
            .collect())
    }

    /// Up to `limit` notices waiting in the outbox, with their keys.
    ///
    /// # Errors
    /// sled errors and undecodable notices.
    pub fn pending_notices(&self, limit: usize) -> Result<Vec<(NoticeKey, OutboxNotice)>, Error> {
        self.outbox
            .iter()
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                Ok((NoticeKey(key.to_vec()), codec::decode_notice(&value)?))
            })
            .collect()
    }

    /// Number of notices waiting in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Moves delivered (or otherwise settled) notices from the outbox to
    /// `notices_sent`, with `audits`, in one transaction, and flushes.
    ///
    /// # Errors
    /// sled errors.
    pub async fn settle_notices(
        &self,
        keys: &[NoticeKey],
        at: DateTime<Utc>,
        audits: &[AuditEntry],
    ) -> Result<(), Error> {
        let stamp = codec::time_key(at);
        let audit_rows: Vec<Vec<u8>> = audits.iter().map(codec::encode_audit).collect();
        (&self.outbox, &self.notices_sent, &self.audit)
            .transaction(|(outbox, sent, audit_tree)| {
                for key in keys {
                    outbox.remove(key.0.as_slice())?;
                    sent.insert(key.0.as_slice(), &stamp[..])?;
                }
                for row in &audit_rows {
                    let seq = audit_tree.generate_id()?;
                    audit_tree.insert(&seq.to_be_bytes()[..], row.as_slice())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => self.noted(Error::Sled(e)),
                TransactionError::Abort(()) => Error::Corrupt("aborted notice transaction"),
            })?;
        self.flush().await
    }

    /// Queues `notice`, with `audit`, unless a notice with its key is
    /// already queued or was settled. Returns whether it was queued.
    ///
    /// Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled errors.
    pub fn offer_notice(&self, notice: &OutboxNotice, audit: &AuditEntry) -> Result<bool, Error> {
        let key = codec::notice_key(&notice.credential_id, notice.kind, notice.deadline);
        let value = codec::encode_notice(notice);
        let row = codec::encode_audit(audit);
        let queued = (&self.outbox, &self.notices_sent, &self.audit)
            .transaction(|(outbox, sent, audit_tree)| {
                if outbox.get(&key)?.is_some() || sent.get(&key)?.is_some() {
                    return Ok(false);
                }
                outbox.insert(key.as_slice(), value.as_slice())?;
                let seq = audit_tree.generate_id()?;
                audit_tree.insert(&seq.to_be_bytes()[..], row.as_slice())?;
                Ok::<bool, ConflictableTransactionError<()>>(true)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => self.noted(Error::Sled(e)),
                TransactionError::Abort(()) => Error::Corrupt("aborted notice transaction"),
            })?;
        Ok(queued)
    }

    /// Whether a notice was settled (tests).
    ///
    /// # Errors
    /// sled errors.
    pub fn notice_settled(&self, key: &NoticeKey) -> Result<bool, Error> {
        Ok(self.notices_sent.contains_key(key.0.as_slice())?)
    }

    /// Number of entries in the deadline index (for tests and metrics).
    pub fn deadline_count(&self) -> usize {
        self.deadlines.len()
    }

    /// Appends an audit event on its own (a refused attempt, which changes
    /// nothing else). Durable at the next flush.
    ///
    /// # Errors
    /// sled errors.
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), Error> {
        self.watched((|| {
            let seq = self.db.generate_id()?;
            self.audit
                .insert(&seq.to_be_bytes()[..], codec::encode_audit(entry))?;
            Ok(())
        })())
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
            let seq = <[u8; 8]>::try_from(key.as_ref())
                .map(u64::from_be_bytes)
                .map_err(|_| Error::Corrupt("audit key"))?;
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

    /// Reads a `meta` value.
    ///
    /// # Errors
    /// sled errors.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.meta.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Writes a `meta` value (durable at the next flush).
    ///
    /// # Errors
    /// sled errors.
    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        self.watched(self.meta.insert(key.as_bytes(), value).map_err(Error::from))?;
        Ok(())
    }

    /// The verify cache's entries, hits and misses (metrics).
    pub fn verify_cache_stats(&self) -> VerifyCacheStats {
        self.verify_cache.stats()
    }

    /// Number of audit entries (for tests and metrics).
    pub fn audit_count(&self) -> usize {
        self.audit.len()
    }

    /// Makes every write so far durable. Concurrent callers share one
    /// sync (group commit, see `group_commit`).
    ///
    /// # Errors
    /// [`Error::Flush`] when the sync fails.
    pub async fn flush(&self) -> Result<(), Error> {
        self.watched(self.group_commit.flush().await.map_err(Error::Flush))
    }

    /// Passes `result` on, noting an error after which the database cannot
    /// write any more (see `fault`).
    fn watched<T>(&self, result: Result<T, Error>) -> Result<T, Error> {
        result.map_err(|e| self.noted(e))
    }

    /// [`Store::watched`] for an error at hand.
    fn noted(&self, err: Error) -> Error {
        self.fault.note(&err);
        err
    }

    /// The first error after which this database cannot write until it is
    /// opened again (a full disk, a failed fsync), if one happened.
    pub fn fault(&self) -> Option<String> {
        self.fault.get()
    }

    /// Resolves once the database has met such an error, with its text.
    pub async fn faulted(&self) -> String {
        let mut rx = self.fault.subscribe();
        loop {
            if let Some(first) = rx.borrow_and_update().clone() {
                return first;
            }
            if rx.changed().await.is_err() {
                // The store is gone; nothing will be reported any more.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits while a flush is running, then counts the caller as a writer
    /// until the guard is dropped: pass it before a transaction that will be
    /// flushed, drop it before [`Store::flush`]. The flush thread waits for
    /// counted writers, so they share one fsync (see `group_commit`).
    pub async fn writing(&self) -> group_commit::Writing<'_> {
        self.group_commit.gate().enter().await
    }

    /// Size of the database on disk, in bytes.
    ///
    /// # Errors
    /// sled I/O errors.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(self.db.size_on_disk()?)
    }

    /// Whether the stored status of a credential is `status` (tests).
    pub fn has_status(&self, id: &str, status: Status) -> Result<bool, Error> {
        Ok(self.get(id)?.is_some_and(|r| r.status == status))
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

#[cfg(test)]
mod tests;
