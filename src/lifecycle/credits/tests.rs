//! The refill calendar, spending and admin changes, at their boundaries.

use super::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn monthly(day: u32, amount: u64) -> Refill {
    Refill {
        interval: RefillInterval::Monthly { day },
        amount,
    }
}

const DAILY: Refill = Refill {
    interval: RefillInterval::Daily,
    amount: 100,
};

/// Daily refills fall at the next 00:00 UTC, strictly after the instant.
#[test]
fn daily_calendar() {
    assert_eq!(
        next_refill(&DAILY, at("2026-12-04T13:00:00Z")),
        at("2026-12-05T00:00:00Z")
    );
    assert_eq!(
        next_refill(&DAILY, at("2026-12-05T00:00:00Z")),
        at("2026-12-06T00:00:00Z")
    );
    assert_eq!(
        next_refill(&DAILY, at("2026-12-31T23:59:59Z")),
        at("2027-01-01T00:00:00Z")
    );
}

/// Monthly refills on the day, this month when still ahead, else next
/// month; a day past the month's end is its last day (leap years too).
#[test]
fn monthly_calendar() {
    let on_15 = monthly(15, 10);
    assert_eq!(
        next_refill(&on_15, at("2026-12-04T10:00:00Z")),
        at("2026-12-15T00:00:00Z")
    );
    assert_eq!(
        next_refill(&on_15, at("2026-12-15T00:00:00Z")),
        at("2027-01-15T00:00:00Z")
    );
    let on_31 = monthly(31, 10);
    assert_eq!(
        next_refill(&on_31, at("2027-01-31T00:00:00Z")),
        at("2027-02-28T00:00:00Z")
    );
    assert_eq!(
        next_refill(&on_31, at("2028-02-01T00:00:00Z")),
        at("2028-02-29T00:00:00Z")
    );
    assert_eq!(
        next_refill(&on_31, at("2027-04-02T00:00:00Z")),
        at("2027-04-30T00:00:00Z")
    );
    assert_eq!(
        next_refill(&monthly(1, 1), at("2026-12-01T00:00:00Z")),
        at("2027-01-01T00:00:00Z")
    );
}

/// A refill sets the amount once its instant has passed, however many
/// were missed, and records the latest instant; before it nothing changes.
#[test]
fn refills_apply_lazily() {
    let state = CreditState {
        remaining: 3,
        as_of: at("2026-12-04T10:00:00Z"),
    };
    assert_eq!(refilled(state, None, at("2027-06-01T00:00:00Z")), state);
    assert_eq!(
        refilled(state, Some(&DAILY), at("2026-12-04T23:59:59Z")),
        state
    );
    assert_eq!(
        refilled(state, Some(&DAILY), at("2026-12-05T00:00:00Z")),
        CreditState {
            remaining: 100,
            as_of: at("2026-12-05T00:00:00Z")
        }
    );
    assert_eq!(
        refilled(state, Some(&DAILY), at("2026-12-09T08:00:00Z")).as_of,
        at("2026-12-09T00:00:00Z")
    );
    let later = refilled(state, Some(&monthly(31, 7)), at("2027-03-01T00:00:00Z"));
    assert_eq!(later.remaining, 7);
    assert_eq!(later.as_of, at("2027-02-28T00:00:00Z"));
}

/// A spend takes all of its cost or nothing; cost 0 checks only.
#[test]
fn spending_is_all_or_nothing() {
    let mut state = CreditState {
        remaining: 3,
        as_of: at("2026-12-04T10:00:00Z"),
    };
    assert_eq!(spend(&mut state, 0), Spend::Spent(3));
    assert_eq!(spend(&mut state, 2), Spend::Spent(1));
    assert_eq!(spend(&mut state, 2), Spend::Exceeded(1));
    assert_eq!(state.remaining, 1);
    assert_eq!(spend(&mut state, 1), Spend::Spent(0));
    assert_eq!(spend(&mut state, 1), Spend::Exceeded(0));
    assert_eq!(spend(&mut state, 0), Spend::Spent(0));
}

/// Set, increment (capped) and decrement (not below zero).
#[test]
fn admin_changes() {
    assert_eq!(changed(5, CreditChange::Set(9)), 9);
    assert_eq!(changed(5, CreditChange::Increment(9)), 14);
    assert_eq!(
        changed(MAX_CREDITS - 1, CreditChange::Increment(9)),
        MAX_CREDITS
    );
    assert_eq!(changed(5, CreditChange::Decrement(9)), 0);
    assert_eq!(changed(5, CreditChange::Decrement(2)), 3);
}

/// Refill amounts and days, and amounts, are bounded with messages naming
/// the field.
#[test]
fn bounds() {
    assert!(check_refill(&monthly(31, 1)).is_ok());
    assert!(
        check_refill(&monthly(0, 1))
            .unwrap_err()
            .0
            .contains("refill.day")
    );
    assert!(
        check_refill(&monthly(32, 1))
            .unwrap_err()
            .0
            .contains("refill.day")
    );
    assert!(
        check_refill(&monthly(1, 0))
            .unwrap_err()
            .0
            .contains("refill.amount")
    );
    assert!(check_amount("remaining", MAX_CREDITS).is_ok());
    assert!(
        check_amount("remaining", MAX_CREDITS + 1)
            .unwrap_err()
            .0
            .contains("remaining")
    );
}

/// A claim takes what the request needs or a share of the pool (a quarter
/// split between the nodes, at most MAX_CLAIM), never more than the pool
/// holds, and nothing when the pool holds less than the need.
#[test]
fn claims_take_a_bounded_share() {
    let now = at("2026-12-04T13:00:00Z");
    let pool = |remaining| CreditState {
        remaining,
        as_of: at("2026-12-04T00:00:00Z"),
    };
    assert_eq!(claim(pool(100), None, now, 1, 2), (pool(88), 12));
    assert_eq!(claim(pool(100), None, now, 30, 2), (pool(70), 30));
    assert_eq!(claim(pool(3), None, now, 1, 2), (pool(2), 1));
    assert_eq!(claim(pool(1), None, now, 1, 5), (pool(0), 1));
    assert_eq!(claim(pool(0), None, now, 1, 1), (pool(0), 0));
    assert_eq!(claim(pool(4), None, now, 5, 1), (pool(4), 0));
    assert_eq!(claim(pool(4), None, now, 0, 1), (pool(4), 0));
    let big = claim(pool(MAX_CREDITS), None, now, 1, 3);
    assert_eq!(big.1, MAX_CLAIM);
}

/// A claim refills the pool first; what was claimed before a refill lapses
/// at its instant.
#[test]
fn claims_follow_the_refill() {
    let before = at("2026-12-04T23:59:59Z");
    let after = at("2026-12-05T00:00:00Z");
    let drained = CreditState {
        remaining: 0,
        as_of: at("2026-12-04T00:00:00Z"),
    };
    assert_eq!(claim(drained, Some(&DAILY), before, 1, 1).1, 0);
    let (pool, granted) = claim(drained, Some(&DAILY), after, 1, 1);
    assert_eq!((pool.remaining, pool.as_of, granted), (75, after, 25));
    assert!(claim_current(drained.as_of, Some(&DAILY), before));
    assert!(!claim_current(drained.as_of, Some(&DAILY), after));
    assert!(claim_current(drained.as_of, None, after));
}
