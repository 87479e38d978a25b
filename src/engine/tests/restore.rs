//! Re-applying the revocation journal to a restored store: each kind of
//! line, a line the store already reflects, a credential made after the
//! backup, and a rotation whose new secret the backup lacks.

use super::*;
use crate::store::{JournalEntry, JournalEvent};

fn line(n: u64, id: &str, event: JournalEvent, versions: Vec<u32>) -> JournalEntry {
    JournalEntry {
        n,
        id: id.to_string(),
        event,
        versions,
        revision: None,
        account: String::new(),
        user: String::new(),
    }
}

fn outcome(h: &Harness, secret: &Secret) -> VerifyOutcome {
    h.engine.verify(secret.expose(), None, &[]).unwrap().outcome
}

#[tokio::test]
async fn every_journal_line_is_reapplied_once() {
    let h = harness();
    let mut made = Vec::new();
    for _ in 0..5 {
        made.push(
            h.engine
                .create(&admin(), new_cred("acme", Kind::ApiKey))
                .await
                .unwrap(),
        );
    }
    let id = |n: usize| made[n].0.record.id.clone();
    // Credential 3 is mid-rotation in the "backup": both versions.
    let (_, newer) = h.engine.rotate(&admin(), &id(3), None).await.unwrap();
    // Credential 4 was revoked before the backup already.
    h.engine.revoke(&admin(), &id(4), "earlier").await.unwrap();
    let entries = vec![
        line(0, &id(0), JournalEvent::Revoked, vec![]),
        line(1, &id(1), JournalEvent::Deleted, vec![]),
        line(2, &id(2), JournalEvent::Disabled, vec![]),
        line(3, &id(3), JournalEvent::Retired, vec![1]),
        line(4, &id(4), JournalEvent::Revoked, vec![]),
        line(
            5,
            "cred_01ARZ3NDEKTSV4RRFFQ69G5FAV",
            JournalEvent::Revoked,
            vec![],
        ),
    ];
    let report = h.engine.reapply_journal(&entries).await.unwrap();
    assert_eq!(
        report,
        ReapplyReport {
            applied: 4,
            unchanged: 1,
            absent: 1
        }
    );
    assert!(matches!(outcome(&h, &made[0].1), VerifyOutcome::Revoked));
    assert!(matches!(outcome(&h, &made[1].1), VerifyOutcome::NotFound));
    assert!(matches!(
        outcome(&h, &made[2].1),
        VerifyOutcome::Disabled(_)
    ));
    assert!(
        matches!(outcome(&h, &made[3].1), VerifyOutcome::NotFound),
        "the retired version stopped"
    );
    assert!(
        matches!(outcome(&h, &newer), VerifyOutcome::Valid { .. }),
        "the newer version stays"
    );
    // Again: nothing left to do.
    let again = h.engine.reapply_journal(&entries[..5]).await.unwrap();
    assert_eq!(again.applied, 0);
    let audited = h
        .engine
        .store()
        .audit_page(
            &AuditFilter {
                action: Some("credential.restore_reapply".into()),
                ..Default::default()
            },
            None,
            100,
            10_000,
        )
        .unwrap();
    assert_eq!(audited.events.len(), 4);
    assert!(audited.events.iter().all(|e| e.actor == "restore"));
}

/// A rotation begun and completed after the backup: its only restored
/// secret was retired, and the one that replaced it is not in the backup,
/// so the credential is revoked rather than left with a retired secret.
#[tokio::test]
async fn a_secret_rotated_away_after_the_backup_is_revoked() {
    let h = harness();
    let (view, secret) = h
        .engine
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await
        .unwrap();
    let report = h
        .engine
        .reapply_journal(&[line(0, &view.record.id, JournalEvent::Retired, vec![1])])
        .await
        .unwrap();
    assert_eq!(report.applied, 1);
    assert!(matches!(outcome(&h, &secret), VerifyOutcome::Revoked));
}

fn about(n: u64, event: JournalEvent, account: &str, user: &str) -> JournalEntry {
    JournalEntry {
        account: account.to_string(),
        user: user.to_string(),
        ..line(n, "", event, vec![])
    }
}

/// An account suspended and users disabled or deleted after the backup
/// are so again after the restore (a deleted user's passcode revoked);
/// lines about what the backup lacks are counted, and a second pass
/// changes nothing.
#[tokio::test]
async fn account_and_user_lines_are_reapplied() {
    let mut h = harness();
    super::users::cheap(&mut h);
    h.engine
        .create_account(
            &admin(),
            crate::engine::NewAccount {
                id: "acme2".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (_, secret) = h
        .engine
        .create(&admin(), new_cred("acme2", Kind::ApiKey))
        .await
        .unwrap();
    super::users::user(&h, "off").await;
    super::users::user(&h, "gone").await;
    let entries = vec![
        about(0, JournalEvent::AccountSuspended, "acme2", ""),
        about(1, JournalEvent::UserDisabled, "shop", "off"),
        about(2, JournalEvent::UserDeleted, "shop", "gone"),
        about(3, JournalEvent::UserDeleted, "shop", "made-later"),
        about(4, JournalEvent::AccountSuspended, "made-later", ""),
    ];
    let report = h.engine.reapply_journal(&entries).await.unwrap();
    assert_eq!(
        report,
        ReapplyReport {
            applied: 3,
            unchanged: 0,
            absent: 2
        }
    );
    assert!(matches!(outcome(&h, &secret), VerifyOutcome::Disabled(_)));
    let store = h.engine.store();
    assert_eq!(
        store.get_user("shop", "off").unwrap().unwrap().status,
        crate::lifecycle::UserStatus::Disabled
    );
    assert!(store.get_user("shop", "gone").unwrap().is_none());
    let again = h.engine.reapply_journal(&entries).await.unwrap();
    assert_eq!(
        again,
        ReapplyReport {
            applied: 0,
            unchanged: 2,
            absent: 3
        }
    );
}
