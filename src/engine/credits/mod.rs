//! Credits in the engine: the in-memory ledger Verify spends from, its
//! flush into the store's `credits` tree (with the usage flush), the
//! credits a credential shows, and UpdateCredits.
//!
//! Verify spends in memory only, so it never writes: the first spend of a
//! credential after a start (or an admin change) reads its durable state
//! once (the flushed one when its generation is the record's, else the
//! record's own), refills lazily (`lifecycle::credits`), and spends all of
//! the cost or nothing. Durability: a flush writes every changed state, so
//! after a `kill -9` the credits spent since the last flush (at most one
//! `usage_flush_interval`) are available again, and never more are taken
//! than were spent. An admin change is a record change (a new generation),
//! committed and flushed before UpdateCredits answers.
//!
//! On a cluster node the ledger holds uses claimed from the credential's
//! shared pool instead, and spends those (`claims`).

mod claims;

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use tracing::info;

use super::access::Access;
use super::{Actor, CredentialView, Engine, Error, MAX_ATTEMPTS, Scope, audit_entry};
use crate::lifecycle::credits::{
    self, CreditChange, CreditState, Refill, Spend, check_amount, check_refill,
};
use crate::lifecycle::{CredentialRecord, CreditsConfig, effective_status};
use crate::store::Commit;

/// Credits asked for at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewCredits {
    /// Uses to start with.
    pub remaining: u64,
    /// The refill, if any.
    pub refill: Option<Refill>,
}

/// An admin's change of a credential's credits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreditsUpdate {
    /// Change the remaining uses (and set or keep the refill; a credential
    /// without credits gets them, starting from 0 for increments).
    Change {
        /// The change, if any.
        change: Option<CreditChange>,
        /// A new refill (`Some(None)` clears it; `None` keeps it).
        refill: Option<Option<Refill>>,
    },
    /// No limit any more; the refill goes too.
    Unlimited,
}

/// One credential's state in memory. On a cluster node, `state` is the
/// uses this node claimed (and the pool's refill instant they belong to),
/// and `pool` what the pool held at the last claim.
#[derive(Debug, Clone, Copy)]
struct Entry {
    generation: u64,
    state: CreditState,
    dirty: bool,
    pool: u64,
}

/// Credit states of credentials used since the start, by id.
#[derive(Debug, Default)]
pub struct CreditLedger {
    entries: Mutex<HashMap<String, Entry>>,
}

impl CreditLedger {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The changed states, marked clean.
    fn take_dirty(&self) -> Vec<(String, u64, CreditState)> {
        let mut entries = self.lock();
        entries
            .iter_mut()
            .filter(|(_, e)| e.dirty)
            .map(|(id, e)| {
                e.dirty = false;
                (id.clone(), e.generation, e.state)
            })
            .collect()
    }

    /// Marks states a failed flush did not write as changed again.
    fn mark_dirty(&self, ids: &[(String, u64, CreditState)]) {
        let mut entries = self.lock();
        for (id, generation, _) in ids {
            if let Some(e) = entries.get_mut(id) {
                if e.generation == *generation {
                    e.dirty = true;
                }
            }
        }
    }

    pub(super) fn forget(&self, id: &str) {
        self.lock().remove(id);
    }
}

impl Engine {
    /// The durable state of a credential's credits: the flushed one when it
    /// counts down from the record's generation, else the record's.
    fn durable_credits(&self, id: &str, config: &CreditsConfig) -> Result<CreditState, Error> {
        Ok(match self.store.flushed_credits(id)? {
            Some((generation, state)) if generation == config.generation => state,
            _ => config.state,
        })
    }

