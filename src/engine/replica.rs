//! A cluster node's in-memory mirrors follow what other nodes write. The
//! account directory (suspension, rate limits) and the partner directory
//! (partners, grants) are kept in memory so Verify reads no disk; on one
//! node they change only through this engine, but in a cluster another
//! node's change arrives through the replica (`store::ReplicaChange`), and
//! the mirror entry is read again from the replica. A feed that fell behind,
//! or a replica read in full, reloads both mirrors whole. When nodes join
//! or leave, each node's share of the cluster's limits changes with them.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tracing::{info, warn};

use super::{Engine, Error};
use crate::store::ReplicaChange;

impl Engine {
    /// Follows the replica's changes until `stop` changes; returns at once
    /// with a store that has no replica (sled).
    pub async fn follow_replica(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let Some(mut changes) = self.store.replica_changes() else {
            return;
        };
        // Whatever changed between loading the mirrors and subscribing.
        if let Err(e) = self.mirror(&ReplicaChange::Reloaded) {
            warn!(error = %e, "could not reload the directories from the replica");
        }
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                _ = stop.changed() => break,
            };
            let applied = match change {
                Ok(change) => self.mirror(&change),
                Err(RecvError::Lagged(missed)) => {
                    warn!(
                        missed,
                        "fell behind the replica's changes; reloading the directories"
                    );
                    self.mirror(&ReplicaChange::Reloaded)
                }
                Err(RecvError::Closed) => break,
            };
            if let Err(e) = applied {
                warn!(error = %e, "could not mirror a replica change; reloading at the next one");
            }
        }
        info!(task = "replica-mirror", "stopped");
    }

    /// Each of `nodes` live nodes enforces its share of every account rate
    /// limit, named rate limit and login throttle.
    fn share_limits(&self, nodes: u32) {
        self.accounts.set_nodes(nodes);
        self.login_throttle.set_nodes(nodes);
    }

    /// Brings the in-memory mirrors in line with one change.
    fn mirror(&self, change: &ReplicaChange) -> Result<(), Error> {
        match change {
            ReplicaChange::Key { tree, key } => match *tree {
                "accounts" => {
                    let id = String::from_utf8_lossy(key);
                    self.accounts.refresh(&self.store, &id)
                }
                "partners" | "grants" | "grant_pairs" => self.partners.reload(&self.store),
                _ => Ok(()),
            },
            ReplicaChange::Nodes(nodes) => {
                self.share_limits(*nodes);
                Ok(())
            }
            ReplicaChange::Reloaded => {
                self.share_limits(self.store.live_nodes());
                self.accounts.reload(&self.store)?;
                self.partners.reload(&self.store)
            }
        }
    }
}
