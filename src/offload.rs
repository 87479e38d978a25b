//! Work that takes milliseconds or waits (a usage flush writing thousands
//! of records, a sweep batch, a transaction waiting out a backup's hold, an
//! etcd call awaited from sync code) run without holding a runtime worker. On the
//! multi-thread runtime the worker hands its queued tasks to another thread
//! for the duration (`tokio::task::block_in_place`), so the Verify calls
//! behind it are not delayed by it; on a current-thread runtime (unit tests)
//! or outside a runtime the work simply runs in place.

use tokio::runtime::{Handle, RuntimeFlavor};

/// Runs `work`, a synchronous stretch of store calls, off the async workers
/// where that is possible.
pub(crate) fn blocking<R>(work: impl FnOnce() -> R) -> R {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// On a multi-thread runtime with one worker, a task inside `blocking`
    /// waits for another task that can only run if the worker was handed
    /// on; on a current-thread runtime the work runs in place.
    #[test]
    fn frees_the_worker_on_the_multi_thread_runtime() {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (done_tx, done_rx) = mpsc::channel();
        let handed_on = multi.block_on(async move {
            let waiter = tokio::spawn(async move {
                blocking(|| done_rx.recv_timeout(Duration::from_secs(5)).is_ok())
            });
            // Give the waiter the worker first.
            tokio::time::sleep(Duration::from_millis(50)).await;
            tokio::spawn(async move { done_tx.send(()) })
                .await
                .unwrap()
                .unwrap();
            waiter.await.unwrap()
        });
        assert!(handed_on, "the other task never ran while the work blocked");
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(current.block_on(async { blocking(|| 7) }), 7);
        assert_eq!(blocking(|| 8), 8);
    }
}
