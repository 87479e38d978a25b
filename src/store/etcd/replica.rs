//! This node's replica of the cluster: the replicated sled trees, written
//! only from etcd (never by a local write directly), and the task that
//! keeps them current.
//!
//! - **Full read**: forget the recorded revision, clear the replicated
//!   trees, read every key under the prefix at one revision R in pages of
//!   1,000, then record R (`meta` key `etcd_revision`). A crash part-way
//!   leaves no revision recorded, so the next start reads again.
//! - **Follow**: a prefix Watch from R+1; each response's events are
//!   applied in one sled transaction together with the revision they reach,
//!   so the replica on disk is always etcd's state at some revision, and a
//!   restart resumes from it. A watch cancelled because etcd compacted that
//!   revision away means a full read, then a watch from the new revision.
//! - **Backups and the journal** (`Writers`): the apply takes the store's
//!   write hold shared and notes the keys it writes, as a transaction does
//!   on a single node, so a backup copies the replica at one revision; a
//!   full read counts as a reset (a backup across it fails). With a
//!   revocation journal open, the apply journals every change that takes
//!   access away (a credential's, an account suspended, a user disabled or
//!   deleted), each with its own revision, and syncs the journal before it
//!   writes the trees; a full read journals a gap, and a journal opened
//!   empty on a resume a start mark.
//! - **Progress**: the follower asks etcd for a progress notice every 250 ms.
//!   Every answer is news: [`Replica::freshness`] says how long the node has
//!   gone without any, or has been behind the revision a notice named (a
//!   backlog after a reconnection), which is the staleness fence's input. A
//!   notice does not move the applied revision: in etcd 3.4 it may overtake
//!   events of older revisions still queued for the stream, so only applied
//!   events (and full reads) do.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{Client, EventType, WatchOptions};
use sled::Transactional as _;
use sled::transaction::ConflictableTransactionError;
use tokio::sync::watch;

use super::super::Error;
use super::super::hold::WriteHold;
use super::super::journal::{self, Journal, JournalEntry, JournalEvent};
use super::super::verify_cache::VerifyCache;
use super::REPLICATED;

/// `meta` key: the etcd revision the replica reflects.
const META_REVISION: &[u8] = b"etcd_revision";
/// `meta` key: the prefix that revision belongs to (another prefix, or a
/// data directory from single-node use, means a full read).
const META_PREFIX: &[u8] = b"etcd_prefix";
/// `meta` keys that tie a data directory to its cluster and node: a backup
/// leaves them out, so it restores to a plain sled store.
pub(in crate::store) const META_ETCD_KEYS: &[&[u8]] = &[
    META_REVISION,
    META_PREFIX,
    super::super::usage_published::META_NODE_ID.as_bytes(),
];

/// What the store shares with its replica's writer: the backup's write
/// hold and the revocation journal.
pub(in crate::store) struct Writers {
    /// The store's write hold (see `hold`).
    pub(in crate::store) hold: Arc<WriteHold>,
    /// The store's revocation journal (open or not).
    pub(in crate::store) journal: Arc<Journal>,
}

/// Where the leader election's candidate keys live, after the prefix.
const CANDIDATES: &[u8] = b"cluster/leader/";
/// Changes the engine may fall behind by before it reloads its mirrors.
const CHANGES: usize = 4_096;
/// How often the follower asks for a progress notice.
const PROBE: Duration = Duration::from_millis(250);
/// The most revisions a replica replays through its watch; further behind,
/// it reads everything instead. etcd 3.4 syncs a watch that starts in the
/// past by reading its whole backlog in one pass before it sends the first
/// event: measured here, a backlog of 100,000 revisions started within a
/// second, one of 1,000,000 had sent nothing after 5 s (while a full read
/// is paged and bounded by the keys, not by the history).
const MAX_REPLAY: i64 = 100_000;

/// One event to apply: the tree (index into `REPLICATED`), the key, and
/// the value (None: removed).
type Write<'e> = (usize, &'e [u8], Option<&'e [u8]>);

/// Whether this node may answer from its replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// etcd was heard from within the bound.
    Fresh,
    /// Nothing heard for this long: answers from the replica could be stale.
    Stale(Duration),
}

