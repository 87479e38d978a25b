//! The write hold and the change log: how a backup copies one moment of
//! the store while it keeps serving.
//!
//! Every transaction (`Store::transact` with sled: every write that spans
//! trees) takes the hold shared for its length, and notes the keys it
//! writes in the change log while a backup records. A backup takes the hold
//! exclusively only twice, briefly: to start recording (so every
//! transaction that commits afterwards is noted), and at the end, to copy
//! again the keys noted meanwhile (their values then, or their absence).
//! Between the two it copies the trees while transactions go on, so the
//! copy of a key nobody wrote is that key at the end, and the keys written
//! are copied again at the end: together, the store at the end's moment.
//! The few single-key writes outside transactions to trees a backup copies
//! under this scheme (an audit event of a refusal, a stale index entry
//! removed, a session touched) note their key too.
//! On a cluster node the writer of the replicated trees is the replica's
//! apply of etcd's watch: it takes the hold shared and notes its keys the
//! same way, so a node's backup is its replica at one applied revision. A
//! full read of the replica rewrites whole trees without noting keys: it is
//! counted ([`WriteHold::reset_began`]), and a backup during which one began
//! fails rather than mixing two reads.
//! Reads never take the hold, so Verify is never held. std's `RwLock` on
//! Linux prefers a waiting writer, so a backup is not starved by a steady
//! stream of transactions. A writer that finds the hold taken waits off the
//! async workers (`block_in_place` on the multi-thread runtime).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

/// A key a transaction wrote: its tree's name and the key.
pub(crate) type Changed = (Vec<u8>, Vec<u8>);

/// Shared by every clone of a store.
#[derive(Debug, Default)]
pub(crate) struct WriteHold {
    lock: RwLock<()>,
    recording: AtomicBool,
    changed: Mutex<BTreeSet<Changed>>,
    /// Taken by a backup for its whole length: one at a time.
    backups: Mutex<()>,
    /// Whole-tree rewrites begun (a cluster replica's full reads).
    resets: AtomicU64,
    /// Set while such a rewrite is under way.
    resetting: AtomicBool,
}

/// Where the whole-tree rewrites stand: how many began, and whether one is
/// under way. A backup compares the two ends of its copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resets {
    pub(crate) began: u64,
    pub(crate) under_way: bool,
}

impl WriteHold {
    /// Notes that a transaction writes `key` of `tree` (nothing unless a
    /// backup records).
    pub(crate) fn note(&self, tree: &[u8], key: &[u8]) {
        if self.recording.load(Ordering::Acquire) {
            self.changes().insert((tree.to_vec(), key.to_vec()));
        }
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, BTreeSet<Changed>> {
        self.changed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts recording, once no transaction is under way: every one that
    /// commits from now on is noted.
    pub(crate) fn start_recording(&self) {
        let _quiet = self.exclusive();
        self.changes().clear();
        self.recording.store(true, Ordering::Release);
    }

    /// Stops recording (call it under [`WriteHold::exclusive`]) and returns
    /// the keys written since it started.
    pub(crate) fn stop_recording(&self) -> BTreeSet<Changed> {
        self.recording.store(false, Ordering::Release);
        std::mem::take(&mut *self.changes())
    }

    /// Held by a backup for its length: two at once would share (and
    /// clear) one change log. A second waits for the first.
    pub(crate) fn one_backup(&self) -> std::sync::MutexGuard<'_, ()> {
        self.backups
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A writer is about to rewrite whole trees without noting keys (a
    /// cluster replica's full read).
    #[cfg(feature = "etcd")]
    pub(crate) fn reset_began(&self) {
        self.resetting.store(true, Ordering::SeqCst);
        self.resets.fetch_add(1, Ordering::SeqCst);
    }

    /// That rewrite is complete.
    #[cfg(feature = "etcd")]
    pub(crate) fn reset_ended(&self) {
        self.resetting.store(false, Ordering::SeqCst);
    }

    /// Where the whole-tree rewrites stand now.
    pub(crate) fn resets(&self) -> Resets {
        Resets {
            under_way: self.resetting.load(Ordering::SeqCst),
            began: self.resets.load(Ordering::SeqCst),
        }
    }

    /// Taken by a transaction for its length.
    pub(crate) fn shared(&self) -> RwLockReadGuard<'_, ()> {
        match self.lock.try_read() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => crate::offload::blocking(|| {
                self.lock
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }),
        }
    }

    /// Taken by a backup at its start and end: waits for the transactions
    /// under way, and holds new ones until dropped.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.lock
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    /// Keys are noted only while a backup records, once each.
    #[test]
    fn notes_only_while_recording() {
        let hold = WriteHold::default();
        hold.note(b"credentials", b"a");
        hold.start_recording();
        hold.note(b"credentials", b"b");
        hold.note(b"credentials", b"b");
        hold.note(b"by_account", b"b");
        let changed = hold.stop_recording();
        hold.note(b"credentials", b"c");
        let keys: Vec<_> = changed.into_iter().collect();
        assert_eq!(
            keys,
            vec![
                (b"by_account".to_vec(), b"b".to_vec()),
                (b"credentials".to_vec(), b"b".to_vec())
            ]
        );
        assert!(hold.stop_recording().is_empty());
    }

    /// A full rewrite shows in the count, and as under way until it ends.
    #[cfg(feature = "etcd")]
    #[test]
    fn resets_are_counted() {
        let hold = WriteHold::default();
        let before = hold.resets();
        assert_eq!(
            before,
            Resets {
                began: 0,
                under_way: false
            }
        );
        hold.reset_began();
        assert_eq!(
            hold.resets(),
            Resets {
                began: 1,
                under_way: true
            }
        );
        hold.reset_ended();
        assert_eq!(
            hold.resets(),
            Resets {
                began: 1,
                under_way: false
            }
        );
        assert_ne!(hold.resets(), before);
    }

    /// A transaction started while a backup holds the store waits until the
    /// backup lets go.
    #[test]
    fn a_transaction_waits_for_the_backup() {
        let hold = Arc::new(WriteHold::default());
        let copying = hold.exclusive();
        let committed = Arc::new(AtomicBool::new(false));
        let writer = std::thread::spawn({
            let hold = hold.clone();
            let committed = committed.clone();
            move || {
                let _shared = hold.shared();
                committed.store(true, Ordering::SeqCst);
            }
        });
        std::thread::sleep(Duration::from_millis(100));
        assert!(!committed.load(Ordering::SeqCst), "wrote during the copy");
        drop(copying);
        writer.join().unwrap();
        assert!(committed.load(Ordering::SeqCst));
    }
}
