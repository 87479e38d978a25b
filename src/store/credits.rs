//! Credits on disk: a credential's credits configuration inside its record
//! and Verify's view (`StoredCredits`, as an admin set it), and the
//! `credits` tree (id -> the state the usage flush last wrote, with the
//! generation of the configuration it counts down from). The effective
//! durable state is the tree's when its generation is the record's, else
//! the record's own (an admin change since made the flushed one stale).
//!
//! In a cluster the `credits` tree is replicated and each entry is the
//! credential's *pool*: the uses no node holds yet. Nodes take uses from it
//! with [`Store::claim_credits`], one transaction each, and give unspent
//! ones back with [`Store::return_credits`]; the usage flush never writes
//! it (see the engine's `credit_claims`).

use chrono::{DateTime, Utc};
use prost::Message;

use sled::transaction::ConflictableTransactionError;

use super::backend::Backend;
use super::{Error, Store};
use crate::lifecycle::CreditsConfig;
use crate::lifecycle::credits::{CreditState, MAX_CREDITS, Refill, RefillInterval};

/// A credential's credits configuration (record tag 30, view tag 20).
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredCredits {
    #[prost(uint64, tag = "1")]
    pub generation: u64,
    #[prost(uint64, tag = "2")]
    pub remaining: u64,
    #[prost(int64, tag = "3")]
    pub as_of_us: i64,
    /// 0: no refill, 1: daily, 2: monthly.
    #[prost(int32, tag = "4")]
    pub refill_interval: i32,
    #[prost(uint32, tag = "5")]
    pub refill_day: u32,
    #[prost(uint64, tag = "6")]
    pub refill_amount: u64,
}

/// A flushed state in the `credits` tree.
#[derive(Clone, PartialEq, prost::Message)]
struct StoredCreditState {
    #[prost(uint64, tag = "1")]
    generation: u64,
    #[prost(uint64, tag = "2")]
    remaining: u64,
    #[prost(int64, tag = "3")]
    as_of_us: i64,
}

fn time(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(us).ok_or(Error::Corrupt("credits time"))
}

pub(crate) fn encode_credits(config: &CreditsConfig) -> StoredCredits {
    let (refill_interval, refill_day, refill_amount) = match config.refill {
        None => (0, 0, 0),
        Some(Refill {
            interval: RefillInterval::Daily,
            amount,
        }) => (1, 0, amount),
        Some(Refill {
            interval: RefillInterval::Monthly { day },
            amount,
        }) => (2, day, amount),
    };
    StoredCredits {
        generation: config.generation,
        remaining: config.state.remaining,
        as_of_us: config.state.as_of.timestamp_micros(),
        refill_interval,
        refill_day,
        refill_amount,
    }
}

pub(crate) fn decode_credits(stored: StoredCredits) -> Result<CreditsConfig, Error> {
    let refill = match stored.refill_interval {
        0 => None,
        1 => Some(RefillInterval::Daily),
        2 => Some(RefillInterval::Monthly {
            day: stored.refill_day,
        }),
        _ => return Err(Error::Corrupt("unknown refill interval")),
    }
    .map(|interval| Refill {
        interval,
        amount: stored.refill_amount,
    });
    Ok(CreditsConfig {
        generation: stored.generation,
        state: CreditState {
            remaining: stored.remaining,
            as_of: time(stored.as_of_us)?,
        },
        refill,
    })
}

fn encode_state(generation: u64, state: CreditState) -> Vec<u8> {
    StoredCreditState {
        generation,
        remaining: state.remaining,
        as_of_us: state.as_of.timestamp_micros(),
    }
    .encode_to_vec()
}

fn decode_state(raw: &[u8]) -> Result<(u64, CreditState), Error> {
    let s = StoredCreditState::decode(raw).map_err(|_| Error::Corrupt("credits"))?;
    Ok((
        s.generation,
        CreditState {
            remaining: s.remaining,
            as_of: time(s.as_of_us)?,
        },
    ))
}

