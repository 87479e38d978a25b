//! Group commit: one thread owns every flush of the database. Writers that
//! need durability enqueue a waiter; the thread takes every waiter queued so
//! far, runs one blocking `Db::flush` (which syncs everything written before
//! it started) and answers them all. Concurrent writers therefore share one
//! fsync, and none is answered before its data is on disk.
//!
//! sled 0.34 holds its global concurrency lock for reading during the whole
//! of `Db::flush`, and every transaction takes it for writing; parking_lot's
//! fair lock then also parks every plain read behind the waiting writer. A
//! transaction started during a flush therefore stalls its tokio worker, and
//! with it every other request on that worker, for the length of an fsync;
//! and the writers that were stalled come out one at a time, each asking for
//! its own flush. Writers that can wait asynchronously pass [`WriteGate`]
//! first: it holds them (without a thread) while a flush runs, and the flush
//! thread waits for the writers that already passed it (up to
//! [`MAX_LINGER`]) so that one fsync answers all of them.
//!
//! It replaces `Db::flush_async`, which hangs under concurrent callers in
//! sled 0.34 (sled issues 1241 and 1308: every I/O thread parked in
//! `make_stable_inner`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, mpsc};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, oneshot};

use super::journal::Journal;

/// What a waiter gets back: `Ok`, or sled's error as text (sled errors are
/// not `Clone`, and one flush answers many waiters).
type FlushResult = Result<(), String>;

/// Longest a flush waits for writers inside the gate to finish their
/// transactions. Bounds the latency a steady stream of writers can add.
pub(crate) const MAX_LINGER: Duration = Duration::from_millis(2);

/// Writers between the gate and the end of their transaction, and whether a
/// flush is running.
#[derive(Debug, Default)]
pub(crate) struct WriteGate {
    writers: AtomicUsize,
    flushing: AtomicBool,
    flushed: Notify,
    /// The flush thread, unparked by the last writer to leave the gate.
    flush_thread: OnceLock<Thread>,
}

/// A writer that passed the gate; counted until dropped.
#[derive(Debug)]
pub struct Writing<'a>(&'a WriteGate);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if self.0.writers.fetch_sub(1, Ordering::AcqRel) == 1 {
            if let Some(thread) = self.0.flush_thread.get() {
                thread.unpark();
            }
        }
    }
}

impl WriteGate {
    /// Waits until no flush is running, and counts the caller as a writer
    /// until the returned guard is dropped.
    pub(crate) async fn enter(&self) -> Writing<'_> {
        self.writers.fetch_add(1, Ordering::AcqRel);
        let writing = Writing(self);
        loop {
            let flushed = self.flushed.notified();
            if !self.flushing.load(Ordering::Acquire) {
                return writing;
            }
            flushed.await;
        }
    }

    /// Waits (up to `max`) until no writer is inside the gate. Runs on the
    /// flush thread, which the last writer out unparks.
    fn linger(&self, max: Duration) {
        let deadline = Instant::now() + max;
        while self.writers.load(Ordering::Acquire) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::park_timeout(left);
        }
    }

    fn flush(&self, db: &sled::Db, journal: &Journal) -> FlushResult {
        self.flushing.store(true, Ordering::Release);
        // The journal first: a crash between the two leaves a journaled
        // restriction sled lost, which a restore re-applies harmlessly.
        let result = journal
            .sync()
            .map_err(|e| format!("journal: {e}"))
            .and_then(|()| db.flush().map(|_| ()).map_err(|e| e.to_string()));
        self.flushing.store(false, Ordering::Release);
        self.flushed.notify_waiters();
        result
    }
}

/// The flushing thread and its queue. Dropping it stops the thread and waits
/// for it, so the database lock is released when the store is dropped.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    queue: Option<mpsc::Sender<oneshot::Sender<FlushResult>>>,
    thread: Option<JoinHandle<()>>,
    gate: Arc<WriteGate>,
}

