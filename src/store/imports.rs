//! Imported credentials: the `legacy_index` tree (SHA-256 of a key's
//! plaintext, as a system credd replaces kept it -> credential id), the
//! `external_ids` tree (account, external id -> credential id and the
//! imported row's fingerprint, so an import is idempotent), and the
//! `shared_meta` flag saying some imported secret is not credd-shaped (so
//! Verify looks such a value up at all). The import's commit writes a
//! credential with all of them in one transaction; the re-hash of a legacy
//! key after its first VALID Verify replaces its hash and drops its legacy
//! entry in one transaction. No plaintext reaches this module.

use std::sync::atomic::Ordering;

use sled::transaction::ConflictableTransactionError;

use super::audit::append_audit_rows;
use super::codec;
use super::credentials::{Abort, CredentialTrees, CredentialWrite, move_guard, settle};
use super::txn::TxResult;
use super::{AuditEntry, Commit, Error, Store};
use crate::lifecycle::CredentialRecord;

/// `shared_meta` key: present once an imported secret that is not
/// credd-shaped was committed.
const FOREIGN_SECRETS: &[u8] = b"foreign_secrets";

/// One imported credential, ready to commit.
#[derive(Debug)]
pub struct ImportEntry<'a> {
    /// The new record (its version's hash is the pepper's HMAC of the
    /// secret, or a placeholder for a legacy hash).
    pub record: &'a CredentialRecord,
    /// The `credential.imported` event.
    pub audit: &'a AuditEntry,
    /// The caller's id for the row, unique within the record's account.
    pub external_id: &'a str,
    /// A keyed digest of the row as given, to tell a re-import of the same
    /// row from a different one.
    pub fingerprint: [u8; 32],
    /// The SHA-256 of the plaintext, for a key imported by its legacy hash.
    pub legacy: Option<[u8; 32]>,
    /// Whether the secret is not credd-shaped.
    pub foreign: bool,
}

/// What [`Store::import`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportCommit {
    /// Written.
    Done,
    /// The account's quota guard moved (another create came first): count
    /// again.
    Conflict,
    /// The external id was imported before, as this credential with this
    /// fingerprint. Nothing written.
    Existing {
        /// The credential it was imported as.
        credential_id: String,
        /// The fingerprint of the row it was imported from.
        fingerprint: [u8; 32],
    },
    /// The secret (its HMAC) already belongs to a credential.
    DuplicateSecret,
    /// The legacy hash already belongs to a credential.
    DuplicateLegacy,
}

/// Why an import's transaction gave up.
enum ImportAbort {
    Credential(Abort),
    Existing(String, [u8; 32]),
    DuplicateLegacy,
}

/// An `external_ids` key: account, 0, external id.
fn external_key(account_id: &str, external_id: &str) -> Vec<u8> {
    codec::account_key(account_id, external_id)
}

/// An `external_ids` value: the fingerprint, then the credential id.
fn external_value(fingerprint: &[u8; 32], credential_id: &str) -> Vec<u8> {
    let mut value = fingerprint.to_vec();
    value.extend_from_slice(credential_id.as_bytes());
    value
}

fn decode_external(raw: &[u8]) -> Result<(String, [u8; 32]), Error> {
    let corrupt = || Error::Corrupt("external id entry");
    let (fingerprint, id) = raw.split_at_checked(32).ok_or_else(corrupt)?;
    let fingerprint = <[u8; 32]>::try_from(fingerprint).map_err(|_| corrupt())?;
    let id = String::from_utf8(id.to_vec()).map_err(|_| corrupt())?;
    Ok((id, fingerprint))
}

/// Lifts a credential write's abort into the import's.
fn lift<T>(result: TxResult<T, Abort>) -> TxResult<T, ImportAbort> {
    result.map_err(|e| match e {
        ConflictableTransactionError::Abort(a) => {
            ConflictableTransactionError::Abort(ImportAbort::Credential(a))
        }
        ConflictableTransactionError::Conflict => ConflictableTransactionError::Conflict,
        ConflictableTransactionError::Storage(e) => ConflictableTransactionError::Storage(e),
    })
}

