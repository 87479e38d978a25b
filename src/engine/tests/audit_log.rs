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
