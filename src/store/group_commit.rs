//! Group commit: one thread owns every flush of the database. Writers that
//! need durability enqueue a waiter; the thread takes every waiter queued so
//! far, runs one blocking `Db::flush` (which syncs everything written before
//! it started) and answers them all. Concurrent writers therefore share one
//! fsync, and none is answered before its data is on disk.
//!
//! It replaces `Db::flush_async`, which hangs under concurrent callers in
//! sled 0.34 (sled issues 1241 and 1308: every I/O thread parked in
//! `make_stable_inner`).

use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// What a waiter gets back: `Ok`, or sled's error as text (sled errors are
/// not `Clone`, and one flush answers many waiters).
type FlushResult = Result<(), String>;

/// The flushing thread and its queue. Dropping it stops the thread and waits
/// for it, so the database lock is released when the store is dropped.
#[derive(Debug)]
pub(crate) struct GroupCommit {
    queue: Option<mpsc::Sender<oneshot::Sender<FlushResult>>>,
    thread: Option<JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the flushing thread for `db`.
    pub(crate) fn start(db: sled::Db) -> std::io::Result<Self> {
        let (queue, waiters) = mpsc::channel::<oneshot::Sender<FlushResult>>();
        let thread = std::thread::Builder::new()
            .name("credd-flush".to_string())
            .spawn(move || {
                while let Ok(first) = waiters.recv() {
                    let mut batch = vec![first];
                    batch.extend(waiters.try_iter());
                    let result = db.flush().map(|_| ()).map_err(|e| e.to_string());
                    for waiter in batch {
                        let _ = waiter.send(result.clone());
                    }
                }
            })?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
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
