//! Grant notices in the engine: an expiring grant warns both accounts once
//! ahead and once at its expiry, through the sweep and the outbox.

use super::*;

/// An expiring grant warns both accounts' contacts once ahead of its expiry
/// and once when it expires, through the sweep and the outbox.
#[tokio::test]
async fn grant_expiry_notices() {
    use crate::engine::NewAccount;
    use crate::lifecycle::NoticeKind;
    let h = harness();
    for (id, contact) in [
        ("MYPRODUCT", "partner@example.com"),
        ("LAGERMAN", "client@example.com"),
    ] {
        h.engine
            .create_account(
                &admin(),
                NewAccount {
                    id: id.to_string(),
                    contact_emails: vec![contact.to_string()],
                    ..NewAccount::default()
                },
            )
            .await
            .unwrap();
    }
    h.engine
        .register_partner(&admin(), "MYPRODUCT", "", &[])
        .await
        .unwrap();
    let mut new = grant("MYPRODUCT", "LAGERMAN", &[]);
    new.lifetime = Some(Duration::days(40));
    let g = h.engine.create_grant(&admin(), new).await.unwrap();
    let grant_notices = |h: &Harness| -> Vec<NoticeKind> {
        h.engine
            .store()
            .outbox()
            .unwrap()
            .into_iter()
            .filter(|n| n.credential_id == g.id)
            .map(|n| n.kind)
            .collect()
    };
    h.engine.sweep().await.unwrap();
    assert!(grant_notices(&h).is_empty());
    h.clock.advance(Duration::days(10));
    h.engine.sweep().await.unwrap();
    h.engine.sweep().await.unwrap();
    assert_eq!(grant_notices(&h), vec![NoticeKind::GrantExpiringSoon]);
    let queued = h.engine.store().outbox().unwrap();
    let notice = queued.iter().find(|n| n.credential_id == g.id).unwrap();
    assert_eq!(
        notice.recipients,
        vec![
            "client@example.com".to_string(),
            "partner@example.com".to_string()
        ]
    );
    h.clock.advance(Duration::days(30));
    h.engine.sweep().await.unwrap();
    let mut kinds = grant_notices(&h);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![NoticeKind::GrantExpiringSoon, NoticeKind::GrantExpired]
    );
    // A revoked grant warns no more.
    let later = h
        .engine
        .create_grant(&admin(), {
            let mut n = grant("MYPRODUCT", "LAGERMAN", &[]);
            n.lifetime = Some(Duration::days(1));
            n
        })
        .await
        .unwrap();
    h.engine
        .revoke_grant(&admin(), &later.id, "")
        .await
        .unwrap();
    h.engine.sweep().await.unwrap();
    assert!(
        h.engine
            .store()
            .outbox()
            .unwrap()
            .iter()
            .all(|n| n.credential_id != later.id)
    );
}
