//! The etcd backend (cargo feature `etcd`): several credd nodes share one
//! truth in etcd, and each keeps a replica of it in its own sled trees.
//!
//! - **Layout.** Every replicated tree's key `k` of tree `t` is the etcd key
//!   `{prefix}{t}/{k}` (raw bytes), its value the same bytes sled holds.
//!   `{prefix}cluster/...` holds the cluster's own facts (the pepper
//!   fingerprint, the leader election, the tick). Node-local trees
//!   (`usage`, `meta`) never leave the node; `credits` holds each
//!   credential's pool of uses no node has claimed yet; `last_used` is
//!   replicated but written at most once per credential per day, and so
//!   is `usage_published` (each node's usage rows, once a day is over).
//! - **Writes** (`txn`): a body runs against the replica with its reads
//!   remembered, and its writes commit as one etcd `Txn` that compares every
//!   key read. The call returns once this node's replica has applied the
//!   `Txn`'s revision, so a node reads its own writes.
//! - **The replica** (`replica`): loaded at a revision (paged Range), then
//!   fed by a prefix Watch from the next revision, each watch response
//!   applied in one sled transaction together with the revision it reaches
//!   (`meta` key `etcd_revision`), so a restart resumes the watch where the
//!   node stopped; a revision etcd has compacted away means a full re-read.
//! - etcd's client is async; the store's write methods are not. The cluster
//!   runs its own small runtime, and a write blocks its caller (through
//!   `block_in_place` on a multi-thread runtime) until etcd answers.

pub(super) mod leader;
pub(super) mod migrate;
mod range;
mod replica;
mod txn;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use etcd_client::{Client, ConnectOptions};
use tokio::sync::watch;

use super::Error;
use super::verify_cache::VerifyCache;

pub use replica::{Freshness, ReplicaChange};
pub(super) use replica::{META_ETCD_KEYS, Writers};

/// How to reach etcd and where credd's keys live in it.
#[derive(Clone)]
pub struct EtcdOptions {
    /// Client URLs (`http://host:port` or `https://...`).
    pub endpoints: Vec<String>,
    /// Key prefix, `/credd/` by default: several deployments can share one
    /// etcd.
    pub prefix: String,
    /// TLS to etcd, when its endpoints are `https://`.
    pub tls: Option<EtcdTls>,
    /// etcd user and password.
    pub user: Option<(String, String)>,
    /// The bound on each etcd call.
    pub request_timeout: Duration,
    /// How long the replica may go without news from etcd before this node
    /// refuses to answer from it (the staleness fence).
    pub max_staleness: Duration,
    /// The leader's lease: a leader that stops renewing it is replaced
    /// after this long.
    pub lease_ttl: Duration,
}

/// TLS to etcd: the CA that signed its certificates, and this node's own
/// certificate and key when etcd asks for client certificates.
#[derive(Clone)]
pub struct EtcdTls {
    /// CA certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// This node's certificate and key (PEM).
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for EtcdOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdOptions")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("tls", &self.tls.is_some())
            .field("user", &self.user.as_ref().map(|(name, _)| name))
            .field("request_timeout", &self.request_timeout)
            .field("max_staleness", &self.max_staleness)
            .field("lease_ttl", &self.lease_ttl)
            .finish()
    }
}

/// The trees whose every key lives in etcd (the rest are node-local:
/// `usage`, `meta`).
pub(super) const REPLICATED: &[&str] = &[
    "credentials",
    "last_used",
    "usage_published",
    "credits",
    "secret_index",
    "by_account",
    "deadlines",
    "outbox",
    "notices_sent",
    "audit",
    "accounts",
    "users",
    "sessions",
    "session_deadlines",
    "client_ids",
    "client_ids_by_account",
    "partners",
    "grants",
    "grant_pairs",
    "consents",
    "consent_expiry",
    "quota_guards",
    "shared_meta",
    "legacy_index",
    "external_ids",
    "webhooks",
    "webhook_events",
    "webhook_deliveries",
    "webhook_due",
];

/// A node's connection to the cluster: the client, its runtime, and the
/// replica's progress.
pub struct Cluster {
    client: Client,
    prefix: Vec<u8>,
    options: EtcdOptions,
    /// Runs every etcd call and the watch; shut down with the cluster.
    runtime: Option<tokio::runtime::Runtime>,
    /// The revision the replica has applied (or been told it is at).
    applied: watch::Receiver<i64>,
    replica: Arc<replica::Replica>,
    /// This node's standing in the sweeper election (see `leader`).
    leadership: Arc<leader::Leadership>,
    /// This node's tag in the audit keys it makes (see `txn`).
    node_tag: u64,
    audit_counter: AtomicU64,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("options", &self.options)
            .field("applied", &*self.applied.borrow())
            .finish_non_exhaustive()
    }
}

