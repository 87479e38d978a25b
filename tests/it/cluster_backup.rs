//! Backup, restore and check of a cluster on a real etcd, through the real
//! binaries: `credctl backup` from node B while node A creates and revokes,
//! changes after the backup made through A (B journals them as its replica
//! applies them), both nodes killed with -9, `credd restore` into a sled
//! store with B's journal (and again with A's: any node's journal serves,
//! by revision), and a daemon on the result: nothing revoked comes back,
//! nothing acknowledged before the backup is missing. `credd check` with a
//! node's configuration checks etcd itself while the nodes serve, finds an
//! index entry planted in etcd, and refuses `--repair`.

use std::path::Path;
use std::time::Duration;

use credd::api::pb;

use crate::backup::{
    assert_restored, backup_under_load, changes_after_backup, make_keys, restore, run,
};
use crate::cluster::{await_result, start_node};
use crate::etcd_cluster::{self, EtcdCluster};
use crate::support;

/// `credd check` with node `dir`'s configuration: (success, stdout, stderr).
fn check(dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let config = dir.join("credd.toml").display().to_string();
    let data = dir.join("data").display().to_string();
    let mut args = vec!["--config", &config, "--data-dir", &data, "check"];
    args.extend_from_slice(extra);
    run(env!("CARGO_BIN_EXE_credd"), &args)
}

/// How many journal lines a restore says it applied.
fn applied(restore_output: &str) -> u64 {
    let (before, _) = restore_output
        .split_once(" applied")
        .expect("a journal report");
    before
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_backup_restores_what_was_acknowledged_and_revoked() {
    let Some(binary) = etcd_cluster::require_etcd(
        "cluster_backup::a_node_backup_restores_what_was_acknowledged_and_revoked",
    ) else {
        return;
    };
    let etcd = EtcdCluster::start(&binary, 1);
    let shared = support::temp_dir();
    let mut a = start_node(shared.path(), "a", &etcd, "");
    let mut b = start_node(shared.path(), "b", &etcd, "");
    // Each node keeps the default journal, beside its data directory.
    let journal = |node: &str| {
        shared
            .path()
            .join(node)
            .join("data-journal/revocations.log")
    };
    assert!(journal("a").is_file() && journal("b").is_file());
    let mut admin = a.admin().await;
    let keys = make_keys(&a, &mut admin).await;
    await_result(&b, &keys[4].1, pb::VerifyResult::Revoked).await;

    // Through node B, whose admin key is A's bootstrap key (one cluster).
    std::fs::copy(a.admin_key_file(), b.admin_key_file()).unwrap();
    let out = shared.path().join("cluster.backup");
    let (acked, before_backup) = backup_under_load(a.admin().await, &b, &out).await;

    changes_after_backup(&a, &mut admin, &keys).await;
    // B has applied (and so journaled) them.
    await_result(&b, &keys[3].1, pb::VerifyResult::NotFound).await;
    await_result(&b, &keys[8].1, pb::VerifyResult::Disabled).await;

    // The cluster is sound, checked from etcd while the nodes serve.
    let (ok, stdout, stderr) = check(&shared.path().join("b"), &[]);
    assert!(ok, "check of a sound cluster failed: {stdout}{stderr}");
    assert!(stdout.contains(" 0 faults"), "{stdout}");
    a.kill9();
    b.kill9();

    // Restored into a sled store with the journal the backup names (B's).
    let restored_dir = support::temp_dir();
    let config = restored_dir.path().join("credd.toml");
    let no_sweep = "[schedule]\nsweep = \"0 0 0 1 1 *\"\n";
    std::fs::write(&config, no_sweep).unwrap();
    let target = restored_dir.path().join("data");
    let pepper = shared.path().join("pepper").display().to_string();
    let (ok, stdout, stderr) = restore(&config, &target, &out, &["--pepper", &pepper]);
    assert!(ok, "restore failed: {stderr}");
    assert!(applied(&stdout) >= 5, "{stdout}");
    // A's journal serves as well: lines are matched by etcd revision.
    let other = restored_dir.path().join("other");
    let a_journal = journal("a").display().to_string();
    let (ok, stdout, stderr) = restore(
        &config,
        &other,
        &out,
        &["--pepper", &pepper, "--journal", &a_journal],
    );
    assert!(ok, "restore with node A's journal failed: {stderr}");
    assert!(applied(&stdout) >= 5, "A's journal: {stdout}");

    std::fs::copy(a.admin_key_file(), target.join("admin.key")).unwrap();
    let restored = support::start(restored_dir.path(), no_sweep);
    let all = acked.lock().unwrap().clone();
    assert_restored(&restored, &keys, &all, &before_backup).await;
    // No secret in the backup, the journals, the nodes' data or logs, or
    // the restored stores.
    let secrets: Vec<String> = keys.iter().map(|(_, secret)| secret.clone()).collect();
    support::assert_no_secret_in_files(shared.path(), &secrets);
    support::assert_no_secret_in_files(restored_dir.path(), &secrets);
    let (ok, stdout, _) = run(
        env!("CARGO_BIN_EXE_credd"),
        &[
            "--config",
            &config.display().to_string(),
            "--data-dir",
            &other.display().to_string(),
            "check",
        ],
    );
    assert!(ok, "the store restored with A's journal: {stdout}");
}

/// `credd check` on a cluster reads etcd at one revision: an index entry
/// planted in etcd is a fault (exit 1); `--repair` is refused, saying how.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_of_a_cluster_finds_a_planted_fault_and_refuses_repair() {
    let Some(binary) = etcd_cluster::require_etcd(
        "cluster_backup::check_of_a_cluster_finds_a_planted_fault_and_refuses_repair",
    ) else {
        return;
    };
    let etcd = EtcdCluster::start(&binary, 1);
    let shared = support::temp_dir();
    let mut a = start_node(shared.path(), "a", &etcd, "");
    let mut admin = a.admin().await;
    support::create(&mut admin, support::api_key("acme", "k")).await;
    let node = shared.path().join("a");
    // A scratch copy a killed check left behind is removed by the next.
    let abandoned = node.join("data").join("check-999999999");
    std::fs::create_dir_all(&abandoned).unwrap();
    let (ok, stdout, stderr) = check(&node, &[]);
    assert!(!abandoned.exists());
    assert!(ok, "{stdout}{stderr}");
    etcd.put("/credd-it/by_account/planted", "");
    let (ok, stdout, _) = check(&node, &[]);
    assert!(!ok, "a planted entry passed: {stdout}");
    assert!(
        stdout.contains("fault: by_account") && stdout.contains("1 faults"),
        "{stdout}"
    );
    let (ok, _, stderr) = check(&node, &["--repair"]);
    assert!(!ok && stderr.contains("migrate"), "{stderr}");
    a.terminate(Duration::from_secs(15));
    // Nothing of the check is left in the data directory.
    let left: Vec<_> = std::fs::read_dir(node.join("data"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("check-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
