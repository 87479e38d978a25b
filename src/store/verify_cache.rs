//! A bounded in-memory copy of recently read `secret_index` values, so that
//! Verify of a key in use does not walk sled's B-tree (nor take sled's global
//! lock) and costs the same with 10K or 10M stored credentials.
//!
//! Correctness rests on two rules:
//! - Only a read fills the cache, with the value it just read from sled;
//!   commits never put values in it, they only remove.
//! - Each shard has a generation. A commit, after its transaction, bumps the
//!   generation of every hash it touched and removes the hash, both under
//!   the shard's lock. A read notes the generation before reading sled and
//!   fills the cache only if, under that same lock, it has not moved.
//!
//! A value read before a commit therefore either lands before the commit's
//! removal (and is removed by it) or is refused; no revoked, rotated-out or
//! deleted secret can be served from the cache once its commit has returned.
//! A full shard evicts an arbitrary entry (hash order, which is random).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shards: a power of two, chosen by the first byte of the (uniform) hash.
const SHARDS: usize = 64;

/// Default number of cached entries, about 50 MiB with typical values
/// (the config's `[storage] verify_cache_entries` default is the same).
pub(crate) const DEFAULT_ENTRIES: usize = 200_000;

#[derive(Default)]
struct Shard {
    generation: u64,
    entries: HashMap<[u8; 32], sled::IVec, KeyIsHash>,
}

/// One shard and its counters (next to its lock, whose cache line every
/// lookup in the shard writes anyway).
#[derive(Default)]
struct Slot {
    shard: RwLock<Shard>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// What the cache holds and how lookups went since it was made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyCacheStats {
    /// Values held now.
    pub entries: usize,
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that read sled (known keys and unknown ones alike).
    pub misses: u64,
}

/// The cache. With a capacity of 0 it holds nothing and every read goes to
/// sled.
pub(crate) struct VerifyCache {
    slots: Box<[Slot]>,
    per_shard: usize,
}

/// Sizes and counts only: a Debug print of the store must not dump up to
/// hundreds of thousands of secret hashes.
impl std::fmt::Debug for VerifyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .field("stats", &self.stats())
            .finish()
    }
}

impl VerifyCache {
    /// A cache of at most about `entries` values.
    pub(crate) fn new(entries: usize) -> Self {
        Self {
            slots: (0..SHARDS).map(|_| Slot::default()).collect(),
            per_shard: entries.div_ceil(SHARDS),
        }
    }

    fn slot(&self, hash: &[u8; 32]) -> &Slot {
        &self.slots[usize::from(hash[0]) % SHARDS]
    }

    /// The value for `hash`: from the cache, or from `read` (sled), which
    /// then fills the cache unless a commit touched the shard meanwhile.
    pub(crate) fn get_or_read<E>(
        &self,
        hash: &[u8; 32],
        read: impl FnOnce() -> Result<Option<sled::IVec>, E>,
    ) -> Result<Option<sled::IVec>, E> {
        let slot = self.slot(hash);
        let shard = &slot.shard;
        let generation = {
            let guard = shard.read().unwrap_or_else(|e| e.into_inner());
            if let Some(value) = guard.entries.get(hash) {
                slot.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(Some(value.clone()));
            }
            guard.generation
        };
        slot.misses.fetch_add(1, Ordering::Relaxed);
        let value = read()?;
        if let Some(value) = &value {
            if self.per_shard > 0 {
                let mut guard = shard.write().unwrap_or_else(|e| e.into_inner());
                if guard.generation == generation {
                    if guard.entries.len() >= self.per_shard {
                        if let Some(evicted) = guard.entries.keys().next().copied() {
                            guard.entries.remove(&evicted);
                        }
                    }
                    guard.entries.insert(*hash, value.clone());
                }
            }
        }
        Ok(value)
    }

