//! Usage in the engine: a use pending in memory, then flushed to the store;
//! uses of deleted credentials dropped.

use super::*;

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
    // The use went to the `last_used` tree; the record and its deadlines
    // are not rewritten (the sweep moves the inactivity deadline lazily).
    assert_eq!(h.engine.store().last_used(&id).unwrap(), Some(used_at));
    let stored = h.engine.store().get(&id).unwrap().unwrap();
    assert_eq!(stored.last_used_at, None);
    assert!(
        h.engine
            .store()
            .has_deadline(
                &id,
                h.engine
                    .policy()
                    .inactivity_disable_after
                    .after(stored.created_at),
                DeadlineEvent::InactivityDisable
            )
            .unwrap()
    );
    assert_eq!(
        h.engine.store().last_used(&disabled.record.id).unwrap(),
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
    assert_eq!(store.last_used(&id).unwrap(), Some(used_at));
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
    assert_eq!(h.engine.store().last_used(&view.record.id).unwrap(), None);
}
