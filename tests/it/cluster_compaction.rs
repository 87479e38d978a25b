//! Compaction past a *running* node's watch: node B is paused (SIGSTOP)
//! while node A writes and about 64 MB of other keys pass under the
//! cluster's prefix, so etcd gives up streaming to B's watch and must sync
//! it from its history later; then etcd compacts that history away. When B
//! wakes, its watch is cancelled as compacted: B reads everything again
//! and serves what A wrote meanwhile, including a revocation.

use std::time::{Duration, Instant};

use credd::api::pb;

use super::cluster::{await_result, etcd, start_node};
use crate::support;

/// Keys of 64 KiB written under the prefix (in a tree credd does not
/// know, so its replicas skip them) while B is paused: more than the watch
/// stream's buffers and the loopback socket hold.
const FLOOD: usize = 1000;

#[tokio::test(flavor = "multi_thread")]
async fn a_running_node_behind_a_compaction_reads_everything_again() {
    let Some(etcd) = etcd("cluster_compaction::a_running_node_behind_a_compaction") else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let b = start_node(shared.path(), "b", &etcd, "");
    let mut admin = a.admin().await;
    let (first, first_secret) = support::create(&mut admin, support::api_key("acme", "1")).await;
    await_result(&b, &first_secret, pb::VerifyResult::Valid).await;

    // B's first start read everything (an empty data directory): count
    // the full reads from here on.
    let full_reads = || b.logs().matches("replica read in full from etcd").count();
    let before = full_reads();
    b.signal(libc::SIGSTOP);
    let (_, second_secret) = support::create(&mut admin, support::api_key("acme", "2")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: first.id.clone(),
            reason: "leaked".into(),
        })
        .await
        .expect("revoke");
    let filler = "x".repeat(64 << 10);
    for i in 0..FLOOD {
        etcd.put(&format!("/credd-it/flood/{i:05}"), &filler);
    }
    etcd.compact(etcd.revision());
    b.signal(libc::SIGCONT);

    let started = Instant::now();
    while full_reads() == before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "B never read everything again after the compaction:\n{}",
            b.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        b.logs()
            .contains("etcd compacted past this node's revision"),
        "{}",
        b.logs()
    );
    await_result(&b, &second_secret, pb::VerifyResult::Valid).await;
    await_result(&b, &first_secret, pb::VerifyResult::Revoked).await;
}