/// A change the replica applied, as the engine's in-memory mirrors (the
/// account and partner directories) need to hear of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaChange {
    /// A key of a replicated tree was written or removed.
    Key {
        /// The tree's name.
        tree: &'static str,
        /// The key.
        key: Vec<u8>,
    },
    /// The replica was read in full: anything may have changed.
    Reloaded,
    /// The number of live nodes (candidates in the leader election, one
    /// per node, each on its own lease) changed.
    Nodes(u32),
}

/// The replicated trees of this node and what the follower knows.
pub(super) struct Replica {
    db: sled::Db,
    /// In `REPLICATED` order.
    trees: Vec<sled::Tree>,
    meta: sled::Tree,
    secret_index: sled::Tree,
    verify_cache: Arc<VerifyCache>,
    prefix: Vec<u8>,
    /// When the follower last heard from etcd, in ms after `epoch`.
    epoch: Instant,
    heard_ms: AtomicU64,
    /// What the replica changed, for the engine's in-memory mirrors.
    changes: tokio::sync::broadcast::Sender<ReplicaChange>,
    /// The election's candidate keys: one per live node.
    candidates: std::sync::Mutex<std::collections::BTreeSet<Vec<u8>>>,
    /// When (ms after `epoch`, 0: not) a progress notice first named a
    /// revision the replica had not applied yet: a replica behind for
    /// longer than the bound is stale even while it hears from etcd (a
    /// backlog after a reconnection).
    behind_since_ms: AtomicU64,
    /// The revision that progress notice named.
    behind_at: std::sync::atomic::AtomicI64,
    /// Set while a full read has the trees part-filled: nothing may be
    /// answered from them.
    reading: std::sync::atomic::AtomicBool,
    writers: Writers,
}

