use std::collections::BTreeSet;

use super::*;
use crate::clock::ManualClock;
use crate::lifecycle::{AccountStatus, DeadlineEvent, RateLimit, Span};
use crate::lifecycle::{DisabledReason, Environment, Kind, Policy, Status, VerifyOutcome};
use crate::secret::{self, Pepper, Secret};
use crate::store::AuditFilter;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};

struct Harness {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn pepper() -> Pepper {
    Pepper::from_bytes([1; 32])
}

fn harness_with(policy: Policy) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16 << 20, pepper().fingerprint()).unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::new(
        store,
        pepper(),
        clock.clone() as Arc<dyn Clock>,
        policy,
        "credd".to_string(),
    )
    .unwrap();
    Harness {
        engine: Arc::new(engine),
        clock,
        dir,
    }
}

fn harness() -> Harness {
    harness_with(Policy::standard())
}

fn limited(limit: u32) -> Harness {
    let mut policy = Policy::standard();
    policy.max_credentials_per_account = limit;
    harness_with(policy)
}

fn admin() -> Actor {
    Actor::unrestricted("admin")
}

fn new_cred(account: &str, kind: Kind) -> NewCredential {
    NewCredential {
        account_id: account.to_string(),
        kind,
        environment: Environment::Live,
        name: "checkout".to_string(),
        description: "checkout service".to_string(),
        scopes: vec!["orders:read".to_string(), "orders:write".to_string()],
        lifetime: None,
        notify_emails: vec!["ops@example.com".to_string()],
        client_id: None,
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

impl Harness {
    async fn create(&self, account: &str) -> (CredentialView, Secret) {
        self.engine
            .create(&admin(), new_cred(account, Kind::ApiKey))
            .await
            .unwrap()
    }

    fn outcome(&self, secret: &Secret) -> VerifyOutcome {
        self.engine
            .verify(secret.expose(), None, &[])
            .unwrap()
            .outcome
    }

    fn audits(&self) -> usize {
        self.engine.store().audit_count()
    }
}

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

/// Rotation: both secrets verify, the older one with its retirement time;
/// a second rotation is refused; completing it retires the older one at once.
#[tokio::test]
async fn rotate_then_complete() {
    let h = harness();
    let (view, old) = h.create("acme").await;
    let id = view.record.id.clone();
    let (rotated, new) = h.engine.rotate(&admin(), &id, None).await.unwrap();
    let retires_at = t0() + Duration::days(7);
    assert_ne!(old.expose(), new.expose());
    assert!(!format!("{rotated:?}").contains(new.expose()));
    assert_eq!(rotated.rotation_retires_at, Some(retires_at));
    assert_eq!(rotated.record.versions.len(), 2);
    assert!(
        h.engine
            .store()
            .has_deadline(&id, retires_at, DeadlineEvent::RotationEnd)
            .unwrap()
    );

    let v = h.engine.verify(old.expose(), None, &[]).unwrap();
    assert_eq!(
        v.outcome,
        VerifyOutcome::Valid {
            retires_at: Some(retires_at)
        }
    );
    assert_eq!(v.credential.unwrap().id, id);
    let v = h.engine.verify(new.expose(), None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Valid { retires_at: None });
    assert_eq!(v.credential.unwrap().id, id);

    let result = h.engine.rotate(&admin(), &id, None).await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(ref m)) if m.contains("rotation")),
        "{result:?}"
    );

    let done = h.engine.complete_rotation(&admin(), &id).await.unwrap();
    assert_eq!(done.rotation_retires_at, None);
    assert_eq!(done.record.versions.len(), 1);
    assert_eq!(h.outcome(&old), VerifyOutcome::NotFound);
    assert_eq!(h.outcome(&new), VerifyOutcome::Valid { retires_at: None });
    assert!(
        !h.engine
            .store()
            .has_deadline(&id, retires_at, DeadlineEvent::RotationEnd)
            .unwrap()
    );

    // Nothing left to complete.
    let result = h.engine.complete_rotation(&admin(), &id).await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(_))),
        "{result:?}"
    );
}

