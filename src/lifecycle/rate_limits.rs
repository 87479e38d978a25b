//! Named rate limits: the rules a credential or an account carries
//! (`{name, limit, duration}`), their bounds, which of them one Verify
//! applies, and the all-or-nothing decision over their windows.
//!
//! **Algorithm: fixed windows that start at their first spend.** A limit's
//! window opens when a request first spends against it and ends `duration`
//! later; within it at most `limit` units are spent. We chose this over a
//! token bucket (governor, which holds the account's `default` limit) and
//! over a sliding log because the answer a gateway needs is exact and cheap:
//! `remaining` is `limit - used` and `reset` is the window's end, which is
//! what `RateLimit-Remaining` and `RateLimit-Reset` mean; a window is one
//! small value per (owner, name), so checking several limits and then
//! spending on all of them is a plain read and write under one lock (the
//! engine's), which governor cannot do across several limiters. The price
//! of fixed windows is the known one: a caller may spend `limit` at the end
//! of one window and `limit` again at the start of the next. A window's end
//! is fixed when it opens: a changed duration applies from the next window,
//! a changed limit at once.
//!
//! **Which limits a Verify applies.** The request names limits, each with a
//! cost. A name is looked up on the credential first, then on its account
//! (so a credential may tighten or loosen a name for itself; each counts
//! separately, the credential's per credential and the account's for the
//! whole account). A name found on neither is `INVALID_ARGUMENT`: a
//! misspelt name in a gateway's configuration is a mistake to surface at
//! once, not a limit to skip (that would fail open) nor a refusal that looks
//! like the key's fault. The name `default` is the account's existing
//! `rate_limit` (a token bucket of requests per second), which applies to
//! every Verify of the account's credentials exactly as before, named or
//! not; rules may not take that name, and naming it adds nothing (its cost
//! is always 1). A Verify that names no limits applies only that default.
//!
//! **Costs.** A cost spends that many units of the window; 0 checks only:
//! it passes when one more unit would fit and spends nothing. A cost above
//! a limit could never pass and is `INVALID_ARGUMENT`, as is a cost above
//! [`MAX_LIMIT`] whatever the limit.
//!
//! **All or nothing.** Every applied limit is checked first; only when all
//! fit is the cost spent on each. When one does not fit nothing is spent on
//! any and the answer is RATE_LIMITED, with `retry_after` the latest end
//! among the windows that did not fit (the cost fits then, being at most
//! the limit). Either way the answer carries each applied limit's state.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The largest `limit` of a rule, and the largest cost.
pub const MAX_LIMIT: u32 = 1_000_000_000;
/// The shortest window.
pub const MIN_DURATION: Duration = Duration::from_secs(1);
/// The longest window: 30 days.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// Most rules a credential or an account carries.
pub const MAX_RULES: usize = 16;
/// Most limits one Verify names (a credential's and its account's).
pub const MAX_REQUESTS: usize = 2 * MAX_RULES;
/// Longest name.
pub const MAX_NAME: usize = 64;
/// The name of the account's `rate_limit`, which every Verify applies.
pub const DEFAULT_NAME: &str = "default";

/// One named limit: at most `limit` units per window of `duration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitRule {
    /// 1 to 64 characters of `a-z 0-9 _ . : -`.
    pub name: String,
    /// Units per window, 1 to [`MAX_LIMIT`].
    pub limit: u32,
    /// The window, 1 s to 30 days, whole milliseconds.
    pub duration: Duration,
}

/// What one of `nodes` cluster nodes enforces of a `limit` shared by the
/// cluster: an even share, rounded down, at least 1. Across the nodes the
/// shares add up to at most the limit (or to `nodes` when the limit is
/// smaller than the number of nodes); a node that gets more than its share
/// of an account's calls refuses early. One node: the whole limit.
pub fn node_share(limit: u32, nodes: u32) -> u32 {
    (limit / nodes.max(1)).max(1)
}

/// One limit a Verify names, with what it spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRequest {
    /// The rule's name.
    pub name: String,
    /// Units to spend; 0 checks without spending.
    pub cost: u32,
}

/// Whose rule (and so whose counter) a limit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// The credential's own rule, counted per credential.
    Credential,
    /// The account's rule, counted for the whole account.
    Account,
}

/// A limit one Verify applies: the rule it resolved to and the cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Whose rule it is.
    pub owner: Owner,
    /// The rule.
    pub rule: RateLimitRule,
    /// Units to spend.
    pub cost: u32,
}

