//! The `last_used` tree: for each credential, the latest successful use
//! that was flushed (microseconds since the epoch), packed into hash
//! buckets (`buckets`: key = the 2-byte bucket, value = its ids and times).
//!
//! Last-used times live here, not in the credential record, so the usage
//! flush neither decodes nor rewrites records, and a flush of a million
//! used keys rewrites at most 65,536 small entries. The record's own
//! `last_used_at` is what older builds wrote, and what the sweep writes
//! when it reschedules or disables; the effective last use is the later of
//! the two (and of any use still in memory). Only the flush writes here
//! (one at a time, the engine's flush lock), besides the removal of a
//! deleted credential, a transaction on its bucket.
//!
//! In a cluster the tree is replicated, so the leader's sweep sees the uses
//! every node saw; a node writes a use only when it falls on a later UTC
//! day than the stored one (at most one etcd write per credential per day).

use chrono::{DateTime, Utc};

use sled::transaction::ConflictableTransactionError;

use super::backend::Backend;
#[cfg(feature = "etcd")]
use super::buckets::Group;
use super::buckets::{Bucket, Payload, bucket_of, grouped};
use super::{Error, Store};

/// Buckets written per sled batch.
const BATCH: usize = 4096;
/// Buckets written per etcd `Txn` (etcd allows 128 operations).
#[cfg(feature = "etcd")]
const CLUSTER_BATCH: usize = 100;

/// The UTC day of a use.
#[cfg(feature = "etcd")]
fn day(at: Micros) -> i64 {
    at.0.div_euclid(86_400_000_000)
}

/// A flushed use, as microseconds since the epoch.
#[derive(Debug, Clone, Copy)]
struct Micros(i64);

impl Payload for Micros {
    fn put(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.0.to_be_bytes());
    }

    fn take(buf: &mut &[u8]) -> Result<Self, Error> {
        let bytes: [u8; 8] = buf
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::Corrupt("last_used entry"))?;
        *buf = &buf[8..];
        Ok(Micros(i64::from_be_bytes(bytes)))
    }

    fn merge(stored: Self, new: Self) -> Self {
        Micros(stored.0.max(new.0))
    }
}

impl Store {
    /// The latest flushed use of a credential, if any.
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn last_used(&self, id: &str) -> Result<Option<DateTime<Utc>>, Error> {
        let raw = self.last_used.get(bucket_of(id))?;
        let Some(Micros(us)) = Bucket::<Micros>::decode(raw.as_deref())?.get(id) else {
            return Ok(None);
        };
        DateTime::from_timestamp_micros(us)
            .map(Some)
            .ok_or(Error::Corrupt("last_used entry"))
    }

    /// Writes the given uses (a later stored one is kept). Not durable
    /// until [`Store::flush`]; the caller must not write concurrently.
    /// Returns how many uses were written.
    ///
    /// # Errors
    /// sled errors; the batches before the failing one stay written.
    pub fn write_last_used<'a>(
        &self,
        uses: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
    ) -> Result<usize, Error> {
        let groups = grouped(
            uses.into_iter()
                .map(|(id, at)| (id, Micros(at.timestamp_micros()))),
        );
        match &self.backend {
            Backend::Sled => {}
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => return self.write_last_used_days(&groups),
        }
        let mut n_written = 0;
        for chunk in groups.chunks(BATCH) {
            let mut batch = sled::Batch::default();
            for (key, items) in chunk {
                let raw = self.last_used.get(key)?;
                let mut bucket = Bucket::<Micros>::decode(raw.as_deref())?;
                bucket.put_sorted(items);
                batch.insert(&key[..], bucket.encode());
                n_written += items.len();
            }
            self.watched(self.last_used.apply_batch(batch).map_err(Error::from))?;
        }
        Ok(n_written)
    }

    /// The cluster's arm of [`Store::write_last_used`]: a use is written
    /// only when it falls on a later UTC day than the stored one, so etcd
    /// takes at most one write per credential per day (inactivity counts
    /// in months; the exact last use stays in the memory of the node that
    /// saw it). Buckets go [`CLUSTER_BATCH`] to a `Txn`.
    #[cfg(feature = "etcd")]
    fn write_last_used_days(&self, groups: &[Group<'_, Micros>]) -> Result<usize, Error> {
        let mut n_written = 0;
        for chunk in groups.chunks(CLUSTER_BATCH) {
            n_written += self
                .transact([&self.last_used], |[tree]| {
                    let mut n = 0;
                    for (key, items) in chunk {
                        let raw = tree.get(key)?;
                        let mut bucket = Bucket::<Micros>::decode(raw.as_deref())
                            .map_err(|_| ConflictableTransactionError::Abort(()))?;
                        let newer: Vec<(&str, Micros)> = items
                            .iter()
                            .filter(|(id, at)| bucket.get(id).is_none_or(|old| day(old) < day(*at)))
                            .copied()
                            .collect();
                        if newer.is_empty() {
                            continue;
                        }
                        bucket.put_sorted(&newer);
                        tree.insert(key, &bucket.encode())?;
                        n += newer.len();
                    }
                    Ok(n)
                })?
                .map_err(|()| Error::Corrupt("last_used bucket"))?;
        }
        Ok(n_written)
    }

    /// Forgets a deleted credential's last use. Not durable until
    /// [`Store::flush`].
    ///
    /// # Errors
    /// sled errors, or a bucket that kept changing underneath.
    pub fn forget_last_used(&self, id: &str) -> Result<(), Error> {
        let key = bucket_of(id);
        self.transact([&self.last_used], |[tree]| {
            let raw = tree.get(&key)?;
            let mut bucket = Bucket::<Micros>::decode(raw.as_deref())
                .map_err(|_| ConflictableTransactionError::Abort(()))?;
            if bucket.remove(id) {
                match bucket.entries.is_empty() {
                    true => tree.remove(&key)?,
                    false => tree.insert(&key, &bucket.encode())?,
                }
            }
            Ok(())
        })?
        .map_err(|()| Error::Corrupt("last_used entry"))
    }

    /// Credentials with a flushed use (tests and benches; reads every bucket).
    ///
    /// # Errors
    /// sled errors and undecodable buckets.
    pub fn last_used_count(&self) -> Result<usize, Error> {
        let mut n = 0;
        for item in &self.last_used {
            let (_, raw) = item?;
            n += Bucket::<Micros>::decode(Some(&raw))?.entries.len();
        }
        Ok(n)
    }
}
