//! Daily usage on a cluster (feature `etcd`, two engines on two nodes of
//! one etcd): each node counts the Verify answers it gave; once the day is
//! over, a flush publishes it and a report on either node counts both.

use std::time::Instant;

use super::*;
use crate::engine::{UsageDay, UsageQuery};
use crate::lifecycle::UsageBucket;

fn valid_on(days: &[UsageDay], date: chrono::NaiveDate) -> u64 {
    days.iter()
        .find(|d| d.date == date)
        .map_or(0, |d| d.counts.get(UsageBucket::Valid))
}

/// Polls `done` until it holds, for up to 5 s.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, done: impl Fn() -> F) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed().as_secs() < 5, "never: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_on_any_node_counts_every_nodes_past_days() {
    let Some((x, y, _dirs)) = crate::store::tests::cluster::two_nodes_with(
        "engine::tests::cluster_usage",
        pepper().fingerprint(),
    ) else {
        return;
    };
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = |store| {
        let clock = clock.clone() as Arc<dyn Clock>;
        let engine = Engine::new(store, pepper(), clock, Policy::standard(), "credd".into());
        Arc::new(engine.unwrap())
    };
    let (a, b) = (engine(x), engine(y));
    let (view, secret) = a
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await
        .unwrap();
    let id = view.record.id.clone();
    eventually("b knows the credential", || async {
        b.verify(secret.expose(), None, &[]).unwrap().outcome != VerifyOutcome::NotFound
    })
    .await;
    for (node, n) in [(&a, 3), (&b, 1)] {
        for _ in 0..n {
            let answer = node.verify(secret.expose(), None, &[]).unwrap();
            assert!(matches!(answer.outcome, VerifyOutcome::Valid { .. }));
        }
        node.flush_usage().await.unwrap();
    }
    let query = |account: bool| UsageQuery {
        credential_id: (!account).then(|| id.clone()),
        account_id: account.then(|| "acme".to_string()),
        ..UsageQuery::default()
    };
    let today = t0().date_naive();
    // The day is not over: each node counts only its own answers (b's
    // first answer may have come before it knew the credential as VALID,
    // so count from what b says about itself).
    let b_own = valid_on(
        &b.usage_report(&admin(), &query(false)).await.unwrap(),
        today,
    );
    assert!(b_own >= 1, "b counted its answers");
    let a_own = valid_on(
        &a.usage_report(&admin(), &query(false)).await.unwrap(),
        today,
    );
    assert_eq!(a_own, 3);

    // The next day's first flush publishes yesterday on both nodes.
    clock.set(t0() + Duration::days(1));
    a.flush_usage().await.unwrap();
    b.flush_usage().await.unwrap();
    for (node, name) in [(&a, "a"), (&b, "b")] {
        for account in [false, true] {
            eventually(
                &format!("{name} counts both nodes (account: {account})"),
                || async {
                    let days = node.usage_report(&admin(), &query(account)).await.unwrap();
                    valid_on(&days, today) == a_own + b_own
                },
            )
            .await;
        }
    }
}
