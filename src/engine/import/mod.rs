//! ImportCredentials: credentials a company already handed out, brought
//! into credd with their history. A batch of at most [`MAX_IMPORT_ROWS`]
//! rows; each row is checked (`row`), settled by `lifecycle::import` from
//! its own times, and committed with its audit event (`credential.imported`,
//! the admin key as actor), its external id and, for a key given by its
//! legacy SHA-256, its legacy index entry, in one transaction; the batch is
//! flushed once before the answer. A row's failure is reported and never
//! aborts the batch. Per external id (within an account) an import is
//! idempotent: the same row again is UNCHANGED, a different row with the
//! same external id fails. A dry run checks everything a real run would
//! (external ids, duplicate keys, quotas, counted within the batch) and
//! writes nothing. Verify of imported keys is `verify`.

mod row;
mod verify;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tracing::info;

use super::access::{Actor, Scope};
use super::{Engine, Error, MAX_ATTEMPTS, audit_entry};
use crate::lifecycle::{self, Status};
use crate::store::{ImportCommit, ImportEntry};

pub use row::{ImportKey, ImportRow, MAX_EXTERNAL_ID_LEN, MIN_SECRET_LEN};

/// Most rows in one ImportCredentials call.
pub const MAX_IMPORT_ROWS: usize = 1000;

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Imported now (in a dry run: would be).
    Imported,
    /// Imported before from the same row; nothing written.
    Unchanged,
    /// Not imported; the reason says why.
    Failed,
}

/// One row's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportResult {
    /// What became of it.
    pub outcome: ImportOutcome,
    /// The credential it is (None when it failed before it had one, and
    /// for rows of a dry run that would be imported).
    pub credential_id: Option<String>,
    /// The stored status (DISABLED for a key unused for longer than the
    /// inactivity period) of an imported row.
    pub status: Option<Status>,
    /// Why it failed; empty otherwise.
    pub reason: String,
}

impl ImportResult {
    fn failed(reason: impl Into<String>) -> Self {
        ImportResult {
            outcome: ImportOutcome::Failed,
            credential_id: None,
            status: None,
            reason: reason.into(),
        }
    }

    fn done(outcome: ImportOutcome, id: Option<String>, status: Option<Status>) -> Self {
        ImportResult {
            outcome,
            credential_id: id,
            status,
            reason: String::new(),
        }
    }
}

/// An account's room during a batch: its quota guard and live count, read
/// once and kept in step with this batch's own imports.
struct Room {
    guard: u64,
    live: u32,
    limit: u32,
}

/// What a dry run has "imported" in its batch so far, which a real import
/// would have written: (account, external id) -> fingerprint, and the
/// secret and legacy hashes taken (unique across accounts, as in the store).
#[derive(Default)]
struct DrySeen {
    external: HashMap<(String, String), [u8; 32]>,
    hashes: std::collections::HashSet<[u8; 32]>,
}