impl Drop for Cluster {
    /// Gives up this node's lease (so another node leads at once, not after
    /// the TTL), stops the follower and waits (a second at most) until it
    /// has let go of the replica's trees, so the data directory can be
    /// opened again. From a thread of its own: a runtime cannot be shut
    /// down from inside another one's context.
    fn drop(&mut self) {
        let lease = self.leadership.lease();
        if lease != 0 {
            let mut leases = self.client.lease_client();
            let _ = self.block(async move {
                let _ = tokio::time::timeout(Duration::from_secs(1), leases.revoke(lease)).await;
                Ok(())
            });
        }
        if let Some(runtime) = self.runtime.take() {
            let stopped =
                std::thread::spawn(move || runtime.shutdown_timeout(Duration::from_secs(1)));
            let _ = stopped.join();
        }
    }
}

impl Cluster {
    /// Connects, checks the cluster's pepper, brings the replica in `db`
    /// up to date (resuming from its recorded revision, or a full read) and
    /// starts following the watch. Returns once the replica has caught up
    /// with the cluster's revision at the time of the call.
    ///
    /// # Errors
    /// [`Error::Cluster`] when etcd cannot be reached or refuses,
    /// [`Error::PepperMismatch`], sled errors.
    pub(super) fn start(
        options: EtcdOptions,
        db: &sled::Db,
        verify_cache: Arc<VerifyCache>,
        pepper_fingerprint: [u8; 32],
        writers: replica::Writers,
    ) -> Result<Arc<Self>, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("credd-etcd")
            .enable_all()
            .build()
            .map_err(|e| Error::Cluster(format!("cannot start the etcd runtime: {e}")))?;
        // Until the cluster owns it: a failed start must not drop a runtime
        // inside the caller's (tokio refuses, with a panic).
        let mut runtime = StartingRuntime(Some(runtime));
        let runtime_ref = runtime
            .0
            .as_ref()
            .ok_or(Error::Cluster("no runtime".into()))?;
        let client = block_on(runtime_ref, {
            let options = options.clone();
            async move { connect(&options).await }
        })?;
        let prefix = options.prefix.as_bytes().to_vec();
        let replica = Arc::new(replica::Replica::open(db, verify_cache, &prefix, writers)?);
        block_on(runtime_ref, {
            let (client, prefix, timeout) =
                (client.clone(), prefix.clone(), options.request_timeout);
            async move { check_pepper(&client, &prefix, timeout, pepper_fingerprint).await }
        })?;
        // The watch has a connection of its own: a backlog filling its
        // HTTP/2 windows must not hold up the lease's keep-alives.
        let watch_client = block_on(runtime_ref, {
            let options = options.clone();
            async move { connect(&options).await }
        })?;
        let applied = block_on(
            runtime_ref,
            replica::Follower::start(watch_client, replica.clone(), runtime_ref.handle().clone()),
        )?;
        let node_tag = u64::from(rand_u16()) & 0xfff;
        let leadership = leader::Leadership::new();
        runtime_ref.spawn(leadership.clone().campaign(
            client.clone(),
            cluster_key(&prefix, "leader"),
            options.lease_ttl,
        ));
        let cluster = Arc::new(Cluster {
            client,
            prefix,
            options,
            runtime: runtime.0.take(),
            applied,
            replica,
            leadership,
            node_tag,
            audit_counter: AtomicU64::new(0),
        });
        cluster.catch_up()?;
        Ok(cluster)
    }

    /// Waits until the replica has applied everything etcd had committed
    /// when this was called: writes the cluster's tick key and waits for
    /// its event. The watch delivers events in revision order, so once the
    /// tick's event is applied every earlier change under the prefix is.
    /// (etcd 3.4's progress notices cannot serve here: one may overtake
    /// events of older revisions still queued for the stream.)
    ///
    /// # Errors
    /// [`Error::Cluster`] when etcd does not answer or the replica does not
    /// get there within the request timeout.
    pub(super) fn catch_up(&self) -> Result<(), Error> {
        let mut kv = self.client.kv_client();
        let key = self.cluster_key("tick");
        let timeout = self.options.request_timeout;
        let revision = self.block(async move {
            match tokio::time::timeout(timeout, kv.put(key, Vec::new(), None)).await {
                Ok(Ok(resp)) => Ok(resp.header().map_or(0, |h| h.revision())),
                Ok(Err(e)) => Err(Error::Cluster(format!("etcd: {e}"))),
                Err(_) => Err(Error::Cluster("etcd did not answer in time".into())),
            }
        })?;
        self.wait_applied(revision)
    }

    /// Waits until the replica has applied the events of `revision`, which
    /// must hold a change under the prefix (a write's own, or the tick's),
    /// for as long as it keeps applying: a replica working through a
    /// backlog (a restart after many changes) may take longer than one
    /// request timeout, one that stops moving may not.
    fn wait_applied(&self, revision: i64) -> Result<(), Error> {
        if *self.applied.borrow() >= revision {
            return Ok(());
        }
        let mut applied = self.applied.clone();
        let timeout = self.options.request_timeout;
        self.block(async move {
            loop {
                let at = *applied.borrow_and_update();
                if at >= revision {
                    return Ok(());
                }
                match tokio::time::timeout(timeout, applied.changed()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(Error::Cluster("the replica stopped".into())),
                    Err(_) => {
                        return Err(Error::Cluster(format!(
                            "this node's replica stopped at etcd revision {at}, short of {revision}"
                        )));
                    }
                }
            }
        })
    }

    /// Whether the replica has heard from etcd recently enough to answer
    /// from (see [`Freshness`]).
    pub(super) fn freshness(&self) -> Freshness {
        self.replica.freshness(self.options.max_staleness)
    }

    /// Proves, by a fenced write, that this node still leads: the mailer
    /// asks before it sends, so a leader paused past its lease does not
    /// mail what its successor will mail.
    ///
    /// # Errors
    /// [`Error::Cluster`] when this node does not lead (any more) or etcd
    /// does not answer.
    pub(super) fn confirm_leadership(&self) -> Result<(), Error> {
        let Some(fence) = self.leadership.fence() else {
            return Err(Error::Cluster("this node does not lead".into()));
        };
        let put = etcd_client::TxnOp::put(self.cluster_key("mailer"), fence.key.clone(), None);
        let (_, _, held) = self.commit(Vec::new(), vec![put], Some(&fence))?;
        if held {
            Ok(())
        } else {
            self.leadership
                .lost("its lease expired before the mail went out");
            Err(Error::Cluster(
                "this node's leadership ended (its lease expired)".into(),
            ))
        }
    }

    /// Whether this node leads the sweeps and the mail, and when that
    /// changes.
    pub(super) fn leading(&self) -> watch::Receiver<bool> {
        self.leadership.watch()
    }

    /// Live cluster nodes (at least 1).
    pub(super) fn live_nodes(&self) -> u32 {
        self.replica.live_nodes()
    }

    /// Hears of every change the replica applies from now on.
    pub(super) fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ReplicaChange> {
        self.replica.subscribe()
    }

    /// The revision recorded on disk with this node's replica (written in
    /// the same transaction as the changes up to it).
    ///
    /// # Errors
    /// sled errors, a damaged value.
    pub(super) fn recorded_revision(&self) -> Result<Option<i64>, Error> {
        self.replica.recorded_revision()
    }

    /// The revision this node's replica has applied.
    pub(super) fn applied_revision(&self) -> i64 {
        *self.applied.borrow()
    }

    /// `{prefix}{tree}/{key}`.
    fn tree_key(&self, tree: &str, key: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix.len() + tree.len() + 1 + key.len());
        out.extend_from_slice(&self.prefix);
        out.extend_from_slice(tree.as_bytes());
        out.push(b'/');
        out.extend_from_slice(key);
        out
    }

    /// `{prefix}cluster/{name}`.
    fn cluster_key(&self, name: &str) -> Vec<u8> {
        cluster_key(&self.prefix, name)
    }

    /// Runs `future` on the cluster's runtime and waits for it, from sync
    /// code on any thread (a tokio worker included).
    fn block<F, T>(&self, future: F) -> Result<T, Error>
    where
        F: Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        let Some(runtime) = self.runtime.as_ref() else {
            return Err(Error::Cluster(
                "the cluster connection is shutting down".into(),
            ));
        };
        block_on(runtime, future)
    }

    /// A fresh audit key, unique across the cluster's writers: the applied
    /// revision (so keys follow the log's order roughly), this node's tag
    /// and a counter. A `Txn` also requires the key to be absent, so two
    /// nodes can never overwrite each other's rows.
    fn audit_id(&self) -> u64 {
        let revision = u64::try_from(self.applied_revision()).unwrap_or(0);
        let count = self.audit_counter.fetch_add(1, Ordering::Relaxed) & 0xfff;
        (revision << 24) | (self.node_tag << 12) | count
    }
}

