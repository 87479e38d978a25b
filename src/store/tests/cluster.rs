//! Two nodes of one cluster (stores on the test process's shared etcd,
//! under one prefix, each with its own replica): a write on one is read on
//! the other, one leads at a time, and a deposed leader's writes are
//! refused by the fence whatever it believes.

use std::time::{Duration, Instant};

use super::*;

/// A node of the cluster under `prefix`, its replica in `dir`.
fn node(endpoints: &[String], prefix: &str, dir: &Path, fingerprint: [u8; 32]) -> Store {
    Store::open_etcd(
        dir,
        16 << 20,
        fingerprint,
        verify_cache::DEFAULT_ENTRIES,
        EtcdOptions {
            endpoints: endpoints.to_vec(),
            prefix: prefix.to_string(),
            tls: None,
            user: None,
            request_timeout: Duration::from_secs(5),
            max_staleness: Duration::from_secs(2),
            lease_ttl: Duration::from_secs(2),
        },
    )
    .unwrap()
}

/// Two nodes under a fresh prefix, or None when etcd is missing.
pub(super) fn two_nodes(test: &str) -> Option<(Store, Store, [tempfile::TempDir; 2])> {
    two_nodes_with(test, FINGERPRINT)
}

/// Two nodes made with a pepper of this fingerprint (for the engine's
/// cluster tests), or None when etcd is missing.
pub(crate) fn two_nodes_with(
    test: &str,
    fingerprint: [u8; 32],
) -> Option<(Store, Store, [tempfile::TempDir; 2])> {
    let binary = etcd_cluster::require_etcd(test)?;
    let endpoints = etcd_cluster::shared(&binary).endpoints();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let prefix = format!("/credd-two-{}-{n}/", std::process::id());
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let x = node(&endpoints, &prefix, dirs[0].path(), fingerprint);
    let y = node(&endpoints, &prefix, dirs[1].path(), fingerprint);
    Some((x, y, dirs))
}

fn cluster(store: &Store) -> &std::sync::Arc<etcd::Cluster> {
    match &store.backend {
        Backend::Etcd(cluster) => cluster,
        Backend::Sled => panic!("a cluster node"),
    }
}

