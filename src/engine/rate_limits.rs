//! Named rate limits at Verify: the counters, and the one place a Verify's
//! named limits are resolved and spent. The rules (bounds, resolution, the
//! all-or-nothing decision) are `lifecycle::rate_limits`.
//!
//! The counters are one fixed window per (account, credential or none,
//! name), in memory on this node only, like the account's `default` token
//! bucket (`accounts.rs`): they are not durable, a restart starts every
//! window afresh, and each node of a cluster counts on its own.
//!
//! Every limit one Verify applies belongs to the credential or to its
//! account, so the windows live in shards chosen by the account id: the
//! check of all of a request's limits and the spend on all of them happen
//! under one shard lock, which is what makes them all or nothing.
//!
//! Memory stays bounded by the windows in use: a window whose end has
//! passed means the same as no window, and a shard drops such windows
//! whenever it has doubled since its last sweep (amortised O(1) a spend);
//! a check-only request (cost 0) opens none. A window lives at most its
//! rule's duration (30 days), so the table holds at most one entry per
//! limit spent on within the last 30 days.
//!
//! Fail closed: should a shard's lock be poisoned (a panic while it was
//! held), the request is refused RATE_LIMITED rather than let through.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::error;

use super::verify::{VerifiedCredential, VerifyQuery};
use super::{Engine, Error};
use crate::lifecycle::rate_limits::{
    self, Applied, LimitDecision, LimitRequest, LimitState, Owner, RateLimitRule, Window,
};
use crate::lifecycle::{CredentialRecord, SecretVersion, VerifyOutcome, decide_verify};

/// Shards of the window table.
const SHARDS: usize = 64;
/// A shard is not swept below this many windows.
const MIN_SWEEP: usize = 1024;

/// The wait a refused request is told when the counters failed.
const FAILED_RETRY: Duration = Duration::from_secs(1);

/// Whose window: the account, and the credential for a credential's rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: String,
    credential: Option<String>,
    name: String,
}

#[derive(Debug, Default)]
struct Shard {
    windows: HashMap<Key, Window>,
    /// Sweep when the table grows past this.
    sweep_above: usize,
}

impl Shard {
    fn sweep(&mut self, now: DateTime<Utc>) {
        if self.windows.len() <= self.sweep_above.max(MIN_SWEEP) {
            return;
        }
        self.windows.retain(|_, w| !w.over(now));
        self.sweep_above = 2 * self.windows.len();
    }
}

/// The named limits' windows, sharded by account.
#[derive(Debug)]
pub(crate) struct LimitCounters {
    shards: Vec<Mutex<Shard>>,
    hasher: RandomState,
}

impl Default for LimitCounters {
    fn default() -> Self {
        LimitCounters {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: RandomState::new(),
        }
    }
}

impl LimitCounters {
    /// Checks `limits` of one credential of `account` and, when all fit,
    /// spends on each; see `lifecycle::rate_limits::decide`.
    pub fn apply(
        &self,
        account: &str,
        credential: &str,
        limits: &[Applied],
        now: DateTime<Utc>,
    ) -> LimitDecision {
        let shard_no = usize::try_from(self.hasher.hash_one(account) % SHARDS as u64).unwrap_or(0);
        let Ok(mut shard) = self.shards[shard_no].lock() else {
            error!(account_id = %account, "rate-limit counters unusable; refusing");
            return LimitDecision::Limited {
                retry_after: FAILED_RETRY,
                states: Vec::new(),
            };
        };
        let keys: Vec<Key> = limits
            .iter()
            .map(|limit| Key {
                account: account.to_string(),
                credential: (limit.owner == Owner::Credential).then(|| credential.to_string()),
                name: limit.rule.name.clone(),
            })
            .collect();
        let windows: Vec<Option<Window>> = keys
            .iter()
            .map(|key| shard.windows.get(key).copied())
            .collect();
        let decision = rate_limits::decide(limits, &windows, now);
        if let LimitDecision::Allowed { windows, .. } = &decision {
            for (key, window) in keys.into_iter().zip(windows) {
                match window {
                    Some(window) => shard.windows.insert(key, *window),
                    None => shard.windows.remove(&key),
                };
            }
            shard.sweep(now);
        }
        decision
    }

    /// Windows held, for tests of the memory bound.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.windows.len()))
            .sum()
    }
}

/// Checks a credential's or an account's rules (`field` names them).
pub(super) fn check_rules(field: &str, rules: &[RateLimitRule]) -> Result<(), Error> {
    rate_limits::check_rules(field, rules).map_err(Error::InvalidArgument)
}

/// Checks the limits a Verify names, before anything is looked up.
pub(super) fn check_requests(requests: &[LimitRequest]) -> Result<(), Error> {
    rate_limits::check_requests("rate_limits", requests).map_err(Error::InvalidArgument)
}

impl Engine {
    /// The limits `requests` resolve to for a credential with `rules` of
    /// `account_id`.
    fn resolve_limits(
        &self,
        requests: &[LimitRequest],
        rules: &[RateLimitRule],
        account_id: &str,
    ) -> Result<Vec<Applied>, Error> {
        let account = self.accounts.get(account_id);
        let (account_rules, has_default) = account.as_ref().map_or((&[][..], false), |a| {
            (&a.record.rate_limits[..], a.record.rate_limit.is_some())
        });
        rate_limits::resolve("rate_limits", requests, rules, account_rules, has_default)
            .map_err(Error::UnknownRateLimit)
    }

    /// Refuses, before anything is spent, a request naming a limit the
    /// credential and its account do not have (or a cost above its limit),
    /// once the caller has shown a live secret of the credential with its
    /// own account: a foreign or stale secret learns nothing from it.
    pub(super) fn check_limit_names(
        &self,
        record: &CredentialRecord,
        version: &SecretVersion,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if query.rate_limits.is_empty()
            || !decide_verify(record, version, query.account_id, &[], now).reveals()
        {
            return Ok(());
        }
        self.resolve_limits(query.rate_limits, &record.rate_limits, &record.account_id)
            .map(drop)
    }

    /// The named limits of a VALID answer, all or nothing: RATE_LIMITED
    /// (spending nothing) when one does not fit. Returns the answer and
    /// each applied limit's state.
    pub(super) fn apply_rate_limits(
        &self,
        credential: &VerifiedCredential,
        requests: &[LimitRequest],
        outcome: VerifyOutcome,
        now: DateTime<Utc>,
    ) -> Result<(VerifyOutcome, Vec<LimitState>), Error> {
        if requests.is_empty() || !matches!(outcome, VerifyOutcome::Valid { .. }) {
            return Ok((outcome, Vec::new()));
        }
        let mut limits =
            self.resolve_limits(requests, &credential.rate_limits, &credential.account_id)?;
        // In a cluster each node enforces its share of a limit.
        let nodes = self.accounts.nodes();
        if nodes > 1 {
            for limit in &mut limits {
                limit.rule.limit = rate_limits::node_share(limit.rule.limit, nodes);
            }
        }
        match self
            .limits
            .apply(&credential.account_id, &credential.id, &limits, now)
        {
            LimitDecision::Allowed { states, .. } => Ok((outcome, states)),
            LimitDecision::Limited {
                retry_after,
                states,
            } => Ok((VerifyOutcome::RateLimited { retry_after }, states)),
        }
    }
}
