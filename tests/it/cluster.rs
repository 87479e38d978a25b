//! Cluster mode on etcd, end to end: real credd processes sharing a real
//! 3-member etcd cluster (Debian's etcd-server) on loopback. A change made
//! through one node is seen by another; a node restarted after kill -9
//! resumes its replica from the revision it recorded, or reads everything
//! again when etcd compacted that revision away; a node cut off from etcd
//! refuses to answer (the staleness fence) and recovers by itself.

use std::path::Path;
use std::time::{Duration, Instant};

use credd::api::pb;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::etcd_cluster::{self, EtcdCluster};
use crate::support::{self, Daemon};

/// A generous bound for anything that crosses the cluster (the bench
/// measures the real distribution).
const WITHIN: Duration = Duration::from_secs(5);

/// A 3-member etcd cluster, or None when etcd is missing (a skip printed;
/// under `CI=true` a panic instead).
pub(crate) fn etcd(test: &str) -> Option<EtcdCluster> {
    let binary = etcd_cluster::require_etcd(test)?;
    Some(EtcdCluster::start(&binary, 3))
}

/// The config of a node of the cluster at `endpoints` under `prefix`, with
/// the pepper file every node shares.
fn node_config(shared: &Path, etcd: &EtcdCluster, prefix: &str, extra: &str) -> String {
    let endpoints = etcd.endpoints_toml();
    format!(
        "pepper_file = {pepper:?}\n{extra}\n[store]\nbackend = \"etcd\"\nendpoints = [{endpoints}]\nprefix = {prefix:?}\nmax_staleness_ms = 1000\n",
        pepper = shared.join("pepper").display().to_string(),
    )
}

/// Starts a node in `shared/<name>`.
pub(crate) fn start_node(shared: &Path, name: &str, etcd: &EtcdCluster, extra: &str) -> Daemon {
    let dir = shared.join(name);
    std::fs::create_dir_all(&dir).expect("node dir");
    support::start(&dir, &node_config(shared, etcd, "/credd-it/", extra))
}

