//! Credits (remaining uses, as Unkey's credits or Vault's `num_uses`): a
//! credential may carry a number of uses left, spent by Verify at a `cost`
//! each, and refilled daily or monthly to an amount. Pure: the refill
//! calendar, the spend decision and the admin changes, each given `now`.
//!
//! A refill sets the remaining uses to the amount (it does not add). Daily
//! refills happen at 00:00 UTC; monthly ones at 00:00 UTC of the refill day,
//! where a day past the month's end means its last day (31 refills on
//! 30 April and 28 or 29 February). Refills are applied lazily, when the
//! credential is next read: what matters is that a spend after a refill
//! instant sees the refilled amount.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// The most uses a credential may hold, and the largest cost or change.
pub const MAX_CREDITS: u64 = 1_000_000_000_000;

/// How often credits are refilled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefillInterval {
    /// Every day at 00:00 UTC.
    Daily,
    /// Every month on this day (1..=31) at 00:00 UTC.
    Monthly {
        /// The day of the month; past the month's end means its last day.
        day: u32,
    },
}

/// A refill: how often, and to how many uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refill {
    /// When.
    pub interval: RefillInterval,
    /// The remaining uses after a refill.
    pub amount: u64,
}

/// A credential's credits at one moment: the uses left and the last refill
/// instant that has been applied (or when the count was last set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditState {
    /// Uses left.
    pub remaining: u64,
    /// The latest refill instant applied, or when the count was set.
    pub as_of: DateTime<Utc>,
}

/// What a spend did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spend {
    /// Spent; this many are left.
    Spent(u64),
    /// Not enough left: nothing was spent; this many are left.
    Exceeded(u64),
}

/// Why credits or a refill were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditsError(pub String);

/// Checks a refill's amount and day.
///
/// # Errors
/// A zero or too large amount, or a monthly day outside 1..=31.
pub fn check_refill(refill: &Refill) -> Result<(), CreditsError> {
    if refill.amount == 0 || refill.amount > MAX_CREDITS {
        return Err(CreditsError(format!(
            "refill.amount must be 1 to {MAX_CREDITS}, not {}",
            refill.amount
        )));
    }
    if let RefillInterval::Monthly { day } = refill.interval {
        if !(1..=31).contains(&day) {
            return Err(CreditsError(format!(
                "refill.day must be 1 to 31 (a day past the month's end means its last day), not {day}"
            )));
        }
    }
    Ok(())
}

/// Checks a number of uses (a remaining count or a change to it).
///
/// # Errors
/// More than [`MAX_CREDITS`].
pub fn check_amount(field: &str, amount: u64) -> Result<(), CreditsError> {
    if amount > MAX_CREDITS {
        return Err(CreditsError(format!(
            "{field} must be at most {MAX_CREDITS}, not {amount}"
        )));
    }
    Ok(())
}

/// The first refill instant strictly after `after`.
pub fn next_refill(refill: &Refill, after: DateTime<Utc>) -> DateTime<Utc> {
    let date = after.date_naive();
    match refill.interval {
        RefillInterval::Daily => midnight(date + Duration::days(1)),
        RefillInterval::Monthly { day } => {
            let this_month = midnight(day_in_month(date.year(), date.month(), day));
            if this_month > after {
                return this_month;
            }
            let (year, month) = if date.month() == 12 {
                (date.year() + 1, 1)
            } else {
                (date.year(), date.month() + 1)
            };
            midnight(day_in_month(year, month, day))
        }
    }
}

/// `state` with every refill due by `now` applied: the remaining uses set
/// to the amount when a refill instant has passed since `state.as_of`.
pub fn refilled(state: CreditState, refill: Option<&Refill>, now: DateTime<Utc>) -> CreditState {
    let Some(refill) = refill else {
        return state;
    };
    let mut due = next_refill(refill, state.as_of);
    if due > now {
        return state;
    }
    // The latest refill instant not after `now` (bounded: one step per
    // day or month, and only the last one matters).
    for _ in 0..4000 {
        let next = next_refill(refill, due);
        if next > now {
            break;
        }
        due = next;
    }
    CreditState {
        remaining: refill.amount,
        as_of: due,
    }
}

/// Spends `cost` uses from `state` (refills already applied): all of it, or
/// nothing when fewer are left. A cost of 0 checks without spending.
pub fn spend(state: &mut CreditState, cost: u64) -> Spend {
    if cost > state.remaining {
        return Spend::Exceeded(state.remaining);
    }
    state.remaining -= cost;
    Spend::Spent(state.remaining)
}

/// The most uses one claim hands a cluster node beyond what its request
/// needs: what a node that crashes can strand.
pub const MAX_CLAIM: u64 = 1000;

/// A cluster node's claim on a credential's shared pool of credits (the
/// uses no node holds yet), at `now`: the pool refilled first, then, when
/// it holds `need`, `need` or more taken (a share of the pool: a quarter of
/// it split between `nodes`, at most [`MAX_CLAIM`]). Returns the pool after
/// and how many were granted (0: the pool holds fewer than `need`, nothing
/// is taken).
pub fn claim(
    pool: CreditState,
    refill: Option<&Refill>,
    now: DateTime<Utc>,
    need: u64,
    nodes: u32,
) -> (CreditState, u64) {
    let mut pool = refilled(pool, refill, now);
    if pool.remaining < need || need == 0 {
        return (pool, 0);
    }
    let share = (pool.remaining / (4 * u64::from(nodes.max(1)))).min(MAX_CLAIM);
    let granted = need.max(share);
    pool.remaining -= granted;
    (pool, granted)
}

/// Whether uses claimed from a pool refilled as of `as_of` may still be
/// spent at `now`: not once a refill instant has passed (the refill sets
/// the pool anew, and what was claimed before it lapses).
pub fn claim_current(as_of: DateTime<Utc>, refill: Option<&Refill>, now: DateTime<Utc>) -> bool {
    refill.is_none_or(|refill| next_refill(refill, as_of) > now)
}

/// An admin's change to the remaining uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditChange {
    /// Set to exactly this many.
    Set(u64),
    /// Add this many (capped at [`MAX_CREDITS`]).
    Increment(u64),
    /// Take this many away (not below zero).
    Decrement(u64),
}

/// The remaining uses after `change`.
pub fn changed(remaining: u64, change: CreditChange) -> u64 {
    match change {
        CreditChange::Set(n) => n,
        CreditChange::Increment(n) => remaining.saturating_add(n).min(MAX_CREDITS),
        CreditChange::Decrement(n) => remaining.saturating_sub(n),
    }
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
}

/// `day` of the month, or the month's last day when it has fewer.
fn day_in_month(year: i32, month: u32, day: u32) -> NaiveDate {
    (1..=day.max(1))
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests;
