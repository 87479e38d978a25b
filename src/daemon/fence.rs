//! The staleness fence's health side: a cluster node whose replica has not
//! heard from etcd within `[store] max_staleness_ms` turns its gRPC health
//! NOT_SERVING, so load balancers and gateways move to another node, and
//! SERVING again once it has caught up. (Verify itself refuses with
//! UNAVAILABLE while stale: the store checks on every lookup.) With sled
//! there is nothing to watch and no task runs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api::Health;
use crate::engine::Engine;

/// How often the fence looks at the replica.
const PERIOD: Duration = Duration::from_millis(100);

/// Starts the fence's task for a clustered store; None with sled.
pub(super) fn spawn(
    engine: &Arc<Engine>,
    health: &Health,
    mut stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    engine.store().cluster_revision()?;
    let (engine, health) = (engine.clone(), health.clone());
    Some(tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut serving = true;
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            let fresh = engine.store().check_fresh();
            match (&fresh, serving) {
                (Err(e), true) => {
                    warn!(error = %e, "replica is stale; answering NOT_SERVING and refusing Verify");
                    health.nothing_serving().await;
                    serving = false;
                }
                (Ok(()), false) => {
                    info!(
                        revision = engine.store().cluster_revision(),
                        "replica caught up with etcd; serving again"
                    );
                    health.all_serving().await;
                    serving = true;
                }
                _ => {}
            }
        }
        info!(task = "fence", "stopped");
    }))
}
