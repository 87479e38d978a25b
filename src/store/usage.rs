//! The `usage` tree: daily Verify counts, keyed (tag, day, rest) so that
//! retention removes whole days from the front. Per credential (tag `c`),
//! `rest` is the id's hash bucket and the value holds every id of that
//! bucket with its counts (`buckets`), so a flush of a million credentials
//! rewrites at most 65,536 entries a day; per account (tag `a`), `rest` is
//! the account id and the value its counts. Counts are varints.
//!
//! The engine aggregates counts in memory and adds them here in batches,
//! one flush at a time (each entry is read, added to and written back, so
//! two concurrent adders would lose counts: the engine's flush lock
//! prevents that).

use prost::encoding::{decode_varint, encode_varint};

use super::buckets::{Bucket, Payload, bucket_of};
use super::{Error, Store};
use crate::lifecycle::{N_BUCKETS, UsageCounts};

/// Entries written per sled batch.
const BATCH: usize = 4096;

pub(super) const CREDENTIAL: u8 = b'c';
pub(super) const ACCOUNT: u8 = b'a';

/// Whose usage a row counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageSubject<'a> {
    /// One credential, by id.
    Credential(&'a str),
    /// Every credential of an account, by account id.
    Account(&'a str),
}

/// One day's counts of a subject, as the engine hands them to the store.
pub type UsageRow<'a> = (UsageSubject<'a>, i32, UsageCounts);

/// Days sort as unsigned big-endian with the sign bit flipped.
fn day_key(day: i32) -> [u8; 4] {
    ((day as u32) ^ 0x8000_0000).to_be_bytes()
}

pub(super) fn key(tag: u8, day: i32, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(5 + rest.len());
    key.push(tag);
    key.extend_from_slice(&day_key(day));
    key.extend_from_slice(rest);
    key
}

impl Payload for UsageCounts {
    fn put(&self, buf: &mut Vec<u8>) {
        for n in self.0 {
            encode_varint(n, buf);
        }
    }

    fn take(buf: &mut &[u8]) -> Result<Self, Error> {
        let mut counts = UsageCounts::default();
        for slot in &mut counts.0 {
            *slot = decode_varint(buf).map_err(|_| Error::Corrupt("usage counts"))?;
        }
        Ok(counts)
    }

    fn merge(mut stored: Self, new: Self) -> Self {
        stored.add(&new);
        stored
    }
}

pub(super) fn decode_counts(raw: &[u8]) -> Result<UsageCounts, Error> {
    let mut buf = raw;
    let counts = UsageCounts::take(&mut buf)?;
    if buf.is_empty() && counts.0.len() == N_BUCKETS {
        Ok(counts)
    } else {
        Err(Error::Corrupt("usage counts"))
    }
}

/// Where a row goes in a flush's order: accounts (0) first, then
/// credentials (1) by day and bucket.
fn row_key(row: &UsageRow<'_>) -> (u8, i32, u16) {
    match row.0 {
        UsageSubject::Account(_) => (0, row.1, 0),
        UsageSubject::Credential(id) => (1, row.1, u16::from_be_bytes(bucket_of(id))),
    }
}

