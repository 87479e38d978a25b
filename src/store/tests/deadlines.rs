//! The deadline index as the sweep reads it: due order, bounds, and the
//! inclusive `now`.

use super::*;

/// Due deadlines are those before `now`, earliest first, at most `limit`.
#[test]
fn due_deadlines_are_earliest_first_and_bounded() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let now = t0() + Duration::days(100);
        let mut a = record("cred_a", "acme", 1);
        a.scheduled = vec![
            Deadline {
                at: now - Duration::days(3),
                event: DeadlineEvent::ExpiryWarning,
            },
            Deadline {
                at: now + Duration::days(1),
                event: DeadlineEvent::Expire,
            },
        ];
        let mut b = record("cred_b", "acme", 2);
        b.scheduled = vec![
            Deadline {
                at: now - Duration::days(5),
                event: DeadlineEvent::RotationEnd,
            },
            Deadline {
                at: now - Duration::seconds(1),
                event: DeadlineEvent::InactivityDisable,
            },
        ];
        let mut c = record("cred_c", "acme2", 3);
        c.scheduled = vec![Deadline {
            // Before the Unix epoch: the sign-flipped key must still sort first.
            at: DateTime::<Utc>::UNIX_EPOCH - Duration::days(1),
            event: DeadlineEvent::InactivityDelete,
        }];
        for r in [&a, &b, &c] {
            insert(&store, r);
        }
        let due = store.due_deadlines(now, 100).unwrap();
        let got: Vec<(&str, DateTime<Utc>, DeadlineEvent)> = due
            .iter()
            .map(|d| (d.credential_id.as_str(), d.deadline.at, d.deadline.event))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "cred_c",
                    DateTime::<Utc>::UNIX_EPOCH - Duration::days(1),
                    DeadlineEvent::InactivityDelete
                ),
                (
                    "cred_b",
                    now - Duration::days(5),
                    DeadlineEvent::RotationEnd
                ),
                (
                    "cred_a",
                    now - Duration::days(3),
                    DeadlineEvent::ExpiryWarning
                ),
                (
                    "cred_b",
                    now - Duration::seconds(1),
                    DeadlineEvent::InactivityDisable
                ),
            ]
        );
        let first_two = store.due_deadlines(now, 2).unwrap();
        assert_eq!(first_two, due[..2].to_vec());
        assert!(store.due_deadlines(now, 0).unwrap().is_empty());
        assert!(
            store
                .due_deadlines(DateTime::<Utc>::UNIX_EPOCH - Duration::days(2), 100)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .due_deadlines(now + Duration::days(2), 100)
                .unwrap()
                .len(),
            5
        );
    }
}

/// A deadline due exactly at `now` is due (the range bound is inclusive).
#[test]
fn deadline_exactly_at_now_is_due() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let now = t0() + Duration::days(100);
        let mut a = record("cred_a", "acme", 1);
        a.scheduled = vec![Deadline {
            at: now,
            event: DeadlineEvent::Expire,
        }];
        insert(&store, &a);
        assert_eq!(
            store.due_deadlines(now, 10).unwrap(),
            vec![DueDeadline {
                credential_id: "cred_a".into(),
                deadline: Deadline {
                    at: now,
                    event: DeadlineEvent::Expire,
                },
            }]
        );
        assert!(
            store
                .due_deadlines(now - Duration::microseconds(1), 10)
                .unwrap()
                .is_empty()
        );
    }
}
