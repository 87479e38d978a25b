//! Credits on disk: a credential's credits configuration inside its record
//! and Verify's view (`StoredCredits`, as an admin set it), and the
//! `credits` tree (id -> the state the usage flush last wrote, with the
//! generation of the configuration it counts down from). The effective
//! durable state is the tree's when its generation is the record's, else
//! the record's own (an admin change since made the flushed one stale).

use chrono::{DateTime, Utc};
use prost::Message;

use super::{Error, Store};
use crate::lifecycle::CreditsConfig;
use crate::lifecycle::credits::{CreditState, Refill, RefillInterval};

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
        let s = StoredCreditState::decode(raw.as_ref()).map_err(|_| Error::Corrupt("credits"))?;
        Ok(Some((
            s.generation,
            CreditState {
                remaining: s.remaining,
                as_of: time(s.as_of_us)?,
            },
        )))
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
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for (id, generation, state) in states {
            let value = StoredCreditState {
                generation,
                remaining: state.remaining,
                as_of_us: state.as_of.timestamp_micros(),
            };
            batch.insert(id.as_bytes(), value.encode_to_vec());
            n += 1;
        }
        // Node-local on every backend (see `backend`).
        self.watched(self.credits.apply_batch(batch).map_err(Error::from))?;
        Ok(n)
    }

    /// Forgets a deleted credential's flushed credits.
    ///
    /// # Errors
    /// sled errors.
    pub fn forget_credits(&self, id: &str) -> Result<(), Error> {
        self.watched(self.credits.remove(id.as_bytes()).map_err(Error::from))?;
        Ok(())
    }
}
