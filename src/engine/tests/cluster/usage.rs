//! Daily usage on a cluster (feature `etcd`, two engines on two nodes of
//! one etcd): each node counts the Verify answers it gave; once the day is
//! over, a flush publishes it and a report on either node counts both.

use super::*;
use crate::engine::{UsageDay, UsageQuery};
use crate::lifecycle::UsageBucket;

fn valid_on(days: &[UsageDay], date: chrono::NaiveDate) -> u64 {
    days.iter()
        .find(|d| d.date == date)
        .map_or(0, |d| d.counts.get(UsageBucket::Valid))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_on_any_node_counts_every_nodes_past_days() {
    let Some(Pair { a, b, clock, _dirs }) = pair("engine::tests::cluster::usage") else {
        return;
    };
    let (view, secret) = a
        .create(&admin(), new_cred("acme", Kind::ApiKey))
        .await
        .unwrap();
    let id = view.record.id.clone();
    known(&b, &id).await;
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
    // The day is not over: each node counts only its own answers.
    let b_own = valid_on(
        &b.usage_report(&admin(), &query(false)).await.unwrap(),
        today,
    );
    assert_eq!(b_own, 1);
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
