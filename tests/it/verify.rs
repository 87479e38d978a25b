//! CredentialVerifier over real gRPC: every result Verify answers, the malformed requests it refuses, and recording of use.

use std::time::Duration;

use credd::api::pb;
use credd::lifecycle::{Environment, Kind};
use credd::secret::Secret;
use tonic::Code;

use crate::support;

/// A VALID answer carries the credential's id, account, kind, environment, scopes and expiry, with or without the matching account id.
#[tokio::test(flavor = "multi_thread")]
async fn valid_answer_describes_the_credential() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    for account in ["", "acme"] {
        let answer = support::verify(&mut verifier, &secret, account, &["orders:read"]).await;
        assert_eq!(
            answer.result(),
            pb::VerifyResult::Valid,
            "account {account:?}"
        );
        assert_eq!(answer.credential_id, cred.id);
        assert_eq!(answer.account_id, "acme");
        assert_eq!(answer.kind(), pb::Kind::ApiKey);
        assert_eq!(answer.environment(), pb::Environment::Live);
        assert_eq!(answer.scopes, ["orders:read", "orders:write"]);
        assert_eq!(answer.expires_at, cred.expires_at);
        assert!(!answer.superseded);
        assert!(answer.retires_at.is_none());
        assert_eq!(answer.disabled_reason(), pb::DisabledReason::Unspecified);
    }
    let answer =
        support::verify(&mut verifier, &secret, "", &["orders:read", "orders:write"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
}

/// Unknown secrets are NOT_FOUND without any credential data: a well-formed key this daemon never issued, a string of another shape, and a real key with one character changed (bad checksum) or with its checksum altered.
#[tokio::test(flavor = "multi_thread")]
async fn unknown_and_mistyped_secrets_are_not_found() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let never_issued = Secret::generate("credd", Environment::Live, Kind::ApiKey)
        .expect("generate")
        .expose()
        .to_string();
    let mut wrong_checksum = secret.clone();
    let last = wrong_checksum.pop().expect("non-empty");
    wrong_checksum.push(if last == '0' { '1' } else { '0' });
    let cases = [
        ("well-formed but never issued", never_issued),
        ("not a credd key", "hunter2".to_string()),
        ("one character flipped", support::flip_char(&secret)),
        ("checksum altered", wrong_checksum),
        ("another prefix", secret.replacen("credd_", "other_", 1)),
    ];
    for (what, presented) in cases {
        assert_ne!(presented, secret);
        let answer = support::verify(&mut verifier, &presented, "", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::NotFound, "{what}");
        assert!(answer.credential_id.is_empty(), "{what}");
        assert!(answer.account_id.is_empty(), "{what}");
        assert!(answer.scopes.is_empty(), "{what}");
        assert!(answer.expires_at.is_none(), "{what}");
    }
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "the real key still works"
    );
}

/// A secret past its expires_at is EXPIRED at once, before any sweep, and Get shows EXPIRED too.
#[tokio::test(flavor = "multi_thread")]
async fn expired_without_a_sweep() {
    let dir = support::temp_dir();
    // The scheduled sweep fires on 1 January only, and the one at start runs
    // before anything is due: no sweep records this expiry.
    let daemon = support::start(
        dir.path(),
        "[policy]\ndefault_lifetime = \"2s\"\n[schedule]\nsweep = \"0 0 0 1 1 *\"\n",
    );
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let lived =
        cred.expires_at.expect("expires_at").seconds - cred.created_at.expect("created_at").seconds;
    assert!(
        (1..=3).contains(&lived),
        "default_lifetime 2s gave {lived}s"
    );
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Expired);
    assert_eq!(answer.credential_id, cred.id);
    assert_eq!(answer.expires_at, cred.expires_at);
    assert_eq!(
        support::get(&mut admin, &cred.id).await.status(),
        pb::Status::Expired
    );
}

/// A revoked credential answers REVOKED and an admin-disabled one DISABLED with reason ADMIN, both naming the credential.
#[tokio::test(flavor = "multi_thread")]
async fn revoked_and_disabled() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (revoked, revoked_secret) =
        support::create(&mut admin, support::api_key("acme", "r")).await;
    let (disabled, disabled_secret) =
        support::create(&mut admin, support::passcode("acme", "d")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: "compromised".to_string(),
        })
        .await
        .expect("revoke");
    admin
        .disable_credential(pb::DisableCredentialRequest {
            id: disabled.id.clone(),
            reason: "paused".to_string(),
        })
        .await
        .expect("disable");

    let answer = support::verify(&mut verifier, &revoked_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);
    assert_eq!(answer.credential_id, revoked.id);
    let answer = support::verify(&mut verifier, &disabled_secret, "acme", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Disabled);
    assert_eq!(answer.disabled_reason(), pb::DisabledReason::Admin);
    assert_eq!(answer.credential_id, disabled.id);
    assert_eq!(answer.kind(), pb::Kind::Passcode);
}

