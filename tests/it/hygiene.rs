//! Secret hygiene: at trace logging, after a full lifecycle, no issued (or mistyped) secret is in any file or log line.

use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support;

/// With RUST_LOG=trace, after creating, rotating, verifying (valid, refused and malformed), revoking and deleting keys and passcodes and a clean shutdown, no secret, nor its random part, occurs in the data directory, the config, the log or `logs()`; the log is not empty and records "credential created".
#[tokio::test(flavor = "multi_thread")]
async fn no_secret_in_files_or_logs() {
    let dir = support::temp_dir();
    let mut daemon = support::start_with_env(dir.path(), "", &[("RUST_LOG", "trace")]);
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let mut secrets = Vec::new();
    let mut creds = Vec::new();

    for i in 0..3 {
        let (cred, secret) =
            support::create(&mut admin, support::api_key("acme", &format!("key{i}"))).await;
        creds.push((cred, "acme"));
        secrets.push(secret);
    }
    for i in 0..2 {
        let (cred, secret) =
            support::create(&mut admin, support::passcode("globex", &format!("pass{i}"))).await;
        creds.push((cred, "globex"));
        secrets.push(secret);
    }
    for (cred, _) in [&creds[0], &creds[3]] {
        let rotated = admin
            .rotate_credential(pb::RotateCredentialRequest {
                id: cred.id.clone(),
                window: None,
            })
            .await
            .expect("rotate")
            .into_inner();
        secrets.push(rotated.secret);
    }

    let mut presented = Vec::new();
    for secret in secrets.clone() {
        let account = if secret.contains("_pass_") {
            "globex"
        } else {
            "acme"
        };
        let answer = support::verify(&mut verifier, &secret, account, &["orders:read"]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
        let answer = support::verify(&mut verifier, &secret, account, &["admin"]).await;
        assert_eq!(answer.result(), pb::VerifyResult::InsufficientScope);
        let answer = support::verify(&mut verifier, &secret, "someone-else", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::AccountMismatch);
        let mistyped = support::flip_char(&secret);
        let answer = support::verify(&mut verifier, &mistyped, account, &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::NotFound);
        presented.push(mistyped);
    }
    let passcode = &secrets[3];
    support::expect_code(
        verifier
            .verify(support::verify_req(passcode, "", &[]))
            .await,
        Code::InvalidArgument,
        "passcode without its account",
    );
    let too_long = format!("{}{}{}", secrets[0], secrets[1], secrets[2]);
    assert!(too_long.len() > 128);
    support::expect_code(
        verifier
            .verify(support::verify_req(&too_long, "", &[]))
            .await,
        Code::InvalidArgument,
        "over-long secret",
    );

    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: creds[1].0.id.clone(),
            reason: "hygiene".to_string(),
        })
        .await
        .expect("revoke");
    admin
        .delete_credential(pb::DeleteCredentialRequest {
            id: creds[4].0.id.clone(),
        })
        .await
        .expect("delete");
    let answer = support::verify(&mut verifier, &secrets[1], "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);
    let answer = support::verify(&mut verifier, &secrets[4], "globex", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);
    drop((admin, verifier));

    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "credd exited with {status:?}");

    let logs = daemon.logs();
    assert!(!logs.is_empty(), "nothing was logged");
    assert!(
        logs.contains("credential created"),
        "no creation was logged"
    );
    assert!(logs.contains("TRACE"), "the log is not at trace level");
    assert_eq!(secrets.len(), 7);
    let mut forbidden = Vec::new();
    for secret in secrets.iter().chain(&presented).chain([&too_long]) {
        forbidden.push(secret.clone());
        // The random part alone, in case a prefix were stripped before logging.
        let body = &secret[secret.rfind('_').expect("credd secret") + 1..];
        forbidden.push(body.to_string());
    }
    for secret in &forbidden {
        assert!(!logs.contains(secret.as_str()), "a secret is in the log");
    }
    assert!(
        dir.path().join("data").join("pepper").exists(),
        "the data directory is where the test looks"
    );
    support::assert_no_secret_in_files(dir.path(), &forbidden);
}