impl Store {
    /// The credential an external id of an account was imported as, and
    /// the fingerprint of that row.
    ///
    /// # Errors
    /// sled errors and an undecodable entry.
    pub fn external_id(
        &self,
        account_id: &str,
        external_id: &str,
    ) -> Result<Option<(String, [u8; 32])>, Error> {
        self.external_ids
            .get(external_key(account_id, external_id))?
            .map(|raw| decode_external(&raw))
            .transpose()
    }

    /// The credential a legacy SHA-256 digest belongs to.
    ///
    /// # Errors
    /// sled errors, a stale cluster node, an undecodable entry.
    pub fn lookup_legacy(&self, digest: &[u8; 32]) -> Result<Option<String>, Error> {
        self.check_fresh()?;
        self.legacy_index
            .get(digest)?
            .map(|raw| {
                String::from_utf8(raw.to_vec()).map_err(|_| Error::Corrupt("legacy index entry"))
            })
            .transpose()
    }

    /// Whether any key imported by its legacy hash still waits for its
    /// first VALID Verify.
    pub fn has_legacy(&self) -> bool {
        self.legacy_index.first().ok().flatten().is_some()
    }

    /// Whether an imported secret that is not credd-shaped was ever
    /// committed (then Verify looks up values of any shape).
    pub fn has_foreign_secrets(&self) -> bool {
        if self.foreign_seen.load(Ordering::Relaxed) {
            return true;
        }
        let seen = self
            .shared_meta
            .contains_key(FOREIGN_SECRETS)
            .unwrap_or(false);
        if seen {
            self.foreign_seen.store(true, Ordering::Relaxed);
        }
        seen
    }

    /// Commits one imported credential with its audit event, its external
    /// id, its legacy entry (if any) and the foreign-secrets flag (if it is
    /// one), in one transaction. With `guard` (the account's quota guard
    /// as read before counting) it commits only while the guard is
    /// unchanged, moving it on, as [`Store::create`] does.
    ///
    /// Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled errors; for a cluster, [`Error::Cluster`].
    pub fn import(
        &self,
        entry: &ImportEntry<'_>,
        guard: Option<u64>,
    ) -> Result<ImportCommit, Error> {
        let record = entry.record;
        let Some(write) = CredentialWrite::prepare(None, Some(record)) else {
            return Ok(ImportCommit::Done);
        };
        let audit_rows = vec![codec::encode_audit(entry.audit)];
        let ext_key = external_key(&record.account_id, entry.external_id);
        let ext_value = external_value(&entry.fingerprint, &record.id);
        let trees = [
            &self.credentials,
            &self.secret_index,
            &self.by_account,
            &self.deadlines,
            &self.audit,
            &self.quota_guards,
            &self.legacy_index,
            &self.external_ids,
            &self.shared_meta,
        ];
        let result = self.transact(trees, |t| {
            let [
                credentials,
                secret_index,
                by_account,
                deadlines,
                audit,
                guards,
                legacy_index,
                external_ids,
                shared_meta,
            ] = *t;
            if let Some(raw) = external_ids.get(&ext_key)? {
                let (id, fingerprint) = decode_external(&raw).map_err(|_| {
                    ConflictableTransactionError::Abort(ImportAbort::Credential(Abort::Conflict))
                })?;
                return Err(ConflictableTransactionError::Abort(ImportAbort::Existing(
                    id,
                    fingerprint,
                )));
            }
            if let Some(expected) = guard {
                lift(move_guard(guards, record.account_id.as_bytes(), expected))?;
            }
            if let Some(digest) = &entry.legacy {
                if legacy_index.get(digest)?.is_some() {
                    return Err(ConflictableTransactionError::Abort(
                        ImportAbort::DuplicateLegacy,
                    ));
                }
                legacy_index.insert(digest, record.id.as_bytes())?;
            }
            lift(write.apply(&CredentialTrees {
                credentials,
                secret_index,
                by_account,
                deadlines,
            }))?;
            external_ids.insert(&ext_key, &ext_value)?;
            if entry.foreign && shared_meta.get(FOREIGN_SECRETS)?.is_none() {
                shared_meta.insert(FOREIGN_SECRETS, &[1])?;
            }
            append_audit_rows(audit, &audit_rows)?;
            Ok(())
        })?;
        self.verify_cache.invalidate(write.touched());
        Ok(match result {
            Ok(()) => {
                if entry.foreign {
                    self.foreign_seen.store(true, Ordering::Relaxed);
                }
                ImportCommit::Done
            }
            Err(ImportAbort::Existing(credential_id, fingerprint)) => ImportCommit::Existing {
                credential_id,
                fingerprint,
            },
            Err(ImportAbort::DuplicateLegacy) => ImportCommit::DuplicateLegacy,
            Err(ImportAbort::Credential(Abort::Duplicate)) => ImportCommit::DuplicateSecret,
            Err(ImportAbort::Credential(Abort::Conflict)) => ImportCommit::Conflict,
        })
    }

