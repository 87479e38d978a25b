//! Rotation windows over real gRPC: two live secrets, superseded answers, early completion, lapse without a sweep, and the refusals.

use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support::{self, UNKNOWN_ID};

use crate::support::Admin;

/// A schedule whose sweep fires on 1 January only: apart from the one at
/// start (before anything is due), no sweep runs during a test.
const NO_SWEEP: &str = "[schedule]\nsweep = \"0 0 0 1 1 *\"\n";

fn window(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

async fn rotate(
    admin: &mut Admin,
    id: &str,
    window: Option<prost_types::Duration>,
) -> (pb::Credential, String) {
    let response = admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: id.to_string(),
            window,
        })
        .await
        .expect("rotate")
        .into_inner();
    (response.credential.expect("credential"), response.secret)
}

fn hint(secret: &str) -> String {
    let prefix_end = secret.rfind('_').expect("credd secret") + 1;
    format!(
        "{}...{}",
        &secret[..prefix_end],
        &secret[secret.len() - 4..]
    )
}

/// After a rotation both secrets are VALID for the same credential: the old one superseded with retires_at (the default 7-day window), the new one not; hints name both.
#[tokio::test(flavor = "multi_thread")]
async fn rotation_keeps_both_secrets_valid() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, old) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let before = support::unix_now();
    let (rotated, new) = rotate(&mut admin, &cred.id, None).await;
    assert_ne!(new, old);
    assert!(new.starts_with("credd_live_api_"));
    assert_eq!(rotated.id, cred.id);
    assert_eq!(rotated.status(), pb::Status::Active);
    assert_eq!(rotated.secret_hint, hint(&new));
    assert_eq!(rotated.previous_secret_hint, hint(&old));
    let retires_at = rotated.rotation_retires_at.expect("rotation_retires_at");
    let window_secs = retires_at.seconds - before;
    assert!(
        (7 * 86_400 - 2..=7 * 86_400 + 2).contains(&window_secs),
        "default window is 7 days, got {window_secs}s"
    );
    assert!(
        !format!("{rotated:?}").contains(&new),
        "the rotated credential shows its secret"
    );

    let answer = support::verify(&mut verifier, &old, "", &["orders:read"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.credential_id, cred.id);
    assert!(answer.superseded, "the old secret is superseded");
    assert_eq!(answer.retires_at, Some(retires_at));

    let answer = support::verify(&mut verifier, &new, "", &["orders:read"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.credential_id, cred.id);
    assert!(!answer.superseded, "the new secret is not superseded");
    assert!(answer.retires_at.is_none());

    let got = support::get(&mut admin, &cred.id).await;
    assert_eq!(got.rotation_retires_at, Some(retires_at));
    assert_eq!(got.previous_secret_hint, hint(&old));
    let shown = format!("{got:?}");
    assert!(
        !shown.contains(&old) && !shown.contains(&new),
        "Get shows a secret"
    );
}

/// A second rotation while a window is open is FAILED_PRECONDITION and leaves both secrets working.
#[tokio::test(flavor = "multi_thread")]
async fn second_rotation_while_open_is_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, old) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let (rotated, new) = rotate(&mut admin, &cred.id, None).await;

    let status = support::expect_code(
        admin
            .rotate_credential(pb::RotateCredentialRequest {
                id: cred.id.clone(),
                window: None,
            })
            .await,
        Code::FailedPrecondition,
        "second rotation",
    );
    assert!(
        status.message().contains("rotation"),
        "{}",
        status.message()
    );
    for secret in [&old, &new] {
        let answer = support::verify(&mut verifier, secret, "", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
    }
    let got = support::get(&mut admin, &cred.id).await;
    assert_eq!(
        got.secret_hint, rotated.secret_hint,
        "the refused rotation issued a secret"
    );
}