/// Polls Verify on `node` until it answers `want`; how long it took.
pub(crate) async fn await_result(node: &Daemon, secret: &str, want: pb::VerifyResult) -> Duration {
    let mut verifier = node.verifier().await;
    let started = Instant::now();
    loop {
        let answer = verifier
            .verify(support::verify_req(secret, "", &[]))
            .await
            .map(|r| r.into_inner().result());
        if answer.as_ref().is_ok_and(|got| *got == want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WITHIN,
            "node never answered {want:?} (last: {answer:?}); log:\n{}",
            node.logs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Created on node A, the key verifies on node B; revoked on A, it is
/// refused on B; B's Get shows what A wrote. Node B's own admin calls
/// write through to A as well. Only A, the first node, issued a bootstrap
/// admin key.
#[tokio::test(flavor = "multi_thread")]
async fn a_change_on_one_node_is_seen_on_the_other() {
    let Some(etcd) = etcd("cluster::a_change_on_one_node_is_seen_on_the_other") else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let b = start_node(shared.path(), "b", &etcd, "");
    let key = a.admin_key();
    let mut admin_a = a.admin().await;
    let mut admin_b = support::admin_on(b.channel().await, &key);
    // One bootstrap admin key for the cluster: the first node's.
    assert!(
        !b.admin_key_file().exists(),
        "b issued a second bootstrap key"
    );
    assert!(
        b.logs().contains("issued before, by another node"),
        "{}",
        b.logs()
    );

    let (cred, secret) = support::create(&mut admin_a, support::api_key("acme", "svc")).await;
    let seen = await_result(&b, &secret, pb::VerifyResult::Valid).await;
    eprintln!("created on A, valid on B after {seen:?}");

    admin_a
        .revoke_credential(pb::RevokeCredentialRequest {
            id: cred.id.clone(),
            reason: "leaked".into(),
        })
        .await
        .expect("revoke on A");
    let refused = await_result(&b, &secret, pb::VerifyResult::Revoked).await;
    eprintln!("revoked on A, refused on B after {refused:?}");
    assert_eq!(
        support::get(&mut admin_b, &cred.id).await.status(),
        pb::Status::Revoked
    );

    let (cred_b, secret_b) = support::create(&mut admin_b, support::api_key("acme", "b")).await;
    await_result(&a, &secret_b, pb::VerifyResult::Valid).await;
    assert_eq!(support::get(&mut admin_a, &cred_b.id).await.name, "b");
}

/// A node killed with -9 resumes its replica from the revision it
/// recorded, catching up with what was written meanwhile; after etcd
/// compacted that revision away, it reads everything again instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_node_resumes_or_reads_again_after_compaction() {
    let Some(etcd) = etcd("cluster::a_restarted_node_resumes_or_reads_again_after_compaction")
    else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let mut b = start_node(shared.path(), "b", &etcd, "");
    let mut admin = a.admin().await;
    let (first, first_secret) = support::create(&mut admin, support::api_key("acme", "1")).await;
    await_result(&b, &first_secret, pb::VerifyResult::Valid).await;

    b.kill9();
    let (_, second_secret) = support::create(&mut admin, support::api_key("acme", "2")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: first.id.clone(),
            reason: "rotated out".into(),
        })
        .await
        .expect("revoke");
    b.restart();
    assert!(
        b.logs()
            .contains("replica resumes from its recorded etcd revision"),
        "{}",
        b.logs()
    );
    await_result(&b, &second_secret, pb::VerifyResult::Valid).await;
    await_result(&b, &first_secret, pb::VerifyResult::Revoked).await;

    b.kill9();
    let (_, third_secret) = support::create(&mut admin, support::api_key("acme", "3")).await;
    etcd.compact(etcd.revision());
    b.restart();
    assert!(
        b.logs().contains("replica read in full from etcd"),
        "{}",
        b.logs()
    );
    await_result(&b, &third_secret, pb::VerifyResult::Valid).await;
    await_result(&b, &second_secret, pb::VerifyResult::Valid).await;
    await_result(&b, &first_secret, pb::VerifyResult::Revoked).await;
}

/// With every etcd member down, a node turns NOT_SERVING and refuses
/// Verify with UNAVAILABLE within its fence (1 s here), rather than answer
/// from a copy that may be stale; once etcd is back it serves by itself.
#[tokio::test(flavor = "multi_thread")]
async fn a_node_cut_off_from_etcd_refuses_then_recovers() {
    let Some(mut etcd) = etcd("cluster::a_node_cut_off_from_etcd_refuses_then_recovers") else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let mut admin = a.admin().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let mut verifier = a.verifier().await;
    let mut health = HealthClient::new(a.channel().await);

    for member in 0..3 {
        etcd.stop(member);
    }
    let cut_off = Instant::now();
    let refused = loop {
        let answer = verifier.verify(support::verify_req(&secret, "", &[])).await;
        match answer {
            Err(status) if status.code() == Code::Unavailable => break cut_off.elapsed(),
            other => {
                assert!(cut_off.elapsed() < WITHIN, "still answering: {other:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    eprintln!("refused {refused:?} after etcd went away");
    await_health(&mut health, ServingStatus::NotServing).await;

    etcd.restart_all(&[0, 1, 2]);
    let back = await_result(&a, &secret, pb::VerifyResult::Valid).await;
    eprintln!("serving again {back:?} after etcd came back");
    await_health(&mut health, ServingStatus::Serving).await;
}

/// Polls the health service until it reports `want` (the fence looks at
/// the replica every 100 ms).
async fn await_health(health: &mut HealthClient<tonic::transport::Channel>, want: ServingStatus) {
    let started = Instant::now();
    loop {
        let status = health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("health")
            .into_inner()
            .status();
        if status == want {
            return;
        }
        assert!(started.elapsed() < WITHIN, "health stayed {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An account's rate limit holds across the cluster: with two live nodes,
/// each enforces half of it (its burst of 10 becomes 5 per node), where a
/// single node alone enforced all of it.
#[tokio::test(flavor = "multi_thread")]
async fn an_account_rate_limit_is_shared_by_the_live_nodes() {
    use credd::api::pb::account_admin_client::AccountAdminClient;
    let Some(etcd) = etcd("cluster::an_account_rate_limit_is_shared") else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let b = start_node(shared.path(), "b", &etcd, "");
    let started = Instant::now();
    while !a.logs().contains("nodes=2") || !b.logs().contains("nodes=2") {
        assert!(started.elapsed() < WITHIN, "the nodes never saw each other");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let key = a.admin_key();
    let mut accounts =
        AccountAdminClient::with_interceptor(a.channel().await, support::Bearer::new(Some(&key)));
    accounts
        .create_account(pb::CreateAccountRequest {
            id: "shared".into(),
            display_name: "shared inc.".into(),
            rate_limit: Some(pb::RateLimit {
                requests_per_second: 1,
                burst: 10,
            }),
            ..Default::default()
        })
        .await
        .expect("create account");
    let mut admin = a.admin().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("shared", "k")).await;
    let mut admin_b = support::admin_on(b.channel().await, &key);
    while admin_b
        .get_credential(pb::GetCredentialRequest {
            id: cred.id.clone(),
        })
        .await
        .is_err()
    {
        assert!(started.elapsed() < WITHIN * 2, "B never saw the key");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Longer than a request timeout (5 s): a node that does not lead keeps
    // campaigning on one lease, so the count of live nodes stays 2.
    tokio::time::sleep(Duration::from_secs(6)).await;
    for node in [&a, &b] {
        let logs = node.logs();
        assert!(!logs.contains("leader election interrupted"), "{logs}");
        let last = logs
            .lines()
            .rev()
            .find(|l| l.contains("live cluster nodes changed"));
        assert!(last.is_some_and(|l| l.contains("nodes=2")), "{logs}");
    }
    for node in [&a, &b] {
        let mut verifier = node.verifier().await;
        let mut valid = 0;
        for _ in 0..10 {
            let answer = support::verify(&mut verifier, &secret, "", &[]).await;
            if answer.result() == pb::VerifyResult::Valid {
                valid += 1;
            }
        }
        // Half the burst, and at most one token refilled meanwhile.
        assert!(
            (5..=6).contains(&valid),
            "{valid} of 10 valid on {}",
            node.url()
        );
    }
}

/// An account's quota holds across the cluster: 20 creates at once, half
/// through each node, for an account allowed 10 live credentials: exactly
/// 10 are acknowledged, the rest refused with RESOURCE_EXHAUSTED, and the
/// account holds 10.
#[tokio::test(flavor = "multi_thread")]
async fn an_account_quota_holds_across_the_nodes() {
    use credd::api::pb::account_admin_client::AccountAdminClient;
    let Some(etcd) = etcd("cluster::an_account_quota_holds_across_the_nodes") else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let b = start_node(shared.path(), "b", &etcd, "");
    let key = a.admin_key();
    let mut accounts =
        AccountAdminClient::with_interceptor(a.channel().await, support::Bearer::new(Some(&key)));
    accounts
        .create_account(pb::CreateAccountRequest {
            id: "tight".into(),
            display_name: "tight inc.".into(),
            max_live_credentials: 10,
            ..Default::default()
        })
        .await
        .expect("create account");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..20 {
        let node = if n % 2 == 0 { &a } else { &b };
        let mut admin = support::admin_on(node.channel().await, &key);
        tasks.spawn(async move {
            admin
                .create_credential(support::api_key("tight", &format!("k{n}")))
                .await
                .map(drop)
        });
    }
    let (mut made, mut refused) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        match done.expect("task") {
            Ok(()) => made += 1,
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
                refused += 1;
            }
        }
    }
    assert_eq!((made, refused), (10, 10));
    let mut admin = a.admin().await;
    let listed = admin
        .list_credentials(pb::ListCredentialsRequest {
            account_id: "tight".into(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.credentials.len(), 10);
}
