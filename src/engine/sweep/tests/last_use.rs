//! The last use and the sweep: a flushed use moves a due inactivity
//! deadline (lazy rescheduling), and a use that raced the sweep that
//! disabled its credential reactivates it when flushed.

use super::*;

/// A use flushed to `last_used` leaves the record and its deadline alone;
/// when the deadline comes due the sweep moves it instead of disabling,
/// and the credential is disabled a full period after that use.
#[tokio::test]
async fn flushed_use_moves_the_due_inactivity_deadline() {
    let h = harness();
    let (id, secret) = h.create(None).await;
    h.set(10);
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    assert_eq!(h.engine.flush_usage().await.unwrap(), 1);
    assert_eq!(h.record(&id).unwrap().last_used_at, None);
    assert!(
        h.engine
            .store()
            .has_deadline(&id, t(30), DeadlineEvent::InactivityDisable)
            .unwrap()
    );

    h.set(31);
    let report = h.sweep().await;
    assert_eq!(report.rescheduled, 1, "{report:?}");
    assert!(report.transitions.is_empty(), "{report:?}");
    let record = h.record(&id).unwrap();
    assert_eq!(record.status, Status::Active);
    assert_eq!(record.last_used_at, Some(t(10)));
    assert!(
        h.engine
            .store()
            .has_deadline(&id, t(40), DeadlineEvent::InactivityDisable)
            .unwrap()
    );
    assert!(
        !h.engine
            .store()
            .has_deadline(&id, t(30), DeadlineEvent::InactivityDisable)
            .unwrap()
    );

    h.set(40);
    let report = h.sweep().await;
    assert_eq!(
        report.transitions,
        transitions(&[("disable_inactivity", 1)])
    );
    assert_eq!(h.record(&id).unwrap().status, Status::Disabled);
}

/// A Verify that read the credential as ACTIVE just before the sweep
/// disabled it notes its use after the sweep's commit: the flush writes
/// that use through the record, which reactivates it with an audit entry.
/// An unwatched credential's use stays in `last_used` only.
#[tokio::test]
async fn use_racing_the_disabling_sweep_reactivates() {
    let h = harness();
    let (raced, _) = h.create(None).await;
    let (other, other_secret) = h.create(None).await;
    h.set(20);
    assert!(matches!(
        h.outcome(&other_secret),
        VerifyOutcome::Valid { .. }
    ));
    h.set(31);
    let report = h.sweep().await;
    assert_eq!(
        report.transitions,
        transitions(&[("disable_inactivity", 1)])
    );
    assert_eq!(h.record(&raced).unwrap().status, Status::Disabled);
    // The racing Verify's use, noted after the commit.
    h.engine.usage.record(&raced, t(31));

    assert_eq!(h.engine.flush_usage().await.unwrap(), 1);
    let record = h.record(&raced).unwrap();
    assert_eq!(record.status, Status::Active);
    assert_eq!(record.reactivated_at, Some(t(31)));
    assert_eq!(record.last_used_at, Some(t(31)));
    let filter = crate::store::AuditFilter {
        credential_id: Some(raced.clone()),
        action: Some("lifecycle.reactivate_on_use".to_string()),
        ..Default::default()
    };
    let page = h
        .engine
        .store()
        .audit_page(&filter, None, 10, 1000)
        .unwrap();
    assert_eq!(page.events.len(), 1, "reactivation audited once");
    assert_eq!(h.record(&other).unwrap().last_used_at, Some(t(20)));

    // Two flushes later the watch is over: a use goes to `last_used`.
    h.engine.flush_usage().await.unwrap();
    h.set(32);
    h.engine.usage.record(&raced, t(32));
    h.engine.flush_usage().await.unwrap();
    assert_eq!(h.record(&raced).unwrap().last_used_at, Some(t(31)));
    assert_eq!(h.engine.store().last_used(&raced).unwrap(), Some(t(32)));
}