/// A key presented with another account id is ACCOUNT_MISMATCH and reveals nothing about the credential; the same holds for a passcode.
#[tokio::test(flavor = "multi_thread")]
async fn account_mismatch() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (_, key) = support::create(&mut admin, support::api_key("acme", "k")).await;
    let (_, pass) = support::create(&mut admin, support::passcode("acme", "p")).await;

    for secret in [&key, &pass] {
        let answer = support::verify(&mut verifier, secret, "globex", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::AccountMismatch);
        assert!(answer.credential_id.is_empty());
        assert!(answer.account_id.is_empty());
        assert!(answer.scopes.is_empty());
        let answer = support::verify(&mut verifier, secret, "acme", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
    }
}

/// Requiring a scope the credential lacks is INSUFFICIENT_SCOPE, even alongside scopes it holds; requiring none or held ones is VALID.
#[tokio::test(flavor = "multi_thread")]
async fn insufficient_scope() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    for required in [
        &["admin"][..],
        &["orders:read", "admin"][..],
        &["orders"][..],
    ] {
        let answer = support::verify(&mut verifier, &secret, "", required).await;
        assert_eq!(
            answer.result(),
            pb::VerifyResult::InsufficientScope,
            "{required:?}"
        );
        assert_eq!(answer.credential_id, cred.id);
        assert_eq!(answer.scopes, ["orders:read", "orders:write"]);
    }
    for required in [&[][..], &["orders:write"][..]] {
        let answer = support::verify(&mut verifier, &secret, "", required).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid, "{required:?}");
    }
}

/// A passcode presented without its account id is an INVALID_ARGUMENT error (not a result); with it, VALID.
#[tokio::test(flavor = "multi_thread")]
async fn passcode_needs_its_account() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, pass) = support::create(&mut admin, support::passcode("acme", "p")).await;

    let status = support::expect_code(
        verifier.verify(support::verify_req(&pass, "", &[])).await,
        Code::InvalidArgument,
        "passcode without account",
    );
    assert!(
        status.message().contains("account_id"),
        "{}",
        status.message()
    );
    assert!(
        !status.message().contains(&pass),
        "the error echoes the passcode"
    );

    let answer = support::verify(&mut verifier, &pass, "acme", &["orders:read"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.credential_id, cred.id);
    assert_eq!(answer.kind(), pb::Kind::Passcode);
    assert_eq!(answer.environment(), pb::Environment::Test);
}

/// Malformed Verify requests are INVALID_ARGUMENT: an empty or over-long secret, a malformed account id, too many required scopes; no message echoes the secret.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_are_invalid() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let too_many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
    let cases = [
        ("empty secret", support::verify_req("", "", &[]), "secret"),
        (
            "over-long secret",
            support::verify_req(&format!("{secret}{}", "x".repeat(128)), "", &[]),
            "secret",
        ),
        (
            "malformed account id",
            support::verify_req(&secret, "acme corp", &[]),
            "account_id",
        ),
        (
            "65 required scopes",
            pb::VerifyRequest {
                required_scopes: too_many,
                ..support::verify_req(&secret, "", &[])
            },
            "required_scopes",
        ),
    ];
    for (what, request, named) in cases {
        let status =
            support::expect_code(verifier.verify(request).await, Code::InvalidArgument, what);
        assert!(
            status.message().contains(named),
            "{what}: {}",
            status.message()
        );
        assert!(
            !status.message().contains(&secret),
            "{what}: the error echoes the secret"
        );
    }
}

/// A VALID verify shows up as last_used_at in Get; a refused one (INSUFFICIENT_SCOPE) does not count as use.
#[tokio::test(flavor = "multi_thread")]
async fn last_used_at_after_a_valid_verify() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (used, used_secret) = support::create(&mut admin, support::api_key("acme", "used")).await;
    let (refused, refused_secret) =
        support::create(&mut admin, support::api_key("acme", "refused")).await;
    assert!(used.last_used_at.is_none());

    let before = support::unix_now();
    let answer = support::verify(&mut verifier, &used_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    let answer = support::verify(&mut verifier, &refused_secret, "", &["admin"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::InsufficientScope);
    let after = support::unix_now();

    let last_used = support::get(&mut admin, &used.id)
        .await
        .last_used_at
        .expect("last_used_at after a VALID verify")
        .seconds;
    assert!(
        (before..=after).contains(&last_used),
        "{before} <= {last_used} <= {after}"
    );
    assert!(
        support::get(&mut admin, &refused.id)
            .await
            .last_used_at
            .is_none(),
        "a refused verify counted as use"
    );
}
