//! The credential use cases in the engine: create (fields, lifetimes and
//! the quota), revoke, disable and reactivate, update, delete, id checks,
//! and changes surviving a reopen.

use super::*;

/// Lifetimes above the maximum, zero or negative are refused; the maximum
/// itself is accepted; no lifetime means the policy default of 365 days.
#[tokio::test]
async fn lifetime_bounds_and_default() {
    let h = harness();
    let mut request = new_cred("acme", Kind::ApiKey);
    request.lifetime = Some(Duration::days(3650) + Duration::seconds(1));
    let result = h.engine.create(&admin(), request.clone()).await;
    assert!(
        matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("lifetime")),
        "{result:?}"
    );
    for bad in [Duration::zero(), Duration::seconds(-5)] {
        request.lifetime = Some(bad);
        let result = h.engine.create(&admin(), request.clone()).await;
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{result:?}"
        );
    }
    assert_eq!(h.audits(), 0);

    request.lifetime = Some(Duration::days(3650));
    let (view, _) = h.engine.create(&admin(), request.clone()).await.unwrap();
    assert_eq!(view.record.expires_at, t0() + Duration::days(3650));

    request.lifetime = None;
    let (view, _) = h.engine.create(&admin(), request).await.unwrap();
    assert_eq!(view.record.expires_at, t0() + Duration::days(365));
    assert_eq!(view.record.created_at, t0());
}

/// Malformed create requests are refused before anything is written.
#[tokio::test]
async fn create_validates_fields() {
    let h = harness();
    let cases: [fn(&mut NewCredential); 6] = [
        |r| r.account_id = String::new(),
        |r| r.account_id = "has space".to_string(),
        |r| r.name = "  ".to_string(),
        |r| r.description = "x".repeat(1001),
        |r| r.scopes = strings(&["two words"]),
        |r| r.notify_emails = strings(&["not-an-address"]),
    ];
    for break_it in cases {
        let mut request = new_cred("acme", Kind::ApiKey);
        break_it(&mut request);
        let result = h.engine.create(&admin(), request).await;
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{result:?}"
        );
    }
    assert_eq!(h.audits(), 0);
    assert_eq!(h.engine.store().count_live("acme", t0()).unwrap(), 0);
}

/// The quota refuses the (N+1)th live credential; revoking one, or one
/// expiring by time, frees a slot.
#[tokio::test]
async fn quota_counts_live_credentials() {
    let h = limited(3);
    let mut short = new_cred("acme", Kind::ApiKey);
    short.lifetime = Some(Duration::hours(1));
    let (expiring, _) = h.engine.create(&admin(), short).await.unwrap();
    let (first, _) = h.create("acme").await;
    let (_, _) = h.create("acme").await;
    let result = h
        .engine
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await;
    assert!(
        matches!(result, Err(Error::QuotaExceeded { ref account_id, limit: 3 }) if account_id == "acme"),
        "{result:?}"
    );
    // Other accounts are unaffected.
    h.create("acme2").await;

    // A disabled credential still counts.
    h.engine
        .disable(&admin(), &first.record.id, "")
        .await
        .unwrap();
    let result = h
        .engine
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await;
    assert!(
        matches!(result, Err(Error::QuotaExceeded { .. })),
        "{result:?}"
    );

    // Revoking frees one slot.
    h.engine
        .revoke(&admin(), &first.record.id, "")
        .await
        .unwrap();
    h.create("acme").await;
    let result = h
        .engine
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await;
    assert!(
        matches!(result, Err(Error::QuotaExceeded { .. })),
        "{result:?}"
    );

    // Expiry by time frees one, with no sweep.
    h.clock.set(expiring.record.expires_at);
    h.create("acme").await;
    let result = h
        .engine
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await;
    assert!(
        matches!(result, Err(Error::QuotaExceeded { .. })),
        "{result:?}"
    );
    assert_eq!(
        h.engine.store().count_live("acme", h.engine.now()).unwrap(),
        3
    );
}

/// Concurrent creates on one account never exceed its limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_respect_quota() {
    let h = limited(5);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let engine = h.engine.clone();
            tokio::spawn(async move {
                engine
                    .create(&admin(), new_cred("acme", Kind::ApiKey))
                    .await
                    .map(|(view, _)| view.record.id)
            })
        })
        .collect();
    let mut created = 0;
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::QuotaExceeded { limit: 5, .. }) => refused += 1,
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!((created, refused), (5, 15));
    assert_eq!(h.engine.store().count_live("acme", t0()).unwrap(), 5);
    let page = h
        .engine
        .list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                account_id: Some("acme".to_string()),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(page.credentials.len(), 5);
}

