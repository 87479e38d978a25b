//! Backup and restore through the real binaries: `credctl backup` while
//! creates and revocations run, changes after the backup (revoke, delete,
//! disable, a rotation completed) then kill -9, `credd restore` with the
//! revocation journal, and a daemon on the restored directory: nothing
//! revoked comes back, nothing acknowledged before the backup is missing,
//! audit ids continue. And every unusable file or target is refused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{self, Admin, Bearer};
use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;

const NO_SWEEP: &str = "[schedule]\nsweep = \"0 0 0 1 1 *\"\n";

fn config(journal: &Path) -> String {
    format!("{NO_SWEEP}[backup]\njournal = \"{}\"\n", journal.display())
}

/// Runs a binary; returns (success, stdout, stderr).
pub(crate) fn run(binary: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(binary)
        .args(args)
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .env_remove("CREDD_ADDR")
        .output()
        .expect("run binary");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

pub(crate) fn credctl_backup(daemon: &support::Daemon, out: &Path) -> (bool, String, String) {
    run(
        env!("CARGO_BIN_EXE_credctl"),
        &[
            "--addr",
            &daemon.url(),
            "--admin-key-file",
            &daemon.admin_key_file().display().to_string(),
            "--json",
            "backup",
            &out.display().to_string(),
        ],
    )
}

/// `credd restore` into `target` with the config at `config_path`.
pub(crate) fn restore(
    config_path: &Path,
    target: &Path,
    from: &Path,
    extra: &[&str],
) -> (bool, String, String) {
    let (config, target, from) = (
        config_path.display().to_string(),
        target.display().to_string(),
        from.display().to_string(),
    );
    let mut args = vec![
        "--config",
        &config,
        "--data-dir",
        &target,
        "restore",
        "--from",
        &from,
    ];
    args.extend_from_slice(extra);
    run(env!("CARGO_BIN_EXE_credd"), &args)
}

async fn result(daemon: &support::Daemon, secret: &str) -> pb::VerifyResult {
    let mut verifier = daemon.verifier().await;
    support::verify(&mut verifier, secret, "", &[])
        .await
        .result()
}

/// What the load recorded: each create acknowledged (id, secret, whether
/// its revocation was acknowledged too).
pub(crate) type Acked = Arc<Mutex<Vec<(String, String, bool)>>>;

pub(crate) async fn load(mut admin: Admin, acked: Acked, stop: Arc<std::sync::atomic::AtomicBool>) {
    for n in 0..2_000 {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let (cred, secret) = support::create(
            &mut admin,
            support::api_key(&format!("load{}", n / 50), &format!("k{n}")),
        )
        .await;
        let revoke = n % 3 == 0;
        if revoke {
            admin
                .revoke_credential(pb::RevokeCredentialRequest {
                    id: cred.id.clone(),
                    reason: "load".into(),
                })
                .await
                .expect("revoke");
        }
        acked.lock().unwrap().push((cred.id, secret, revoke));
    }
}

/// Eight keys of account acme (`keys[4]` revoked), then account `later`
/// and its key.
pub(crate) async fn make_keys(
    daemon: &support::Daemon,
    admin: &mut Admin,
) -> Vec<(pb::Credential, String)> {
    let mut keys = Vec::new();
    for n in 0..8 {
        keys.push(support::create(admin, support::api_key("acme", &format!("key {n}"))).await);
    }
    AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    )
    .create_account(pb::CreateAccountRequest {
        id: "later".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    keys.push(support::create(admin, support::api_key("later", "suspended later")).await);
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: keys[4].0.id.clone(),
            reason: "before".into(),
        })
        .await
        .unwrap();
    keys
}

