//! Daily usage counting: which counter a Verify answer adds to, the UTC
//! day it falls on, and how counts add up. Pure: the engine counts in
//! memory and the store keeps the sums per credential and per account per
//! day.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::VerifyOutcome;

/// What a counted Verify answered. Answers that name no credential
/// (unknown secrets, another account's key) are not counted: there is no
/// credential or account to count them for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageBucket {
    /// VALID.
    Valid,
    /// EXPIRED.
    Expired,
    /// REVOKED.
    Revoked,
    /// DISABLED, for any reason.
    Disabled,
    /// RATE_LIMITED.
    RateLimited,
    /// INSUFFICIENT_SCOPE.
    InsufficientScope,
    /// The credential's remaining uses would go below zero.
    UsageExceeded,
    /// Any other refusal of a known credential (NOT_DELEGATED,
    /// PARTNER_NOT_WHITELISTED).
    OtherRefusal,
}

/// Number of [`UsageBucket`]s.
pub const N_BUCKETS: usize = 8;

impl UsageBucket {
    /// The bucket of a Verify answer that named its credential, `None` for
    /// one that did not.
    pub fn of(outcome: &VerifyOutcome) -> Option<UsageBucket> {
        Some(match outcome {
            VerifyOutcome::Valid { .. } => UsageBucket::Valid,
            VerifyOutcome::Expired => UsageBucket::Expired,
            VerifyOutcome::Revoked => UsageBucket::Revoked,
            VerifyOutcome::Disabled(_) => UsageBucket::Disabled,
            VerifyOutcome::RateLimited { .. } => UsageBucket::RateLimited,
            VerifyOutcome::InsufficientScope => UsageBucket::InsufficientScope,
            VerifyOutcome::UsageExceeded => UsageBucket::UsageExceeded,
            VerifyOutcome::NotDelegated | VerifyOutcome::PartnerNotWhitelisted => {
                UsageBucket::OtherRefusal
            }
            VerifyOutcome::NotFound | VerifyOutcome::AccountMismatch => return None,
        })
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One day's counts of one credential or account, by bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UsageCounts(pub [u64; N_BUCKETS]);

impl UsageCounts {
    /// Counts one answer.
    pub fn count(&mut self, bucket: UsageBucket) {
        let slot = &mut self.0[bucket.index()];
        *slot = slot.saturating_add(1);
    }

    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &UsageCounts) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.saturating_add(theirs);
        }
    }

    /// The count of one bucket.
    pub fn get(&self, bucket: UsageBucket) -> u64 {
        self.0[bucket.index()]
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|n| *n == 0)
    }
}

/// A UTC day as days since 1970-01-01 (the store's key).
pub fn day_number(at: DateTime<Utc>) -> i32 {
    date_number(at.date_naive())
}

/// A date as days since 1970-01-01.
pub fn date_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
        - NaiveDate::from_ymd_opt(1970, 1, 1).map_or(0, |d| d.num_days_from_ce())
}

/// The date of a day number.
pub fn day_date(day: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(i64::from(day))))
        .unwrap_or(NaiveDate::MIN)
}

/// The first day kept when usage is kept for `retention_days` days up to
/// and including `today`.
pub fn first_kept_day(today: i32, retention_days: u32) -> i32 {
    today.saturating_sub(i32::try_from(retention_days).unwrap_or(i32::MAX) - 1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::lifecycle::DisabledReason;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Every answer that names a credential has its bucket; unknown secrets
    /// and another account's key are not counted.
    #[test]
    fn buckets_of_answers() {
        let cases = [
            (
                VerifyOutcome::Valid { retires_at: None },
                Some(UsageBucket::Valid),
            ),
            (VerifyOutcome::Expired, Some(UsageBucket::Expired)),
            (VerifyOutcome::Revoked, Some(UsageBucket::Revoked)),
            (
                VerifyOutcome::Disabled(DisabledReason::Inactivity),
                Some(UsageBucket::Disabled),
            ),
            (
                VerifyOutcome::RateLimited {
                    retry_after: Duration::from_secs(1),
                },
                Some(UsageBucket::RateLimited),
            ),
            (
                VerifyOutcome::InsufficientScope,
                Some(UsageBucket::InsufficientScope),
            ),
            (VerifyOutcome::NotDelegated, Some(UsageBucket::OtherRefusal)),
            (VerifyOutcome::NotFound, None),
            (VerifyOutcome::AccountMismatch, None),
        ];
        for (outcome, bucket) in cases {
            assert_eq!(UsageBucket::of(&outcome), bucket, "{outcome:?}");
        }
    }

    /// Counts add per bucket and saturate rather than wrap.
    #[test]
    fn counts_add_and_saturate() {
        let mut a = UsageCounts::default();
        assert!(a.is_empty());
        a.count(UsageBucket::Valid);
        a.count(UsageBucket::Valid);
        a.count(UsageBucket::Revoked);
        let mut b = UsageCounts::default();
        b.count(UsageBucket::Valid);
        b.add(&a);
        assert_eq!(b.get(UsageBucket::Valid), 3);
        assert_eq!(b.get(UsageBucket::Revoked), 1);
        assert_eq!(b.get(UsageBucket::Expired), 0);
        let mut full = UsageCounts([u64::MAX; N_BUCKETS]);
        full.add(&b);
        assert_eq!(full.get(UsageBucket::Valid), u64::MAX);
    }

    /// Days are UTC calendar days: the last microsecond of a day and the
    /// first of the next differ by one; dates round-trip.
    #[test]
    fn utc_days() {
        assert_eq!(day_number(at("1970-01-01T00:00:00Z")), 0);
        let late = day_number(at("2026-12-03T23:59:59.999999Z"));
        let next = day_number(at("2026-12-04T00:00:00Z"));
        assert_eq!(next, late + 1);
        assert_eq!(
            day_date(next),
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap()
        );
        assert_eq!(date_number(day_date(next)), next);
        // A time with an offset counts on its UTC day.
        assert_eq!(day_number(at("2026-12-04T01:00:00+02:00")), late);
    }

    /// 400 days of retention keep today and the 399 days before it.
    #[test]
    fn retention_window() {
        assert_eq!(first_kept_day(1000, 400), 601);
        assert_eq!(first_kept_day(1000, 1), 1000);
    }
}