/// Revocation makes Verify answer REVOKED, and revoking again succeeds and
/// changes nothing (no new audit entry, reason kept).
#[tokio::test]
async fn revoke_is_final_and_idempotent() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let id = view.record.id;
    let revoked = h.engine.revoke(&admin(), &id, "leaked").await.unwrap();
    assert_eq!(revoked.status, Status::Revoked);
    assert_eq!(revoked.record.status_reason, "leaked");
    assert_eq!(h.outcome(&secret), VerifyOutcome::Revoked);
    let audits = h.audits();

    h.clock.advance(Duration::minutes(5));
    let again = h.engine.revoke(&admin(), &id, "second").await.unwrap();
    assert_eq!(again.status, Status::Revoked);
    assert_eq!(again.record, revoked.record);
    assert_eq!(h.audits(), audits);
    assert_eq!(h.outcome(&secret), VerifyOutcome::Revoked);
}

/// Disable answers DISABLED(ADMIN); reactivation makes it VALID again and
/// records when.
#[tokio::test]
async fn disable_then_reactivate() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let id = view.record.id;
    let disabled = h.engine.disable(&admin(), &id, "suspicious").await.unwrap();
    assert_eq!(disabled.status, Status::Disabled);
    assert_eq!(disabled.record.disabled_reason, Some(DisabledReason::Admin));
    assert_eq!(
        h.outcome(&secret),
        VerifyOutcome::Disabled(DisabledReason::Admin)
    );
    // Disabling twice changes nothing.
    let audits = h.audits();
    h.engine.disable(&admin(), &id, "again").await.unwrap();
    assert_eq!(h.audits(), audits);

    h.clock.advance(Duration::hours(3));
    let back = h.engine.reactivate(&admin(), &id).await.unwrap();
    assert_eq!(back.status, Status::Active);
    assert_eq!(back.record.disabled_reason, None);
    assert_eq!(back.record.reactivated_at, Some(t0() + Duration::hours(3)));
    assert_eq!(
        h.outcome(&secret),
        VerifyOutcome::Valid { retires_at: None }
    );
    // Reactivating an active credential changes nothing.
    let audits = h.audits();
    h.engine.reactivate(&admin(), &id).await.unwrap();
    assert_eq!(h.audits(), audits);
}

/// Expired and revoked credentials cannot be reactivated (or disabled), and
/// the message says why.
#[tokio::test]
async fn reactivate_refuses_expired_and_revoked() {
    let h = harness();
    let mut short = new_cred("acme", Kind::ApiKey);
    short.lifetime = Some(Duration::hours(1));
    let (expiring, _) = h.engine.create(&admin(), short).await.unwrap();
    h.engine
        .disable(&admin(), &expiring.record.id, "")
        .await
        .unwrap();
    let (revoked, _) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &revoked.record.id, "")
        .await
        .unwrap();
    h.clock.advance(Duration::hours(1));

    let result = h.engine.reactivate(&admin(), &expiring.record.id).await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(ref m)) if m.contains("expired")),
        "{result:?}"
    );
    let result = h.engine.reactivate(&admin(), &revoked.record.id).await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(ref m)) if m.contains("revoked")),
        "{result:?}"
    );
    let result = h.engine.disable(&admin(), &revoked.record.id, "").await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(_))),
        "{result:?}"
    );
}

/// Each field can be updated on its own, and Verify sees the new scopes.
#[tokio::test]
async fn update_each_field() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let id = view.record.id;

    let v = h
        .engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                name: Some("renamed".to_string()),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.record.name, "renamed");
    assert_eq!(v.record.description, "checkout service");

    let v = h
        .engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                description: Some("new purpose".to_string()),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.record.description, "new purpose");
    assert_eq!(v.record.name, "renamed");

    let v = h
        .engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                scopes: Some(strings(&["admin", "admin"])),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.record.scopes, strings(&["admin"]));
    let verified = h.engine.verify(secret.expose(), None, &[]).unwrap();
    assert_eq!(verified.credential.unwrap().scopes, strings(&["admin"]));
    assert_eq!(
        h.engine
            .verify(secret.expose(), None, &strings(&["orders:read"]))
            .unwrap()
            .outcome,
        VerifyOutcome::InsufficientScope
    );

    let v = h
        .engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                notify_emails: Some(strings(&["a@example.com", "b@example.com"])),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        v.record.notify_emails,
        strings(&["a@example.com", "b@example.com"])
    );

    h.clock.advance(Duration::minutes(1));
    let expires_at = t0() + Duration::days(30);
    let v = h
        .engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                expires_at: Some(expires_at),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(v.record.expires_at, expires_at);
    assert_eq!(v.record.updated_at, t0() + Duration::minutes(1));

    let stored = h.engine.store().get(&id).unwrap().unwrap();
    assert_eq!(stored, v.record);

    // An update that changes nothing writes nothing.
    let audits = h.audits();
    h.engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                name: Some("renamed".to_string()),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(h.audits(), audits);
}