/// Runs `future` on `runtime` and waits for it from sync code on any
/// thread: a tokio worker of another runtime included (`Runtime::block_on`
/// would panic there), through `block_in_place` on a multi-thread runtime.
/// The cluster's runtime while `Cluster::start` runs: dropped on an error,
/// it shuts down in the background instead of blocking the caller.
struct StartingRuntime(Option<tokio::runtime::Runtime>);

impl Drop for StartingRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

fn block_on<F, T>(runtime: &tokio::runtime::Runtime, future: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(future.await);
    });
    let wait = move || {
        rx.recv()
            .unwrap_or_else(|_| Err(Error::Cluster("the etcd runtime stopped".into())))
    };
    crate::offload::blocking(wait)
}

/// What the store's tests do to a node that no real failure does on cue.
#[cfg(test)]
impl Cluster {
    /// This node's fence, while it leads.
    pub(in crate::store) fn fence(&self) -> Option<leader::Fence> {
        self.leadership.fence()
    }

    /// Revokes this node's lease at etcd, as its expiry would.
    pub(in crate::store) fn revoke_lease(&self) -> Result<(), Error> {
        let lease = self.leadership.lease();
        let mut leases = self.client.lease_client();
        self.block(async move {
            leases
                .revoke(lease)
                .await
                .map(drop)
                .map_err(|e| Error::Cluster(e.to_string()))
        })
    }