/// Windows must be positive and within the policy maximum; the window given
/// is the one used.
#[tokio::test]
async fn rotate_window_bounds() {
    let h = harness();
    let (view, _) = h.create("acme").await;
    let id = view.record.id;
    for bad in [
        Duration::zero(),
        Duration::seconds(-1),
        Duration::days(30) + Duration::seconds(1),
    ] {
        let result = h.engine.rotate(&admin(), &id, Some(bad)).await;
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{result:?}"
        );
    }
    let (rotated, _) = h
        .engine
        .rotate(&admin(), &id, Some(Duration::hours(2)))
        .await
        .unwrap();
    assert_eq!(rotated.rotation_retires_at, Some(t0() + Duration::hours(2)));
}

/// Once the window has passed the older secret is NOT_FOUND without any
/// sweep, and a new rotation is allowed.
#[tokio::test]
async fn rotation_window_lapses_without_sweep() {
    let h = harness();
    let (view, first) = h.create("acme").await;
    let id = view.record.id;
    let (_, second) = h
        .engine
        .rotate(&admin(), &id, Some(Duration::days(1)))
        .await
        .unwrap();

    h.clock.advance(Duration::days(1));
    assert_eq!(h.outcome(&first), VerifyOutcome::NotFound);
    assert_eq!(
        h.outcome(&second),
        VerifyOutcome::Valid { retires_at: None }
    );
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &id)
            .unwrap()
            .rotation_retires_at,
        None
    );

    let (rotated, third) = h.engine.rotate(&admin(), &id, None).await.unwrap();
    let retires_at = h.engine.now() + Duration::days(7);
    assert_eq!(rotated.record.versions.len(), 2);
    assert_eq!(h.outcome(&first), VerifyOutcome::NotFound);
    assert_eq!(
        h.outcome(&second),
        VerifyOutcome::Valid {
            retires_at: Some(retires_at)
        }
    );
    assert_eq!(h.outcome(&third), VerifyOutcome::Valid { retires_at: None });
}

/// Only an ACTIVE credential can be rotated.
#[tokio::test]
async fn rotate_requires_active() {
    let h = harness();
    let (disabled, _) = h.create("acme").await;
    h.engine
        .disable(&admin(), &disabled.record.id, "paused")
        .await
        .unwrap();
    let result = h.engine.rotate(&admin(), &disabled.record.id, None).await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(ref m)) if m.contains("disabled")),
        "{result:?}"
    );

    let (revoked, _) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &revoked.record.id, "")
        .await
        .unwrap();
    let result = h.engine.rotate(&admin(), &revoked.record.id, None).await;
    assert!(
        matches!(result, Err(Error::FailedPrecondition(ref m)) if m.contains("revoked")),
        "{result:?}"
    );

    let missing = validate::new_credential_id();
    let result = h.engine.rotate(&admin(), &missing, None).await;
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
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

fn list_all(h: &Harness, mut query: ListQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let page = h
            .engine
            .list(&Actor::unrestricted("admin"), &query)
            .unwrap();
        pages.push(
            page.credentials
                .iter()
                .map(|c| c.record.id.clone())
                .collect(),
        );
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => return pages,
        }
        assert!(pages.len() < 100, "paging does not terminate");
    }
}