/// CompleteRotation retires the old secret at once (NOT_FOUND), keeps the new one VALID and not superseded, closes the window, and a new rotation is then allowed.
#[tokio::test(flavor = "multi_thread")]
async fn complete_rotation_retires_the_old_secret() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, old) = support::create(&mut admin, support::passcode("acme", "svc")).await;
    let (_, new) = rotate(&mut admin, &cred.id, None).await;
    assert!(
        new.starts_with("credd_test_pass_"),
        "a rotated passcode is a passcode"
    );

    let completed = admin
        .complete_rotation(pb::CompleteRotationRequest {
            id: cred.id.clone(),
        })
        .await
        .expect("complete rotation")
        .into_inner()
        .credential
        .expect("credential");
    assert!(completed.rotation_retires_at.is_none());
    assert!(completed.previous_secret_hint.is_empty());
    assert_eq!(completed.secret_hint, hint(&new));

    let answer = support::verify(&mut verifier, &old, "acme", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);
    assert!(answer.credential_id.is_empty());
    let answer = support::verify(&mut verifier, &new, "acme", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert!(!answer.superseded);

    let (_, newest) = rotate(&mut admin, &cred.id, None).await;
    for (secret, superseded) in [(&new, true), (&newest, false)] {
        let answer = support::verify(&mut verifier, secret, "acme", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
        assert_eq!(answer.superseded, superseded);
    }
    let answer = support::verify(&mut verifier, &old, "acme", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::NotFound,
        "never more than two secrets"
    );
}

/// With a 2-second window the old secret answers NOT_FOUND once the window has passed, with no sweep, while the new one stays VALID and a new rotation is allowed.
#[tokio::test(flavor = "multi_thread")]
async fn short_window_lapses_without_a_sweep() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), NO_SWEEP);
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, old) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let (rotated, new) = rotate(&mut admin, &cred.id, window(2)).await;
    let retires_at = rotated.rotation_retires_at.expect("rotation_retires_at");
    let lasts = retires_at.seconds - support::unix_now();
    assert!((0..=2).contains(&lasts), "a 2s window ends in {lasts}s");
    let answer = support::verify(&mut verifier, &old, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert!(answer.superseded);

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let answer = support::verify(&mut verifier, &old, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);
    let answer = support::verify(&mut verifier, &new, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert!(!answer.superseded);
    assert!(
        support::get(&mut admin, &cred.id)
            .await
            .rotation_retires_at
            .is_none()
    );

    let (_, newest) = rotate(&mut admin, &cred.id, None).await;
    for secret in [&new, &newest] {
        let answer = support::verify(&mut verifier, secret, "", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
    }
    let answer = support::verify(&mut verifier, &old, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);
}

/// CompleteRotation without an open rotation is FAILED_PRECONDITION; for an unknown id NOT_FOUND.
#[tokio::test(flavor = "multi_thread")]
async fn complete_without_rotation_is_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let status = support::expect_code(
        admin
            .complete_rotation(pb::CompleteRotationRequest {
                id: cred.id.clone(),
            })
            .await,
        Code::FailedPrecondition,
        "complete without rotation",
    );
    assert!(
        status.message().contains("no rotation"),
        "{}",
        status.message()
    );
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "the refusal retired the only secret"
    );

    rotate(&mut admin, &cred.id, None).await;
    admin
        .complete_rotation(pb::CompleteRotationRequest {
            id: cred.id.clone(),
        })
        .await
        .expect("complete");
    support::expect_code(
        admin
            .complete_rotation(pb::CompleteRotationRequest {
                id: cred.id.clone(),
            })
            .await,
        Code::FailedPrecondition,
        "second completion",
    );
    support::expect_code(
        admin
            .complete_rotation(pb::CompleteRotationRequest {
                id: UNKNOWN_ID.to_string(),
            })
            .await,
        Code::NotFound,
        "complete for an unknown id",
    );
}

/// A window over rotation_max_window (30 days), zero or negative is INVALID_ARGUMENT and opens nothing; rotating an unknown id is NOT_FOUND and a revoked credential FAILED_PRECONDITION.
#[tokio::test(flavor = "multi_thread")]
async fn bad_rotations_are_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (cred, _) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    for (what, seconds) in [
        ("over the maximum", 31 * 86_400),
        ("zero", 0),
        ("negative", -60),
    ] {
        let status = support::expect_code(
            admin
                .rotate_credential(pb::RotateCredentialRequest {
                    id: cred.id.clone(),
                    window: window(seconds),
                })
                .await,
            Code::InvalidArgument,
            what,
        );
        assert!(
            status.message().contains("window"),
            "{what}: {}",
            status.message()
        );
    }
    let got = support::get(&mut admin, &cred.id).await;
    assert!(
        got.rotation_retires_at.is_none(),
        "a refused rotation opened a window"
    );
    assert_eq!(got.secret_hint, cred.secret_hint);

    let (rotated, _) = rotate(&mut admin, &cred.id, window(30 * 86_400 - 60)).await;
    assert!(
        rotated.rotation_retires_at.is_some(),
        "a window within the maximum is accepted"
    );

    support::expect_code(
        admin
            .rotate_credential(pb::RotateCredentialRequest {
                id: UNKNOWN_ID.to_string(),
                window: None,
            })
            .await,
        Code::NotFound,
        "rotate an unknown id",
    );
    let (revoked, _) = support::create(&mut admin, support::api_key("acme", "gone")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("revoke");
    let status = support::expect_code(
        admin
            .rotate_credential(pb::RotateCredentialRequest {
                id: revoked.id.clone(),
                window: None,
            })
            .await,
        Code::FailedPrecondition,
        "rotate a revoked credential",
    );
    assert!(status.message().contains("revoked"), "{}", status.message());
}