    /// The options this node was opened with.
    pub(in crate::store) fn options(&self) -> &EtcdOptions {
        &self.options
    }

    /// Makes this node believe it leads with `fence`, as a leader paused
    /// past its lease does when it wakes.
    pub(in crate::store) fn believe(&self, fence: leader::Fence) {
        self.leadership.set(Some(fence));
    }
}

/// `{prefix}cluster/{name}`.
fn cluster_key(prefix: &[u8], name: &str) -> Vec<u8> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(b"cluster/");
    key.extend_from_slice(name.as_bytes());
    key
}

/// Connects to the endpoints with the configured TLS and user.
/// How often an idle connection to etcd is pinged.
const KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(7);

async fn connect(options: &EtcdOptions) -> Result<Client, Error> {
    // No client-wide request timeout: it would also end the watch and the
    // election's campaign (which waits as long as another node leads).
    // Each short call has its own `tokio::time::timeout`.
    let mut connect = ConnectOptions::new()
        .with_connect_timeout(options.request_timeout)
        // Pings further apart than etcd's `--grpc-keepalive-min-time` (5 s
        // by default): closer ones, during a call etcd takes long to answer
        // (the first page of a full read of 1M credentials), make etcd
        // close the connection for "too many pings" (found by the 1M
        // restart bench).
        .with_keep_alive(KEEP_ALIVE_INTERVAL, Duration::from_secs(3))
        // A member cut off from the leader refuses (its watch is cancelled)
        // rather than serve its own stale state.
        .with_require_leader(true);
    if let Some(EtcdTls { ca_pem, identity }) = &options.tls {
        let mut tls = etcd_client::TlsOptions::new()
            .ca_certificate(etcd_client::Certificate::from_pem(ca_pem));
        if let Some((cert, key)) = identity {
            tls = tls.identity(etcd_client::Identity::from_pem(cert, key));
        }
        connect = connect.with_tls(tls);
    }
    if let Some((user, password)) = &options.user {
        connect = connect.with_user(user.clone(), password.clone());
    }
    Client::connect(&options.endpoints, Some(connect))
        .await
        .map_err(|e| {
            Error::Cluster(format!(
                "cannot connect to etcd at {:?}: {e}",
                options.endpoints
            ))
        })
}

/// Records the pepper's fingerprint in the cluster if it has none, or
/// checks this node's against it: every node must hash keys alike.
async fn check_pepper(
    client: &Client,
    prefix: &[u8],
    timeout: Duration,
    fingerprint: [u8; 32],
) -> Result<(), Error> {
    use etcd_client::{Compare, CompareOp, Txn, TxnOp};
    let key = cluster_key(prefix, "pepper_fingerprint");
    let txn = Txn::new()
        .when([Compare::version(key.clone(), CompareOp::Equal, 0)])
        .and_then([TxnOp::put(key.clone(), fingerprint.to_vec(), None)])
        .or_else([TxnOp::get(key, None)]);
    let mut kv = client.kv_client();
    let answer = tokio::time::timeout(timeout, kv.txn(txn))
        .await
        .map_err(|_| Error::Cluster("etcd did not answer in time".into()))?
        .map_err(|e| Error::Cluster(format!("etcd: {e}")))?;
    if answer.succeeded() {
        return Ok(());
    }
    let stored = answer.op_responses().into_iter().find_map(|op| match op {
        etcd_client::TxnOpResponse::Get(get) => get.kvs().first().map(|kv| kv.value().to_vec()),
        _ => None,
    });
    match stored {
        Some(stored) if stored == fingerprint => Ok(()),
        _ => Err(Error::PepperMismatch),
    }
}

/// A random 16-bit number from the OS.
fn rand_u16() -> u16 {
    let mut bytes = [0u8; 2];
    // A failed read leaves zeros: the absent-key compare still keeps ids unique.
    let _ = getrandom::fill(&mut bytes);
    u16::from_be_bytes(bytes)
}
