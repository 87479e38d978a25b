//! The only code that touches sled: the trees, their keys and encodings, and
//! the transactions that keep them consistent. It knows nothing of policy; it
//! writes what the engine decided, atomically, and says when a record changed
//! underneath (so the engine can decide again).
//!
//! Trees: `credentials` (id -> record), `secret_index` (HMAC -> id, version),
//! `by_account` (account, id -> status, expiry), `deadlines` (due time, id,
//! event -> ()), `last_used` (id -> latest flushed use), `usage`
//! (daily Verify counts per credential and account), `usage_published`
//! (each cluster node's usage rows of past days), `credits` (id -> flushed
//! credit state), `outbox`, `notices_sent`, `audit`, `meta`, `shared_meta` (facts every node of a cluster shares: the bootstrap key's id), `accounts`, `users`, `sessions`,
//! `session_deadlines` (due time, token HMAC -> ()), `quota_guards` (account
//! -> the counter a quota-checked create moves on), `legacy_index`
//! (SHA-256 of an imported key's plaintext -> credential id, until its
//! first VALID Verify re-hashes it), `external_ids` (account, external id
//! -> credential id and the imported row's fingerprint), and the partner
//! trees (see `partners`).
//!
//! Files: the [`Store`] itself and its construction here; `credentials`
//! (reads, scans, the quota count and the commit that keeps the indexes in
//! step), `deadlines`, `last_used` and `usage` (over `buckets`), `usage_published`, `credits`, `outbox`, `audit`, `meta` (schema version, upgrade,
//! pepper fingerprint), `accounts`, `users`, `sessions`, `partners`,
//! `imports` (imported credentials, their legacy hashes and external ids),
//! and `error`.
//! Beneath them: `codec` (encodings), `verify_cache`, `group_commit` (every
//! flush) and `fault` (the first error after which sled cannot write).
//!
//! **The storage seam** is [`backend::Backend`], an enum the store holds: it
//! says where a write commits. Reads are served from the local sled trees
//! whatever the backend (with etcd they are this node's replica, fed by a
//! watch: `etcd`), so only the writes differ, most of them one body run by
//! `txn`'s `Store::transact`. `backend` says why an enum rather than a
//! trait, and the store's tests (`tests/mod.rs`) run once per backend.

mod accounts;
mod audit;
mod backend;
mod backup;
mod buckets;
mod check;
mod codec;
mod credentials;
mod credits;
mod deadlines;
mod error;
#[cfg(feature = "etcd")]
mod etcd;
mod fault;
mod group_commit;
mod hold;
mod imports;
mod journal;
mod last_used;
mod meta;
mod outbox;
mod partners;
mod sessions;
mod txn;
mod usage;
mod usage_published;
mod users;
mod verify_cache;
mod webhooks;

pub use audit::{AuditEntry, AuditEvent, AuditFilter, AuditPage};
pub use backup::{
    BACKUP_FORMAT, BACKUP_MAGIC_LEN, BackupHeader, JournalMark, RestoreReport, TreeCount,
    check_backup_file, inspect_backup, restore_backup,
};
pub use check::{Fault, IndexReport};
pub use deadlines::DueDeadline;
pub use error::Error;
#[cfg(feature = "etcd")]
pub use etcd::migrate::{MigrationReport, etcd_to_sled, sled_to_etcd};
#[cfg(feature = "etcd")]
pub use etcd::{EtcdOptions, EtcdTls, Freshness, ReplicaChange};
pub use imports::{ImportCommit, ImportEntry};
pub use journal::{JournalEntry, JournalEvent, read_journal, read_journal_after_revision};
pub use meta::{BOOTSTRAP_PENDING, SCHEMA_VERSION};
pub use outbox::{NoticeKey, OutboxNotice};
pub use partners::{PartnerChange, Replace};
pub use sessions::DueSession;
pub use usage::{UsageRow, UsageSubject};
pub use verify_cache::VerifyCacheStats;
pub use webhooks::{
    Attempt, CredentialSnapshot, DeliveryState, EndpointChange, SecretSalt, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};

use std::path::Path;
use std::sync::Arc;

use backend::Backend;