/// Polls `done` every 10 ms for up to 5 s.
pub(super) fn eventually(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(5), "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A record committed on one node is read on the other, and so is its
/// removal.
#[test]
fn a_write_on_one_node_is_read_on_the_other() {
    let Some((x, y, _dirs)) = two_nodes("store::tests::cluster::a_write_on_one_node") else {
        return;
    };
    let rec = record("cred_x", "acme", 1);
    insert(&x, &rec);
    eventually("y reads x's record", || y.get("cred_x").unwrap().is_some());
    assert_eq!(
        y.lookup_secret(&hash(1)).unwrap(),
        Some(("cred_x".into(), 1))
    );
    assert_eq!(y.commit(Some(&rec), None, None).unwrap(), Commit::Done);
    eventually("x sees y's delete", || x.get("cred_x").unwrap().is_none());
    assert_eq!(x.lookup_secret(&hash(1)).unwrap(), None);
}

/// One node leads at a time; when the leader's lease is gone another takes
/// over, and the former leader, waking up believing it still leads (as a
/// leader paused past its lease does), has its writes refused: nothing it
/// tried is written, on either node.
#[test]
fn a_deposed_leaders_writes_are_refused() {
    let Some((x, y, _dirs)) = two_nodes("store::tests::cluster::a_deposed_leader") else {
        return;
    };
    let leads = |s: &Store| *s.leading().borrow();
    eventually("one node leads", || leads(&x) || leads(&y));
    assert!(!(leads(&x) && leads(&y)), "two leaders at once");
    let (old, new) = if leads(&x) { (&x, &y) } else { (&y, &x) };
    let fence = cluster(old).fence().expect("the leader holds a fence");

    cluster(old).revoke_lease().unwrap();
    eventually("the other node takes over", || leads(new));
    cluster(old).believe(fence);

    let refused = old.commit(None, Some(&record("cred_late", "acme", 7)), None);
    assert!(matches!(refused, Err(Error::Cluster(_))), "{refused:?}");
    assert!(!leads(old), "the refusal ends the old leader's term");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(old.get("cred_late").unwrap(), None);
    assert_eq!(new.get("cred_late").unwrap(), None);
    // The new leader writes as usual.
    insert(new, &record("cred_new", "acme", 8));
}

/// A node that joins later reads everything, in pages split as it goes
/// (2,100 keys, more than two pages of 1,000): every record and index
/// entry arrives once.
#[test]
fn a_node_that_joins_reads_every_page() {
    let Some((x, _y, _dirs)) = two_nodes("store::tests::cluster::a_node_that_joins") else {
        return;
    };
    std::thread::scope(|scope| {
        for t in 0..4u32 {
            let x = &x;
            scope.spawn(move || {
                for i in (t..700).step_by(4) {
                    let mut rec = record(&format!("cred_{i:04}"), "acme", 1);
                    rec.versions[0].hash = [0; 32];
                    rec.versions[0].hash[..4].copy_from_slice(&i.to_be_bytes());
                    insert(x, &rec);
                }
            });
        }
    });
    let joined_dir = tempfile::tempdir().unwrap();
    let Backend::Etcd(cluster) = &x.backend else {
        panic!("a cluster node");
    };
    let options = cluster.options().clone();
    let z = Store::open_etcd(joined_dir.path(), 16 << 20, FINGERPRINT, 1000, options).unwrap();
    assert_eq!(scan_ids(&z, None, None).len(), 700);
    assert_eq!(z.scan(Some("acme"), None).count(), 700);
    for i in [0u32, 1, 350, 699] {
        let mut hash = [0u8; 32];
        hash[..4].copy_from_slice(&i.to_be_bytes());
        assert_eq!(
            z.lookup_secret(&hash).unwrap(),
            Some((format!("cred_{i:04}"), 1))
        );
    }
}

/// Two nodes that read the same quota guard (having counted the same live
/// credentials) cannot both create: the second is a conflict, and creates
/// once it has read the guard again.
#[test]
fn two_creates_from_one_count_do_not_both_commit() {
    let Some((x, y, _dirs)) = two_nodes("store::tests::cluster::two_creates") else {
        return;
    };
    let guard = x.quota_guard("acme").unwrap();
    assert_eq!(y.quota_guard("acme").unwrap(), guard);
    let first = record("cred_first", "acme", 1);
    let second = record("cred_second", "acme", 2);
    assert_eq!(
        x.create(&first, &audit("cred_first"), guard).unwrap(),
        Commit::Done
    );
    assert_eq!(
        y.create(&second, &audit("cred_second"), guard).unwrap(),
        Commit::Conflict
    );
    assert_eq!(y.get("cred_second").unwrap(), None);
    eventually("y sees the guard move", || {
        y.quota_guard("acme").unwrap() == guard + 1
    });
    assert_eq!(
        y.create(&second, &audit("cred_second"), guard + 1).unwrap(),
        Commit::Done
    );
}

/// Two nodes claiming the bootstrap marker at once: exactly one gets it,
/// and both read the winner's claim.
#[test]
fn one_node_claims_the_bootstrap_key() {
    let Some((x, y, _dirs)) = two_nodes("store::tests::cluster::one_node_claims") else {
        return;
    };
    let (got_x, got_y) = std::thread::scope(|scope| {
        let on_x = scope.spawn(|| x.set_bootstrap_marker("pending x", true).unwrap());
        let on_y = scope.spawn(|| y.set_bootstrap_marker("pending y", true).unwrap());
        (on_x.join().unwrap(), on_y.join().unwrap())
    });
    assert!(
        got_x ^ got_y,
        "exactly one claim wins: x {got_x}, y {got_y}"
    );
    let winner = if got_x { "pending x" } else { "pending y" };
    eventually("both read the winner", || {
        x.bootstrap_marker().unwrap().as_deref() == Some(winner)
            && y.bootstrap_marker().unwrap().as_deref() == Some(winner)
    });
}
