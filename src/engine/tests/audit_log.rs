//! The audit trail of the engine's use cases: one entry per change, none
//! for reads, verifies and usage flushes.

use super::*;
use crate::store::AuditPage;

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

/// The audit log newest first: pages go back in time, the filter and the
/// account confinement hold, and a forward page's token is refused.
#[tokio::test]
async fn the_audit_log_reads_newest_first_page_by_page() {
    let h = harness();
    let mut ids = Vec::new();
    for account in ["acme", "other", "acme", "acme"] {
        ids.push(h.create(account).await.0.record.id);
    }
    let query = |token: Option<String>| AuditQuery {
        filter: AuditFilter {
            account_id: Some("acme".to_string()),
            action: Some("credential.create".to_string()),
            ..AuditFilter::default()
        },
        page_size: 2,
        page_token: token,
    };
    let first = h.engine.list_audit_newest(&admin(), &query(None)).unwrap();
    let of = |page: &AuditPage| -> Vec<String> {
        page.events
            .iter()
            .map(|e| e.credential_id.clone())
            .collect()
    };
    assert_eq!(of(&first), [ids[3].clone(), ids[2].clone()]);
    let token = first.next_after.map(Engine::audit_before_token);
    let second = h.engine.list_audit_newest(&admin(), &query(token)).unwrap();
    assert_eq!(of(&second), [ids[0].clone()]);
    assert_eq!(second.next_after, None);
    let other = Actor::admin_key(
        "k",
        [Scope::AuditRead],
        Some("other".to_string()),
        String::new(),
    );
    let mut mine = query(None);
    mine.filter.account_id = None;
    let page = h.engine.list_audit_newest(&other, &mine).unwrap();
    assert_eq!(of(&page), [ids[1].clone()]);
    let forward = Some(Engine::audit_page_token(1));
    assert!(matches!(
        h.engine.list_audit_newest(&admin(), &query(forward)),
        Err(Error::InvalidArgument(_))
    ));
}
