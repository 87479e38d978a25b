//! The console's overview: credentials counted by status, what expires and
//! what turns inactive within the next 30 days, and the outbox. One scan of
//! the credentials the actor may read, kept for [`OVERVIEW_TTL`] per
//! account (or all) by the engine's clock, so an overview refreshed every
//! second by several browsers costs one scan every few seconds, not one
//! per request. One overview is computed at a time: requests that find it
//! expired together wait for one scan and share its result.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::access::{Actor, Scope};
use super::{Engine, Error};
use crate::lifecycle::{self, Kind, Status};
use crate::offload;

/// How long one computed overview is shown before it is computed again.
pub const OVERVIEW_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// How far ahead the overview looks for expiry and inactivity.
pub const OVERVIEW_HORIZON_DAYS: i64 = 30;
/// Most entries each of the overview's lists shows (their totals are exact).
pub const OVERVIEW_LIST_LIMIT: usize = 50;

/// A credential named in one of the overview's lists.
#[derive(Debug, Clone)]
pub struct Upcoming {
    /// Its id.
    pub id: String,
    /// Its account.
    pub account_id: String,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// When it expires, or is disabled for inactivity.
    pub at: DateTime<Utc>,
}

/// What the overview shows.
#[derive(Debug, Clone, Default)]
pub struct Overview {
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
    /// Credentials (not admin keys) by effective status, in `Status` order:
    /// active, disabled, expired, revoked.
    pub counts: [u64; 4],
    /// Live credentials expiring within the horizon, soonest first.
    pub expiring: Vec<Upcoming>,
    /// How many expire within the horizon in all.
    pub expiring_total: u64,
    /// Active credentials disabled for inactivity within the horizon
    /// unless used, soonest first.
    pub turning_inactive: Vec<Upcoming>,
    /// How many in all.
    pub turning_inactive_total: u64,
    /// Notices in the outbox about the same credentials.
    pub notices_queued: u64,
    /// Of those, queued more than an hour ago: delivery is failing.
    pub notices_delayed: u64,
}

/// Overviews computed recently, per account (`None`: all accounts), and
/// the lock one computation holds.
#[derive(Default)]
pub(super) struct OverviewCache {
    computed: Mutex<HashMap<Option<String>, Arc<Overview>>>,
    computing: Mutex<()>,
}

impl OverviewCache {
    /// The overview of `account` computed less than [`OVERVIEW_TTL`]
    /// before `now` (one computed "after" `now`, the clock having gone
    /// back, is stale).
    fn fresh(&self, account: &Option<String>, now: DateTime<Utc>) -> Option<Arc<Overview>> {
        let ttl = Duration::from_std(OVERVIEW_TTL).unwrap_or_default();
        let computed = self.computed.lock().unwrap_or_else(|e| e.into_inner());
        computed
            .get(account)
            .filter(|o| {
                let age = now - o.computed_at;
                age >= Duration::zero() && age < ttl
            })
            .cloned()
    }

    fn keep(&self, account: Option<String>, overview: Arc<Overview>) {
        let mut computed = self.computed.lock().unwrap_or_else(|e| e.into_inner());
        computed.insert(account, overview);
    }
}

impl Engine {
    /// The overview of the credentials `actor` may read: all accounts, or
    /// its own when it is confined to one.
    ///
    /// # Errors
    /// `PermissionDenied` without `credentials:read`, storage.
    pub fn overview(&self, actor: &Actor) -> Result<Arc<Overview>, Error> {
        let account = actor.account().map(str::to_string);
        self.authorize(
            actor,
            "console.overview",
            "",
            account.as_deref().unwrap_or_default(),
            actor.allows(Scope::CredentialsRead, account.as_deref()),
        )?;
        let cache = &self.overview_cache;
        if let Some(fresh) = cache.fresh(&account, self.clock.now()) {
            return Ok(fresh);
        }
        // Waiting for another request's scan happens off the async workers
        // too; that scan's result is then fresh.
        offload::blocking(|| {
            let _computing = cache.computing.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(fresh) = cache.fresh(&account, self.clock.now()) {
                return Ok(fresh);
            }
            let overview = Arc::new(self.compute_overview(account.as_deref())?);
            cache.keep(account.clone(), overview.clone());
            Ok(overview)
        })
    }

    /// The notices waiting in the outbox that `actor` may see (its
    /// account's, or all), oldest first, at most `limit`.
    ///
    /// # Errors
    /// `PermissionDenied` without `credentials:read`, storage.
    pub fn queued_notices(
        &self,
        actor: &Actor,
        limit: usize,
    ) -> Result<Vec<crate::store::OutboxNotice>, Error> {
        let account = actor.account();
        self.authorize(
            actor,
            "notice.list",
            "",
            account.unwrap_or_default(),
            actor.allows(Scope::CredentialsRead, account),
        )?;
        let mut notices: Vec<_> = self
            .store
            .outbox()?
            .into_iter()
            .filter(|n| account.is_none_or(|a| a == n.account_id))
            .collect();
        notices.sort_by_key(|n| n.queued_at);
        notices.truncate(limit);
        Ok(notices)
    }

    fn compute_overview(&self, account: Option<&str>) -> Result<Overview, Error> {
        let now = self.clock.now();
        let horizon = now + Duration::days(OVERVIEW_HORIZON_DAYS);
        let mut overview = Overview {
            computed_at: now,
            ..Overview::default()
        };
        for record in self.store.scan(account, None) {
            let record = record?;
            if matches!(record.kind, Kind::AdminKey | Kind::Session) {
                continue;
            }
            let status = lifecycle::effective_status(&record, now);
            overview.counts[status_index(status)] += 1;
            let upcoming = |at| Upcoming {
                id: record.id.clone(),
                account_id: record.account_id.clone(),
                name: record.name.clone(),
                kind: record.kind,
                at,
            };
            if lifecycle::expires_within(&record, Duration::days(OVERVIEW_HORIZON_DAYS), now) {
                overview.expiring_total += 1;
                keep_soonest(&mut overview.expiring, upcoming(record.expires_at));
            }
            if status == Status::Active {
                let last_used = self.last_use(&record)?;
                if let Some(at) =
                    lifecycle::inactivity_disable_at(&record, status, last_used, &self.policy)
                        .filter(|at| *at <= horizon)
                {
                    overview.turning_inactive_total += 1;
                    keep_soonest(&mut overview.turning_inactive, upcoming(at));
                }
            }
        }
        let hour_ago = now - Duration::hours(1);
        let outbox = self.store.outbox()?;
        for notice in outbox
            .iter()
            .filter(|n| account.is_none_or(|a| a == n.account_id))
        {
            overview.notices_queued += 1;
            if notice.queued_at < hour_ago {
                overview.notices_delayed += 1;
            }
        }
        Ok(overview)
    }
}

/// The index of `status` in [`Overview::counts`].
pub fn status_index(status: Status) -> usize {
    match status {
        Status::Active => 0,
        Status::Disabled => 1,
        Status::Expired => 2,
        Status::Revoked => 3,
    }
}

/// Adds `item` to `list`, kept sorted by time and at most
/// [`OVERVIEW_LIST_LIMIT`] long.
fn keep_soonest(list: &mut Vec<Upcoming>, item: Upcoming) {
    let at = list.partition_point(|u| u.at <= item.at);
    if at < OVERVIEW_LIST_LIMIT {
        list.insert(at, item);
        list.truncate(OVERVIEW_LIST_LIMIT);
    }
}