/// A limit's counter: a fixed window from `start` to `end` with `used`
/// units spent in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first spend of the window.
    pub start: DateTime<Utc>,
    /// `start` plus the rule's duration at that time.
    pub end: DateTime<Utc>,
    /// Units spent.
    pub used: u64,
}

impl Window {
    /// Whether the window is over at `now` (and may be forgotten).
    pub fn over(&self, now: DateTime<Utc>) -> bool {
        now >= self.end
    }
}

/// What a gateway is told about one applied limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitState {
    /// The rule's name.
    pub name: String,
    /// The rule's limit.
    pub limit: u32,
    /// Units left in the current window (after this request's spend).
    pub remaining: u32,
    /// Until the window ends (a full window when none is open).
    pub reset: Duration,
}

/// The all-or-nothing answer over a Verify's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitDecision {
    /// Every limit fits; the windows to keep, one per applied limit (None:
    /// nothing spent and none open), and the states after spending.
    Allowed {
        /// New windows, in the order of the applied limits.
        windows: Vec<Option<Window>>,
        /// States, in the same order.
        states: Vec<LimitState>,
    },
    /// At least one limit does not fit; nothing is spent.
    Limited {
        /// When every limit that did not fit has room again.
        retry_after: Duration,
        /// States, unchanged by this request.
        states: Vec<LimitState>,
    },
}