impl Replica {
    pub(super) fn open(
        db: &sled::Db,
        verify_cache: Arc<VerifyCache>,
        prefix: &[u8],
        writers: Writers,
    ) -> Result<Self, Error> {
        let trees = REPLICATED
            .iter()
            .map(|name| db.open_tree(name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Replica {
            db: db.clone(),
            secret_index: db.open_tree("secret_index")?,
            meta: db.open_tree("meta")?,
            trees,
            verify_cache,
            prefix: prefix.to_vec(),
            epoch: Instant::now(),
            heard_ms: AtomicU64::new(0),
            behind_since_ms: AtomicU64::new(0),
            behind_at: std::sync::atomic::AtomicI64::new(0),
            reading: std::sync::atomic::AtomicBool::new(false),
            changes: tokio::sync::broadcast::channel(CHANGES).0,
            candidates: std::sync::Mutex::default(),
            writers,
        })
    }

    /// How long since etcd was last heard from, against `bound`.
    pub(super) fn freshness(&self, bound: Duration) -> Freshness {
        let heard = Duration::from_millis(self.heard_ms.load(Ordering::Relaxed));
        let silent = self.epoch.elapsed().saturating_sub(heard);
        if self.reading.load(Ordering::Acquire) {
            return Freshness::Stale(silent);
        }
        let behind_since = self.behind_since_ms.load(Ordering::Relaxed);
        let behind = match behind_since {
            0 => Duration::ZERO,
            ms => self
                .epoch
                .elapsed()
                .saturating_sub(Duration::from_millis(ms)),
        };
        let lag = silent.max(behind);
        if lag <= bound {
            Freshness::Fresh
        } else {
            Freshness::Stale(lag)
        }
    }

    /// A progress notice said etcd is at `revision` while the replica has
    /// applied `applied`: notes since when the replica is behind.
    fn progress(&self, revision: i64, applied: i64) {
        if revision > applied && self.behind_since_ms.load(Ordering::Relaxed) == 0 {
            self.behind_at.store(revision, Ordering::Relaxed);
            self.behind_since_ms
                .store(self.now_ms().max(1), Ordering::Relaxed);
        }
    }

    /// Whether a progress notice named a revision the replica has not
    /// applied yet.
    fn behind(&self) -> bool {
        self.behind_since_ms.load(Ordering::Relaxed) != 0
    }

    /// The replica applied up to `applied`: no longer behind once that
    /// covers the revision a progress notice named.
    fn caught_up_to(&self, applied: i64) {
        if applied >= self.behind_at.load(Ordering::Relaxed) {
            self.behind_since_ms.store(0, Ordering::Relaxed);
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Live nodes: candidates in the leader election (at least 1).
    pub(super) fn live_nodes(&self) -> u32 {
        let n = self
            .candidates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len();
        u32::try_from(n).unwrap_or(u32::MAX).max(1)
    }

    /// Notes a candidate key written (`Some`) or removed (`None`); tells
    /// the engine when the number of live nodes changed.
    fn note_candidate(&self, key: &[u8], present: bool) {
        let Some(rest) = key.strip_prefix(self.prefix.as_slice()) else {
            return;
        };
        if !rest.starts_with(CANDIDATES) {
            return;
        }
        let before = self.live_nodes();
        {
            let mut candidates = self.candidates.lock().unwrap_or_else(|e| e.into_inner());
            if present {
                candidates.insert(key.to_vec());
            } else {
                candidates.remove(key);
            }
        }
        let after = self.live_nodes();
        if after != before {
            tracing::info!(nodes = after, "live cluster nodes changed");
            let _ = self.changes.send(ReplicaChange::Nodes(after));
        }
    }

    /// Hears of every change the replica applies from now on.
    pub(super) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ReplicaChange> {
        self.changes.subscribe()
    }

    fn heard(&self) {
        self.heard_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The revision recorded with the replica, if it belongs to this prefix.
    pub(super) fn recorded_revision(&self) -> Result<Option<i64>, Error> {
        if self.meta.get(META_PREFIX)?.as_deref() != Some(self.prefix.as_slice()) {
            return Ok(None);
        }
        let Some(raw) = self.meta.get(META_REVISION)? else {
            return Ok(None);
        };
        let bytes =
            <[u8; 8]>::try_from(raw.as_ref()).map_err(|_| Error::Corrupt("etcd revision"))?;
        Ok(Some(i64::from_be_bytes(bytes)))
    }

    /// The tree (index into `trees`) and sled key an etcd key names, if it
    /// is a replicated tree's.
    fn locate<'k>(&self, key: &'k [u8]) -> Option<(usize, &'k [u8])> {
        let rest = key.strip_prefix(self.prefix.as_slice())?;
        let slash = rest.iter().position(|b| *b == b'/')?;
        let name = std::str::from_utf8(&rest[..slash]).ok()?;
        let at = REPLICATED.iter().position(|t| *t == name)?;
        Some((at, &rest[slash + 1..]))
    }

    /// Forgets the recorded revision (durably) and empties the replicated
    /// trees: the start of a full read.
    fn begin_full_read(&self) -> Result<(), Error> {
        self.reading.store(true, Ordering::Release);
        self.writers.hold.reset_began();
        self.meta.remove(META_REVISION)?;
        self.db.flush()?;
        let cached: Vec<[u8; 32]> = self
            .secret_index
            .iter()
            .keys()
            .filter_map(|k| k.ok().and_then(|k| <[u8; 32]>::try_from(k.as_ref()).ok()))
            .collect();
        for tree in &self.trees {
            tree.clear()?;
        }
        self.candidates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.verify_cache.invalidate(cached.iter());
        Ok(())
    }

    /// Writes one page of a full read.
    fn load_page(&self, kvs: &[etcd_client::KeyValue]) -> Result<(), Error> {
        let mut batches: Vec<sled::Batch> = (0..self.trees.len())
            .map(|_| sled::Batch::default())
            .collect();
        for kv in kvs {
            if let Some((at, key)) = self.locate(kv.key()) {
                batches[at].insert(key, kv.value());
            } else {
                self.note_candidate(kv.key(), true);
            }
        }
        for (tree, batch) in self.trees.iter().zip(batches) {
            tree.apply_batch(batch)?;
        }
        Ok(())
    }

    /// Records the gap a full read leaves in the journal (first: a crash
    /// after it leaves a gap line too many, never a hole without one), then
    /// the revision it reached, durably.
    fn finish_full_read(&self, revision: i64) -> Result<(), Error> {
        self.journal(vec![JournalEntry {
            revision: Some(revision),
            ..JournalEntry::about(JournalEvent::Gap, "", "")
        }])?;
        self.meta.insert(META_PREFIX, self.prefix.as_slice())?;
        self.meta.insert(META_REVISION, &revision.to_be_bytes())?;
        self.db.flush()?;
        self.writers.hold.reset_ended();
        self.reading.store(false, Ordering::Release);
        self.caught_up_to(revision);
        // Nobody listening is fine.
        let _ = self.changes.send(ReplicaChange::Reloaded);
        Ok(())
    }

    /// Applies one watch response's events and records `revision`, in one
    /// sled transaction; then drops the verify cache's copies of the
    /// secret index entries it changed.
    fn apply(&self, events: &[etcd_client::Event], revision: i64) -> Result<(), Error> {
        let mut writes: Vec<Write<'_>> = Vec::with_capacity(events.len());
        // Each write's own revision, for its journal lines.
        let mut revisions: Vec<i64> = Vec::with_capacity(events.len());
        for event in events {
            let Some(kv) = event.kv() else { continue };
            let Some((at, key)) = self.locate(kv.key()) else {
                self.note_candidate(kv.key(), event.event_type() == EventType::Put);
                continue;
            };
            let value = match event.event_type() {
                EventType::Put => Some(kv.value()),
                EventType::Delete => None,
            };
            writes.push((at, key, value));
            revisions.push(kv.mod_revision());
        }
        let hold = self.writers.hold.shared();
        for (at, key, _) in &writes {
            self.writers.hold.note(REPLICATED[*at].as_bytes(), key);
        }
        // Journaled (and synced) before the writes: a crash or a failed
        // apply between the two leaves a line for a change not applied yet,
        // which a restore finds already so, never a change without its line
        // (a retried apply would read the new values as the old ones).
        self.journal(self.restrictions(&writes, &revisions)?)?;
        let mut all: Vec<sled::Tree> = self.trees.clone();
        all.push(self.meta.clone());
        let meta_at = all.len() - 1;
        all[..]
            .transaction(|t| {
                for (at, key, value) in &writes {
                    match value {
                        Some(value) => t[*at].insert(*key, *value)?,
                        None => t[*at].remove(*key)?,
                    };
                }
                t[meta_at].insert(META_REVISION, &revision.to_be_bytes())?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                sled::transaction::TransactionError::Storage(e) => Error::Sled(e),
                sled::transaction::TransactionError::Abort(()) => Error::Corrupt("replica apply"),
            })?;
        drop(hold);
        let secret_index = REPLICATED.iter().position(|t| *t == "secret_index");
        let touched: Vec<[u8; 32]> = writes
            .iter()
            .filter(|(at, _, _)| Some(*at) == secret_index)
            .filter_map(|(_, key, _)| <[u8; 32]>::try_from(*key).ok())
            .collect();
        self.verify_cache.invalidate(touched.iter());
        if self.changes.receiver_count() > 0 {
            for (at, key, _) in &writes {
                let _ = self.changes.send(ReplicaChange::Key {
                    tree: REPLICATED[*at],
                    key: key.to_vec(),
                });
            }
        }
        Ok(())
    }
}

impl Replica {
    /// The journal lines for `writes` (one watch response, in revision
    /// order) that take access away (see `journal`); none when no journal
    /// is kept. Reads the old values before the apply: the apply is the
    /// replicated trees' only writer.
    fn restrictions(
        &self,
        writes: &[Write<'_>],
        revisions: &[i64],
    ) -> Result<Vec<JournalEntry>, Error> {
        if !self.writers.journal.is_open() {
            return Ok(Vec::new());
        }
        // A key written twice in one response: the second write's old value
        // is the first's new one.
        let mut latest: std::collections::HashMap<(usize, &[u8]), Option<&[u8]>> =
            Default::default();
        let mut lines = Vec::new();
        for ((at, key, value), revision) in writes.iter().zip(revisions) {
            if !JOURNALED.contains(&REPLICATED[*at]) {
                continue;
            }
            let stored;
            let old = match latest.get(&(*at, *key)) {
                Some(old) => *old,
                None => {
                    stored = self.trees[*at].get(key)?;
                    stored.as_deref()
                }
            };
            lines.extend(
                journal_lines(REPLICATED[*at], key, old, *value)
                    .into_iter()
                    .map(|line| JournalEntry {
                        revision: Some(*revision),
                        ..line
                    }),
            );
            latest.insert((*at, *key), *value);
        }
        Ok(lines)
    }

    /// Appends `lines` to the journal and syncs it (nothing without lines
    /// or a journal). A failure fails the apply: the revision does not
    /// count as applied, and the watch is followed again from before it.
    fn journal(&self, lines: Vec<JournalEntry>) -> Result<(), Error> {
        if lines.is_empty() || !self.writers.journal.is_open() {
            return Ok(());
        }
        self.writers
            .journal
            .append(lines)
            .and_then(|()| self.writers.journal.sync())
            .map_err(|e| Error::Flush(format!("journal: {e}")))
    }
}

/// The replicated trees whose changes can take access away.
const JOURNALED: &[&str] = &["credentials", "accounts", "users"];

/// What the change of `key` of `tree` from `old` to `new` (None: absent)
/// took away, as journal lines. A value that does not decode (from a newer
/// release, or damaged) is logged and journals nothing: the apply goes on,
/// as this node could not answer from that record anyway.
fn journal_lines(
    tree: &str,
    key: &[u8],
    old: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Vec<JournalEntry> {
    decoded_journal_lines(tree, old, new).unwrap_or_else(|e| {
        tracing::error!(tree, key = %String::from_utf8_lossy(key), error = %e, "a replicated value does not decode; its change is not journaled");
        Vec::new()
    })
}

/// [`journal_lines`] with a decoding error as an error.
fn decoded_journal_lines(
    tree: &str,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
) -> Result<Vec<JournalEntry>, Error> {
    use super::super::{accounts, codec, users};
    Ok(match tree {
        "credentials" => {
            let decode = |raw: Option<&[u8]>| raw.map(codec::decode_record).transpose();
            journal::restrictions(decode(old)?.as_ref(), decode(new)?.as_ref())
        }
        "accounts" => {
            let decode = |raw: Option<&[u8]>| raw.map(accounts::decode).transpose();
            journal::account_restrictions(decode(old)?.as_ref(), decode(new)?.as_ref())
        }
        "users" => {
            let decode = |raw: Option<&[u8]>| raw.map(users::decode_user).transpose();
            journal::user_restrictions(decode(old)?.as_ref(), decode(new)?.as_ref())
        }
        _ => Vec::new(),
    })
}

/// The task that keeps a [`Replica`] current.
pub(super) struct Follower {
    client: Client,
    replica: Arc<Replica>,
    applied: watch::Sender<i64>,
}

impl Follower {
    /// Brings the replica to a revision (the recorded one, or a full read)
    /// and spawns the follower on `runtime`. The receiver says which
    /// revision the replica has applied.
    pub(super) async fn start(
        client: Client,
        replica: Arc<Replica>,
        runtime: tokio::runtime::Handle,
    ) -> Result<watch::Receiver<i64>, Error> {
        let (applied, rx) = watch::channel(0);
        let follower = Follower {
            client,
            replica,
            applied,
        };
        let at = match follower.replica.recorded_revision()? {
            Some(at) if !follower.too_far_behind(at).await? => {
                tracing::info!(
                    revision = at,
                    "replica resumes from its recorded etcd revision"
                );
                if follower.replica.writers.journal.is_empty() {
                    // A journal begun now covers what follows this revision.
                    follower.replica.journal(vec![JournalEntry {
                        revision: Some(at),
                        ..JournalEntry::about(JournalEvent::Start, "", "")
                    }])?;
                }
                at
            }
            Some(_) | None => follower.full_read().await?,
        };
        follower.advance(at);
        runtime.spawn(follower.run());
        Ok(rx)
    }

    fn at(&self) -> i64 {
        *self.applied.borrow()
    }

    fn advance(&self, revision: i64) {
        self.applied.send_if_modified(|at| {
            let newer = revision > *at;
            if newer {
                *at = revision;
            }
            newer
        });
    }

    /// Follows the watch for ever, reconnecting after errors and reading
    /// everything again after a compaction.
    async fn run(self) {
        let mut pause = Duration::from_millis(100);
        let mut read_all = false;
        loop {
            let failed = if read_all {
                // A failed full read is tried again, never followed by a
                // watch over half-filled trees.
                match self.full_read().await {
                    Ok(at) => {
                        self.advance(at);
                        read_all = false;
                        None
                    }
                    Err(e) => Some(format!("full read from etcd failed: {e}")),
                }
            } else {
                match self.follow().await {
                    Ok(()) => {
                        read_all = true;
                        None
                    }
                    Err(e) => Some(format!("etcd watch interrupted: {e}")),
                }
            };
            match failed {
                Some(why) => {
                    tracing::warn!(error = %why, revision = self.at(), "retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                None => pause = Duration::from_millis(100),
            }
        }
    }

    /// Whether the cluster has moved more than [`MAX_REPLAY`] revisions
    /// past `at` (a full read is then faster than the watch's replay).
    ///
    /// # Errors
    /// etcd not answering.
    async fn too_far_behind(&self, at: i64) -> Result<bool, Error> {
        let mut kv = self.client.kv_client();
        let options = etcd_client::GetOptions::new().with_count_only();
        let current = kv
            .get(self.replica.prefix.clone(), Some(options))
            .await
            .map_err(cluster)?
            .header()
            .map_or(0, |h| h.revision());
        let behind = current - at > MAX_REPLAY;
        if behind {
            tracing::warn!(
                revision = at,
                current,
                "this node's replica is too far behind to replay etcd's history; reading everything again"
            );
        }
        Ok(behind)
    }

    /// One watch from the applied revision. `Ok(())`: a full read is needed
    /// (etcd compacted that revision away, or it is too far behind).
    async fn follow(&self) -> Result<(), Error> {
        if self.too_far_behind(self.at()).await? {
            return Ok(());
        }
        let options = WatchOptions::new()
            .with_prefix()
            .with_start_revision(self.at() + 1);
        let mut watch_client = self.client.watch_client();
        let stream = watch_client
            .watch(self.replica.prefix.clone(), Some(options))
            .await
            .map_err(cluster)?;
        let (mut requests, mut responses) = stream.split();
        let mut probe = tokio::time::interval(PROBE);
        loop {
            tokio::select! {
                message = responses.message() => {
                    let response = message.map_err(cluster)?
                        .ok_or_else(|| Error::Cluster("etcd closed the watch".into()))?;
                    self.replica.heard();
                    if response.canceled() {
                        if response.compact_revision() > 0 {
                            tracing::warn!(
                                revision = self.at(),
                                "etcd compacted past this node's revision; reading everything again"
                            );
                            return Ok(());
                        }
                        return Err(Error::Cluster(format!("watch cancelled: {}", response.cancel_reason())));
                    }
                    self.take(&response)?;
                }
                _ = probe.tick() => {
                    if self.replica.behind() {
                        self.tick().await?;
                    }
                    requests.request_progress().await.map_err(cluster)?;
                }
            }
        }
    }

    /// Writes the cluster's tick key. etcd's revision also moves for keys
    /// outside the prefix (another deployment sharing the etcd), so a
    /// quiet replica can look behind a progress notice for ever; the
    /// tick's event under the prefix, once applied, shows it caught up (or
    /// that it really is behind).
    async fn tick(&self) -> Result<(), Error> {
        let key = super::cluster_key(&self.replica.prefix, "tick");
        let mut kv = self.client.kv_client();
        let put = kv.put(key, Vec::new(), None);
        match tokio::time::timeout(PROBE, put).await {
            Ok(result) => result.map(drop).map_err(cluster),
            // Not answered within a probe: the fence decides, not the tick.
            Err(_) => Ok(()),
        }
    }

    /// Applies a watch response's events (a progress notice has none).
    fn take(&self, response: &etcd_client::WatchResponse) -> Result<(), Error> {
        let events = response.events();
        match events.last().and_then(|e| e.kv()) {
            Some(last) => {
                let revision = last.mod_revision();
                self.replica.apply(events, revision)?;
                self.advance(revision);
                self.replica.caught_up_to(revision);
            }
            None if !response.created() => {
                if let Some(header) = response.header() {
                    self.replica.progress(header.revision(), self.at());
                }
            }
            None => {}
        }
        Ok(())
    }

    /// Reads every key under the prefix at one revision into the replica;
    /// returns that revision.
    async fn full_read(&self) -> Result<i64, Error> {
        let replica = &self.replica;
        replica.begin_full_read()?;
        let started = std::time::Instant::now();
        let mut kv = self.client.kv_client();
        let mut n_keys = 0usize;
        let revision = super::range::read_prefix(&mut kv, &replica.prefix, |kvs| {
            n_keys += kvs.len();
            replica.load_page(kvs)
        })
        .await?;
        replica.finish_full_read(revision)?;
        self.replica.heard();
        tracing::info!(
            revision,
            keys = n_keys,
            secs = started.elapsed().as_secs_f64(),
            "replica read in full from etcd"
        );
        Ok(revision)
    }
}

fn cluster(e: etcd_client::Error) -> Error {
    Error::Cluster(format!("etcd: {e}"))
}
