//! The deadline index kept by the engine's use cases: written, moved,
//! replaced and emptied with the record.

use super::*;

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
