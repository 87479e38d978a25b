//! The etcd test harness itself (`tests/common/etcd_cluster.rs`): a
//! 3-member cluster starts and answers, a killed leader is replaced within
//! seconds and comes back on restart, compaction and the shared cluster
//! work, and members outlive the test thread that started them.

use std::time::{Duration, Instant};

use crate::etcd_cluster::{EtcdCluster, require_etcd, shared};

/// Polls `probe` every 20 ms until it returns `Some`, for at most `limit`.
fn within<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_killed_leader_is_replaced_and_comes_back_on_restart() {
    let Some(etcd) =
        require_etcd("etcd_harness::a_killed_leader_is_replaced_and_comes_back_on_restart")
    else {
        return;
    };
    let mut cluster = EtcdCluster::start(&etcd, 3);
    assert_eq!(cluster.endpoints().len(), 3);
    assert!(cluster.revision() >= 1);
    let old = within(Duration::from_secs(5), || cluster.leader()).expect("a leader");
    assert!(old < 3);

    cluster.kill(old);
    assert!(!cluster.is_running(old));
    let elected = Instant::now();
    let new = within(Duration::from_secs(5), || cluster.leader()).expect("a new leader");
    assert_ne!(new, old, "the killed member cannot lead");
    let written = cluster.put("harness/after-kill", "v");
    assert!(cluster.revision() >= written);
    eprintln!("new leader elected in {:?}", elected.elapsed());

    cluster.restart(old);
    assert!(cluster.is_running(old));
    let leader = within(Duration::from_secs(5), || cluster.leader()).expect("a leader");
    assert!(leader < 3);
    assert!(cluster.revision() >= written);
}

#[test]
fn compaction_drops_history_up_to_a_revision() {
    let Some(etcd) = require_etcd("etcd_harness::compaction_drops_history_up_to_a_revision") else {
        return;
    };
    let cluster = EtcdCluster::start(&etcd, 1);
    let first = cluster.put("harness/k", "1");
    let second = cluster.put("harness/k", "2");
    assert!(second > first);
    assert_eq!(cluster.revision(), second);
    cluster.compact(second);
    let again = cluster.try_compact(first);
    assert!(
        again.as_ref().is_err_and(|e| e.contains("compacted")),
        "{again:?}"
    );
}

#[test]
fn members_outlive_the_thread_that_started_them() {
    let Some(etcd) = require_etcd("etcd_harness::members_outlive_the_thread_that_started_them")
    else {
        return;
    };
    let cluster = std::thread::spawn(move || EtcdCluster::start(&etcd, 1))
        .join()
        .expect("start on a short-lived thread");
    // PR_SET_PDEATHSIG would have fired on that thread's exit by now.
    std::thread::sleep(Duration::from_millis(300));
    assert!(cluster.is_running(0));
    assert!(cluster.revision() >= 1);
}

#[test]
fn the_shared_cluster_is_one_member_started_once() {
    let Some(etcd) = require_etcd("etcd_harness::the_shared_cluster_is_one_member_started_once")
    else {
        return;
    };
    let a = shared(&etcd);
    let b = shared(&etcd);
    assert!(std::ptr::eq(a, b));
    assert_eq!(a.endpoints(), vec![a.endpoint(0)]);
    assert!(a.put("harness/shared", "v") >= 1);
}