/// Takes a backup into `out` through `via` (`credctl backup`, off the
/// async workers) while [`load`] creates and revokes through `admin`, and
/// stops the load shortly after; returns what the load acknowledged in all
/// and before the backup.
pub(crate) async fn backup_under_load(
    admin: Admin,
    via: &support::Daemon,
    out: &Path,
) -> (Acked, Vec<(String, String, bool)>) {
    let acked: Acked = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loader = tokio::spawn(load(admin, acked.clone(), stop.clone()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before_backup = acked.lock().unwrap().clone();
    let (ok, stdout, stderr) = {
        let (url, key, out) = (via.url(), via.admin_key_file(), out.to_path_buf());
        tokio::task::spawn_blocking(move || {
            run(
                env!("CARGO_BIN_EXE_credctl"),
                &[
                    "--addr",
                    &url,
                    "--admin-key-file",
                    &key.display().to_string(),
                    "--json",
                    "backup",
                    &out.display().to_string(),
                ],
            )
        })
        .await
        .unwrap()
    };
    assert!(ok, "credctl backup failed: {stderr}\n{}", via.logs());
    let summary: serde_json::Value = serde_json::from_str(stdout.trim()).expect(&stdout);
    assert!(summary["credentials"].as_u64().unwrap() >= 8 + before_backup.len() as u64);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    loader.await.unwrap();
    (acked, before_backup)
}

/// Keys made before a backup: (credential, secret).
pub(crate) type Keys = [(pb::Credential, String)];

/// After the backup: account `later` (`keys[8]`'s) suspended, `keys[0]`
/// revoked, `[1]` deleted, `[2]` disabled, `[3]` rotated and the rotation
/// completed.
pub(crate) async fn changes_after_backup(daemon: &support::Daemon, admin: &mut Admin, keys: &Keys) {
    let id = |n: usize| keys[n].0.id.clone();
    AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    )
    .suspend_account(pb::SuspendAccountRequest {
        id: "later".into(),
        reason: "after".into(),
    })
    .await
    .unwrap();
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: id(0),
            reason: "after".into(),
        })
        .await
        .unwrap();
    admin
        .delete_credential(pb::DeleteCredentialRequest { id: id(1) })
        .await
        .unwrap();
    admin
        .disable_credential(pb::DisableCredentialRequest {
            id: id(2),
            reason: "after".into(),
        })
        .await
        .unwrap();
    admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: id(3),
            window: None,
        })
        .await
        .unwrap();
    admin
        .complete_rotation(pb::CompleteRotationRequest { id: id(3) })
        .await
        .unwrap();
}

