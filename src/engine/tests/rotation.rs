//! Rotation in the engine: both secrets during the window, its bounds, the
//! window lapsing without a sweep, and only ACTIVE credentials rotating.

use super::*;

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
