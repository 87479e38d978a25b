//! The `usage_published` tree: each node's daily usage rows, shared through
//! the cluster so that GetUsage on any node counts the Verify answers of
//! every node.
//!
//! The `usage` tree is node-local (a Verify never writes to etcd). Once a
//! UTC day is over, a cluster node copies its rows of that day here, one
//! etcd write per usage entry and day (an entry holds a hash bucket of
//! credentials, so at most one write per credential per day). The key is
//! the `usage` key, a zero byte and the node's id (`meta` key `node_id`,
//! drawn once per data directory): `(tag, day, bucket|account, 0, node)`,
//! so one prefix scan finds every node's row of a subject and day.
//!
//! A report adds the rows of every *other* node to this node's own `usage`
//! rows (its own are always the most recent, and never counted twice). The
//! node remembers the last day it published (`meta` key
//! `usage_published_through`); counts that reach a day already published
//! (a flush that failed and ran again after midnight) move that mark back,
//! and the day is published again: a copy overwrites, it never adds.
//! Retention: the leader removes every node's rows past the retention
//! (with the local rows, in the sweep); any node removes its own local
//! rows past the retention once a day (see the engine's `usage`).

use super::backend::Backend;
use super::buckets::Bucket;
use super::{Error, Store};
use crate::lifecycle::UsageCounts;

/// `meta` key: this data directory's node id (8 bytes, big-endian).
pub(super) const META_NODE_ID: &str = "node_id";
/// `meta` key: the last day this node published (4 bytes, big-endian).
const META_PUBLISHED: &str = "usage_published_through";
/// Rows per etcd `Txn` (etcd allows 128 operations).
const PUBLISH_BATCH: usize = 100;

/// The published key of a local usage key on `node`.
fn published_key(local: &[u8], node: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(local.len() + 9);
    key.extend_from_slice(local);
    key.push(0);
    key.extend_from_slice(&node.to_be_bytes());
    key
}

/// The node a published key belongs to.
fn node_of(key: &[u8]) -> Result<u64, Error> {
    let at = key
        .len()
        .checked_sub(8)
        .ok_or(Error::Corrupt("published usage key"))?;
    let bytes: [u8; 8] = key[at..]
        .try_into()
        .map_err(|_| Error::Corrupt("published usage key"))?;
    Ok(u64::from_be_bytes(bytes))
}

impl Store {
    /// This data directory's node id, drawn and kept in `meta` the first
    /// time it is asked for.
    ///
    /// # Errors
    /// sled errors.
    pub fn node_id(&self) -> Result<u64, Error> {
        if let Some(raw) = self.meta_get(META_NODE_ID)? {
            let bytes: [u8; 8] = raw
                .as_slice()
                .try_into()
                .map_err(|_| Error::Corrupt("node id"))?;
            return Ok(u64::from_be_bytes(bytes));
        }
        // The OS's randomness failing is an I/O failure like sled's own.
        let id =
            getrandom::u64().map_err(|e| sled::Error::Io(std::io::Error::other(e.to_string())))?;
        self.meta_put(META_NODE_ID, &id.to_be_bytes())?;
        Ok(id)
    }

    /// The last day this node published (None: never).
    fn published_through(&self) -> Result<Option<i32>, Error> {
        self.meta_get(META_PUBLISHED)?
            .map(|raw| {
                <[u8; 4]>::try_from(raw.as_slice())
                    .map(i32::from_be_bytes)
                    .map_err(|_| Error::Corrupt("usage published mark"))
            })
            .transpose()
    }

    /// Notes that local rows of `day` changed: when that day was already
    /// published, it will be published again. Not durable until
    /// [`Store::flush`], like the rows themselves.
    ///
    /// # Errors
    /// sled errors.
    pub(super) fn usage_changed_on(&self, day: i32) -> Result<(), Error> {
        if !matches!(self.backend, Backend::Sled) && self.published_through()? >= Some(day) {
            self.meta_put(META_PUBLISHED, &(day - 1).to_be_bytes())?;
        }
        Ok(())
    }

