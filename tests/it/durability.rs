//! Durability and process hygiene: acknowledged changes survive SIGKILL, SIGTERM flushes usage and exits 0, the data directory is locked, and a foreign pepper is refused.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support;

/// Every change acknowledged before a SIGKILL is there after a restart: created keys verify, both secrets of a rotation verify, revoked stays REVOKED, disabled stays DISABLED, updates stay, deleted stays gone; a create acknowledged right before a second SIGKILL survives as well.
#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_changes_survive_kill9() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;

    let (kept, kept_secret) = support::create(&mut admin, support::api_key("acme", "kept")).await;
    let (rotated, rotated_old) =
        support::create(&mut admin, support::passcode("acme", "rot")).await;
    let (revoked, revoked_secret) =
        support::create(&mut admin, support::api_key("acme", "rev")).await;
    let (disabled, disabled_secret) =
        support::create(&mut admin, support::api_key("acme", "dis")).await;
    let (updated, updated_secret) =
        support::create(&mut admin, support::api_key("acme", "upd")).await;
    let (deleted, deleted_secret) =
        support::create(&mut admin, support::api_key("acme", "del")).await;

    let rotated_new = admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: rotated.id.clone(),
            window: None,
        })
        .await
        .expect("rotate")
        .into_inner()
        .secret;
    admin
        .update_credential(pb::UpdateCredentialRequest {
            id: updated.id.clone(),
            name: Some("renamed".to_string()),
            scopes: Some(pb::StringList {
                values: vec!["reports:read".to_string()],
            }),
            ..Default::default()
        })
        .await
        .expect("update");
    admin
        .disable_credential(pb::DisableCredentialRequest {
            id: disabled.id.clone(),
            reason: "paused".to_string(),
        })
        .await
        .expect("disable");
    admin
        .delete_credential(pb::DeleteCredentialRequest {
            id: deleted.id.clone(),
        })
        .await
        .expect("delete");
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: "leaked".to_string(),
        })
        .await
        .expect("revoke");
    daemon.kill9();

    daemon.restart();
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;

    let answer = support::verify(&mut verifier, &kept_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid, "created key");
    assert_eq!(answer.credential_id, kept.id);

    let answer = support::verify(&mut verifier, &rotated_old, "acme", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "old secret of a rotation"
    );
    assert!(answer.superseded);
    let answer = support::verify(&mut verifier, &rotated_new, "acme", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "new secret of a rotation"
    );
    assert!(!answer.superseded);
    assert!(
        support::get(&mut admin, &rotated.id)
            .await
            .rotation_retires_at
            .is_some()
    );

    let got = support::get(&mut admin, &revoked.id).await;
    assert_eq!(
        got.status(),
        pb::Status::Revoked,
        "revocation came back undone"
    );
    assert_eq!(got.status_reason, "leaked");
    let answer = support::verify(&mut verifier, &revoked_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);

    let got = support::get(&mut admin, &disabled.id).await;
    assert_eq!(got.status(), pb::Status::Disabled);
    assert_eq!(got.disabled_reason(), pb::DisabledReason::Admin);
    let answer = support::verify(&mut verifier, &disabled_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Disabled);

    let got = support::get(&mut admin, &updated.id).await;
    assert_eq!(got.name, "renamed");
    assert_eq!(got.scopes, ["reports:read"]);
    let answer = support::verify(&mut verifier, &updated_secret, "", &["reports:read"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);

    support::expect_code(
        admin
            .get_credential(pb::GetCredentialRequest {
                id: deleted.id.clone(),
            })
            .await,
        Code::NotFound,
        "deleted credential after restart",
    );
    let answer = support::verify(&mut verifier, &deleted_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);

    let (late, late_secret) =
        support::create(&mut admin, support::passcode("globex", "late")).await;
    daemon.kill9();
    daemon.restart();
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    assert_eq!(support::get(&mut admin, &late.id).await.name, "late");
    let answer = support::verify(&mut verifier, &late_secret, "globex", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "a key acknowledged just before SIGKILL"
    );
    let answer = support::verify(&mut verifier, &revoked_secret, "", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Revoked,
        "after a second crash"
    );
}

/// SIGTERM makes credd exit with status 0, and a VALID use made just before it (well inside the 30s flush interval) is written at shutdown and shows as last_used_at after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_exits_cleanly_and_flushes_usage() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let (unused, _) = support::create(&mut admin, support::api_key("acme", "unused")).await;

    let before = support::unix_now();
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    let after = support::unix_now();
    drop((admin, verifier));

    let status = daemon.terminate(Duration::from_secs(20));
    assert!(
        status.success(),
        "credd exited with {status:?} after SIGTERM"
    );

    daemon.restart();
    let mut admin = daemon.admin().await;
    let last_used = support::get(&mut admin, &cred.id)
        .await
        .last_used_at
        .expect("the use before SIGTERM was flushed")
        .seconds;
    assert!(
        (before..=after).contains(&last_used),
        "{before} <= {last_used} <= {after}"
    );
    assert!(
        support::get(&mut admin, &unused.id)
            .await
            .last_used_at
            .is_none()
    );
}

/// A second credd on a data directory that a running one holds exits non-zero with a message saying the directory is in use, and the first keeps serving.
#[tokio::test(flavor = "multi_thread")]
async fn second_daemon_on_the_same_data_dir_is_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (cred, _) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let (status, stderr) = support::run_until_exit(
        dir.path(),
        &daemon.config_path,
        &daemon.data_dir,
        "second.log",
        Duration::from_secs(20),
    );
    let status = status.expect("the second daemon kept running on a locked data directory");
    assert!(!status.success(), "second daemon exited with {status:?}");
    assert!(
        stderr.contains("in use"),
        "stderr does not explain the lock:\n{stderr}"
    );
    assert!(
        !stderr.contains("credd listening"),
        "the second daemon listened:\n{stderr}"
    );

    assert_eq!(support::get(&mut admin, &cred.id).await.id, cred.id);
}

/// A data directory whose pepper file was replaced by 32 other bytes (mode 0600) is refused with a message about the pepper; with the original pepper back it starts and its keys verify.
#[tokio::test(flavor = "multi_thread")]
async fn replaced_pepper_is_refused() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    drop(admin);
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");

    let pepper_path = daemon.data_dir.join("pepper");
    let original = std::fs::read(&pepper_path).expect("read pepper");
    assert_eq!(original.len(), 32);
    let other: Vec<u8> = original.iter().map(|b| b ^ 0xA5).collect();
    std::fs::write(&pepper_path, &other).expect("replace pepper");
    std::fs::set_permissions(&pepper_path, std::fs::Permissions::from_mode(0o600))
        .expect("chmod pepper");

    let (status, stderr) = support::run_until_exit(
        dir.path(),
        &daemon.config_path,
        &daemon.data_dir,
        "wrong-pepper.log",
        Duration::from_secs(20),
    );
    let status = status.expect("credd kept running with a foreign pepper");
    assert!(!status.success(), "credd exited with {status:?}");
    assert!(
        stderr.contains("pepper"),
        "stderr does not mention the pepper:\n{stderr}"
    );
    assert!(
        !stderr.contains("credd listening"),
        "it listened:\n{stderr}"
    );

    std::fs::write(&pepper_path, &original).expect("restore pepper");
    daemon.restart();
    let mut verifier = daemon.verifier().await;
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
}
