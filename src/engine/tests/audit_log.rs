//! The audit trail of the engine's use cases: one entry per change, none
//! for reads, verifies and usage flushes.

use super::*;

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

/// A credential's history: its own events only, newest first, at most the
/// limit; a key confined to another account reads none of it, and one
/// without `audit:read` is refused.
#[tokio::test]
async fn a_credential_history_is_its_latest_events_newest_first() {
    let h = harness();
    let (view, _) = h.create("acme").await;
    let id = view.record.id;
    h.create("acme").await;
    h.engine.disable(&admin(), &id, "").await.unwrap();
    h.engine.reactivate(&admin(), &id).await.unwrap();
    h.create("acme").await;
    let all = h.engine.credential_history(&admin(), &id, 10).unwrap();
    let actions: Vec<_> = all.events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "credential.reactivate",
            "credential.disable",
            "credential.create"
        ]
    );
    assert!(all.next_after.is_none());
    assert!(all.events.iter().all(|e| e.credential_id == id));
    let two = h.engine.credential_history(&admin(), &id, 2).unwrap();
    assert_eq!(two.events.len(), 2);
    assert_eq!(two.events[0].action, "credential.reactivate");
    let other = Actor::admin_key(
        "k",
        [Scope::AuditRead],
        Some("other".to_string()),
        String::new(),
    );
    assert!(
        h.engine
            .credential_history(&other, &id, 10)
            .unwrap()
            .events
            .is_empty()
    );
    let reader = Actor::admin_key("k", [Scope::CredentialsRead], None, String::new());
    assert!(matches!(
        h.engine.credential_history(&reader, &id, 10),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        h.engine.credential_history(&admin(), "not an id", 10),
        Err(Error::InvalidArgument(_))
    ));
}
