//! The session sweep: reads the `session_deadlines` index up to `now` in
//! bounded batches, like the credential sweep reads `deadlines`, and
//! settles each due entry: a session that is over (idle timeout, absolute
//! lifetime) or whose user is gone is removed with its audit event; one
//! still live (used since it was indexed) moves to its new deadline (lazy
//! rescheduling, see `store::sessions`); an entry no session stands behind
//! is dropped. The cost grows with the due entries, never with the number
//! of sessions.

use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::*;
use crate::store::DueSession;

/// Due session entries read per batch: bounds memory and the time between
/// flushes and yields.
pub const SESSION_SWEEP_BATCH: usize = 512;

/// What settling one due entry did.
enum Settled {
    Removed,
    Rescheduled,
    Stale,
}

impl Engine {
    /// Removes sessions that idled out or reached their lifetime, or whose
    /// user is gone, reading only the due part of the session index.
    /// Returns how many were removed. Each batch is flushed.
    ///
    /// # Errors
    /// Storage failures; what was committed before stays committed and the
    /// rest is due at the next sweep.
    pub async fn sweep_sessions(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        crate::engine::offload::blocking(|| self.flush_session_touches())?;
        let mut n_removed = 0;
        loop {
            let (n_due, removed) =
                crate::engine::offload::blocking(|| self.sweep_session_batch(now))?;
            if n_due == 0 {
                break;
            }
            n_removed += removed;
            self.store.flush().await?;
            tokio::task::yield_now().await;
        }
        if n_removed > 0 {
            info!(n_removed, "expired sessions removed");
        }
        Ok(n_removed)
    }

    /// Settles one batch of due entries (not yet durable); returns how many
    /// were due (0: none left) and how many sessions were removed.
    fn sweep_session_batch(&self, now: DateTime<Utc>) -> Result<(usize, usize), Error> {
        let due = self.store.due_sessions(now, SESSION_SWEEP_BATCH)?;
        let mut n_removed = 0;
        for entry in &due {
            if let Settled::Removed = self.settle_due_session(entry, now)? {
                n_removed += 1;
            }
        }
        Ok((due.len(), n_removed))
    }

    /// Reads the session behind `entry` and removes it, reschedules it or
    /// drops the entry; again when a touch changed the session meanwhile.
    fn settle_due_session(&self, entry: &DueSession, now: DateTime<Utc>) -> Result<Settled, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let Some((mut session, indexed)) = self.store.get_session_due(&entry.hash)? else {
                return self.drop_stale(entry);
            };
            if indexed != Some(entry.due) {
                return self.drop_stale(entry);
            }
            let stored = session.clone();
            // A use noted in memory but not yet flushed still counts.
            if let Some(seen) = self.pending_touch(&entry.hash) {
                session.last_seen_at = session.last_seen_at.max(seen);
            }
            let policy = &self.user_settings.sessions;
            let user_exists = self
                .store
                .get_user(&session.account_id, &session.username)?
                .is_some_and(|user| lifecycle::session_belongs_to(&session, &user));
            let commit = if user_exists && lifecycle::session_live(&session, policy, now) {
                let next = lifecycle::session_ends_at(&session, policy);
                (
                    self.store.reschedule_session(entry, &stored, next)?,
                    Settled::Rescheduled,
                )
            } else {
                let audit = audit_entry(
                    &Actor::system(),
                    now,
                    "session.expire",
                    &session.id,
                    &session.account_id,
                    format!("user {}", session.username),
                );
                (
                    self.store.expire_session(entry, &stored, &audit)?,
                    Settled::Removed,
                )
            };
            if commit.0 == Commit::Done {
                return Ok(commit.1);
            }
        }
        Err(Error::Contention {
            id: "a due session".to_string(),
        })
    }

    fn drop_stale(&self, entry: &DueSession) -> Result<Settled, Error> {
        warn!(due = %entry.due, "removing a stale session deadline entry");
        self.store.remove_session_deadline(entry)?;
        Ok(Settled::Stale)
    }
}
