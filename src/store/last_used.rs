//! The `last_used` tree: credential id -> the latest successful use that
//! was flushed (8 bytes, big-endian microseconds since the epoch).
//!
//! Last-used times live here, not in the credential record, so the usage
//! flush writes 8 bytes per used key in batches instead of decoding and
//! re-encoding each used record with its indexes in a transaction. The
//! record's own `last_used_at` is what older builds wrote, and what the
//! sweep writes when it reschedules or disables; the effective last use is
//! the later of the two (and of any use still in memory). Nothing else
//! depends on this tree: an entry left behind by a deleted credential is
//! read by nobody, and removed with it when the deletion is the store's.

use chrono::{DateTime, Utc};

use super::backend::Backend;
use super::{Error, Store};

/// Uses written per sled batch: bounds the memory of one batch and the
/// time sled's write lock is held, so Verify's reads interleave.
const BATCH: usize = 8192;

impl Store {
    /// The latest flushed use of a credential, if any.
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn last_used(&self, id: &str) -> Result<Option<DateTime<Utc>>, Error> {
        self.last_used
            .get(id.as_bytes())?
            .map(|raw| decode(&raw))
            .transpose()
    }

    /// Writes the given uses, each replacing its credential's entry (the
    /// caller passes the latest use it knows). Not durable until
    /// [`Store::flush`]. Returns how many were written.
    ///
    /// # Errors
    /// sled errors; the batches before the failing one stay written.
    pub fn write_last_used<'a>(
        &self,
        uses: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    ) -> Result<usize, Error> {
        let mut uses = uses.into_iter().peekable();
        let mut n_written = 0;
        while uses.peek().is_some() {
            let mut batch = sled::Batch::default();
            for (id, at) in uses.by_ref().take(BATCH) {
                batch.insert(id.as_bytes(), &encode(at)[..]);
                n_written += 1;
            }
            match self.backend {
                Backend::Sled => {
                    self.watched(self.last_used.apply_batch(batch).map_err(Error::from))?
                }
            }
        }
        Ok(n_written)
    }

    /// Forgets a deleted credential's last use. Not durable until
    /// [`Store::flush`].
    ///
    /// # Errors
    /// sled errors.
    pub fn forget_last_used(&self, id: &str) -> Result<(), Error> {
        match self.backend {
            Backend::Sled => {
                self.watched(self.last_used.remove(id.as_bytes()).map_err(Error::from))?;
            }
        }
        Ok(())
    }

    /// Entries in the tree (tests and benches).
    pub fn last_used_count(&self) -> usize {
        self.last_used.len()
    }
}

fn encode(at: DateTime<Utc>) -> [u8; 8] {
    at.timestamp_micros().to_be_bytes()
}

fn decode(raw: &[u8]) -> Result<DateTime<Utc>, Error> {
    <[u8; 8]>::try_from(raw)
        .ok()
        .map(i64::from_be_bytes)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or(Error::Corrupt("last_used entry"))
}