    /// Publishes this node's local usage rows of the days after the last
    /// one published, up to `through` (a day that is over), so other nodes
    /// count them. Nothing to do with sled (one node). The caller must not
    /// add usage concurrently. Returns how many rows were published.
    ///
    /// # Errors
    /// sled errors, [`Error::Cluster`] when etcd cannot take the rows (the
    /// mark stays, so the next call publishes them).
    pub fn publish_usage(&self, through: i32) -> Result<usize, Error> {
        if matches!(self.backend, Backend::Sled) {
            return Ok(0);
        }
        let since = self.published_through()?;
        if since >= Some(through) {
            return Ok(0);
        }
        let node = self.node_id()?;
        let first = since.map_or(i32::MIN, |day| day + 1);
        let mut rows = Vec::new();
        for tag in [super::usage::ACCOUNT, super::usage::CREDENTIAL] {
            let range =
                super::usage::key(tag, first, &[])..super::usage::key(tag, through + 1, &[]);
            for item in self.usage.range(range) {
                let (key, value) = item?;
                rows.push((published_key(&key, node), value));
            }
        }
        for chunk in rows.chunks(PUBLISH_BATCH) {
            self.transact([&self.usage_published], |[tree]| {
                for (key, value) in chunk {
                    tree.insert(key, value)?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })?
            .map_err(|()| Error::Corrupt("published usage"))?;
        }
        self.meta_put(META_PUBLISHED, &through.to_be_bytes())?;
        Ok(rows.len())
    }

    /// The counts nodes other than `me` published for the usage entry
    /// `local` (a `usage` key), summed; `id` picks a credential out of a
    /// bucket.
    pub(super) fn published_by_others(
        &self,
        me: u64,
        local: &[u8],
        id: Option<&str>,
    ) -> Result<Option<UsageCounts>, Error> {
        let mut prefix = local.to_vec();
        prefix.push(0);
        let mut sum: Option<UsageCounts> = None;
        for item in self.usage_published.scan_prefix(&prefix) {
            let (key, raw) = item?;
            if node_of(&key)? == me {
                continue;
            }
            let counts = match id {
                None => Some(super::usage::decode_counts(&raw)?),
                Some(id) => Bucket::<UsageCounts>::decode(Some(&raw))?.get(id),
            };
            if let Some(counts) = counts {
                sum.get_or_insert_with(UsageCounts::default).add(&counts);
            }
        }
        Ok(sum)
    }

    /// Removes up to `limit` published rows of days before `first_kept`,
    /// every node's: only where the sweeps run (the leader; with sled, the
    /// rows a migration from a cluster brought). Returns how many.
    ///
    /// # Errors
    /// sled errors, [`Error::Cluster`].
    pub(super) fn remove_published_before(
        &self,
        first_kept: i32,
        limit: usize,
    ) -> Result<usize, Error> {
        if !*self.leading().borrow() {
            return Ok(0);
        }
        let mut keys = Vec::new();
        for tag in [super::usage::ACCOUNT, super::usage::CREDENTIAL] {
            let range =
                super::usage::key(tag, i32::MIN, &[])..super::usage::key(tag, first_kept, &[]);
            for key in self
                .usage_published
                .range(range)
                .keys()
                .take(limit - keys.len())
            {
                keys.push(key?);
            }
        }
        for chunk in keys.chunks(PUBLISH_BATCH) {
            self.transact([&self.usage_published], |[tree]| {
                for key in chunk {
                    tree.remove(key)?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })?
            .map_err(|()| Error::Corrupt("published usage"))?;
        }
        Ok(keys.len())
    }

    /// Published rows, every node's (tests).
    pub fn published_usage_count(&self) -> usize {
        self.usage_published.len()
    }
}
