//! Work that takes milliseconds or waits (a usage flush writing thousands
//! of records, a sweep batch, a transaction waiting out a backup's hold, an
//! etcd call awaited from sync code) run without holding a runtime worker. On the
//! multi-thread runtime the worker hands its queued tasks to another thread
//! for the duration (`tokio::task::block_in_place`), so the Verify calls
//! behind it are not delayed by it; on a current-thread runtime (unit tests)
//! or outside a runtime the work simply runs in place.
//!
//! Background work that no request waits on (the usage flush) goes further
//! ([`background`]): it runs on a thread of its own at a lower scheduling
//! priority, so that on a busy machine the threads answering Verify get
//! the cores first, and on an idle one it runs at full speed.

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

/// The nice value of a [`background`] thread (0 is normal, 19 the lowest).
pub(crate) const BACKGROUND_NICE: i32 = 10;

/// Runs `work` as [`blocking`] does, on a new thread whose nice value is
/// [`BACKGROUND_NICE`]: the kernel's scheduler gives it a core only when
/// normal-priority threads leave one. A thread that cannot be started or
/// lowered runs the work anyway (lowering is a courtesy, not a condition).
pub(crate) fn background<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    blocking(|| {
        let work = std::sync::Mutex::new(Some(work));
        // The work is taken once: by the thread, or here when no thread
        // could be started.
        #[allow(clippy::expect_used)]
        let take = || {
            work.lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
                .expect("background work runs once")
        };
        std::thread::scope(|scope| {
            let lowered = std::thread::Builder::new()
                .name("credd-background".to_string())
                .spawn_scoped(scope, || {
                    lower_priority();
                    take()()
                });
            match lowered {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(e) => {
                    tracing::debug!(error = %e, "background work runs in place");
                    take()()
                }
            }
        })
    })
}

/// Raises the calling thread's nice value to [`BACKGROUND_NICE`] unless it
/// is already at least that (on Linux the nice value is per thread).
#[cfg(target_os = "linux")]
fn lower_priority() {
    // SAFETY: gettid(2), getpriority(2) and setpriority(2) on the calling
    // thread only.
    let done = unsafe {
        let tid = libc::gettid() as libc::id_t;
        let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, nice.max(BACKGROUND_NICE))
    };
    if done != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "background work keeps normal priority"
        );
    }
}

/// Elsewhere the nice value is per process: background work keeps the
/// normal priority.
#[cfg(not(target_os = "linux"))]
fn lower_priority() {}

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

    #[cfg(target_os = "linux")]
    fn my_nice() -> i32 {
        // SAFETY: getpriority(2) of the calling thread.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    /// Background work runs on another thread at the background nice value,
    /// may borrow the caller's data, hands back its result and its panic,
    /// and leaves the caller's own priority alone.
    #[cfg(target_os = "linux")]
    #[test]
    fn background_work_runs_lowered_on_its_own_thread() {
        let caller = std::thread::current().id();
        let before = my_nice();
        let data = [1, 2, 3];
        let (sum, thread, nice) = background(|| {
            let sum: i32 = data.iter().sum();
            (sum, std::thread::current().id(), my_nice())
        });
        assert_eq!(sum, 6);
        assert_ne!(thread, caller, "the work ran on the caller's thread");
        assert_eq!(nice, BACKGROUND_NICE.max(before), "not lowered");
        assert_eq!(my_nice(), before, "the caller's priority changed");
        let panicked = std::panic::catch_unwind(|| background(|| panic!("boom")));
        assert!(panicked.is_err(), "a panic in background work was lost");
    }
}
