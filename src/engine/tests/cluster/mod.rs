//! The engine on a cluster (feature `etcd`): two engines, each on its own
//! node of one etcd (the store tests' pair), sharing one manual clock.
//! `usage`: daily usage counted across the nodes; `credits`: one balance
//! spent by both.

mod credits;
mod usage;

use std::time::Instant;

use super::*;

/// Two engines on two nodes of one cluster and their clock, or None when
/// etcd is missing.
struct Pair {
    a: Arc<Engine>,
    b: Arc<Engine>,
    clock: Arc<ManualClock>,
    _dirs: [tempfile::TempDir; 2],
}

fn pair(test: &str) -> Option<Pair> {
    let (x, y, dirs) = crate::store::tests::cluster::two_nodes_with(test, pepper().fingerprint())?;
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = |store| {
        let clock = clock.clone() as Arc<dyn Clock>;
        let engine = Engine::new(store, pepper(), clock, Policy::standard(), "credd".into());
        Arc::new(engine.unwrap())
    };
    Some(Pair {
        a: engine(x),
        b: engine(y),
        clock,
        _dirs: dirs,
    })
}

/// Polls `done` until it holds, for up to 5 s.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, done: impl Fn() -> F) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed().as_secs() < 5, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Waits until `engine` knows credential `id` (through its replica; a
/// Verify would spend its credits).
async fn known(engine: &Engine, id: &str) {
    eventually("the other node knows the credential", || async {
        engine.get(&admin(), id).is_ok()
    })
    .await;
}