/// Checks a name: 1 to [`MAX_NAME`] characters of `a-z 0-9 _ . : -`.
///
/// # Errors
/// The text to show the caller, naming `field`.
pub fn check_name(field: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!(
            "{field} must be 1 to {MAX_NAME} characters, got {}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | ':' | '-'))
    {
        return Err(format!(
            "{field} may hold only a-z, 0-9, '_', '.', ':' and '-', found {c:?}"
        ));
    }
    Ok(())
}

/// Checks one rule's bounds; `field` is where it sits (`rate_limits[2]`).
///
/// # Errors
/// The text to show the caller, naming the field and why.
pub fn check_rule(field: &str, rule: &RateLimitRule) -> Result<(), String> {
    check_name(&format!("{field}.name"), &rule.name)?;
    if rule.name == DEFAULT_NAME {
        return Err(format!(
            "{field}.name \"{DEFAULT_NAME}\" is the account's rate_limit; choose another name"
        ));
    }
    if !(1..=MAX_LIMIT).contains(&rule.limit) {
        return Err(format!(
            "{field}.limit must be between 1 and {MAX_LIMIT}, got {}",
            rule.limit
        ));
    }
    if rule.duration < MIN_DURATION || rule.duration > MAX_DURATION {
        return Err(format!(
            "{field}.duration must be between 1s and 30 days, got {:?}",
            rule.duration
        ));
    }
    if rule.duration.subsec_nanos() % 1_000_000 != 0 {
        return Err(format!(
            "{field}.duration must be whole milliseconds, got {:?}",
            rule.duration
        ));
    }
    Ok(())
}

/// Checks a credential's or an account's rules: each one's bounds, at most
/// [`MAX_RULES`], no name twice.
///
/// # Errors
/// The text to show the caller, naming the field and why.
pub fn check_rules(field: &str, rules: &[RateLimitRule]) -> Result<(), String> {
    if rules.len() > MAX_RULES {
        return Err(format!(
            "{field} may hold at most {MAX_RULES} limits, got {}",
            rules.len()
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        check_rule(&format!("{field}[{i}]"), rule)?;
        if rules[..i].iter().any(|r| r.name == rule.name) {
            return Err(format!("{field}[{i}].name {:?} appears twice", rule.name));
        }
    }
    Ok(())
}

/// Checks what a Verify names before anything is looked up: names, at most
/// [`MAX_REQUESTS`], no name twice, costs at most [`MAX_LIMIT`].
///
/// # Errors
/// The text to show the caller, naming the field and why.
pub fn check_requests(field: &str, requests: &[LimitRequest]) -> Result<(), String> {
    if requests.len() > MAX_REQUESTS {
        return Err(format!(
            "{field} may name at most {MAX_REQUESTS} limits, got {}",
            requests.len()
        ));
    }
    for (i, request) in requests.iter().enumerate() {
        check_name(&format!("{field}[{i}].name"), &request.name)?;
        if requests[..i].iter().any(|r| r.name == request.name) {
            return Err(format!(
                "{field}[{i}].name {:?} appears twice",
                request.name
            ));
        }
        if request.cost > MAX_LIMIT {
            return Err(format!(
                "{field}[{i}].cost must be at most {MAX_LIMIT}, got {}",
                request.cost
            ));
        }
    }
    Ok(())
}

/// The limits a Verify applies besides the account's default: each named
/// one, found on the credential first, then on the account. `has_default`
/// says whether the account has a `rate_limit`, which naming `default`
/// stands for (it applies anyway).
///
/// # Errors
/// A name found on neither, `default` without an account limit or with a
/// cost other than 1, a cost above its limit: the text to show the caller.
pub fn resolve(
    field: &str,
    requests: &[LimitRequest],
    credential: &[RateLimitRule],
    account: &[RateLimitRule],
    has_default: bool,
) -> Result<Vec<Applied>, String> {
    let mut applied = Vec::with_capacity(requests.len());
    for (i, request) in requests.iter().enumerate() {
        let found = credential
            .iter()
            .find(|r| r.name == request.name)
            .map(|r| (Owner::Credential, r))
            .or_else(|| {
                account
                    .iter()
                    .find(|r| r.name == request.name)
                    .map(|r| (Owner::Account, r))
            });
        let Some((owner, rule)) = found else {
            if request.name == DEFAULT_NAME && has_default {
                if request.cost != 1 {
                    return Err(format!(
                        "{field}[{i}].cost: the default limit always costs 1, got {}",
                        request.cost
                    ));
                }
                continue;
            }
            return Err(format!(
                "{field}[{i}].name: no limit named {:?} on the credential or its account",
                request.name
            ));
        };
        if request.cost > rule.limit {
            return Err(format!(
                "{field}[{i}].cost {} is above the limit {} of {:?} and could never pass",
                request.cost, rule.limit, rule.name
            ));
        }
        applied.push(Applied {
            owner,
            rule: rule.clone(),
            cost: request.cost,
        });
    }
    Ok(applied)
}

/// The all-or-nothing decision: `windows[i]` is the counter of `limits[i]`
/// (None when it has none). See the module doc.
pub fn decide(limits: &[Applied], windows: &[Option<Window>], now: DateTime<Utc>) -> LimitDecision {
    let current: Vec<Option<Window>> = windows.iter().map(|w| w.filter(|w| !w.over(now))).collect();
    let mut retry_after: Option<Duration> = None;
    for (limit, window) in limits.iter().zip(&current) {
        let used = window.map_or(0, |w| w.used);
        if used + u64::from(limit.cost.max(1)) > u64::from(limit.rule.limit) {
            let wait = window.map_or(limit.rule.duration, |w| until(now, w.end));
            retry_after = Some(retry_after.map_or(wait, |r| r.max(wait)));
        }
    }
    if let Some(retry_after) = retry_after {
        return LimitDecision::Limited {
            retry_after,
            states: states(limits, &current, now),
        };
    }
    let windows: Vec<Option<Window>> = limits
        .iter()
        .zip(current)
        .map(|(limit, window)| spend(limit, window, now))
        .collect();
    LimitDecision::Allowed {
        states: states(limits, &windows, now),
        windows,
    }
}

/// The window after spending `limit.cost` (a check-only request opens none).
fn spend(limit: &Applied, window: Option<Window>, now: DateTime<Utc>) -> Option<Window> {
    if limit.cost == 0 {
        return window;
    }
    let mut window = window.unwrap_or_else(|| Window {
        start: now,
        end: now
            + chrono::Duration::from_std(limit.rule.duration)
                .unwrap_or_else(|_| chrono::Duration::seconds(1)),
        used: 0,
    });
    window.used += u64::from(limit.cost);
    Some(window)
}

fn states(limits: &[Applied], windows: &[Option<Window>], now: DateTime<Utc>) -> Vec<LimitState> {
    limits
        .iter()
        .zip(windows)
        .map(|(limit, window)| {
            let used = window.map_or(0, |w| w.used);
            LimitState {
                name: limit.rule.name.clone(),
                limit: limit.rule.limit,
                remaining: u32::try_from(u64::from(limit.rule.limit).saturating_sub(used))
                    .unwrap_or(0),
                reset: window.map_or(limit.rule.duration, |w| until(now, w.end)),
            }
        })
        .collect()
}

fn until(now: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
    (end - now).to_std().unwrap_or(Duration::ZERO)
}

/// The state to report for the limit with the fewest units left: the one a
/// gateway puts in its `RateLimit-*` headers.
pub fn tightest(states: &[LimitState]) -> Option<&LimitState> {
    states
        .iter()
        .min_by_key(|s| (s.remaining, std::cmp::Reverse(s.reset)))
}

#[cfg(test)]
mod tests;