impl Engine {
    /// Imports a batch of rows (or, with `dry_run`, checks them): one result
    /// per row, in order. A row given as `Err` (it could not even be read)
    /// fails with that text.
    ///
    /// # Errors
    /// `InvalidArgument` for no rows or more than [`MAX_IMPORT_ROWS`];
    /// `PermissionDenied` without `credentials:write`; storage failures.
    pub async fn import(
        &self,
        actor: &Actor,
        rows: Vec<Result<ImportRow, String>>,
        dry_run: bool,
    ) -> Result<Vec<ImportResult>, Error> {
        if rows.is_empty() {
            return Err(Error::InvalidArgument("no rows to import".to_string()));
        }
        if rows.len() > MAX_IMPORT_ROWS {
            return Err(Error::InvalidArgument(format!(
                "{} rows in one call; at most {MAX_IMPORT_ROWS}",
                rows.len()
            )));
        }
        if !actor.holds(Scope::CredentialsWrite) {
            return self.deny_unscoped(actor, "credential.import", "", Scope::CredentialsWrite);
        }
        let now = self.clock.now();
        let mut results = Vec::with_capacity(rows.len());
        let mut prepared = Vec::with_capacity(rows.len());
        for (at, row) in rows.into_iter().enumerate() {
            let row = match row {
                Ok(row) => row,
                Err(reason) => {
                    results.push(ImportResult::failed(reason));
                    continue;
                }
            };
            let allowed = actor.allows(Scope::CredentialsWrite, Some(&row.account_id));
            if allowed.is_err() {
                let account = row.account_id.clone();
                let denied = self.authorize(actor, "credential.import", "", &account, allowed);
                results.push(ImportResult::failed(
                    denied.err().map(|e| e.to_string()).unwrap_or_default(),
                ));
                continue;
            }
            match self.prepare_row(row, now) {
                Ok(p) => {
                    prepared.push((at, p));
                    results.push(ImportResult::failed(String::new()));
                }
                Err(reason) => results.push(ImportResult::failed(reason)),
            }
        }
        let mut rooms: HashMap<String, Result<Room, String>> = HashMap::new();
        let mut seen = dry_run.then(DrySeen::default);
        let mut imported = 0usize;
        for (at, p) in prepared {
            let account = p.record.account_id.clone();
            let _lock = self.account_lock(&account).lock().await;
            if !rooms.contains_key(&account) {
                let room = self.room(actor, &account, now, dry_run).await;
                rooms.insert(account.clone(), room.map_err(|e| e.to_string()));
            }
            let room = match rooms.get_mut(&account) {
                Some(Ok(room)) => room,
                Some(Err(reason)) => {
                    results[at] = ImportResult::failed(reason.clone());
                    continue;
                }
                None => continue,
            };
            results[at] = self.import_one(actor, &p, room, now, seen.as_mut()).await?;
            if results[at].outcome == ImportOutcome::Imported {
                imported += 1;
            }
        }
        if imported > 0 && !dry_run {
            self.store.flush().await?;
        }
        info!(
            actor = %actor.id,
            request_id = %actor.request_id,
            rows = results.len(),
            imported,
            dry_run,
            "credentials imported"
        );
        Ok(results)
    }

