//! The credential trees: `credentials` (id -> record), `secret_index`
//! (HMAC -> id, version and Verify's view), `by_account` (account, id ->
//! status, expiry, kind) and, written with them, `deadlines`. Reads, the
//! quota count, scans, and the commit that keeps every index in step.

use chrono::{DateTime, Utc};
use prost::Message;
use sled::transaction::ConflictableTransactionError;

use super::audit::append_audit_rows;
use super::codec;
use super::txn::{TxResult, TxTree};
use super::{AuditEntry, Commit, Error, OutboxNotice, Store};
use crate::lifecycle::{CredentialRecord, Status, counts_toward_quota, is_live};

/// Why a credential transaction gave up.
pub(super) enum Abort {
    Conflict,
    Duplicate,
}

/// The trees a credential change writes, inside a transaction.
pub(super) struct CredentialTrees<'t> {
    pub(super) credentials: &'t dyn TxTree,
    pub(super) secret_index: &'t dyn TxTree,
    pub(super) by_account: &'t dyn TxTree,
    pub(super) deadlines: &'t dyn TxTree,
}

/// A credential change encoded ahead of its transaction, so a retried
/// transaction does no encoding work and several kinds of commit share it.
pub(super) struct CredentialWrite<'r> {
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
    pub(super) fn prepare(
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
    pub(super) fn touched(&self) -> impl Iterator<Item = &[u8; 32]> {
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
    pub(super) fn apply(&self, trees: &CredentialTrees<'_>) -> TxResult<(), Abort> {
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
                .remove(&codec::account_key(&old.account_id, id))?;
            for deadline in &old.scheduled {
                trees.deadlines.remove(&codec::deadline_key(id, deadline))?;
            }
        }
        match (self.new, &self.new_bytes) {
            (Some(record), Some(bytes)) => {
                trees.by_account.insert(
                    &codec::account_key(&record.account_id, id),
                    &codec::account_value(record)[..],
                )?;
                for deadline in &record.scheduled {
                    trees
                        .deadlines
                        .insert(&codec::deadline_key(id, deadline), &[])?;
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

/// Moves an account's quota guard on inside a transaction, failing it
/// (a conflict) unless the guard is still `expected`.
pub(super) fn move_guard(
    guards: &dyn TxTree,
    account: &[u8],
    expected: u64,
) -> TxResult<(), Abort> {
    let current = guards
        .get(account)?
        .as_deref()
        .map_or(Ok(0), decode_guard)
        .map_err(|_| ConflictableTransactionError::Abort(Abort::Conflict))?;
    if current != expected {
        return Err(ConflictableTransactionError::Abort(Abort::Conflict));
    }
    guards.insert(account, &(expected + 1).to_be_bytes())?;
    Ok(())
}

/// A quota guard's counter.
fn decode_guard(raw: &[u8]) -> Result<u64, Error> {
    <[u8; 8]>::try_from(raw)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt("quota guard"))
}

/// A transaction's result as a [`Commit`].
pub(super) fn settle(result: Result<(), Abort>) -> Result<Commit, Error> {
    match result {
        Ok(()) => Ok(Commit::Done),
        Err(Abort::Conflict) => Ok(Commit::Conflict),
        Err(Abort::Duplicate) => Err(Error::DuplicateSecret),
    }
}

impl Store {
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
        // Fail closed: a cluster node that lost touch answers no secret.
        self.check_fresh()?;
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
        let result = self.commit_write(&write, &audit_rows, &notice_rows, None);
        self.verify_cache.invalidate(write.touched());
        let result = result?;
        if result == Commit::Done {
            self.journal_change(expected, new)?;
            if new.is_none() {
                self.forget_side_entries(write.id);
            }
        }
        Ok(result)
    }

    /// Drops a deleted credential's entries in the trees kept beside its
    /// record (`last_used`, `credits`). Best effort: the deletion is
    /// committed already, and an entry left behind is read by nobody.
    fn forget_side_entries(&self, id: &str) {
        let forgotten = self
            .forget_last_used(id)
            .and_then(|()| self.forget_credits(id));
        if let Err(e) = forgotten {
            tracing::warn!(credential_id = %id, error = %e, "a deleted credential's last use or credits stay behind");
        }
    }

    /// The quota guard of an account: read it before counting the live
    /// credentials a create is checked against, and pass it to
    /// [`Store::create`].
    ///
    /// # Errors
    /// sled errors and an undecodable counter.
    pub fn quota_guard(&self, account_id: &str) -> Result<u64, Error> {
        self.quota_guards
            .get(account_id.as_bytes())?
            .map_or(Ok(0), |raw| decode_guard(&raw))
    }

    /// Creates `new` (with `audit`) if the account's quota guard is still
    /// `guard` (as read before the live credentials were counted), moving
    /// the guard on in the same transaction. [`Commit::Conflict`]: another
    /// create of the account (on this node or another) came first; count
    /// again.
    ///
    /// # Errors
    /// As [`Store::commit`].
    pub fn create(
        &self,
        new: &CredentialRecord,
        audit: &AuditEntry,
        guard: u64,
    ) -> Result<Commit, Error> {
        let Some(write) = CredentialWrite::prepare(None, Some(new)) else {
            return Ok(Commit::Done);
        };
        let audit_rows = vec![codec::encode_audit(audit)];
        let guarded = (new.account_id.as_bytes(), guard);
        let result = self.commit_write(&write, &audit_rows, &[], Some(guarded));
        self.verify_cache.invalidate(write.touched());
        result
    }

    /// [`Store::commit_transition`]'s transaction: the credential trees,
    /// `audit`, `outbox` and `notices_sent`, and with `guard` (account,
    /// expected counter) the account's quota guard.
    fn commit_write(
        &self,
        write: &CredentialWrite<'_>,
        audit_rows: &[Vec<u8>],
        notice_rows: &[(Vec<u8>, Vec<u8>)],
        guard: Option<(&[u8], u64)>,
    ) -> Result<Commit, Error> {
        let trees = [
            &self.credentials,
            &self.secret_index,
            &self.by_account,
            &self.deadlines,
            &self.audit,
            &self.outbox,
            &self.notices_sent,
            &self.quota_guards,
        ];
        let result = self.transact(trees, |t| {
            let [
                credentials,
                secret_index,
                by_account,
                deadlines,
                audit,
                outbox,
                sent,
                guards,
            ] = *t;
            if let Some((account, expected)) = guard {
                move_guard(guards, account, expected)?;
            }
            write.apply(&CredentialTrees {
                credentials,
                secret_index,
                by_account,
                deadlines,
            })?;
            append_audit_rows(audit, audit_rows)?;
            for (key, value) in notice_rows {
                if outbox.get(key)?.is_none() && sent.get(key)?.is_none() {
                    outbox.insert(key, value)?;
                }
            }
            Ok(())
        })?;
        settle(result)
    }

    /// Whether the stored status of a credential is `status` (tests).
    pub fn has_status(&self, id: &str, status: Status) -> Result<bool, Error> {
        Ok(self.get(id)?.is_some_and(|r| r.status == status))
    }
}