impl GroupCommit {
    /// Starts the flushing thread for `db`.
    pub(crate) fn start(db: sled::Db, journal: Arc<Journal>) -> std::io::Result<Self> {
        let (queue, waiters) = mpsc::channel::<oneshot::Sender<FlushResult>>();
        let gate = Arc::new(WriteGate::default());
        let thread_gate = gate.clone();
        let thread = std::thread::Builder::new()
            .name("credd-flush".to_string())
            .spawn(move || {
                let _ = thread_gate.flush_thread.set(std::thread::current());
                while let Ok(first) = waiters.recv() {
                    thread_gate.linger(MAX_LINGER);
                    let mut batch = vec![first];
                    batch.extend(waiters.try_iter());
                    let result = thread_gate.flush(&db, &journal);
                    for waiter in batch {
                        let _ = waiter.send(result.clone());
                    }
                }
            })?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
            gate,
        })
    }

    /// The gate writers pass before a transaction they will flush.
    pub(crate) fn gate(&self) -> &WriteGate {
        &self.gate
    }

    /// Waits until everything written before the call is on disk.
    pub(crate) async fn flush(&self) -> FlushResult {
        let (done, answer) = oneshot::channel();
        self.queue
            .as_ref()
            .ok_or_else(|| "flush thread stopped".to_string())?
            .send(done)
            .map_err(|_| "flush thread stopped".to_string())?;
        answer
            .await
            .map_err(|_| "flush thread stopped".to_string())?
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering::SeqCst;

    use super::*;

    /// A writer arriving during a flush is counted at once but held until
    /// the flush ends, then let through.
    #[tokio::test]
    async fn enter_waits_out_a_running_flush() {
        let gate = Arc::new(WriteGate::default());
        gate.flushing.store(true, SeqCst);
        let entered = tokio::spawn({
            let gate = gate.clone();
            async move {
                let _writing = gate.enter().await;
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!entered.is_finished(), "held while the flush runs");
        assert_eq!(gate.writers.load(SeqCst), 1, "counted while held");
        gate.flushing.store(false, SeqCst);
        gate.flushed.notify_waiters();
        entered.await.unwrap();
        assert_eq!(gate.writers.load(SeqCst), 0, "uncounted once dropped");
    }

    /// The flush waits for a writer inside the gate, and stops waiting when
    /// the last one leaves.
    #[test]
    fn linger_waits_for_the_last_writer() {
        let gate = WriteGate::default();
        let _ = gate.flush_thread.set(std::thread::current());
        gate.writers.fetch_add(2, SeqCst);
        let (first, second) = (Writing(&gate), Writing(&gate));
        std::thread::scope(|s| {
            s.spawn(move || {
                drop(first);
                std::thread::sleep(Duration::from_millis(1));
                drop(second);
            });
            // A bound no test machine reaches: only the unpark ends it.
            gate.linger(Duration::from_secs(60));
            assert_eq!(gate.writers.load(SeqCst), 0, "lingered until both left");
        });
    }

    /// A writer that never leaves delays the flush by MAX_LINGER, not more.
    #[test]
    fn linger_is_bounded() {
        let gate = WriteGate::default();
        let _ = gate.flush_thread.set(std::thread::current());
        gate.writers.fetch_add(1, SeqCst);
        let _stuck = Writing(&gate);
        let started = Instant::now();
        gate.linger(MAX_LINGER);
        assert!(started.elapsed() >= MAX_LINGER);
        assert_eq!(gate.writers.load(SeqCst), 1);
    }

    /// Many writers through the gate, each flushing: every flush answers Ok
    /// and the data of each is readable after its flush.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_flushes() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let commit = Arc::new(GroupCommit::start(db.clone(), Arc::default()).unwrap());
        let mut tasks = Vec::new();
        for i in 0..64u32 {
            let (commit, db) = (commit.clone(), db.clone());
            tasks.push(tokio::spawn(async move {
                for j in 0..20u32 {
                    let key = [i.to_be_bytes(), j.to_be_bytes()].concat();
                    {
                        let _writing = commit.gate().enter().await;
                        db.insert(&key, &b"v"[..]).unwrap();
                    }
                    commit.flush().await.unwrap();
                    assert!(db.get(&key).unwrap().is_some());
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(db.len(), 64 * 20);
        assert_eq!(commit.gate().writers.load(SeqCst), 0);
    }
}
