//! Admin keys and scope checks in the engine's use cases.

use super::*;

async fn root_key(h: &Harness) -> (CredentialView, Secret) {
    h.engine
        .issue_root_admin_key(&Actor::system(), "bootstrap")
        .await
        .unwrap()
}

async fn key(h: &Harness, account: Option<&str>, scopes: &[&str]) -> Actor {
    let (_, secret) = h
        .engine
        .create_admin_key(
            &admin(),
            NewAdminKey {
                account_id: account.map(str::to_string),
                name: "test key".to_string(),
                scopes: strings(scopes),
                ..NewAdminKey::default()
            },
        )
        .await
        .unwrap();
    h.engine
        .authenticate(secret.expose(), "req-1".to_string())
        .unwrap()
        .unwrap()
}

fn denied<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(Error::PermissionDenied(message)) => message,
        other => panic!("expected PermissionDenied, got {other:?}"),
    }
}

/// A presented admin key becomes an actor with its scopes; anything else,
/// and a key that is revoked or expired, does not.
#[tokio::test]
async fn authenticate_accepts_only_active_admin_keys() {
    let h = harness();
    let (view, secret) = root_key(&h).await;
    assert!(secret.expose().starts_with("credd_live_admin_"));
    assert_eq!(view.record.kind, Kind::AdminKey);
    assert_eq!(view.record.account_id, "");
    let actor = h
        .engine
        .authenticate(secret.expose(), "r".to_string())
        .unwrap()
        .unwrap();
    assert_eq!(actor.id, view.record.id);
    assert_eq!(actor.request_id, "r");
    assert!(Scope::ALL.iter().all(|s| actor.holds(*s)));
    assert_eq!(actor.account(), None);

    let (_, api_secret) = h.create("acme").await;
    for presented in [api_secret.expose(), "credd_live_admin_nonsense", ""] {
        assert_eq!(
            h.engine.authenticate(presented, String::new()).unwrap(),
            Err(AuthFailure::Unknown)
        );
    }
    // Used keys are recorded like verified ones.
    assert_eq!(
        h.engine
            .get(&admin(), &view.record.id)
            .unwrap()
            .last_used_at,
        Some(t0())
    );

    let (other, other_secret) = h
        .engine
        .create_admin_key(
            &admin(),
            NewAdminKey {
                name: "short".to_string(),
                scopes: strings(&["credentials:read"]),
                lifetime: Some(Duration::days(1)),
                ..NewAdminKey::default()
            },
        )
        .await
        .unwrap();
    h.engine
        .revoke_admin_key(&admin(), &view.record.id, "rotated")
        .await
        .unwrap();
    assert_eq!(
        h.engine
            .authenticate(secret.expose(), String::new())
            .unwrap(),
        Err(AuthFailure::Inactive)
    );
    h.clock.advance(Duration::days(2));
    assert_eq!(
        h.engine
            .authenticate(other_secret.expose(), String::new())
            .unwrap(),
        Err(AuthFailure::Inactive),
        "{} expired",
        other.record.id
    );
}

/// Verify never accepts an admin key, and listings of credentials leave
/// them out.
#[tokio::test]
async fn admin_keys_are_not_credentials() {
    let h = harness();
    let (_, secret) = root_key(&h).await;
    assert_eq!(h.outcome(&secret), VerifyOutcome::NotFound);
    h.create("acme").await;
    let page = h.engine.list(&admin(), &ListQuery::default()).unwrap();
    assert_eq!(page.credentials.len(), 1);
    assert_eq!(page.credentials[0].record.kind, Kind::ApiKey);
    let err = h
        .engine
        .create(&admin(), new_cred("acme", Kind::AdminKey))
        .await;
    assert!(matches!(err, Err(Error::InvalidArgument(_))));
    let keys = h
        .engine
        .list_admin_keys(&admin(), &AdminKeyQuery::default())
        .unwrap();
    assert_eq!(keys.credentials.len(), 1);
}

