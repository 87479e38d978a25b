//! Lookup by secret in the engine: found without counting a use, for any
//! status; NOT_FOUND for unknown, malformed and retired secrets without
//! echoing them; passcodes need their account; the actor's account is
//! checked and every lookup audited.

use super::*;
use crate::engine::{AuditQuery, UsageQuery};

fn lookups(h: &Harness, outcome: &str) -> Vec<crate::store::AuditEvent> {
    h.engine
        .list_audit(
            &admin(),
            &AuditQuery {
                filter: AuditFilter {
                    action: Some("credential.lookup".to_string()),
                    outcome: Some(outcome.to_string()),
                    ..AuditFilter::default()
                },
                ..AuditQuery::default()
            },
        )
        .unwrap()
        .events
}

fn not_found(result: Result<CredentialView, Error>, secret: &str) {
    match result {
        Err(Error::NoSuch(message)) => assert!(!message.contains(secret), "{message}"),
        other => panic!("{other:?}"),
    }
}

/// A lookup returns the credential and leaves no trace of a use: no
/// last-used time, nothing to flush, no usage rows; it is audited.
#[tokio::test]
async fn lookup_counts_no_use() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let found = h
        .engine
        .lookup_by_secret(&admin(), secret.expose(), None)
        .unwrap();
    assert_eq!(found.record.id, view.record.id);
    assert_eq!(found.last_used_at, None);
    assert_eq!(h.engine.flush_usage().await.unwrap(), 0);
    let id = &view.record.id;
    assert_eq!(h.engine.get(&admin(), id).unwrap().last_used_at, None);
    let usage = UsageQuery {
        credential_id: Some(id.clone()),
        ..UsageQuery::default()
    };
    assert!(
        h.engine
            .usage_report(&admin(), &usage)
            .await
            .unwrap()
            .is_empty()
    );
    let audited = lookups(&h, "ok");
    assert_eq!(audited.len(), 1);
    assert_eq!(&audited[0].credential_id, id);
    assert!(!audited[0].detail.contains(secret.expose()));
}

/// Lookup is not held to the account's Verify rate limit.
#[tokio::test]
async fn lookup_ignores_the_rate_limit() {
    let h = harness();
    let mut account = NewAccount {
        id: "limited".to_string(),
        ..NewAccount::default()
    };
    account.rate_limit = Some(RateLimit {
        per_second: 1,
        burst: 1,
    });
    h.engine.create_account(&admin(), account).await.unwrap();
    let (_, secret) = h.create("limited").await;
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    assert!(matches!(
        h.outcome(&secret),
        VerifyOutcome::RateLimited { .. }
    ));
    for _ in 0..5 {
        assert!(
            h.engine
                .lookup_by_secret(&admin(), secret.expose(), None)
                .is_ok()
        );
    }
}

/// Revoked, disabled and expired credentials are found with their status.
#[tokio::test]
async fn lookup_finds_retired_credentials() {
    let h = harness();
    let (revoked, revoked_secret) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &revoked.record.id, "leaked")
        .await
        .unwrap();
    let (disabled, disabled_secret) = h.create("acme").await;
    h.engine
        .disable(&admin(), &disabled.record.id, "")
        .await
        .unwrap();
    let mut short = new_cred("acme", Kind::ApiKey);
    short.lifetime = Some(Duration::days(1));
    let (_, expired_secret) = h.engine.create(&admin(), short).await.unwrap();
    h.clock.advance(Duration::days(2));
    for (secret, status) in [
        (&revoked_secret, Status::Revoked),
        (&disabled_secret, Status::Disabled),
        (&expired_secret, Status::Expired),
    ] {
        let found = h
            .engine
            .lookup_by_secret(&admin(), secret.expose(), None)
            .unwrap();
        assert_eq!(found.status, status);
    }
}

/// Unknown, malformed and bad-checksum secrets and session tokens are
/// NOT_FOUND without echoing the secret; the older secret of a rotation is
/// found while its window is open and NOT_FOUND once it is retired; an
/// empty secret is INVALID_ARGUMENT.
#[tokio::test]
async fn lookup_not_found() {
    let h = harness();
    let (view, old) = h.create("acme").await;
    let unknown = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    let mut bad_checksum = unknown.expose().to_string();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'A' { 'B' } else { 'A' });
    let session = Secret::generate("credd", Environment::Live, Kind::Session).unwrap();
    for secret in [
        unknown.expose(),
        bad_checksum.as_str(),
        "not a key at all",
        session.expose(),
    ] {
        not_found(h.engine.lookup_by_secret(&admin(), secret, None), secret);
    }
    let (_, new) = h
        .engine
        .rotate(&admin(), &view.record.id, None)
        .await
        .unwrap();
    for secret in [&old, &new] {
        let found = h.engine.lookup_by_secret(&admin(), secret.expose(), None);
        assert_eq!(found.unwrap().record.id, view.record.id);
    }
    h.engine
        .complete_rotation(&admin(), &view.record.id)
        .await
        .unwrap();
    not_found(
        h.engine.lookup_by_secret(&admin(), old.expose(), None),
        old.expose(),
    );
    assert!(
        h.engine
            .lookup_by_secret(&admin(), new.expose(), None)
            .is_ok()
    );
    assert!(matches!(
        h.engine.lookup_by_secret(&admin(), "", None),
        Err(Error::InvalidArgument(_))
    ));
    assert_eq!(lookups(&h, "ok").len(), 8, "found and not found alike");
}

/// A passcode needs its account id; another account's id finds nothing.
#[tokio::test]
async fn lookup_passcode_needs_its_account() {
    let h = harness();
    let (view, secret) = h
        .engine
        .create(&admin(), new_cred("acme", Kind::Passcode))
        .await
        .unwrap();
    assert!(matches!(
        h.engine.lookup_by_secret(&admin(), secret.expose(), None),
        Err(Error::InvalidArgument(m)) if m.contains("account_id")
    ));
    not_found(
        h.engine
            .lookup_by_secret(&admin(), secret.expose(), Some("globex")),
        secret.expose(),
    );
    let found = h
        .engine
        .lookup_by_secret(&admin(), secret.expose(), Some("acme"))
        .unwrap();
    assert_eq!(found.record.id, view.record.id);
}

/// A key confined to another account, or without credentials:read, is
/// refused and the refusal audited; a key confined to the account is not.
#[tokio::test]
async fn lookup_checks_the_actor() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let confined = |account: &str, scope: Scope| {
        Actor::admin_key(
            &format!("key_{account}"),
            [scope],
            Some(account.to_string()),
            String::new(),
        )
    };
    for actor in [
        confined("globex", Scope::CredentialsRead),
        confined("acme", Scope::CredentialsWrite),
    ] {
        let result = h.engine.lookup_by_secret(&actor, secret.expose(), None);
        assert!(
            matches!(result, Err(Error::PermissionDenied(_))),
            "{result:?}"
        );
    }
    let denied = lookups(&h, "denied");
    assert_eq!(denied.len(), 2);
    assert!(denied.iter().all(|e| !e.detail.contains(secret.expose())));
    let found = h
        .engine
        .lookup_by_secret(
            &confined("acme", Scope::CredentialsRead),
            secret.expose(),
            None,
        )
        .unwrap();
    assert_eq!(found.record.id, view.record.id);
}