impl Store {
    /// Adds each day's counts to its stored entry, in batches. Sorts
    /// `rows` first (accounts, then credentials by day and bucket): when it
    /// fails, `rows[..*done]` were added and the rest were not. Not durable
    /// until [`Store::flush`]. The caller must not add concurrently.
    ///
    /// # Errors
    /// sled errors.
    pub fn add_usage(&self, rows: &mut [UsageRow<'_>], done: &mut usize) -> Result<(), Error> {
        // Accounts first, then credentials by day and bucket; the keys are
        // computed once per row, and the rows are permuted in place (a
        // sorted copy of a million rows would be a fresh 100 MB).
        rows.sort_by_cached_key(|row| row_key(row));
        if let Some(day) = rows.iter().map(|row| row.1).min() {
            self.usage_changed_on(day)?;
        }
        let n_accounts = rows
            .iter()
            .take_while(|(subject, _, _)| matches!(subject, UsageSubject::Account(_)))
            .count();
        for chunk in rows[..n_accounts].chunks(BATCH) {
            let mut batch = sled::Batch::default();
            for (subject, day, counts) in chunk {
                let UsageSubject::Account(account) = subject else {
                    continue;
                };
                let key = key(ACCOUNT, *day, account.as_bytes());
                let mut sum = *counts;
                if let Some(raw) = self.usage.get(&key)? {
                    sum.add(&decode_counts(&raw)?);
                }
                let mut value = Vec::new();
                sum.put(&mut value);
                batch.insert(key, value);
            }
            self.apply_usage(batch)?;
            *done += chunk.len();
        }
        // Credentials: consecutive rows of one (day, bucket) share an entry.
        let mut batch = sled::Batch::default();
        let (mut in_batch, mut n_entries) = (0, 0);
        let mut rest = &rows[n_accounts..];
        while let Some(first) = rest.first() {
            let (_, day, bucket) = row_key(first);
            let same = rest
                .iter()
                .take_while(|row| row_key(row) == (1, day, bucket))
                .count();
            let key = key(CREDENTIAL, day, &bucket.to_be_bytes());
            let raw = self.usage.get(&key)?;
            let mut stored = Bucket::<UsageCounts>::decode(raw.as_deref())?;
            let mut items: Vec<(&str, UsageCounts)> = rest[..same]
                .iter()
                .filter_map(|(subject, _, counts)| match subject {
                    UsageSubject::Credential(id) => Some((*id, *counts)),
                    UsageSubject::Account(_) => None,
                })
                .collect();
            items.sort_unstable_by(|a, b| a.0.cmp(b.0));
            stored.put_sorted(&items);
            batch.insert(key, stored.encode());
            in_batch += same;
            n_entries += 1;
            rest = &rest[same..];
            if n_entries == BATCH || rest.is_empty() {
                self.apply_usage(std::mem::take(&mut batch))?;
                *done += in_batch;
                (in_batch, n_entries) = (0, 0);
            }
        }
        Ok(())
    }

    fn apply_usage(&self, batch: sled::Batch) -> Result<(), Error> {
        // Node-local on every backend (see `backend`).
        self.watched(self.usage.apply_batch(batch).map_err(Error::from))
    }

    /// The stored counts of `subject` from day `from` to day `to`
    /// (inclusive), oldest first, days without counts left out: this
    /// node's rows plus the rows other nodes of a cluster published
    /// (`usage_published`).
    ///
    /// # Errors
    /// sled errors and undecodable entries.
    pub fn usage_rows(
        &self,
        subject: UsageSubject<'_>,
        from: i32,
        to: i32,
    ) -> Result<Vec<(i32, UsageCounts)>, Error> {
        let mut rows = Vec::new();
        let me = self.node_id()?;
        for day in from..=to {
            let (key, id) = match subject {
                UsageSubject::Account(account) => (key(ACCOUNT, day, account.as_bytes()), None),
                UsageSubject::Credential(id) => (key(CREDENTIAL, day, &bucket_of(id)), Some(id)),
            };
            let raw = self.usage.get(&key)?;
            let mine = match id {
                None => raw.map(|raw| decode_counts(&raw)).transpose()?,
                Some(id) => Bucket::<UsageCounts>::decode(raw.as_deref())?.get(id),
            };
            let counts = match (mine, self.published_by_others(me, &key, id)?) {
                (Some(mut mine), Some(others)) => {
                    mine.add(&others);
                    Some(mine)
                }
                (mine, others) => mine.or(others),
            };
            if let Some(counts) = counts {
                rows.push((day, counts));
            }
        }
        Ok(rows)
    }

    /// Removes up to `limit` entries of days before `first_kept`, oldest
    /// first. Not durable until [`Store::flush`]. Returns how many.
    ///
    /// # Errors
    /// sled errors.
    pub fn remove_usage_before(&self, first_kept: i32, limit: usize) -> Result<usize, Error> {
        let mut batch = sled::Batch::default();
        let mut n = 0;
        for tag in [ACCOUNT, CREDENTIAL] {
            let range = key(tag, i32::MIN, &[])..key(tag, first_kept, &[]);
            for item in self.usage.range(range).keys().take(limit - n) {
                batch.remove(item?);
                n += 1;
            }
        }
        self.apply_usage(batch)?;
        Ok(n + self.remove_published_before(first_kept, limit - n)?)
    }

    /// Entries in the usage tree (tests).
    pub fn usage_row_count(&self) -> usize {
        self.usage.len()
    }
}
