//! One sweeper and one mailer per cluster, fenced. Every node campaigns in
//! etcd's election `{prefix}cluster/leader` on a lease of its own (TTL from
//! `[store] lease_ttl_seconds`), kept alive every third of the TTL. The
//! node elected holds a [`Fence`]: its leader key and that key's create
//! revision. While it holds one, every write it sends carries the compare
//! "my leader key still has this create revision" (see `txn`), so a leader
//! paused past its lease (its key deleted with the lease, another node
//! elected) has its writes refused when it wakes, whatever it believes.
//!
//! A node also steps down by itself when no keep-alive was acknowledged for
//! a whole TTL, and revokes its lease when its term ends (a crash leaves the
//! lease to expire: another node takes over within the TTL).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use etcd_client::Client;
use tokio::sync::watch;
use tracing::{info, warn};

use super::super::Error;

/// What a leader's writes compare: its key in the election and the
/// revision that created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) struct Fence {
    pub(super) key: Vec<u8>,
    pub(super) create_revision: i64,
}

/// This node's standing in the election.
pub(super) struct Leadership {
    fence: RwLock<Option<Fence>>,
    leading: watch::Sender<bool>,
    /// The lease of the current term (0: none), revoked when the cluster
    /// shuts down.
    lease: std::sync::atomic::AtomicI64,
}

impl Leadership {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Leadership {
            fence: RwLock::new(None),
            leading: watch::channel(false).0,
            lease: std::sync::atomic::AtomicI64::new(0),
        })
    }

    /// The fence while this node leads.
    pub(super) fn fence(&self) -> Option<Fence> {
        self.fence.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether this node leads, and when that changes.
    pub(super) fn watch(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// The current term's lease, if any.
    pub(super) fn lease(&self) -> i64 {
        self.lease.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn set(&self, fence: Option<Fence>) {
        let leading = fence.is_some();
        *self.fence.write().unwrap_or_else(|e| e.into_inner()) = fence;
        self.leading.send_if_modified(|was| {
            let changed = *was != leading;
            *was = leading;
            changed
        });
    }

    /// Ends this node's term at once: a write was refused by the fence.
    pub(super) fn lost(&self, why: &str) {
        if self.fence().is_some() {
            warn!(why, "this node no longer leads the sweeps and the mail");
        }
        self.set(None);
    }

    /// Campaigns for ever: one term after another, each on a new lease.
    pub(super) async fn campaign(self: Arc<Self>, client: Client, name: Vec<u8>, ttl: Duration) {
        let mut pause = Duration::from_millis(200);
        loop {
            let term = self.term(&client, &name, ttl).await;
            self.set(None);
            let lease = self.lease.swap(0, std::sync::atomic::Ordering::Relaxed);
            if lease != 0 {
                // Best effort: another node takes over now rather than
                // after the TTL.
                let mut leases = client.lease_client();
                let _ = tokio::time::timeout(ttl, leases.revoke(lease)).await;
            }
            match term {
                Ok(()) => pause = Duration::from_millis(200),
                Err(e) => {
                    warn!(error = %e, "leader election interrupted; campaigning again");
                    pause = (pause * 2).min(ttl);
                }
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// One term: a lease, kept alive while campaigning and while leading;
    /// returns when the lease is lost.
    async fn term(&self, client: &Client, name: &[u8], ttl: Duration) -> Result<(), Error> {
        let seconds = i64::try_from(ttl.as_secs()).unwrap_or(5).max(2);
        let mut leases = client.lease_client();
        let lease = tokio::time::timeout(ttl, leases.grant(seconds, None))
            .await
            .map_err(|_| Error::Cluster("etcd did not grant a lease in time".into()))?
            .map_err(etcd)?
            .id();
        self.lease
            .store(lease, std::sync::atomic::Ordering::Relaxed);
        let (mut keeper, mut acks) = client
            .lease_client()
            .keep_alive(lease)
            .await
            .map_err(etcd)?;
        let mut election = client.election_client();
        let campaign = election.campaign(name.to_vec(), format!("{lease:x}"), lease);
        tokio::pin!(campaign);
        let mut elected = false;
        let mut acked = Instant::now();
        let mut tick = tokio::time::interval(ttl / 3);
        loop {
            tokio::select! {
                won = &mut campaign, if !elected => {
                    let leader = won.map_err(etcd)?.take_leader()
                        .ok_or_else(|| Error::Cluster("election answered without a leader key".into()))?;
                    info!(lease = %format!("{lease:x}"), "this node leads the sweeps and the mail");
                    self.set(Some(Fence { key: leader.key().to_vec(), create_revision: leader.rev() }));
                    elected = true;
                }
                _ = tick.tick() => {
                    if acked.elapsed() >= ttl {
                        return Err(Error::Cluster("no keep-alive acknowledged for a whole lease TTL".into()));
                    }
                    keeper.keep_alive().await.map_err(etcd)?;
                }
                ack = acks.message() => match ack.map_err(etcd)? {
                    Some(ack) if ack.ttl() > 0 => acked = Instant::now(),
                    _ => return Err(Error::Cluster("the lease expired".into())),
                },
            }
        }
    }
}

fn etcd(e: etcd_client::Error) -> Error {
    Error::Cluster(format!("etcd: {e}"))
}
