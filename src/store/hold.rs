//! The write hold: a backup copies every tree while no multi-tree write
//! commits, so the copy is one moment of the store (no record without its
//! index entries, no index entry without its record).
//!
//! Every transaction (`Store::transact` with sled: every write that spans
//! trees) takes the hold shared for its length; a backup takes it
//! exclusively while it reads the trees. Reads never take it, so Verify is
//! never held. std's `RwLock` on Linux prefers a waiting writer, so a
//! backup is not starved by a steady stream of transactions. A writer that
//! finds the hold taken waits off the async workers (`block_in_place` on the
//! multi-thread runtime), so the Verify calls queued on its worker go on.
//! Single-tree batches (usage counts, last uses, credit balances, `meta`)
//! are atomic on their own and do not take it.

use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use tokio::runtime::{Handle, RuntimeFlavor};

/// Shared by every clone of a store.
#[derive(Debug, Default)]
pub(crate) struct WriteHold(RwLock<()>);

impl WriteHold {
    /// Taken by a transaction for its length.
    pub(crate) fn shared(&self) -> RwLockReadGuard<'_, ()> {
        match self.0.try_read() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => off_the_workers(|| {
                self.0
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            }),
        }
    }

    /// Taken by a backup while it copies the trees: waits for the
    /// transactions under way, and holds new ones until dropped.
    pub(crate) fn exclusive(&self) -> RwLockWriteGuard<'_, ()> {
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Runs `wait` without holding a runtime worker where that is possible.
fn off_the_workers<R>(wait: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

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
