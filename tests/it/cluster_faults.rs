//! The etcd leader killed with -9 under load: two credd nodes take creates,
//! rotations and revocations from four callers while the member leading
//! etcd's Raft group is killed. Every change a node acknowledged is there
//! afterwards on both nodes, no acknowledged revocation comes back, and
//! Verify keeps answering throughout (calls that fail while etcd elects a
//! new leader were not acknowledged, and nothing is expected of them).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use credd::api::pb;

use crate::etcd_cluster::{self, EtcdCluster};
use crate::support::{self, Admin, Daemon};

/// How long the callers run; the leader dies after the first second.
const LOAD: Duration = Duration::from_secs(4);

/// What the nodes acknowledged.
#[derive(Default)]
struct Acked {
    /// Live keys: id and its newest secret.
    live: Vec<(String, String)>,
    /// Revoked keys' secrets (every version).
    revoked: Vec<String>,
    /// Calls refused or failed (not acknowledged).
    failed: usize,
}

fn node_config(shared: &Path, etcd: &EtcdCluster) -> String {
    let endpoints = etcd.endpoints_toml();
    // A fence longer than etcd's election, so Verify answers throughout.
    format!(
        "pepper_file = {pepper:?}\n[store]\nbackend = \"etcd\"\nendpoints = [{endpoints}]\n\
         prefix = \"/credd-faults/\"\nmax_staleness_ms = 5000\n",
        pepper = shared.join("pepper").display().to_string(),
    )
}

fn start_node(shared: &Path, name: &str, config: &str) -> Daemon {
    let dir = shared.join(name);
    std::fs::create_dir_all(&dir).expect("node dir");
    support::start(&dir, config)
}

/// One caller: creates, rotates every third key and revokes every fourth,
/// through `admin`, until `until`.
async fn caller(mut admin: Admin, n: usize, acked: Arc<Mutex<Acked>>, until: Instant) {
    let mut i = 0;
    while Instant::now() < until {
        i += 1;
        let created = admin
            // 40 keys per account: far below the quota of 100.
            .create_credential(support::api_key(
                &format!("acct{n}x{}", i / 40),
                &format!("c{i}"),
            ))
            .await;
        let created = match created {
            Ok(created) => created,
            Err(status) => {
                let failed = {
                    let mut acked = acked.lock().unwrap();
                    acked.failed += 1;
                    acked.failed
                };
                if failed % 50 == 1 {
                    eprintln!("create refused at {:?}: {status}", Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let created = created.into_inner();
        let id = created.credential.expect("credential").id;
        let mut secrets = vec![created.secret];
        if i % 3 == 0 {
            let rotated = admin
                .rotate_credential(pb::RotateCredentialRequest {
                    id: id.clone(),
                    window: None,
                })
                .await;
            match rotated {
                Ok(r) => secrets.push(r.into_inner().secret),
                Err(_) => acked.lock().unwrap().failed += 1,
            }
        }
        if i % 4 == 0 {
            let revoked = admin
                .revoke_credential(pb::RevokeCredentialRequest {
                    id: id.clone(),
                    reason: "load".into(),
                })
                .await;
            match revoked {
                Ok(_) => acked.lock().unwrap().revoked.extend(secrets),
                Err(_) => acked.lock().unwrap().failed += 1,
            }
            continue;
        }
        let newest = secrets.pop().expect("a secret");
        acked.lock().unwrap().live.push((id, newest));
    }
}

/// Verify of one key on `node` every 10 ms until `until`: how many calls
/// got an answer and how many failed.
async fn verifier(node_url: String, secret: String, until: Instant) -> (usize, usize) {
    let channel = tonic::transport::Channel::from_shared(node_url)
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut verifier = pb::credential_verifier_client::CredentialVerifierClient::new(channel);
    let (mut answered, mut failed) = (0, 0);
    while Instant::now() < until {
        match verifier.verify(support::verify_req(&secret, "", &[])).await {
            Ok(r) if r.get_ref().result() == pb::VerifyResult::Valid => answered += 1,
            _ => failed += 1,
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (answered, failed)
}

/// Kill -9 of etcd's leader during mixed load through two nodes: nothing
/// acknowledged is lost, no acknowledged revocation is resurrected, Verify
/// answers every call.
#[tokio::test(flavor = "multi_thread")]
async fn killing_the_etcd_leader_under_load_loses_nothing_acknowledged() {
    let Some(binary) = etcd_cluster::require_etcd("cluster_faults::killing_the_etcd_leader") else {
        return;
    };
    let mut etcd = EtcdCluster::start(&binary, 3);
    let shared = support::temp_dir();
    let config = node_config(shared.path(), &etcd);
    let a = start_node(shared.path(), "a", &config);
    let b = start_node(shared.path(), "b", &config);
    let key = a.admin_key();
    let mut admin = a.admin().await;
    let (_, steady) = support::create(&mut admin, support::api_key("acme", "steady")).await;

    let until = Instant::now() + LOAD;
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut tasks = Vec::new();
    for n in 0..4 {
        let node = if n % 2 == 0 { &a } else { &b };
        let admin = support::admin_on(node.channel().await, &key);
        tasks.push(tokio::spawn(caller(admin, n, acked.clone(), until)));
    }
    let verifiers = [&a, &b].map(|node| tokio::spawn(verifier(node.url(), steady.clone(), until)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let leader = etcd.leader().expect("etcd has a leader");
    etcd.kill(leader);
    eprintln!("killed etcd member {leader}, the leader");
    for task in tasks {
        task.await.expect("caller");
    }
    for (node, verifier) in ["A", "B"].iter().zip(verifiers) {
        let (answered, failed) = verifier.await.expect("verifier");
        eprintln!("node {node}: Verify answered {answered}, failed {failed}");
        assert_eq!(failed, 0, "node {node}'s Verify failed during the election");
        assert!(answered > 0);
    }

    let acked = Arc::into_inner(acked).unwrap().into_inner().unwrap();
    eprintln!(
        "acknowledged {} live keys and {} revoked secrets; {} calls not acknowledged",
        acked.live.len(),
        acked.revoked.len(),
        acked.failed
    );
    assert!(acked.live.len() > 10, "too little load to mean anything");
    // Each node's replica trails etcd by its watch's delay.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for node in [&a, &b] {
        let mut admin = support::admin_on(node.channel().await, &key);
        let mut verifier = node.verifier().await;
        for (id, secret) in &acked.live {
            assert_eq!(support::get(&mut admin, id).await.id, *id);
            let answer = support::verify(&mut verifier, secret, "", &[]).await;
            assert_eq!(
                answer.result(),
                pb::VerifyResult::Valid,
                "{id} on {}",
                node.url()
            );
        }
        for secret in &acked.revoked {
            let answer = support::verify(&mut verifier, secret, "", &[]).await;
            assert_eq!(
                answer.result(),
                pb::VerifyResult::Revoked,
                "resurrected on {}",
                node.url()
            );
        }
    }
}