/// Result of [`Store::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Written.
    Done,
    /// The record on disk is not the one the change was computed from.
    Conflict,
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
    /// Held shared by every transaction, exclusively by a backup's copy
    /// (see `hold`).
    hold: Arc<hold::WriteHold>,
    /// The revocation journal, when `[backup] journal` names one (see
    /// `journal`); synced by every flush.
    journal: Arc<journal::Journal>,
    /// Where writes commit (see `backend`); the trees below are this
    /// node's copy, read by every backend.
    backend: Backend,
    credentials: sled::Tree,
    secret_index: sled::Tree,
    by_account: sled::Tree,
    deadlines: sled::Tree,
    /// Credential id -> its latest flushed use (see `last_used`).
    last_used: sled::Tree,
    /// (c|a, day, bucket|account) -> the day's Verify counts (see `usage`).
    usage: sled::Tree,
    /// The `usage` rows of every node of a cluster, by node, for the days
    /// that are over (see `usage_published`).
    usage_published: sled::Tree,
    /// Credential id -> its flushed credit state; in a cluster, its pool
    /// of uses no node has claimed (see `credits`).
    credits: sled::Tree,
    /// Notices waiting to be mailed, keyed (credential, notice, deadline).
    outbox: sled::Tree,
    /// (credential, notice, deadline) -> time, so a notice goes out once.
    notices_sent: sled::Tree,
    audit: sled::Tree,
    meta: sled::Tree,
    /// Facts about the whole deployment, replicated in a cluster (the
    /// bootstrap admin key's id; see `meta`).
    shared_meta: sled::Tree,
    /// Account id -> account record.
    accounts: sled::Tree,
    /// (account, 0, username) -> user.
    users: sled::Tree,
    /// HMAC of a session token -> session.
    sessions: sled::Tree,
    /// (due time, HMAC of a session token) -> (): when the session sweep
    /// looks at a session again (see `sessions`).
    session_deadlines: sled::Tree,
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
    /// Account -> a counter every create of a credential the quota counts
    /// moves on (see `credentials::Store::create`): two creates that both
    /// counted the same live credentials cannot both commit, on any node.
    quota_guards: sled::Tree,
    /// SHA-256 of an imported key's plaintext -> credential id, until the
    /// key's first VALID Verify re-hashes it (see `imports`).
    legacy_index: sled::Tree,
    /// (account, 0, external id) -> credential id and the imported row's
    /// fingerprint (see `imports`).
    external_ids: sled::Tree,
    /// Webhook endpoints, events, deliveries and their due index (see
    /// `webhooks`).
    webhooks: webhooks::WebhookTrees,
    /// Set once this store is known to hold an imported secret that is
    /// not credd-shaped (the `shared_meta` flag, read until it is seen).
    foreign_seen: Arc<std::sync::atomic::AtomicBool>,
}