/// What a store restored from that backup (with the journal) answers:
/// the changes after it re-applied, `keys[4]` (revoked before it) revoked,
/// the rest valid; nothing the load revoked comes back; everything
/// acknowledged before the backup as it was.
pub(crate) async fn assert_restored(
    restored: &support::Daemon,
    keys: &Keys,
    acked: &[(String, String, bool)],
    before_backup: &[(String, String, bool)],
) {
    assert_eq!(
        result(restored, &keys[0].1).await,
        pb::VerifyResult::Revoked,
        "revoked after the backup"
    );
    assert_eq!(
        result(restored, &keys[1].1).await,
        pb::VerifyResult::NotFound,
        "deleted after the backup"
    );
    assert_eq!(
        result(restored, &keys[2].1).await,
        pb::VerifyResult::Disabled,
        "disabled after the backup"
    );
    assert_eq!(
        result(restored, &keys[3].1).await,
        pb::VerifyResult::Revoked,
        "rotated away after the backup"
    );
    assert_eq!(
        result(restored, &keys[4].1).await,
        pb::VerifyResult::Revoked,
        "revoked before the backup"
    );
    for (_, secret) in &keys[5..8] {
        assert_eq!(result(restored, secret).await, pb::VerifyResult::Valid);
    }
    assert_eq!(
        result(restored, &keys[8].1).await,
        pb::VerifyResult::Disabled,
        "its account was suspended after the backup"
    );
    for (id, secret, revoked) in acked {
        let answer = result(restored, secret).await;
        if *revoked {
            assert_ne!(
                answer,
                pb::VerifyResult::Valid,
                "{id} was revoked and came back"
            );
        }
    }
    for (id, secret, revoked) in before_backup {
        let want = if *revoked {
            pb::VerifyResult::Revoked
        } else {
            pb::VerifyResult::Valid
        };
        assert_eq!(
            result(restored, secret).await,
            want,
            "{id}, acknowledged before the backup"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_keeps_what_was_acknowledged_and_revoked() {
    let dir = support::temp_dir();
    // The default journal: beside the data directory (`data-journal/`).
    let mut daemon = support::start(dir.path(), NO_SWEEP);
    assert!(
        dir.path()
            .join("data-journal")
            .join("revocations.log")
            .is_file()
    );
    let mut admin = daemon.admin().await;
    let keys = make_keys(&daemon, &mut admin).await;

    let out = dir.path().join("store.backup");
    let (acked, before_backup) = backup_under_load(daemon.admin().await, &daemon, &out).await;

    changes_after_backup(&daemon, &mut admin, &keys).await;
    let mut audit = daemon.audit_as(Some(&daemon.admin_key())).await;
    daemon.kill9();

    // Restore into a new place with the same pepper; the journal is found
    // where the backup says it was.
    let dir2 = support::temp_dir();
    let config2 = dir2.path().join("credd.toml");
    std::fs::write(&config2, NO_SWEEP).unwrap();
    let target = dir2.path().join("data");
    let pepper = daemon.data_dir.join("pepper").display().to_string();
    let (ok, stdout, stderr) = restore(&config2, &target, &out, &["--pepper", &pepper]);
    assert!(ok, "restore failed: {stderr}");
    assert!(stdout.contains("applied"), "{stdout}");
    std::fs::copy(daemon.admin_key_file(), target.join("admin.key")).unwrap();
    drop(audit);
    let restored = support::start(dir2.path(), NO_SWEEP);

    let all = acked.lock().unwrap().clone();
    assert_restored(&restored, &keys, &all, &before_backup).await;

    // Audit ids continue after the restored ones.
    audit = restored.audit_as(Some(&restored.admin_key())).await;
    let events = |audit: &mut support::Audit| {
        let mut audit = audit.clone();
        async move {
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = audit
                    .list_audit_events(pb::ListAuditEventsRequest {
                        page_token,
                        page_size: 1000,
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                all.extend(page.events);
                if page.next_page_token.is_empty() {
                    return all;
                }
                page_token = page.next_page_token;
            }
        }
    };
    let before = events(&mut audit).await;
    let max_before = before.iter().map(|e| e.seq).max().unwrap();
    assert!(
        before
            .iter()
            .any(|e| e.action == "credential.restore_reapply")
    );
    let mut admin = restored.admin().await;
    support::create(&mut admin, support::api_key("acme", "after restore")).await;
    let after = events(&mut audit).await;
    assert_eq!(
        after.len(),
        before.len() + 1,
        "a restored audit event was overwritten"
    );
    assert!(after.iter().map(|e| e.seq).max().unwrap() > max_before);
}

/// A damaged file, another pepper, a target that holds files, and a backup
/// without its journal are refused, each saying why, and nothing is
/// written into the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_refuses_what_it_cannot_trust() {
    let dir = support::temp_dir();
    let journal = dir.path().join("journal.log");
    let mut daemon = support::start(dir.path(), &config(&journal));
    let mut admin = daemon.admin().await;
    support::create(&mut admin, support::api_key("acme", "k")).await;
    let out = dir.path().join("store.backup");
    let (ok, _, stderr) = credctl_backup(&daemon, &out);
    assert!(ok, "{stderr}");
    daemon.terminate(Duration::from_secs(10));
    let pepper = daemon.data_dir.join("pepper").display().to_string();
    let config_path = daemon.config_path.clone();
    let fresh = |name: &str| dir.path().join(name);
    let refused = |target: PathBuf, from: &Path, extra: &[&str]| {
        let (ok, _, stderr) = restore(&config_path, &target, from, extra);
        assert!(
            !ok,
            "restore into {} should have been refused",
            target.display()
        );
        assert!(
            std::fs::read_dir(&target).map_or(true, |mut d| d.next().is_none())
                || target.ends_with("busy"),
            "a refused restore wrote into {}",
            target.display()
        );
        stderr
    };
    let mut bytes = std::fs::read(&out).unwrap();
    let at = bytes.len() - 10;
    bytes[at] ^= 1;
    let flipped = dir.path().join("flipped.backup");
    std::fs::write(&flipped, &bytes).unwrap();
    let err = refused(fresh("t1"), &flipped, &["--pepper", &pepper]);
    assert!(err.contains("checksum") || err.contains("damaged"), "{err}");
    let cut = dir.path().join("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = refused(fresh("t2"), &cut, &["--pepper", &pepper]);
    assert!(err.contains("cut short"), "{err}");
    let other = dir.path().join("other.pepper");
    std::fs::write(&other, [5u8; 32]).unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let err = refused(
        fresh("t3"),
        &out,
        &["--pepper", &other.display().to_string()],
    );
    assert!(err.contains("another pepper"), "{err}");
    let busy = fresh("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("db"), b"something").unwrap();
    let err = refused(busy, &out, &["--pepper", &pepper]);
    assert!(err.contains("not empty"), "{err}");
    // The journal the backup was taken beside is gone (moved away), and the
    // configuration names none that exists: refused until one is given.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, NO_SWEEP).unwrap();
    let moved = dir.path().join("journal.moved");
    std::fs::rename(&journal, &moved).unwrap();
    let (ok, _, err) = restore(&bare, &fresh("t4"), &out, &["--pepper", &pepper]);
    assert!(!ok && err.contains("--journal"), "{err}");
    let named = moved.display().to_string();
    let (ok, stdout, err) = restore(
        &bare,
        &fresh("t6"),
        &out,
        &["--pepper", &pepper, "--journal", &named],
    );
    assert!(
        ok && stdout.contains("0 lines after the backup"),
        "{err}{stdout}"
    );
    let (ok, stdout, err) = restore(
        &bare,
        &fresh("t5"),
        &out,
        &["--pepper", &pepper, "--without-journal"],
    );
    assert!(ok, "{err}");
    assert!(stdout.contains("not re-applied"), "{stdout}");
}

/// kill -9 of the daemon while `credctl backup` runs leaves no file that
/// restore accepts: credctl either finished (and its file restores) or left
/// no backup, only a `.partial` that is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_cut_by_kill_9_is_never_accepted() {
    let dir = support::temp_dir();
    let journal = dir.path().join("journal.log");
    let mut daemon = support::start(dir.path(), &config(&journal));
    let mut admin = daemon.admin().await;
    for n in 0..300 {
        support::create(
            &mut admin,
            support::api_key(&format!("acme{}", n / 50), &format!("k{n}")),
        )
        .await;
    }
    let out = dir.path().join("store.backup");
    let mut child = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .args([
            "--addr",
            &daemon.url(),
            "--admin-key-file",
            &daemon.admin_key_file().display().to_string(),
            "backup",
            &out.display().to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(15)).await;
    daemon.kill9();
    let status = child.wait().unwrap();
    let pepper = daemon.data_dir.join("pepper").display().to_string();
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if status.success() {
        let (ok, _, err) = restore(
            &daemon.config_path,
            &dir.path().join("t"),
            &out,
            &["--pepper", &pepper, "--without-journal"],
        );
        assert!(ok, "a finished backup must restore: {err}");
    } else {
        assert!(!out.exists(), "credctl failed but left {}", out.display());
    }
    if partial.exists() {
        let (ok, _, _) = restore(
            &daemon.config_path,
            &dir.path().join("t2"),
            &partial,
            &["--pepper", &pepper, "--without-journal"],
        );
        assert!(!ok, "a cut backup was accepted");
    }
    let staging = daemon.data_dir.join("backup-staging");
    for entry in std::fs::read_dir(&staging).into_iter().flatten().flatten() {
        // A staged file is complete or refused, never half-accepted.
        let path = entry.path();
        let checked = credd::store::check_backup_file(&path);
        if let Ok(header) = checked {
            assert_eq!(header.rows_of("credentials"), 301);
        }
    }
}