    /// Replaces `expected` by `new` (the same credential with the legacy
    /// version's hash now the pepper's HMAC) and removes `digest` from the
    /// legacy index, with `audit`, in one transaction: the lazy re-hash of
    /// a key imported by its legacy hash. With `foreign` (the key is not
    /// credd-shaped) the foreign-secrets flag is set in the same
    /// transaction, so Verify keeps looking such values up.
    /// [`Commit::Conflict`] when the record changed meanwhile (nothing
    /// written; the next Verify tries again).
    ///
    /// # Errors
    /// sled errors; [`Error::DuplicateSecret`] if the new hash is indexed.
    pub fn rehash_legacy(
        &self,
        expected: &CredentialRecord,
        new: &CredentialRecord,
        digest: &[u8; 32],
        foreign: bool,
        audit: &AuditEntry,
    ) -> Result<Commit, Error> {
        let Some(write) = CredentialWrite::prepare(Some(expected), Some(new)) else {
            return Ok(Commit::Done);
        };
        let audit_rows = vec![codec::encode_audit(audit)];
        let trees = [
            &self.credentials,
            &self.secret_index,
            &self.by_account,
            &self.deadlines,
            &self.audit,
            &self.legacy_index,
            &self.shared_meta,
        ];
        let result = self.transact(trees, |t| {
            let [
                credentials,
                secret_index,
                by_account,
                deadlines,
                audit,
                legacy_index,
                shared_meta,
            ] = *t;
            write.apply(&CredentialTrees {
                credentials,
                secret_index,
                by_account,
                deadlines,
            })?;
            legacy_index.remove(digest)?;
            if foreign && shared_meta.get(FOREIGN_SECRETS)?.is_none() {
                shared_meta.insert(FOREIGN_SECRETS, &[1])?;
            }
            append_audit_rows(audit, &audit_rows)?;
            Ok(())
        })?;
        self.verify_cache.invalidate(write.touched());
        if foreign && result.is_ok() {
            self.foreign_seen.store(true, Ordering::Relaxed);
        }
        settle(result)
    }

    /// The trees holding `needle` in any key or value (tests: no plaintext
    /// is written anywhere).
    #[cfg(test)]
    pub(crate) fn trees_containing(&self, needle: &[u8]) -> Vec<String> {
        let found = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        self.db
            .tree_names()
            .into_iter()
            .filter(|name| {
                self.db
                    .open_tree(name)
                    .is_ok_and(|tree| tree.iter().flatten().any(|(k, v)| found(&k) || found(&v)))
            })
            .map(|name| String::from_utf8_lossy(&name).into_owned())
            .collect()
    }
}