/// Paging covers every credential of an account exactly once in id order,
/// filters apply, and bad tokens or sizes are refused.
#[tokio::test]
async fn list_pages_and_filters() {
    let h = harness();
    let mut by_account: [(String, Vec<CredentialView>); 2] = [
        ("acme".to_string(), Vec::new()),
        ("acme2".to_string(), Vec::new()),
    ];
    for i in 0..25 {
        let slot = i % 2;
        let mut request = new_cred(&by_account[slot].0, Kind::ApiKey);
        if i % 3 == 0 {
            request.kind = Kind::Passcode;
        }
        if i % 4 == 0 {
            request.environment = Environment::Test;
        }
        let (view, _) = h.engine.create(&admin(), request).await.unwrap();
        by_account[slot].1.push(view);
    }
    // Revoke two and disable one of "acme".
    let acme = &by_account[0].1;
    assert_eq!(acme.len(), 13);
    assert_eq!(by_account[1].1.len(), 12);
    let revoked: BTreeSet<String> = [&acme[1], &acme[4]]
        .iter()
        .map(|v| v.record.id.clone())
        .collect();
    for id in &revoked {
        h.engine.revoke(&admin(), id, "").await.unwrap();
    }
    h.engine
        .disable(&admin(), &acme[2].record.id, "")
        .await
        .unwrap();

    for (account, views) in &by_account {
        let mut expected: Vec<String> = views.iter().map(|v| v.record.id.clone()).collect();
        expected.sort();
        let pages = list_all(
            &h,
            ListQuery {
                account_id: Some(account.clone()),
                page_size: 7,
                ..ListQuery::default()
            },
        );
        assert!(pages.iter().all(|p| p.len() <= 7));
        assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == 7));
        assert_eq!(pages.len(), expected.len().div_ceil(7));
        let flat: Vec<String> = pages.concat();
        assert_eq!(flat, expected, "{account}");
    }

    // All accounts.
    let mut everything: Vec<String> = by_account
        .iter()
        .flat_map(|(_, views)| views.iter().map(|v| v.record.id.clone()))
        .collect();
    everything.sort();
    let flat = list_all(
        &h,
        ListQuery {
            page_size: 7,
            ..ListQuery::default()
        },
    )
    .concat();
    assert_eq!(flat, everything);

    // Filters.
    let filtered = |query: ListQuery| -> Vec<CredentialView> {
        let mut query = query;
        query.account_id = Some("acme".to_string());
        query.page_size = 3;
        let mut out = Vec::new();
        loop {
            let page = h
                .engine
                .list(&Actor::unrestricted("admin"), &query)
                .unwrap();
            out.extend(page.credentials);
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return out,
            }
        }
    };
    let got: BTreeSet<String> = filtered(ListQuery {
        status: Some(Status::Revoked),
        ..ListQuery::default()
    })
    .into_iter()
    .map(|v| v.record.id)
    .collect();
    assert_eq!(got, revoked);
    let disabled = filtered(ListQuery {
        status: Some(Status::Disabled),
        ..ListQuery::default()
    });
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].record.id, acme[2].record.id);
    assert_eq!(
        filtered(ListQuery {
            status: Some(Status::Active),
            ..ListQuery::default()
        })
        .len(),
        10
    );

    let count_where =
        |pred: &dyn Fn(&CredentialView) -> bool| acme.iter().filter(|v| pred(v)).count();
    let passcodes = filtered(ListQuery {
        kind: Some(Kind::Passcode),
        ..ListQuery::default()
    });
    assert!(passcodes.iter().all(|v| v.record.kind == Kind::Passcode));
    assert_eq!(
        passcodes.len(),
        count_where(&|v| v.record.kind == Kind::Passcode)
    );
    let test_env = filtered(ListQuery {
        environment: Some(Environment::Test),
        ..ListQuery::default()
    });
    assert!(
        test_env
            .iter()
            .all(|v| v.record.environment == Environment::Test)
    );
    assert_eq!(
        test_env.len(),
        count_where(&|v| v.record.environment == Environment::Test)
    );
    let both = filtered(ListQuery {
        kind: Some(Kind::Passcode),
        environment: Some(Environment::Test),
        ..ListQuery::default()
    });
    assert_eq!(
        both.len(),
        count_where(
            &|v| v.record.kind == Kind::Passcode && v.record.environment == Environment::Test
        )
    );
    assert!(!both.is_empty());

    // Expired (by time) shows as EXPIRED in filters, without a sweep.
    h.clock.advance(Duration::days(366));
    assert_eq!(
        filtered(ListQuery {
            status: Some(Status::Expired),
            ..ListQuery::default()
        })
        .len(),
        11
    );

    // Malformed requests.
    for token in ["garbage", "", "djE6bm9wZQ"] {
        let result = h.engine.list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                account_id: Some("acme".to_string()),
                page_token: Some(token.to_string()),
                ..ListQuery::default()
            },
        );
        assert!(
            matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("page_token")),
            "{token:?}: {result:?}"
        );
    }
    for size in [1001, -1] {
        let result = h.engine.list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                page_size: size,
                ..ListQuery::default()
            },
        );
        assert!(
            matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("page_size")),
            "{result:?}"
        );
    }
    let result = h.engine.list(
        &Actor::unrestricted("admin"),
        &ListQuery {
            account_id: Some("bad account".to_string()),
            ..ListQuery::default()
        },
    );
    assert!(
        matches!(result, Err(Error::InvalidArgument(_))),
        "{result:?}"
    );
    // page_size 0 means 100: everything of one account on one page.
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
    assert_eq!(page.credentials.len(), 13);
    assert!(page.next_page_token.is_none());
}