impl Store {
    /// The flushed credit state of a credential and the generation it
    /// counts down from, if one was flushed.
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn flushed_credits(&self, id: &str) -> Result<Option<(u64, CreditState)>, Error> {
        let Some(raw) = self.credits.get(id.as_bytes())? else {
            return Ok(None);
        };
        decode_state(&raw).map(Some)
    }

    /// Writes credit states (id, generation, state) in one batch. Not
    /// durable until [`Store::flush`]; the caller must not write
    /// concurrently.
    ///
    /// # Errors
    /// sled errors.
    pub fn write_credits<'a>(
        &self,
        states: impl IntoIterator<Item = (&'a str, u64, CreditState)>,
    ) -> Result<usize, Error> {
        if !matches!(self.backend, Backend::Sled) {
            // A cluster's pools change only through claims.
            return Err(Error::Corrupt("credit states written on a cluster node"));
        }
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for (id, generation, state) in states {
            batch.insert(id.as_bytes(), encode_state(generation, state));
            n += 1;
        }
        self.watched(self.credits.apply_batch(batch).map_err(Error::from))?;
        Ok(n)
    }

    /// Forgets a deleted credential's flushed credits (its pool, in a
    /// cluster).
    ///
    /// # Errors
    /// sled errors, [`Error::Cluster`].
    pub fn forget_credits(&self, id: &str) -> Result<(), Error> {
        self.transact([&self.credits], |[tree]| {
            tree.remove(id.as_bytes())?;
            Ok::<_, ConflictableTransactionError<()>>(())
        })?
        .map_err(|()| Error::Corrupt("credits"))
    }

    /// A cluster node's claim on a credential's pool (the `credits` entry,
    /// shared through etcd: the uses no node holds yet): `take` gets the
    /// pool (the record's state `config` when none was written for its
    /// generation) and returns the pool after and what it grants; both
    /// commit as one transaction, so two nodes never take the same uses.
    /// Returns what was granted, the pool after and its generation.
    ///
    /// # Errors
    /// sled errors, undecodable entries, [`Error::Cluster`].
    pub fn claim_credits(
        &self,
        id: &str,
        config: &CreditsConfig,
        take: impl Fn(CreditState) -> (CreditState, u64),
    ) -> Result<(u64, CreditState, u64), Error> {
        self.transact([&self.credits], |[tree]| {
            let stored = match tree.get(id.as_bytes())? {
                Some(raw) => Some(decode_state(&raw).map_err(ConflictableTransactionError::Abort)?),
                None => None,
            };
            let (generation, pool) = match stored {
                Some((generation, state)) if generation >= config.generation => (generation, state),
                _ => (config.generation, config.state),
            };
            let (after, granted) = take(pool);
            if after != pool || stored.is_none_or(|(g, _)| g != generation) {
                tree.insert(id.as_bytes(), &encode_state(generation, after))?;
            }
            Ok((granted, after, generation))
        })?
    }

    /// Gives unspent claimed uses back to a credential's pool, when the
    /// pool is still of `generation` and refilled as of `as_of` (else they
    /// lapsed with the change or the refill). Returns whether they went
    /// back.
    ///
    /// # Errors
    /// sled errors, undecodable entries, [`Error::Cluster`].
    pub fn return_credits(
        &self,
        id: &str,
        generation: u64,
        as_of: DateTime<Utc>,
        unspent: u64,
    ) -> Result<bool, Error> {
        self.transact([&self.credits], |[tree]| {
            let Some(raw) = tree.get(id.as_bytes())? else {
                return Ok(false);
            };
            let (g, mut pool) = decode_state(&raw).map_err(ConflictableTransactionError::Abort)?;
            if g != generation || pool.as_of != as_of {
                return Ok(false);
            }
            pool.remaining = pool.remaining.saturating_add(unspent).min(MAX_CREDITS);
            tree.insert(id.as_bytes(), &encode_state(g, pool))?;
            Ok(true)
        })?
    }
}
