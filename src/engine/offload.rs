//! Store work that takes milliseconds (a usage flush writing thousands of
//! records, a sweep batch) run without holding a runtime worker. On the
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
    use super::*;

    /// On the multi-thread runtime the work runs while another task keeps
    /// being served; on a current-thread runtime it runs in place.
    #[test]
    fn runs_on_both_runtime_flavors() {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let served = multi.block_on(async {
            let ticker = tokio::spawn(async {
                let mut ticks = 0u32;
                while ticks < 5 {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    ticks += 1;
                }
                ticks
            });
            // The only worker is busy here; the ticker still completes.
            blocking(|| std::thread::sleep(std::time::Duration::from_millis(100)));
            ticker.await.unwrap()
        });
        assert_eq!(served, 5);
        let current = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(current.block_on(async { blocking(|| 7) }), 7);
        assert_eq!(blocking(|| 8), 8);
    }
}
