//! `credd migrate` end to end: a sled store with live, rotated, revoked and
//! expired keys and settled notices is copied to a real etcd, served there
//! by a cluster node, copied back into a new sled directory, and compared
//! with the original: every credential (with its deadlines), the secret
//! index, the outbox and the notices sent. A target holding data is refused
//! without `--force`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use credd::api::pb;
use credd::secret::Pepper;
use credd::store::Store;

use crate::etcd_cluster::{self, EtcdCluster};
use crate::support;

/// Runs `credd migrate` with these arguments; its status and output.
fn migrate(args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_credd"))
        .arg("migrate")
        .args(args)
        .env_remove("CREDD_CONFIG")
        .output()
        .expect("run credd migrate");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn open(db: &Path, pepper: &Path) -> Store {
    let (pepper, _) = Pepper::load_or_create(pepper).expect("pepper");
    Store::open(db, 16 << 20, pepper.fingerprint()).expect("open store")
}

/// The trees a migration copies, with their sizes.
fn shared_trees(store: &Store) -> Vec<(String, usize)> {
    const LOCAL: [&str; 4] = ["usage", "credits", "meta", "__sled__default"];
    store
        .tree_sizes()
        .into_iter()
        .filter(|(name, n)| *n > 0 && !LOCAL.contains(&name.as_str()))
        .collect()
}

/// sled -> etcd -> sled keeps every credential, deadline and notice state.
#[tokio::test(flavor = "multi_thread")]
async fn sled_to_etcd_and_back_keeps_everything() {
    let Some(binary) = etcd_cluster::require_etcd("cluster_migrate::sled_to_etcd_and_back") else {
        return;
    };
    let etcd = EtcdCluster::start(&binary, 3);
    let endpoints = format!("etcd:{}", etcd.endpoints().join(","));
    let dir = support::temp_dir();
    let pepper = dir.path().join("pepper");
    let config = format!(
        "pepper_file = {:?}\n[policy]\nexpiry_warning_before = \"1s\"\n[schedule]\nsweep = \"* * * * * *\"\n",
        pepper.display().to_string()
    );
    std::fs::create_dir_all(dir.path().join("sled")).expect("dir");
    std::fs::create_dir_all(dir.path().join("node")).expect("dir");
    let mut single = support::start(&dir.path().join("sled"), &config);
    let mut admin = single.admin().await;
    let (kept, kept_secret) = support::create(&mut admin, support::api_key("acme", "kept")).await;
    let (revoked, revoked_secret) =
        support::create(&mut admin, support::api_key("acme", "revoked")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: "leaked".into(),
        })
        .await
        .expect("revoke");
    admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: kept.id.clone(),
            window: None,
        })
        .await
        .expect("rotate");
    let short = pb::CreateCredentialRequest {
        notify_emails: vec!["ops@example.com".into()],
        lifetime: Some(prost_types::Duration {
            seconds: 2,
            nanos: 0,
        }),
        ..support::api_key("acme", "short")
    };
    let (expiring, _) = support::create(&mut admin, short).await;
    // Expired and its notices mailed (file transport): a settled state.
    let started = Instant::now();
    while support::get(&mut admin, &expiring.id).await.status() != pb::Status::Expired
        || std::fs::read_dir(single.data_dir.join("mail")).map_or(0, |d| d.count()) < 2
    {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "never expired and mailed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(single.terminate(Duration::from_secs(15)).success());
    let source_db = single.data_dir.join("db");
    let source_dir = format!("sled:{}", single.data_dir.display());

    let (ok, text) = migrate(&["--from", &source_dir, "--to", &endpoints]);
    assert!(ok, "{text}");
    assert!(text.contains("counts checked"), "{text}");
    let (again, refusal) = migrate(&["--from", &source_dir, "--to", &endpoints]);
    assert!(!again && refusal.contains("--force"), "{refusal}");

    // A cluster node serves the copy.
    let node_config = format!(
        "pepper_file = {:?}\n[store]\nbackend = \"etcd\"\nendpoints = [{}]\n",
        pepper.display().to_string(),
        etcd.endpoints_toml()
    );
    let mut node = support::start(&dir.path().join("node"), &node_config);
    let mut verifier = node.verifier().await;
    let answer = support::verify(&mut verifier, &kept_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    let answer = support::verify(&mut verifier, &revoked_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);
    assert!(node.terminate(Duration::from_secs(15)).success());

    let back = dir.path().join("back");
    let target = format!("sled:{}", back.display());
    let (ok, text) = migrate(&["--from", &endpoints, "--to", &target]);
    assert!(ok, "{text}");

    let original = open(&source_db, &pepper);
    let copy = open(&back, &pepper);
    for record in original.scan(None, None) {
        let record = record.expect("record");
        assert_eq!(copy.get(&record.id).expect("get"), Some(record.clone()));
        for version in &record.versions {
            assert_eq!(
                copy.lookup_secret(&version.hash).expect("lookup"),
                Some((record.id.clone(), version.version))
            );
        }
        for deadline in &record.scheduled {
            assert!(
                copy.has_deadline(&record.id, deadline.at, deadline.event)
                    .expect("deadline")
            );
        }
    }
    let sizes = |s: &Store| -> Vec<(String, usize)> {
        shared_trees(s)
            .into_iter()
            .filter(|(name, _)| ["outbox", "notices_sent"].contains(&name.as_str()))
            .collect()
    };
    assert_eq!(sizes(&copy), sizes(&original));
    assert!(
        sizes(&original)
            .iter()
            .any(|(name, n)| name == "notices_sent" && *n >= 2)
    );
}
