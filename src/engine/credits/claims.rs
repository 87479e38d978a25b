//! Credits on a cluster node: uses claimed from the credential's shared
//! pool, so a balance holds across the cluster (N nodes never spend more
//! than the balance between them).
//!
//! The pool (the store's replicated `credits` entry) holds the uses no node
//! has claimed. A Verify spends from the uses its node holds, in memory;
//! when they do not cover its cost, it claims more in one etcd transaction
//! (`lifecycle::credits::claim`: the cost, or a share of the pool, a
//! quarter of it split between the live nodes, at most `MAX_CLAIM`). So a
//! key used at any rate costs one etcd write per share, and its last uses
//! one write each. Claimed uses lapse at the next refill instant (the
//! refill sets the pool anew) and at an admin change (a new generation).
//! A node gives what it holds back when it stops; one that crashes strands
//! what it held (at most `MAX_CLAIM` per credential): fewer uses, never
//! more. A claim that cannot reach etcd fails Verify closed.
//!
//! What a node shows as remaining is the pool plus its own claimed uses:
//! other nodes' unspent claims are not in it.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::{CreditLedger, Entry};
use crate::engine::{Engine, Error};
use crate::lifecycle::CreditsConfig;
use crate::lifecycle::credits::{self, CreditState, Spend, claim_current};

impl CreditLedger {
    /// Spends `cost` from the uses this node holds, when they are current
    /// and cover it.
    fn spend_held(
        &self,
        id: &str,
        config: &CreditsConfig,
        cost: u64,
        now: DateTime<Utc>,
    ) -> Option<Spend> {
        let mut entries = self.lock();
        let e = entries.get_mut(id)?;
        if !held_current(e, config, now) || e.state.remaining < cost {
            return None;
        }
        e.state.remaining -= cost;
        Some(Spend::Spent(e.state.remaining.saturating_add(e.pool)))
    }

    /// The uses this node holds that may still be spent.
    fn held(&self, id: &str, config: &CreditsConfig, now: DateTime<Utc>) -> Option<Entry> {
        self.lock()
            .get(id)
            .filter(|e| held_current(e, config, now))
            .copied()
    }

    /// Adds a claim's grant (from the pool of `generation`, now `pool`),
    /// then spends `cost`.
    fn add_claimed(
        &self,
        id: &str,
        generation: u64,
        pool: CreditState,
        granted: u64,
        cost: u64,
    ) -> Spend {
        let mut entries = self.lock();
        let fresh = Entry {
            generation,
            state: CreditState {
                remaining: 0,
                as_of: pool.as_of,
            },
            dirty: false,
            pool: pool.remaining,
        };
        let e = entries.entry(id.to_string()).or_insert(fresh);
        // A claim of a newer period replaces what was held (it lapsed); one
        // of an older period (it raced with a claim after a refill) lapsed.
        if (generation, pool.as_of) > (e.generation, e.state.as_of) {
            *e = fresh;
        }
        if (generation, pool.as_of) == (e.generation, e.state.as_of) {
            e.state.remaining = e.state.remaining.saturating_add(granted);
            e.pool = pool.remaining;
        }
        let spend = credits::spend(&mut e.state, cost);
        let with_pool = |left: u64| left.saturating_add(e.pool);
        match spend {
            Spend::Spent(left) => Spend::Spent(with_pool(left)),
            Spend::Exceeded(left) => Spend::Exceeded(with_pool(left)),
        }
    }

    /// Takes every current claim this node holds, leaving none.
    fn take_held(&self) -> Vec<(String, Entry)> {
        let mut entries = self.lock();
        let held: Vec<(String, Entry)> = entries
            .iter()
            .filter(|(_, e)| e.state.remaining > 0)
            .map(|(id, e)| (id.clone(), *e))
            .collect();
        for (id, _) in &held {
            entries.remove(id);
        }
        held
    }
}

/// Whether an entry's claimed uses may be spent under `config` at `now`.
fn held_current(e: &Entry, config: &CreditsConfig, now: DateTime<Utc>) -> bool {
    e.generation >= config.generation && claim_current(e.state.as_of, config.refill.as_ref(), now)
}

impl Engine {
    /// Spends `cost` uses on a cluster node: from what it holds, else after
    /// claiming more from the pool.
    ///
    /// # Errors
    /// A storage failure, or etcd not answering the claim.
    pub(super) fn spend_claimed(
        &self,
        id: &str,
        config: &CreditsConfig,
        cost: u64,
        now: DateTime<Utc>,
    ) -> Result<Spend, Error> {
        if let Some(spend) = self.credits.spend_held(id, config, cost, now) {
            return Ok(spend);
        }
        let held = self
            .credits
            .held(id, config, now)
            .map_or(0, |e| e.state.remaining);
        let need = cost.saturating_sub(held);
        let nodes = self.store.live_nodes();
        let refill = config.refill;
        let (granted, pool, generation) = self.store.claim_credits(id, config, |pool| {
            credits::claim(pool, refill.as_ref(), now, need, nodes)
        })?;
        Ok(self
            .credits
            .add_claimed(id, generation, pool, granted, cost))
    }

    /// What a cluster node knows is left at `now`: the pool (refilled) and
    /// the uses it holds, spending none.
    ///
    /// # Errors
    /// A storage failure reading the pool.
    pub(super) fn claimed_left(
        &self,
        id: &str,
        config: &CreditsConfig,
        now: DateTime<Utc>,
    ) -> Result<CreditState, Error> {
        let (generation, pool) = match self.store.flushed_credits(id)? {
            Some((generation, state)) if generation >= config.generation => (generation, state),
            _ => (config.generation, config.state),
        };
        let pool = credits::refilled(pool, config.refill.as_ref(), now);
        let held = self
            .credits
            .held(id, config, now)
            .filter(|e| (e.generation, e.state.as_of) == (generation, pool.as_of))
            .map_or(0, |e| e.state.remaining);
        Ok(CreditState {
            remaining: pool.remaining.saturating_add(held),
            as_of: pool.as_of,
        })
    }

    /// Gives the uses this node holds back to their pools (at shutdown);
    /// those whose pool moved on (a refill, an admin change) lapse.
    /// Returns how many credentials got uses back.
    pub fn return_claimed_credits(&self) -> usize {
        if !self.store.is_cluster() {
            return 0;
        }
        let mut n = 0;
        for (id, e) in self.credits.take_held() {
            match self
                .store
                .return_credits(&id, e.generation, e.state.as_of, e.state.remaining)
            {
                Ok(returned) => n += usize::from(returned),
                Err(e) => {
                    warn!(credential_id = %id, error = %e, "claimed credits not given back");
                }
            }
        }
        if n > 0 {
            info!(
                n_credentials = n,
                "claimed credits given back to the cluster"
            );
        }
        n
    }
}
