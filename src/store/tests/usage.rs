//! Daily usage rows: added counts sum per subject and day, a range reads
//! only its subject's days, and retention removes the oldest days first.

use super::*;
use crate::lifecycle::{UsageBucket, UsageCounts};
use crate::store::UsageSubject;

pub(super) fn counts(valid: u64, revoked: u64) -> UsageCounts {
    let mut c = UsageCounts::default();
    for _ in 0..valid {
        c.count(UsageBucket::Valid);
    }
    for _ in 0..revoked {
        c.count(UsageBucket::Revoked);
    }
    c
}

/// Adding to an existing row sums; subjects with a common prefix and the
/// credential and account spaces never mix; ranges are inclusive.
#[test]
fn rows_sum_per_subject_and_day() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let cred = UsageSubject::Credential("cred_a");
        let longer = UsageSubject::Credential("cred_ab");
        let account = UsageSubject::Account("cred_a");
        let mut done = 0;
        store
            .add_usage(
                &mut [
                    (cred, 100, counts(2, 0)),
                    (cred, 101, counts(1, 1)),
                    (longer, 100, counts(5, 0)),
                    (account, 100, counts(7, 0)),
                ],
                &mut done,
            )
            .unwrap();
        assert_eq!(done, 4);
        let mut done = 0;
        store
            .add_usage(&mut [(cred, 100, counts(3, 2))], &mut done)
            .unwrap();
        assert_eq!(
            store.usage_rows(cred, 0, 1000).unwrap(),
            vec![(100, counts(5, 2)), (101, counts(1, 1))]
        );
        assert_eq!(
            store.usage_rows(cred, 101, 101).unwrap(),
            vec![(101, counts(1, 1))]
        );
        assert_eq!(store.usage_rows(cred, 102, 200).unwrap(), vec![]);
        assert_eq!(
            store.usage_rows(longer, 0, 1000).unwrap(),
            vec![(100, counts(5, 0))]
        );
        assert_eq!(
            store.usage_rows(account, 0, 1000).unwrap(),
            vec![(100, counts(7, 0))]
        );
    }
}

/// Retention removes every row of the days before the first kept one, in
/// batches, and nothing after; the rows survive a reopen.
#[test]
fn retention_removes_old_days_only() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let mut rows: Vec<_> = (0..10)
            .flat_map(|day| {
                [
                    (UsageSubject::Credential("cred_a"), day, counts(1, 0)),
                    (UsageSubject::Account("acme"), day, counts(1, 0)),
                ]
            })
            .collect();
        let mut done = 0;
        store.add_usage(&mut rows, &mut done).unwrap();
        assert_eq!(store.usage_row_count(), 20);
        assert_eq!(store.remove_usage_before(6, 5).unwrap(), 5);
        assert_eq!(store.remove_usage_before(6, 100).unwrap(), 7);
        assert_eq!(store.remove_usage_before(6, 100).unwrap(), 0);
        assert_eq!(store.usage_row_count(), 8);
        let kept = store
            .usage_rows(UsageSubject::Credential("cred_a"), 0, 100)
            .unwrap();
        assert_eq!(kept.first().map(|(d, _)| *d), Some(6));
        drop(store);
        let again = fresh.open();
        assert_eq!(again.usage_row_count(), 8);
    }
}