    /// Forgets `hashes` after a commit that may have changed them (call it
    /// after the transaction, whatever its outcome).
    pub(crate) fn invalidate<'h>(&self, hashes: impl IntoIterator<Item = &'h [u8; 32]>) {
        for hash in hashes {
            let mut guard = self
                .slot(hash)
                .shard
                .write()
                .unwrap_or_else(|e| e.into_inner());
            guard.generation = guard.generation.wrapping_add(1);
            guard.entries.remove(hash);
        }
    }

    /// Number of cached values.
    pub(crate) fn len(&self) -> usize {
        self.slots
            .iter()
            .map(|s| {
                s.shard
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .entries
                    .len()
            })
            .sum()
    }

    /// Entries, hits and misses (for metrics).
    pub(crate) fn stats(&self) -> VerifyCacheStats {
        VerifyCacheStats {
            entries: self.len(),
            hits: self
                .slots
                .iter()
                .map(|s| s.hits.load(Ordering::Relaxed))
                .sum(),
            misses: self
                .slots
                .iter()
                .map(|s| s.misses.load(Ordering::Relaxed))
                .sum(),
        }
    }
}

/// The keys are HMAC outputs: uniform, and not choosable by anyone without
/// the pepper, so their last eight bytes are as good a hash as any (the
/// first byte picks the shard) and hash flooding is not possible.
#[derive(Debug, Default, Clone, Copy)]
struct KeyIsHash;

impl std::hash::BuildHasher for KeyIsHash {
    type Hasher = TailHasher;
    fn build_hasher(&self) -> TailHasher {
        TailHasher(0)
    }
}

#[derive(Debug, Default)]
struct TailHasher(u64);

