//! Verify in the engine: VALID with what it carries, passcodes and their
//! account, a key presented for another account, unknown and malformed
//! secrets, and expiry exactly at `expires_at`.

use super::*;

/// A created key verifies VALID with its account, kind, environment and
/// scopes, and the returned view never contains the secret.
#[tokio::test]
async fn create_then_verify_valid() {
    let h = harness();
    let mut request = new_cred("acme", Kind::ApiKey);
    request.environment = Environment::Test;
    let (view, secret) = h.engine.create(&admin(), request).await.unwrap();
    assert!(secret.expose().starts_with("credd_test_api_"));
    assert_eq!(view.status, Status::Active);
    assert_eq!(view.record.account_id, "acme");
    assert_eq!(view.record.versions.len(), 1);
    assert!(!format!("{view:?}").contains(secret.expose()));
    assert!(!format!("{secret:?}").contains(secret.expose()));
    assert!(
        !format!(
            "{:?}",
            h.engine
                .get(&Actor::unrestricted("admin"), &view.record.id)
                .unwrap()
        )
        .contains(secret.expose())
    );

    let v = h
        .engine
        .verify(secret.expose(), None, &strings(&["orders:read"]))
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Valid { retires_at: None });
    let c = v.credential.unwrap();
    assert_eq!(c.id, view.record.id);
    assert_eq!(c.account_id, "acme");
    assert_eq!(c.kind, Kind::ApiKey);
    assert_eq!(c.environment, Environment::Test);
    assert_eq!(c.scopes, strings(&["orders:read", "orders:write"]));
    assert_eq!(c.expires_at, view.record.expires_at);

    // A scope it lacks.
    let v = h
        .engine
        .verify(secret.expose(), None, &strings(&["admin"]))
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::InsufficientScope);
}

/// A passcode verifies with its account id, and without one the request is malformed.
#[tokio::test]
async fn passcode_needs_account() {
    let h = harness();
    let (_, secret) = h
        .engine
        .create(&admin(), new_cred("acme", Kind::Passcode))
        .await
        .unwrap();
    assert!(secret.expose().starts_with("credd_live_pass_"));
    let result = h.engine.verify(secret.expose(), None, &[]);
    assert!(
        matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("account_id")),
        "{result:?}"
    );
    let v = h.engine.verify(secret.expose(), Some("acme"), &[]).unwrap();
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(v.credential.unwrap().kind, Kind::Passcode);
    let v = h
        .engine
        .verify(secret.expose(), Some("other"), &[])
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::AccountMismatch);
    assert!(v.credential.is_none());
}

/// An API key presented with another account's id is ACCOUNT_MISMATCH and
/// reveals nothing; with its own account it is VALID.
#[tokio::test]
async fn api_key_with_wrong_account_mismatches() {
    let h = harness();
    let (_, secret) = h.create("acme").await;
    let v = h
        .engine
        .verify(secret.expose(), Some("acme2"), &[])
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::AccountMismatch);
    assert!(v.credential.is_none());
    let v = h.engine.verify(secret.expose(), Some("acme"), &[]).unwrap();
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
}

/// A mistyped key (checksum off), a well-formed unknown key and garbage are
/// NOT_FOUND; an empty or over-long secret is malformed.
#[tokio::test]
async fn bad_checksum_and_unknown_are_not_found() {
    let h = harness();
    let (_, secret) = h.create("acme").await;
    let text = secret.expose();
    // Change the last character of the random body: the checksum no longer holds.
    let body_end = text.len() - secret::CHECKSUM_LEN - 1;
    let mut typo = text.to_string();
    let replacement = if &text[body_end..=body_end] == "A" {
        "B"
    } else {
        "A"
    };
    typo.replace_range(body_end..=body_end, replacement);
    assert!(secret::parse(&typo).is_err());
    let v = h.engine.verify(&typo, None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::NotFound);
    assert!(v.credential.is_none());

    let unknown = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    let v = h.engine.verify(unknown.expose(), None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::NotFound);

    let v = h.engine.verify("not a key at all", None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::NotFound);

    assert!(matches!(
        h.engine.verify("", None, &[]),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        h.engine
            .verify(&"x".repeat(secret::MAX_SECRET_LEN + 1), None, &[]),
        Err(Error::InvalidArgument(_))
    ));
    // No use was recorded by any of these.
    assert_eq!(h.engine.flush_usage().await.unwrap(), 0);
}

/// A key is EXPIRED exactly at `expires_at`, without any sweep having run,
/// and VALID one microsecond before.
#[tokio::test]
async fn expired_exactly_at_expires_at_without_sweep() {
    let h = harness();
    let mut request = new_cred("acme", Kind::ApiKey);
    request.lifetime = Some(Duration::hours(1));
    let (view, secret) = h.engine.create(&admin(), request).await.unwrap();
    assert_eq!(view.record.expires_at, t0() + Duration::hours(1));

    h.clock
        .set(view.record.expires_at - Duration::microseconds(1));
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));

    h.clock.set(view.record.expires_at);
    let v = h.engine.verify(secret.expose(), None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Expired);
    assert_eq!(v.credential.unwrap().id, view.record.id);
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &view.record.id)
            .unwrap()
            .status,
        Status::Expired
    );
    // Nothing was written: the stored status is still ACTIVE.
    assert!(
        h.engine
            .store()
            .has_status(&view.record.id, Status::Active)
            .unwrap()
    );
}
