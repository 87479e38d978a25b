//! Usage across a cluster: each node counts its own Verify answers; once a
//! day is over each publishes its rows, and a report on either node adds
//! the other's. Late counts for a published day publish it again (a copy,
//! never added twice), and the leader's retention removes every node's
//! published rows.

use super::cluster::{eventually, two_nodes};
use super::usage::counts;
use super::*;
use crate::lifecycle::UsageCounts;
use crate::store::UsageSubject;

fn add(store: &Store, rows: &mut [(UsageSubject<'_>, i32, UsageCounts)]) {
    let mut done = 0;
    store.add_usage(rows, &mut done).unwrap();
    assert_eq!(done, rows.len());
}

#[test]
fn reports_count_every_nodes_published_days() {
    let Some((x, y, _dirs)) = two_nodes("store::tests::cluster_usage::reports") else {
        return;
    };
    let cred = UsageSubject::Credential("cred_u");
    let acme = UsageSubject::Account("acme");
    add(
        &x,
        &mut [(cred, 100, counts(3, 0)), (acme, 100, counts(3, 0))],
    );
    add(
        &y,
        &mut [(cred, 100, counts(2, 1)), (acme, 100, counts(2, 1))],
    );
    // Before publication each node knows its own counts only.
    assert_eq!(
        x.usage_rows(cred, 100, 100).unwrap(),
        vec![(100, counts(3, 0))]
    );
    assert_ne!(x.node_id().unwrap(), y.node_id().unwrap());

    assert_eq!(x.publish_usage(100).unwrap(), 2);
    assert_eq!(y.publish_usage(100).unwrap(), 2);
    assert_eq!(x.publish_usage(100).unwrap(), 0, "a day is published once");
    for (node, name) in [(&x, "x"), (&y, "y")] {
        eventually(&format!("{name} counts both nodes"), || {
            node.usage_rows(cred, 99, 101).unwrap() == vec![(100, counts(5, 1))]
                && node.usage_rows(acme, 100, 100).unwrap() == vec![(100, counts(5, 1))]
        });
    }

    // A flush that lands after midnight adds to a published day: it is
    // published again, as a copy.
    add(
        &x,
        &mut [(cred, 100, counts(1, 0)), (cred, 101, counts(4, 0))],
    );
    assert_eq!(x.publish_usage(101).unwrap(), 3);
    eventually("y counts the late use and the next day", || {
        y.usage_rows(cred, 100, 101).unwrap() == vec![(100, counts(6, 1)), (101, counts(4, 0))]
    });
    assert_eq!(
        x.usage_rows(cred, 100, 100).unwrap(),
        vec![(100, counts(6, 1))]
    );

    // Retention: only the leader removes published rows, every node's.
    let leads = |s: &Store| *s.leading().borrow();
    eventually("one node leads", || leads(&x) || leads(&y));
    let (leader, other) = if leads(&x) { (&x, &y) } else { (&y, &x) };
    assert_eq!(other.remove_published_before(101, 100).unwrap(), 0);
    assert_eq!(leader.remove_published_before(101, 100).unwrap(), 4);
    eventually("both replicas drop day 100's published rows", || {
        x.published_usage_count() == 1 && y.published_usage_count() == 1
    });
}