    /// Runs `f` on a credential's in-memory credit state at `now` (loaded
    /// from the store first if needed, refills applied), marking it
    /// changed when it changed.
    ///
    /// # Errors
    /// A storage failure reading its durable state (Verify then fails
    /// closed).
    fn with_credits<R>(
        &self,
        id: &str,
        config: &CreditsConfig,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut CreditState) -> R,
    ) -> Result<R, Error> {
        // The common case: loaded and current, one lock, no allocation.
        {
            let mut entries = self.credits.lock();
            if let Some(e) = entries.get_mut(id) {
                if e.generation >= config.generation {
                    return Ok(apply(e, config, now, f));
                }
            }
        }
        let entry = Entry {
            generation: config.generation,
            state: self.durable_credits(id, config)?,
            dirty: false,
            pool: 0,
        };
        let mut entries = self.credits.lock();
        // Another Verify may have loaded it meanwhile: keep the newer.
        let e = entries.entry(id.to_string()).or_insert(entry);
        if e.generation < config.generation {
            *e = entry;
        }
        Ok(apply(e, config, now, f))
    }

    /// Spends `cost` uses of a credential with credits, at `now`: all of
    /// them or none.
    ///
    /// # Errors
    /// As [`Engine::with_credits`].
    pub(super) fn spend_credits(
        &self,
        id: &str,
        config: &CreditsConfig,
        cost: u64,
        now: DateTime<Utc>,
    ) -> Result<Spend, Error> {
        if self.store.is_cluster() {
            return self.spend_claimed(id, config, cost, now);
        }
        self.with_credits(id, config, now, |state| credits::spend(state, cost))
    }

    /// The uses a credential with credits has left at `now`, spending none.
    ///
    /// # Errors
    /// As [`Engine::with_credits`].
    pub(super) fn credits_left(
        &self,
        id: &str,
        config: &CreditsConfig,
        now: DateTime<Utc>,
    ) -> Result<u64, Error> {
        if self.store.is_cluster() {
            return Ok(self.claimed_left(id, config, now)?.remaining);
        }
        self.with_credits(id, config, now, |state| state.remaining)
    }

    /// The credits a credential shows at `now` (None: unlimited), without
    /// spending.
    pub(super) fn shown_credits(
        &self,
        record: &CredentialRecord,
        now: DateTime<Utc>,
    ) -> Option<CreditState> {
        let config = record.credits.as_ref()?;
        if self.store.is_cluster() {
            return Some(
                self.claimed_left(&record.id, config, now)
                    .unwrap_or(config.state),
            );
        }
        let state = match self.credits.lock().get(&record.id) {
            Some(e) if e.generation >= config.generation => e.state,
            _ => self
                .durable_credits(&record.id, config)
                .unwrap_or(config.state),
        };
        Some(credits::refilled(state, config.refill.as_ref(), now))
    }

    /// Writes changed credit states (with the usage flush, under its lock).
    ///
    /// # Errors
    /// A storage failure; the states not written stay changed.
    pub(super) fn write_credit_states(&self) -> Result<usize, Error> {
        let dirty = self.credits.take_dirty();
        if dirty.is_empty() {
            return Ok(0);
        }
        let states = dirty.iter().map(|(id, g, s)| (id.as_str(), *g, *s));
        match self.store.write_credits(states) {
            Ok(n) => Ok(n),
            Err(e) => {
                self.credits.mark_dirty(&dirty);
                Err(e.into())
            }
        }
    }

    /// Changes a credential's credits: set, increment or decrement the
    /// uses left, set or clear the refill, or lift the limit. Committed
    /// and flushed before it returns; Verify sees it at once.
    ///
    /// # Errors
    /// `InvalidArgument` for bad amounts or refills, `NotFound`,
    /// `PermissionDenied`, `FailedPrecondition` for a credential that is
    /// not ACTIVE or DISABLED, or a storage failure.
    pub async fn update_credits(
        &self,
        actor: &Actor,
        id: &str,
        update: CreditsUpdate,
    ) -> Result<CredentialView, Error> {
        super::validate::credential_id(id)?;
        check_update(&update)?;
        if !actor.holds(Scope::CredentialsWrite) {
            return self.deny_unscoped(actor, "credential.credits", id, Scope::CredentialsWrite);
        }
        let _writing = self.store.writing().await;
        // One flush at a time owns the ledger's writes: hold its lock so a
        // flush cannot write an older state after this change.
        let _flushing = self.usage.flushing();
        let now = self.clock.now();
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .store
                .get(id)?
                .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
            self.authorize_on(actor, "credential.credits", &current, Access::Write)?;
            if !matches!(
                effective_status(&current, now),
                crate::lifecycle::Status::Active | crate::lifecycle::Status::Disabled
            ) {
                return Err(Error::FailedPrecondition(format!(
                    "credential {id} is no longer live; its credits cannot change"
                )));
            }
            let shown = self.shown_credits(&current, now);
            let mut new = current.clone();
            new.credits = next_config(current.credits, shown, update, now);
            new.updated_at = now;
            let detail = describe(new.credits.as_ref());
            let audit = audit_entry(
                actor,
                now,
                "credential.credits",
                id,
                &current.account_id,
                detail,
            );
            if self
                .store
                .commit(Some(&current), Some(&new), Some(&audit))?
                == Commit::Conflict
            {
                continue;
            }
            self.credits.forget(id);
            drop(_flushing);
            drop(_writing);
            self.store.flush().await?;
            info!(actor = %actor.id, credential_id = %id, account_id = %current.account_id, "credits changed");
            return Ok(self.view(new, now));
        }
        Err(Error::Contention { id: id.to_string() })
    }
}