    /// The account's quota guard, live count and limit, read once per
    /// batch. Creates the account as a create would (not in a dry run,
    /// which only checks that it exists or may be created).
    async fn room(
        &self,
        actor: &Actor,
        account: &str,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Room, Error> {
        if dry_run {
            if self.accounts.get(account).is_none() && !self.policy.auto_create_accounts {
                return Err(Error::AccountNotFound {
                    id: account.to_string(),
                });
            }
        } else {
            self.ensure_account(actor, account, now).await?;
        }
        let guard = self.store.quota_guard(account)?;
        Ok(Room {
            guard,
            live: self.store.count_live(account, now)?,
            limit: self.quota_limit(account),
        })
    }

    /// Imports one prepared row into its account's room, or, in a dry run
    /// (`dry`: the batch's rows so far), checks it.
    async fn import_one(
        &self,
        actor: &Actor,
        p: &row::Prepared,
        room: &mut Room,
        now: DateTime<Utc>,
        dry: Option<&mut DrySeen>,
    ) -> Result<ImportResult, Error> {
        let record = &p.record;
        let counted = lifecycle::counts_toward_quota(record.kind)
            && lifecycle::is_live(record.status, record.expires_at, now);
        let audit = audit_entry(
            actor,
            now,
            "credential.imported",
            &record.id,
            &record.account_id,
            format!("external id {}", p.external_id),
        );
        let entry = ImportEntry {
            record,
            audit: &audit,
            external_id: &p.external_id,
            fingerprint: p.fingerprint,
            legacy: p.legacy,
            foreign: p.foreign,
        };
        let mut dry = dry;
        for _ in 0..MAX_ATTEMPTS {
            if let Some((id, fingerprint)) =
                self.store.external_id(&record.account_id, &p.external_id)?
            {
                return Ok(existing(id, fingerprint, p.fingerprint));
            }
            if let Some(earlier) = dry.as_deref().and_then(|seen| seen.repeated(p)) {
                return Ok(earlier);
            }
            if counted && room.live >= room.limit {
                return Ok(ImportResult::failed(format!(
                    "account {} holds its maximum of {} live credentials",
                    record.account_id, room.limit
                )));
            }
            if let Some(seen) = dry.as_deref_mut() {
                return self.check_dry(p, room, seen, counted);
            }
            let writing = self.store.writing().await;
            let commit = self.store.import(&entry, counted.then_some(room.guard))?;
            drop(writing);
            match commit {
                ImportCommit::Done => {
                    if counted {
                        room.guard += 1;
                        room.live += 1;
                    }
                    return Ok(ImportResult::done(
                        ImportOutcome::Imported,
                        Some(record.id.clone()),
                        Some(record.status),
                    ));
                }
                ImportCommit::Conflict => {
                    room.guard = self.store.quota_guard(&record.account_id)?;
                    room.live = self.store.count_live(&record.account_id, now)?;
                }
                ImportCommit::Existing {
                    credential_id,
                    fingerprint,
                } => return Ok(existing(credential_id, fingerprint, p.fingerprint)),
                ImportCommit::DuplicateSecret => {
                    return Ok(ImportResult::failed(
                        "the secret is already the secret of another credential",
                    ));
                }
                ImportCommit::DuplicateLegacy => {
                    return Ok(ImportResult::failed(
                        "the legacy hash is already another credential's",
                    ));
                }
            }
        }
        Err(Error::Contention {
            id: record.id.clone(),
        })
    }

    /// What a dry run can tell beyond the row itself: whether its key is
    /// taken (in the store or by an earlier row of the batch). A row that would be imported is
    /// recorded in `seen` and counted in its account's room.
    fn check_dry(
        &self,
        p: &row::Prepared,
        room: &mut Room,
        seen: &mut DrySeen,
        counted: bool,
    ) -> Result<ImportResult, Error> {
        let version = p.record.versions.first().map(|v| v.hash);
        if p.legacy.is_none()
            && version.is_some_and(|h| self.store.lookup_secret(&h).ok().flatten().is_some())
        {
            return Ok(ImportResult::failed(
                "the secret is already the secret of another credential",
            ));
        }
        if let Some(digest) = &p.legacy {
            if self.store.lookup_legacy(digest)?.is_some() {
                return Ok(ImportResult::failed(
                    "the legacy hash is already another credential's",
                ));
            }
        }
        let taken = match (&p.legacy, version) {
            (Some(digest), _) => *digest,
            (None, Some(hash)) => hash,
            (None, None) => [0; 32],
        };
        if !seen.hashes.insert(taken) {
            return Ok(ImportResult::failed(
                "the secret (or legacy hash) is also an earlier row's of this batch",
            ));
        }
        seen.external.insert(
            (p.record.account_id.clone(), p.external_id.clone()),
            p.fingerprint,
        );
        if counted {
            room.live += 1;
        }
        Ok(ImportResult::done(
            ImportOutcome::Imported,
            None,
            Some(p.record.status),
        ))
    }
}

impl DrySeen {
    /// The answer for `p` when an earlier row of the batch has its account
    /// and external id: unchanged with the same data, failed with other
    /// data (as the import answers; there is no credential id yet).
    fn repeated(&self, p: &row::Prepared) -> Option<ImportResult> {
        let key = (p.record.account_id.clone(), p.external_id.clone());
        let earlier = self.external.get(&key)?;
        Some(repeated(earlier, &p.fingerprint))
    }
}

fn repeated(earlier: &[u8; 32], ours: &[u8; 32]) -> ImportResult {
    if bool::from(subtle::ConstantTimeEq::ct_eq(&earlier[..], &ours[..])) {
        ImportResult {
            reason: "an earlier row of this batch has this external id and data".to_string(),
            ..ImportResult::done(ImportOutcome::Unchanged, None, None)
        }
    } else {
        ImportResult::failed(
            "external id already given by an earlier row of this batch with different data",
        )
    }
}

/// The answer for a row whose external id was imported before.
fn existing(id: String, stored: [u8; 32], ours: [u8; 32]) -> ImportResult {
    if bool::from(subtle::ConstantTimeEq::ct_eq(&stored[..], &ours[..])) {
        ImportResult::done(ImportOutcome::Unchanged, Some(id), None)
    } else {
        ImportResult {
            outcome: ImportOutcome::Failed,
            reason: format!("external id already imported as {id} with different data"),
            credential_id: Some(id),
            status: None,
        }
    }
}
