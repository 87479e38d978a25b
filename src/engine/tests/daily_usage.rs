//! Daily usage in the engine: Verify answers counted per credential and
//! account and day, reported before and after a flush, the report's bad
//! input and access, and the retention sweep.

use chrono::NaiveDate;

use super::*;
use crate::engine::{UsageDay, UsageQuery};
use crate::lifecycle::UsageBucket;

fn by_credential(id: &str) -> UsageQuery {
    UsageQuery {
        credential_id: Some(id.to_string()),
        ..UsageQuery::default()
    }
}

fn by_account(id: &str) -> UsageQuery {
    UsageQuery {
        account_id: Some(id.to_string()),
        ..UsageQuery::default()
    }
}

/// (valid, insufficient scope, revoked) of a report's only day.
fn one_day(days: &[UsageDay]) -> (u64, u64, u64) {
    assert_eq!(days.len(), 1, "{days:?}");
    let c = &days[0].counts;
    (
        c.get(UsageBucket::Valid),
        c.get(UsageBucket::InsufficientScope),
        c.get(UsageBucket::Revoked),
    )
}

/// Known traffic shows in the report at once, stays the same across a
/// flush (no double count), sums per account, lands on the right UTC day,
/// and unknown secrets are not counted.
#[tokio::test]
async fn answers_are_counted_per_day_before_and_after_flush() {
    let h = harness();
    let (a, secret_a) = h.create("acme").await;
    let (b, secret_b) = h.create("acme").await;
    let (_, other) = h.create("globex").await;
    for _ in 0..3 {
        assert!(matches!(h.outcome(&secret_a), VerifyOutcome::Valid { .. }));
    }
    let refused = h
        .engine
        .verify(secret_a.expose(), None, &strings(&["admin"]))
        .unwrap();
    assert_eq!(refused.outcome, VerifyOutcome::InsufficientScope);
    h.engine
        .revoke(&admin(), &b.record.id, "leaked")
        .await
        .unwrap();
    assert_eq!(h.outcome(&secret_b), VerifyOutcome::Revoked);
    assert!(matches!(h.outcome(&other), VerifyOutcome::Valid { .. }));
    let unknown = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    assert_eq!(h.outcome(&unknown), VerifyOutcome::NotFound);

    let report = |q: UsageQuery| {
        let engine = h.engine.clone();
        async move { engine.usage_report(&admin(), &q).await.unwrap() }
    };
    assert_eq!(
        one_day(&report(by_credential(&a.record.id)).await),
        (3, 1, 0)
    );
    assert_eq!(one_day(&report(by_account("acme")).await), (3, 1, 1));
    h.engine.flush_usage().await.unwrap();
    assert_eq!(
        one_day(&report(by_credential(&a.record.id)).await),
        (3, 1, 0)
    );
    assert_eq!(one_day(&report(by_account("acme")).await), (3, 1, 1));
    assert_eq!(one_day(&report(by_account("globex")).await), (1, 0, 0));

    // The next UTC day gets its own row; the report is oldest first.
    let today = h.engine.now().date_naive();
    h.clock.set(
        (today + Duration::days(1))
            .and_hms_opt(0, 0, 1)
            .unwrap()
            .and_utc(),
    );
    assert!(matches!(h.outcome(&secret_a), VerifyOutcome::Valid { .. }));
    let days = report(by_credential(&a.record.id)).await;
    assert_eq!(
        days.iter().map(|d| d.date).collect::<Vec<_>>(),
        vec![today, today + Duration::days(1)]
    );
    // A range of the first day only.
    let first = report(UsageQuery {
        to: Some(today),
        ..by_credential(&a.record.id)
    })
    .await;
    assert_eq!(one_day(&first), (3, 1, 0));
}

/// Both subjects, neither, `from` after `to`, a range over 1000 days, an
/// unknown credential, and an admin key confined to another account.
#[tokio::test]
async fn bad_reports_are_refused() {
    let h = harness();
    let (a, _) = h.create("acme").await;
    let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
    let refused = [
        UsageQuery {
            account_id: Some("acme".to_string()),
            ..by_credential(&a.record.id)
        },
        UsageQuery::default(),
        UsageQuery {
            from: day("2026-03-02"),
            to: day("2026-03-01"),
            ..by_account("acme")
        },
        UsageQuery {
            from: day("2020-01-01"),
            to: day("2026-03-01"),
            ..by_account("acme")
        },
    ];
    for query in refused {
        let result = h.engine.usage_report(&admin(), &query).await;
        assert!(
            matches!(result, Err(Error::InvalidArgument(_))),
            "{query:?}: {result:?}"
        );
    }
    let missing = h
        .engine
        .usage_report(&admin(), &by_credential("cred_01M905ZQJ6WRZ0VB2XQX4S138T"))
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
    let globex_admin = Actor::admin_key(
        "key_globex",
        [Scope::CredentialsRead],
        Some("globex".to_string()),
        String::new(),
    );
    for query in [by_credential(&a.record.id), by_account("acme")] {
        let result = h.engine.usage_report(&globex_admin, &query).await;
        assert!(
            matches!(result, Err(Error::PermissionDenied(_))),
            "{result:?}"
        );
    }
    assert!(
        h.engine
            .usage_report(&globex_admin, &by_account("globex"))
            .await
            .is_ok()
    );
}

/// The sweep drops days past the retention and keeps the rest.
#[tokio::test]
async fn retention_sweep_drops_old_days() {
    let mut h = harness();
    Arc::get_mut(&mut h.engine)
        .unwrap()
        .set_usage_retention_days(2);
    let (a, secret_a) = h.create("acme").await;
    for _ in 0..3 {
        assert!(matches!(h.outcome(&secret_a), VerifyOutcome::Valid { .. }));
        h.engine.flush_usage().await.unwrap();
        h.clock.advance(Duration::days(1));
    }
    // Three days of rows (credential and account); the sweep keeps two days.
    assert_eq!(h.engine.store().usage_row_count(), 6);
    let report = h.engine.sweep().await.unwrap();
    assert_eq!(report.transitions.get("usage_rows_removed"), Some(&4));
    let query = UsageQuery {
        from: Some(h.engine.now().date_naive() - Duration::days(10)),
        ..by_credential(&a.record.id)
    };
    let days = h.engine.usage_report(&admin(), &query).await.unwrap();
    assert_eq!(days.len(), 1);
    assert_eq!(
        days[0].date,
        h.engine.now().date_naive() - Duration::days(1)
    );
}