/// A successful use shows in `get` at once, is written by `flush_usage`,
/// survives a reopen, and a refused verify records no use.
#[tokio::test]
async fn usage_is_pending_then_flushed() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let (disabled, disabled_secret) = h.create("acme").await;
    h.engine
        .disable(&admin(), &disabled.record.id, "")
        .await
        .unwrap();
    let id = view.record.id.clone();
    assert_eq!(view.last_used_at, None);

    h.clock.advance(Duration::minutes(10));
    let used_at = h.engine.now();
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    // Refused verifies: disabled, wrong account.
    assert_eq!(
        h.outcome(&disabled_secret),
        VerifyOutcome::Disabled(DisabledReason::Admin)
    );
    h.clock.advance(Duration::minutes(1));
    let v = h
        .engine
        .verify(secret.expose(), Some("acme2"), &[])
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::AccountMismatch);

    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &id)
            .unwrap()
            .last_used_at,
        Some(used_at)
    );
    assert_eq!(
        h.engine.store().get(&id).unwrap().unwrap().last_used_at,
        None
    );
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &disabled.record.id)
            .unwrap()
            .last_used_at,
        None
    );
    let audits = h.audits();

    assert_eq!(h.engine.flush_usage().await.unwrap(), 1);
    assert_eq!(h.audits(), audits);
    let stored = h.engine.store().get(&id).unwrap().unwrap();
    assert_eq!(stored.last_used_at, Some(used_at));
    assert!(
        h.engine
            .store()
            .has_deadline(
                &id,
                h.engine.policy().inactivity_disable_after.after(used_at),
                DeadlineEvent::InactivityDisable
            )
            .unwrap()
    );
    assert_eq!(
        h.engine
            .store()
            .get(&disabled.record.id)
            .unwrap()
            .unwrap()
            .last_used_at,
        None
    );
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &id)
            .unwrap()
            .last_used_at,
        Some(used_at)
    );
    assert_eq!(h.engine.flush_usage().await.unwrap(), 0);

    // Survives closing and reopening the database.
    let Harness { engine, dir, .. } = h;
    drop(engine);
    let store = Store::open(dir.path(), 16 << 20, pepper().fingerprint()).unwrap();
    assert_eq!(store.get(&id).unwrap().unwrap().last_used_at, Some(used_at));
}

/// A use of a credential deleted before the flush is dropped quietly.
#[tokio::test]
async fn usage_of_deleted_credential_is_dropped() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    h.engine.delete(&admin(), &view.record.id).await.unwrap();
    assert_eq!(h.engine.flush_usage().await.unwrap(), 0);
    assert!(h.engine.store().get(&view.record.id).unwrap().is_none());
}