/// An expiry beyond the maximum lifetime, in the past, or on a revoked
/// credential is refused and nothing changes.
#[tokio::test]
async fn update_expiry_is_checked() {
    let h = harness();
    let (view, _) = h.create("acme").await;
    let id = view.record.id.clone();
    let update = |at: DateTime<Utc>| CredentialUpdate {
        expires_at: Some(at),
        ..CredentialUpdate::default()
    };
    let result = h
        .engine
        .update(
            &admin(),
            &id,
            update(t0() + Duration::days(3650) + Duration::seconds(1)),
        )
        .await;
    assert!(
        matches!(result, Err(Error::InvalidArgument(_))),
        "{result:?}"
    );
    for past in [t0(), t0() - Duration::days(1)] {
        let result = h.engine.update(&admin(), &id, update(past)).await;
        assert!(
            matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("future")),
            "{result:?}"
        );
    }
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &id)
            .unwrap()
            .record,
        view.record
    );

    h.engine.revoke(&admin(), &id, "").await.unwrap();
    let result = h
        .engine
        .update(&admin(), &id, update(t0() + Duration::days(10)))
        .await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(ref m)) if m.contains("revoked")),
        "{result:?}"
    );

    let result = h
        .engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                name: Some(String::new()),
                ..CredentialUpdate::default()
            },
        )
        .await;
    assert!(
        matches!(result, Err(Error::InvalidArgument(_))),
        "{result:?}"
    );
}

/// After delete the credential is gone for get, verify and a second delete,
/// and its indexes are gone too.
#[tokio::test]
async fn delete_removes_everything() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let (keep, kept_secret) = h.create("acme").await;
    let id = view.record.id;
    h.engine.delete(&admin(), &id).await.unwrap();
    assert!(matches!(
        h.engine.get(&Actor::unrestricted("admin"), &id),
        Err(Error::NotFound { .. })
    ));
    assert_eq!(h.outcome(&secret), VerifyOutcome::NotFound);
    let result = h.engine.delete(&admin(), &id).await;
    assert!(
        matches!(result, Err(Error::NotFound { id: ref missing }) if *missing == id),
        "{result:?}"
    );
    assert!(
        !h.engine
            .store()
            .has_deadline(&id, view.record.expires_at, DeadlineEvent::Expire)
            .unwrap()
    );
    assert_eq!(h.engine.store().count_live("acme", t0()).unwrap(), 1);
    assert_eq!(
        h.engine.store().deadline_count(),
        keep.record.scheduled.len()
    );
    assert!(matches!(
        h.outcome(&kept_secret),
        VerifyOutcome::Valid { .. }
    ));
}

/// Malformed ids are INVALID_ARGUMENT everywhere; unknown well-formed ids are NOT_FOUND.
#[tokio::test]
async fn malformed_and_unknown_ids() {
    let h = harness();
    for bad in [
        "",
        "cred_123",
        "nonsense",
        "CRED_01ARZ3NDEKTSV4RRFFQ69G5FAV",
    ] {
        assert!(
            matches!(
                h.engine.get(&Actor::unrestricted("admin"), bad),
                Err(Error::InvalidArgument(_))
            ),
            "{bad:?}"
        );
        assert!(matches!(
            h.engine.delete(&admin(), bad).await,
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            h.engine.revoke(&admin(), bad, "").await,
            Err(Error::InvalidArgument(_))
        ));
        assert!(matches!(
            h.engine.rotate(&admin(), bad, None).await,
            Err(Error::InvalidArgument(_))
        ));
    }
    let unknown = validate::new_credential_id();
    assert!(matches!(
        h.engine.get(&Actor::unrestricted("admin"), &unknown),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.engine.disable(&admin(), &unknown, "").await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.engine.reactivate(&admin(), &unknown).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        h.engine
            .update(&admin(), &unknown, CredentialUpdate::default())
            .await,
        Err(Error::NotFound { .. })
    ));
}

/// Acknowledged creates and revocations are on disk: a reopened store sees
/// them and a new engine verifies accordingly.
#[tokio::test]
async fn changes_survive_reopen() {
    let h = harness();
    let (kept, kept_secret) = h.create("acme").await;
    let (revoked, revoked_secret) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &revoked.record.id, "")
        .await
        .unwrap();
    let Harness { engine, clock, dir } = h;
    drop(engine);
    let store = Store::open(dir.path(), 16 << 20, pepper().fingerprint()).unwrap();
    let engine = Engine::new(
        store,
        pepper(),
        clock as Arc<dyn Clock>,
        Policy::standard(),
        "credd".to_string(),
    )
    .unwrap();
    let v = engine.verify(kept_secret.expose(), None, &[]).unwrap();
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(v.credential.unwrap().id, kept.record.id);
    let v = engine.verify(revoked_secret.expose(), None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Revoked);
}