impl std::hash::Hasher for TailHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length (8 bytes) and then its bytes.
        if bytes.len() >= 8 {
            let mut prefix = [0u8; 8];
            prefix.copy_from_slice(&bytes[bytes.len() - 8..]);
            self.0 ^= u64::from_le_bytes(prefix);
        } else {
            for b in bytes {
                self.0 = self.0.rotate_left(8) ^ u64::from(*b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u32) -> [u8; 32] {
        let digest: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(n.to_be_bytes()).into()
        };
        digest
    }

    fn read_ok(value: &'static [u8]) -> impl FnOnce() -> Result<Option<sled::IVec>, ()> {
        move || Ok(Some(sled::IVec::from(value)))
    }

    /// A read fills the cache; the next read of the hash does not go to sled.
    #[test]
    fn read_fills_then_hits() {
        let cache = VerifyCache::new(100);
        let h = hash(1);
        assert_eq!(
            cache.get_or_read(&h, read_ok(b"v1")).unwrap().unwrap(),
            b"v1"
        );
        let again = cache
            .get_or_read(&h, || -> Result<Option<sled::IVec>, ()> {
                panic!("served from the cache")
            })
            .unwrap();
        assert_eq!(again.unwrap(), b"v1");
        assert_eq!(
            cache.stats(),
            VerifyCacheStats {
                entries: 1,
                hits: 1,
                misses: 1
            }
        );
    }

    /// Unknown hashes are not cached: every read of them goes to sled.
    #[test]
    fn misses_are_not_cached() {
        let cache = VerifyCache::new(100);
        let h = hash(2);
        assert!(
            cache
                .get_or_read(&h, || Ok::<_, ()>(None))
                .unwrap()
                .is_none()
        );
        assert_eq!(cache.len(), 0);
    }

    /// A commit that lands while a read is between sled and the cache makes
    /// the read's (possibly old) value stay out of the cache.
    #[test]
    fn commit_during_read_keeps_old_value_out() {
        let cache = VerifyCache::new(100);
        let h = hash(3);
        let value = cache
            .get_or_read(&h, || {
                // The commit: sled now holds the new value, then invalidates.
                cache.invalidate([&h]);
                Ok::<_, ()>(Some(sled::IVec::from(&b"old"[..])))
            })
            .unwrap();
        assert_eq!(
            value.unwrap(),
            b"old",
            "the read still answers what it read"
        );
        let next = cache.get_or_read(&h, read_ok(b"new")).unwrap();
        assert_eq!(next.unwrap(), b"new", "the next read goes to sled");
    }

    /// Invalidation removes a cached value.
    #[test]
    fn invalidate_removes() {
        let cache = VerifyCache::new(100);
        let h = hash(4);
        cache.get_or_read(&h, read_ok(b"v1")).unwrap();
        cache.invalidate([&h]);
        assert_eq!(cache.len(), 0);
        let next = cache.get_or_read(&h, read_ok(b"v2")).unwrap();
        assert_eq!(next.unwrap(), b"v2");
    }

    /// The cache stays within its capacity (rounded up to whole shards).
    #[test]
    fn bounded() {
        let cache = VerifyCache::new(640);
        for n in 0..10_000 {
            cache.get_or_read(&hash(n), read_ok(b"v")).unwrap();
        }
        assert!(cache.len() <= 640, "{} cached", cache.len());
        assert!(cache.len() >= 320, "{} cached", cache.len());
    }

    /// Under real concurrency, a read that starts after a commit returned
    /// never answers with a value older than that commit's: a writer bumps a
    /// stand-in for sled and invalidates, readers (yielding between their
    /// sled read and the cache fill, to widen the race) check every answer
    /// against the last acknowledged write. Bounded: 20,000 writes or 2 s.
    #[test]
    fn no_stale_value_after_an_acknowledged_commit() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
        let cache = Arc::new(VerifyCache::new(64));
        let sled_value = Arc::new(AtomicU64::new(0));
        let acked = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let h = hash(6);
        let readers: Vec<_> = (0..3)
            .map(|r| {
                let (cache, sled_value, acked, done) = (
                    cache.clone(),
                    sled_value.clone(),
                    acked.clone(),
                    done.clone(),
                );
                std::thread::spawn(move || {
                    let mut reads = 0u64;
                    loop {
                        let finished = done.load(SeqCst);
                        let floor = acked.load(SeqCst);
                        let got = cache
                            .get_or_read(&h, || {
                                let v = sled_value.load(SeqCst);
                                if (reads + r) % 4 != 0 {
                                    std::thread::yield_now();
                                }
                                Ok::<_, ()>(Some(sled::IVec::from(&v.to_be_bytes()[..])))
                            })
                            .unwrap()
                            .unwrap();
                        let got = u64::from_be_bytes(got.as_ref().try_into().unwrap());
                        assert!(got >= floor, "read {got} after commit {floor} returned");
                        reads += 1;
                        if finished {
                            break reads;
                        }
                    }
                })
            })
            .collect();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        for v in (1..=20_000u64).take_while(|_| std::time::Instant::now() < deadline) {
            sled_value.store(v, SeqCst);
            cache.invalidate([&h]);
            acked.store(v, SeqCst);
            std::thread::yield_now();
        }
        done.store(true, SeqCst);
        for reader in readers {
            assert!(reader.join().unwrap() > 0);
        }
    }

    /// A Debug print shows sizes and counts, never the cached hashes.
    #[test]
    fn debug_shows_no_hashes() {
        let cache = VerifyCache::new(64);
        let h = hash(7);
        cache.get_or_read(&h, read_ok(b"v")).unwrap();
        let printed = format!("{cache:?}");
        assert!(printed.contains("entries: 1"), "{printed}");
        assert!(!printed.contains('['), "no hash (array) printed: {printed}");
        assert!(printed.len() < 200, "{printed}");
    }

    /// Capacity 0 caches nothing.
    #[test]
    fn disabled() {
        let cache = VerifyCache::new(0);
        cache.get_or_read(&hash(5), read_ok(b"v")).unwrap();
        assert_eq!(cache.len(), 0);
    }
}