/// Opens sled in `dir`. A lock held by this process's own database that was
/// just dropped (sled releases it from a background thread) is waited for,
/// up to a second; another process's lock is [`Error::Locked`].
fn open_db(dir: &Path, cache_capacity: u64) -> Result<sled::Db, Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let opened = sled::Config::new()
            .path(dir)
            .cache_capacity(cache_capacity)
            .flush_every_ms(Some(500))
            .open();
        match opened {
            Ok(db) => return Ok(db),
            // sled 0.34 wraps the failed lock in an `Other` error whose
            // message says so; match both that and a bare WouldBlock.
            Err(sled::Error::Io(ref io))
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("could not acquire lock") =>
            {
                if std::time::Instant::now() >= deadline {
                    return Err(Error::Locked(dir.display().to_string()));
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(other) => return Err(Error::Sled(other)),
        }
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
        let db = open_db(dir, cache_capacity)?;
        let journal = Arc::new(journal::Journal::default());
        let store = Store {
            credentials: db.open_tree("credentials")?,
            secret_index: db.open_tree("secret_index")?,
            by_account: db.open_tree("by_account")?,
            deadlines: db.open_tree("deadlines")?,
            last_used: db.open_tree("last_used")?,
            usage: db.open_tree("usage")?,
            usage_published: db.open_tree("usage_published")?,
            credits: db.open_tree("credits")?,
            outbox: db.open_tree("outbox")?,
            notices_sent: db.open_tree("notices_sent")?,
            audit: db.open_tree("audit")?,
            meta: db.open_tree("meta")?,
            shared_meta: db.open_tree("shared_meta")?,
            accounts: db.open_tree("accounts")?,
            users: db.open_tree("users")?,
            sessions: db.open_tree("sessions")?,
            session_deadlines: db.open_tree("session_deadlines")?,
            client_ids: db.open_tree("client_ids")?,
            client_ids_by_account: db.open_tree("client_ids_by_account")?,
            partners: db.open_tree("partners")?,
            grants: db.open_tree("grants")?,
            grant_pairs: db.open_tree("grant_pairs")?,
            consents: db.open_tree("consents")?,
            consent_expiry: db.open_tree("consent_expiry")?,
            quota_guards: db.open_tree("quota_guards")?,
            legacy_index: db.open_tree("legacy_index")?,
            external_ids: db.open_tree("external_ids")?,
            webhooks: webhooks::WebhookTrees::open(&db)?,
            foreign_seen: Arc::default(),
            verify_cache: Arc::new(verify_cache::VerifyCache::new(verify_cache_entries)),
            fault: Arc::new(fault::FaultWatch::default()),
            hold: Arc::new(hold::WriteHold::default()),
            group_commit: Arc::new(
                group_commit::GroupCommit::start(db.clone(), journal.clone())
                    .map_err(|e| Error::Flush(e.to_string()))?,
            ),
            journal,
            db,
            backend: Backend::Sled,
        };
        store.check_meta(pepper_fingerprint)?;
        Ok(store)
    }

    /// Opens the store of a cluster node: `dir` holds this node's replica
    /// (and its node-local trees), `options` say where the cluster's etcd
    /// is. Returns once the replica has caught up with the cluster (resumed
    /// from the revision it recorded, or read in full).
    ///
    /// # Errors
    /// As [`Store::open`], and [`Error::Cluster`] when etcd cannot be
    /// reached; [`Error::PepperMismatch`] when the cluster was made with
    /// another pepper.
    #[cfg(feature = "etcd")]
    pub fn open_etcd(
        dir: &Path,
        cache_capacity: u64,
        pepper_fingerprint: [u8; 32],
        verify_cache_entries: usize,
        options: EtcdOptions,
    ) -> Result<Self, Error> {
        let store = Self::open_with_verify_cache(
            dir,
            cache_capacity,
            pepper_fingerprint,
            verify_cache_entries,
        )?;
        store.join_etcd(options, pepper_fingerprint)
    }

    /// Makes this store (opened on a node's data directory) a cluster
    /// node, as [`Store::open_etcd`] does. Open the journal first: the
    /// replica journals from its first applied change on.
    ///
    /// # Errors
    /// As [`Store::open_etcd`].
    #[cfg(feature = "etcd")]
    pub fn join_etcd(
        mut self,
        options: EtcdOptions,
        pepper_fingerprint: [u8; 32],
    ) -> Result<Self, Error> {
        let cluster = etcd::Cluster::start(
            options,
            &self.db,
            self.verify_cache.clone(),
            pepper_fingerprint,
            etcd::Writers {
                hold: self.hold.clone(),
                journal: self.journal.clone(),
            },
        )?;
        self.backend = Backend::Etcd(cluster);
        Ok(self)
    }

    /// Keeps the revocation journal at `path` from now on (see `journal`):
    /// every later change that takes access away is appended there and
    /// synced with the store.
    ///
    /// # Errors
    /// [`Error::Backup`] when the file cannot be opened.
    pub fn open_journal(&self, path: &Path) -> Result<(), Error> {
        self.journal
            .open(path)
            .map_err(|e| Error::Backup(format!("cannot open the journal {}: {e}", path.display())))
    }

    /// Appends to the journal what the committed change from `old` to `new`
    /// took away (see [`Store::journal_lines`]).
    fn journal_change(
        &self,
        old: Option<&crate::lifecycle::CredentialRecord>,
        new: Option<&crate::lifecycle::CredentialRecord>,
    ) -> Result<(), Error> {
        self.journal_lines(journal::restrictions(old, new))
    }

    /// Appends `lines` (what a committed change took away) to the journal.
    /// A failure is the store's fault: the change is committed but could
    /// not be journaled, so nothing more is acknowledged. On a cluster node
    /// the replica journals every node's changes as it applies them (with
    /// their revisions), this node's included, so this writes nothing.
    fn journal_lines(&self, lines: Vec<journal::JournalEntry>) -> Result<(), Error> {
        if lines.is_empty() || self.is_cluster() {
            return Ok(());
        }
        self.journal
            .append(lines)
            .map_err(|e| self.noted(Error::Flush(format!("journal: {e}"))))
    }

    /// Whether this node may answer from its data: always with sled; with
    /// etcd, only while its replica hears from the cluster within the
    /// staleness bound (and is not being read in full).
    ///
    /// # Errors
    /// [`Error::Cluster`] saying how long the replica has been silent.
    pub fn check_fresh(&self) -> Result<(), Error> {
        match &self.backend {
            Backend::Sled => Ok(()),
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => match cluster.freshness() {
                Freshness::Fresh => Ok(()),
                Freshness::Stale(silent) => Err(Error::Cluster(format!(
                    "this node has not heard from etcd for {} ms",
                    silent.as_millis()
                ))),
            },
        }
    }

    /// The changes this node's replica applies from now on, written by any
    /// node (None with sled, where only this process writes).
    #[cfg(feature = "etcd")]
    pub fn replica_changes(&self) -> Option<tokio::sync::broadcast::Receiver<ReplicaChange>> {
        match &self.backend {
            Backend::Sled => None,
            Backend::Etcd(cluster) => Some(cluster.subscribe()),
        }
    }

    /// Whether this node runs the sweeps and delivers the mail: always with
    /// sled; with etcd, while it holds the cluster's leader lease. The
    /// receiver changes when that does.
    pub fn leading(&self) -> tokio::sync::watch::Receiver<bool> {
        match &self.backend {
            Backend::Sled => tokio::sync::watch::channel(true).1,
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => cluster.leading(),
        }
    }

    /// Checks, with a fenced write to the cluster, that this node still
    /// leads before it does something outside the store (mail); with sled
    /// there is nothing to check.
    ///
    /// # Errors
    /// [`Error::Cluster`] when another node leads now.
    pub fn confirm_leadership(&self) -> Result<(), Error> {
        match &self.backend {
            Backend::Sled => Ok(()),
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => cluster.confirm_leadership(),
        }
    }

    /// Whether this store is a node of a cluster (etcd), not the only copy.
    pub fn is_cluster(&self) -> bool {
        !matches!(self.backend, Backend::Sled)
    }

    /// Nodes sharing the cluster's limits: the live ones (each campaigning
    /// in the leader election on its own lease); 1 with sled.
    pub fn live_nodes(&self) -> u32 {
        match &self.backend {
            Backend::Sled => 1,
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => cluster.live_nodes(),
        }
    }

    /// The etcd revision this node's replica has applied (None with sled).
    pub fn cluster_revision(&self) -> Option<i64> {
        match &self.backend {
            Backend::Sled => None,
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => Some(cluster.applied_revision()),
        }
    }

    /// The verify cache's entries, hits and misses (metrics).
    pub fn verify_cache_stats(&self) -> VerifyCacheStats {
        self.verify_cache.stats()
    }

    /// Makes every write so far durable. Concurrent callers share one
    /// sync (group commit, see `group_commit`).
    ///
    /// # Errors
    /// [`Error::Flush`] when the sync fails.
    pub async fn flush(&self) -> Result<(), Error> {
        // With etcd, a replicated write is durable once etcd acknowledged
        // it; the flush still makes the node-local trees durable.
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

    /// Keys per tree (operations and tests: a migration's result, say).
    pub fn tree_sizes(&self) -> std::collections::BTreeMap<String, usize> {
        self.db
            .tree_names()
            .into_iter()
            .filter_map(|name| {
                let tree = self.db.open_tree(&name).ok()?;
                Some((String::from_utf8_lossy(&name).into_owned(), tree.len()))
            })
            .collect()
    }

    /// Size of the database on disk, in bytes.
    ///
    /// # Errors
    /// sled I/O errors.
    pub fn size_on_disk(&self) -> Result<u64, Error> {
        Ok(self.db.size_on_disk()?)
    }
}

#[cfg(test)]
pub(crate) mod tests;