/// Every admin change writes exactly one audit entry; reads, verifies and
/// usage flushes write none.
#[tokio::test]
async fn every_change_is_audited() {
    let h = harness();
    assert_eq!(h.audits(), 0);
    h.engine
        .create_account(
            &admin(),
            NewAccount {
                id: "acme".to_string(),
                ..NewAccount::default()
            },
        )
        .await
        .unwrap();
    let base = h.audits();
    assert_eq!(base, 1, "account.create");
    let (view, secret) = h.create("acme").await;
    let id = view.record.id;
    assert_eq!(h.audits(), base + 1);
    h.engine.rotate(&admin(), &id, None).await.unwrap();
    assert_eq!(h.audits(), base + 2);
    h.engine.complete_rotation(&admin(), &id).await.unwrap();
    assert_eq!(h.audits(), base + 3);
    h.engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                name: Some("x".to_string()),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(h.audits(), base + 4);
    h.engine.disable(&admin(), &id, "").await.unwrap();
    assert_eq!(h.audits(), base + 5);
    h.engine.reactivate(&admin(), &id).await.unwrap();
    assert_eq!(h.audits(), base + 6);
    h.engine.verify(secret.expose(), None, &[]).unwrap();
    h.engine.get(&Actor::unrestricted("admin"), &id).unwrap();
    h.engine
        .list(&Actor::unrestricted("admin"), &ListQuery::default())
        .unwrap();
    h.engine.flush_usage().await.unwrap();
    assert_eq!(h.audits(), base + 6);
    h.engine.revoke(&admin(), &id, "").await.unwrap();
    assert_eq!(h.audits(), base + 7);
    h.engine.delete(&admin(), &id).await.unwrap();
    assert_eq!(h.audits(), base + 8);
    // Refused changes write nothing.
    let _ = h.engine.delete(&admin(), &id).await;
    let _ = h.engine.create(&admin(), new_cred("", Kind::ApiKey)).await;
    assert_eq!(h.audits(), base + 8);
}

/// The deadline index follows the record: created with its expiry, warning
/// and inactivity deadlines; moved when the expiry changes; replaced on
/// revoke; emptied on delete.
#[tokio::test]
async fn deadlines_follow_the_record() {
    let h = harness();
    let store = h.engine.store().clone();
    let (view, _) = h.create("acme").await;
    let id = view.record.id;
    let expires_at = view.record.expires_at;
    assert!(
        store
            .has_deadline(&id, expires_at, DeadlineEvent::Expire)
            .unwrap()
    );
    assert!(
        store
            .has_deadline(
                &id,
                expires_at - Duration::days(30),
                DeadlineEvent::ExpiryWarning
            )
            .unwrap()
    );
    assert!(
        store
            .has_deadline(
                &id,
                Span::Months(2).after(t0()),
                DeadlineEvent::InactivityDisable
            )
            .unwrap()
    );
    assert_eq!(store.deadline_count(), 3);

    let new_expiry = t0() + Duration::days(100);
    h.engine
        .update(
            &admin(),
            &id,
            CredentialUpdate {
                expires_at: Some(new_expiry),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(
        !store
            .has_deadline(&id, expires_at, DeadlineEvent::Expire)
            .unwrap()
    );
    assert!(
        !store
            .has_deadline(
                &id,
                expires_at - Duration::days(30),
                DeadlineEvent::ExpiryWarning
            )
            .unwrap()
    );
    assert!(
        store
            .has_deadline(&id, new_expiry, DeadlineEvent::Expire)
            .unwrap()
    );
    assert!(
        store
            .has_deadline(
                &id,
                new_expiry - Duration::days(30),
                DeadlineEvent::ExpiryWarning
            )
            .unwrap()
    );
    assert_eq!(store.deadline_count(), 3);
    let stored = store.get(&id).unwrap().unwrap();
    for d in &stored.scheduled {
        assert!(store.has_deadline(&id, d.at, d.event).unwrap());
    }

    h.engine.revoke(&admin(), &id, "").await.unwrap();
    assert!(
        !store
            .has_deadline(&id, new_expiry, DeadlineEvent::Expire)
            .unwrap()
    );
    assert!(
        store
            .has_deadline(
                &id,
                Span::Months(10).after(t0()),
                DeadlineEvent::InactivityDelete
            )
            .unwrap()
    );
    assert_eq!(store.deadline_count(), 1);

    h.engine.delete(&admin(), &id).await.unwrap();
    assert_eq!(store.deadline_count(), 0);
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

mod admin_keys;

mod accounts;

mod users;

mod partners;
