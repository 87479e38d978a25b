//! How long the audit log keeps its events (`[audit] retention_days`,
//! default 400, 0: for ever): the sweep removes older ones, oldest first, a
//! batch at a time. In a cluster the leader's sweep does it for everyone, so
//! etcd does not grow with every admin action for ever.

use chrono::Duration;
use tracing::info;

use super::{Engine, Error, offload};

/// Days kept by default.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;

/// Events removed per batch.
const BATCH: usize = 1_000;

impl Engine {
    /// Sets `[audit] retention_days` (0: events are kept for ever).
    pub fn set_audit_retention_days(&mut self, days: u32) {
        self.audit_retention_days = days;
    }

    /// Removes audit events older than the retention (part of the sweep).
    /// Returns how many.
    ///
    /// # Errors
    /// A storage failure.
    pub(crate) async fn sweep_audit(&self) -> Result<usize, Error> {
        if self.audit_retention_days == 0 {
            return Ok(0);
        }
        let cutoff = self.clock.now() - Duration::days(i64::from(self.audit_retention_days));
        let mut n_removed = 0;
        loop {
            let n = offload::blocking(|| self.store.remove_audit_before(cutoff, BATCH))?;
            n_removed += n;
            if n < BATCH {
                break;
            }
            tokio::task::yield_now().await;
        }
        if n_removed > 0 {
            self.store.flush().await?;
            info!(n_removed, cutoff = %cutoff, "audit events past retention removed");
        }
        Ok(n_removed)
    }
}