/// An unused admin key stays usable (it is nobody's abandoned integration);
/// it still expires.
#[tokio::test]
async fn admin_keys_are_not_disabled_for_inactivity() {
    let h = harness();
    let (view, secret) = root_key(&h).await;
    h.clock.advance(Duration::days(400));
    h.engine.sweep().await.unwrap();
    assert!(
        h.engine
            .authenticate(secret.expose(), String::new())
            .unwrap()
            .is_ok()
    );
    // Used the day before it expires (else, expired and long unused, the
    // sweep would delete it at once).
    h.clock.set(view.record.expires_at - Duration::days(1));
    h.engine
        .authenticate(secret.expose(), String::new())
        .unwrap()
        .unwrap();
    h.clock.set(view.record.expires_at + Duration::seconds(1));
    h.engine.sweep().await.unwrap();
    assert_eq!(
        h.engine.get(&admin(), &view.record.id).unwrap().status,
        Status::Expired
    );
}

/// Each use case checks the scope it needs; a refusal changes nothing and
/// is recorded as a denied audit event.
#[tokio::test]
async fn use_cases_check_scopes() {
    let h = harness();
    let (cred, _) = h.create("acme").await;
    let reader = key(&h, None, &["credentials:read"]).await;
    let audits = h.audits();

    assert!(h.engine.get(&reader, &cred.record.id).is_ok());
    let message = denied(h.engine.revoke(&reader, &cred.record.id, "x").await);
    assert!(message.contains("credentials:write"), "{message}");
    denied(
        h.engine
            .create(&reader, new_cred("acme", Kind::ApiKey))
            .await,
    );
    denied(h.engine.list_audit(&reader, &AuditQuery::default()));
    denied(
        h.engine
            .create_admin_key(
                &reader,
                NewAdminKey {
                    name: "x".to_string(),
                    scopes: strings(&["admin:manage"]),
                    ..NewAdminKey::default()
                },
            )
            .await,
    );
    assert_eq!(
        h.engine.get(&admin(), &cred.record.id).unwrap().status,
        Status::Active
    );
    assert_eq!(h.audits(), audits + 4, "one denied event per refusal");
    let page = h
        .engine
        .list_audit(
            &admin(),
            &AuditQuery {
                filter: AuditFilter {
                    outcome: Some("denied".to_string()),
                    ..AuditFilter::default()
                },
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(page.events.len(), 4);
    assert!(page.events.iter().all(|e| e.actor == reader.id));
    assert_eq!(page.events[0].action, "credential.revoke");
    assert_eq!(page.events[0].account_id, "acme");
    assert_eq!(page.events[0].request_id, "req-1");
}

/// A management key acts on its own account only, lists it by default,
/// reads only its account's audit events, and cannot manage admin keys.
#[tokio::test]
async fn account_keys_stay_in_their_account() {
    let h = harness();
    let (theirs, _) = h.create("globex").await;
    let acme = key(
        &h,
        Some("acme"),
        &["credentials:read", "credentials:write", "audit:read"],
    )
    .await;
    assert_eq!(acme.account(), Some("acme"));
    let (ours, _) = h
        .engine
        .create(&acme, new_cred("acme", Kind::ApiKey))
        .await
        .unwrap();
    let page = h.engine.list(&acme, &ListQuery::default()).unwrap();
    let ids: Vec<&str> = page
        .credentials
        .iter()
        .map(|c| c.record.id.as_str())
        .collect();
    assert_eq!(ids, [ours.record.id.as_str()]);
    denied(h.engine.get(&acme, &theirs.record.id));
    denied(h.engine.disable(&acme, &theirs.record.id, "").await);
    denied(
        h.engine
            .create(&acme, new_cred("globex", Kind::ApiKey))
            .await,
    );
    denied(h.engine.list(
        &acme,
        &ListQuery {
            account_id: Some("globex".to_string()),
            ..ListQuery::default()
        },
    ));
    denied(h.engine.list_admin_keys(&acme, &AdminKeyQuery::default()));
    let events = h.engine.list_audit(&acme, &AuditQuery::default()).unwrap();
    assert!(!events.events.is_empty());
    assert!(events.events.iter().all(|e| e.account_id == "acme"));
    // Account keys may not hold global scopes.
    let err = h
        .engine
        .create_admin_key(
            &admin(),
            NewAdminKey {
                account_id: Some("acme".to_string()),
                name: "x".to_string(),
                scopes: strings(&["verify"]),
                ..NewAdminKey::default()
            },
        )
        .await;
    assert!(matches!(err, Err(Error::InvalidArgument(_))));
}