/// Runs `f` on an entry's state with its refills applied, marking the
/// entry changed when the state changed.
fn apply<R>(
    e: &mut Entry,
    config: &CreditsConfig,
    now: DateTime<Utc>,
    f: impl FnOnce(&mut CreditState) -> R,
) -> R {
    let before = e.state;
    e.state = credits::refilled(e.state, config.refill.as_ref(), now);
    let result = f(&mut e.state);
    e.dirty |= e.state != before;
    result
}

/// Checks an update's amounts and refill.
fn check_update(update: &CreditsUpdate) -> Result<(), Error> {
    let CreditsUpdate::Change { change, refill } = update else {
        return Ok(());
    };
    let bad = |e: credits::CreditsError| Error::InvalidArgument(e.0);
    match change {
        Some(CreditChange::Set(n)) => check_amount("set", *n).map_err(bad)?,
        Some(CreditChange::Increment(n)) => check_amount("increment", *n).map_err(bad)?,
        Some(CreditChange::Decrement(n)) => check_amount("decrement", *n).map_err(bad)?,
        None => {}
    }
    if let Some(Some(refill)) = refill {
        check_refill(refill).map_err(bad)?;
    }
    if change.is_none() && refill.is_none() {
        return Err(Error::InvalidArgument(
            "nothing to change: give set, increment, decrement, unlimited or a refill".to_string(),
        ));
    }
    Ok(())
}

/// Checks credits asked for at creation.
pub(super) fn check_new(credits: &NewCredits) -> Result<(), Error> {
    check_amount("credits.remaining", credits.remaining)
        .map_err(|e| Error::InvalidArgument(e.0))?;
    if let Some(refill) = &credits.refill {
        check_refill(refill).map_err(|e| Error::InvalidArgument(e.0))?;
    }
    Ok(())
}

/// The configuration after `update`, from the current one and the state
/// shown now.
fn next_config(
    current: Option<CreditsConfig>,
    shown: Option<CreditState>,
    update: CreditsUpdate,
    now: DateTime<Utc>,
) -> Option<CreditsConfig> {
    let CreditsUpdate::Change { change, refill } = update else {
        return None;
    };
    let generation = current.map_or(1, |c| c.generation + 1);
    let remaining = shown.map_or(0, |s| s.remaining);
    let remaining = change.map_or(remaining, |c| credits::changed(remaining, c));
    Some(CreditsConfig {
        generation,
        state: CreditState {
            remaining,
            as_of: shown.map_or(now, |s| s.as_of.max(now)),
        },
        refill: refill.unwrap_or(current.and_then(|c| c.refill)),
    })
}

fn describe(config: Option<&CreditsConfig>) -> String {
    match config {
        None => "credits: unlimited".to_string(),
        Some(c) => format!(
            "credits: {} remaining{}",
            c.state.remaining,
            if c.refill.is_some() { ", refilled" } else { "" }
        ),
    }
}
