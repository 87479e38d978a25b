//! Login with a password, sessions (their tokens and touches; the sweep is
//! `session_sweep`) and the
//! login throttle: failures counted per user and per peer address, so that
//! after `login_free_attempts` failures the next attempt waits, doubling.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};
use zeroize::Zeroizing;

use super::*;
use crate::engine::VerifyQuery;
use crate::lifecycle::scope_expr;

/// Most throttle entries kept before expired ones are pruned.
const MAX_THROTTLE_ENTRIES: usize = 100_000;

/// Failed-login bookkeeping per user and per peer.
#[derive(Debug, Default)]
pub(crate) struct LoginThrottle {
    /// Key -> (consecutive failures, blocked until).
    state: Mutex<HashMap<String, (u32, Option<Instant>)>>,
    /// Live cluster nodes sharing the free attempts (0 or 1: all of them).
    nodes: std::sync::atomic::AtomicU32,
}

impl LoginThrottle {
    /// The longest wait any of `keys` is under.
    pub(crate) fn wait(&self, keys: &[String]) -> Option<StdDuration> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        keys.iter()
            .filter_map(|k| state.get(k).and_then(|(_, until)| *until))
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    pub(crate) fn failed(&self, keys: &[String], settings: &UserSettings) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if state.len() > MAX_THROTTLE_ENTRIES {
            state.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        for key in keys {
            let entry = state.entry(key.clone()).or_insert((0, None));
            entry.0 += 1;
            // After the free attempts are used up, the next attempt waits:
            // the backoff starts with the N-th failure, not the one after.
            // (0 free attempts: every failure makes the next one wait.)
            // In a cluster each node allows its share of the free attempts.
            let nodes = self.nodes.load(std::sync::atomic::Ordering::Relaxed);
            let free =
                lifecycle::rate_limits::node_share(settings.login_free_attempts.max(1), nodes);
            if entry.0 >= free {
                let doublings = (entry.0 - free).min(20);
                let delay = settings
                    .login_backoff
                    .saturating_mul(1 << doublings)
                    .min(settings.login_backoff_max);
                entry.1 = Some(now + delay);
            }
        }
    }

    /// A cluster node joined or left.
    #[cfg(feature = "etcd")]
    pub(crate) fn set_nodes(&self, nodes: u32) {
        self.nodes
            .store(nodes, std::sync::atomic::Ordering::Relaxed);
    }

    fn succeeded(&self, key: &str) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

impl Engine {
    /// Logs a user in with a password (KlickTipp). Returns the session and
    /// its token, shown once.
    ///
    /// # Errors
    /// `Unauthenticated` for an unknown account or user or a wrong password
    /// (the same answer after the same work), `PermissionDenied` for a
    /// disabled user with the right password, `Throttled` after repeated
    /// failures, `InvalidArgument`, storage.
    pub async fn login(
        &self,
        account_id: &str,
        name: &str,
        password: Zeroizing<String>,
        peer: Option<IpAddr>,
    ) -> Result<(SessionRecord, Secret), Error> {
        validate::account_id("account_id", account_id)?;
        username(name)?;
        if password.is_empty() || password.len() > *PASSWORD_LEN.end() {
            return Err(Error::InvalidArgument(format!(
                "password must be 1 to {} bytes long",
                PASSWORD_LEN.end()
            )));
        }
        let user_key = format!("user:{account_id}\0{name}");
        let mut keys = vec![user_key.clone()];
        if let Some(peer) = peer {
            keys.push(format!("peer:{peer}"));
        }
        if let Some(retry_after) = self.login_throttle.wait(&keys) {
            warn!(account_id, username = name, "login throttled");
            return Err(Error::Throttled { retry_after });
        }
        let user = self.store.get_user(account_id, name)?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let matched = self.password_matches(password, hash).await;
        let Some(user) = user.filter(|_| matched) else {
            self.login_throttle.failed(&keys, &self.user_settings);
            info!(account_id, username = name, "login failed");
            return Err(Error::Unauthenticated(
                "invalid account, username or password".to_string(),
            ));
        };
        self.login_throttle.succeeded(&user_key);
        if user.status == UserStatus::Disabled {
            return Err(Error::PermissionDenied(format!(
                "user {name} of account {account_id} is disabled"
            )));
        }
        let now = self.clock.now();
        let token = Secret::generate(&self.key_prefix, Environment::Live, Kind::Session)
            .map_err(Error::Random)?;
        let session = SessionRecord {
            id: format!("sess_{}", ulid::Ulid::new()),
            account_id: account_id.to_string(),
            username: name.to_string(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.user_settings.sessions.max_lifetime,
        };
        let actor = Actor::unrestricted(&format!("user:{}", user.login_name()));
        let audit = audit_entry(
            &actor,
            now,
            "session.login",
            &session.id,
            account_id,
            format!("user {name}"),
        );
        let due = lifecycle::session_ends_at(&session, &self.user_settings.sessions);
        self.store
            .insert_session(&self.pepper.hash(token.expose()).0, &session, due, &audit)?;
        self.store.flush().await?;
        info!(account_id, username = name, session_id = %session.id, "logged in");
        Ok((session, token))
    }

    /// Ends a session at once. Returns whether one was ended.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty token, storage.
    pub async fn logout(&self, token: &str) -> Result<bool, Error> {
        if token.is_empty() || token.len() > secret::MAX_SECRET_LEN {
            return Err(Error::InvalidArgument(
                "session token is required".to_string(),
            ));
        }
        if secret::parse(token).map(|s| s.kind) != Ok(Kind::Session) {
            return Ok(false);
        }
        let hash = self.pepper.hash(token).0;
        let Some(session) = self.store.get_session(&hash)? else {
            return Ok(false);
        };
        let actor =
            Actor::unrestricted(&format!("user:{}-{}", session.account_id, session.username));
        let audit = audit_entry(
            &actor,
            self.clock.now(),
            "session.logout",
            &session.id,
            &session.account_id,
            String::new(),
        );
        let ended = self.store.remove_session(&hash, Some(&audit))?;
        self.store.flush().await?;
        info!(session_id = %session.id, account_id = %session.account_id, "logged out");
        Ok(ended)
    }

    /// Verify of a session token: live, user active, account not suspended.
    pub(crate) fn verify_session(
        &self,
        presented: &str,
        query: &VerifyQuery<'_>,
    ) -> Result<(VerifyOutcome, Option<SessionRecord>, Option<UserRecord>), Error> {
        let account_id = query.account_id;
        let hash = self.pepper.hash(presented).0;
        let Some(mut session) = self.store.get_session(&hash)? else {
            debug!(result = "not_found", why = "unknown session", "verify");
            return Ok((VerifyOutcome::NotFound, None, None));
        };
        if account_id.is_some_and(|a| a != session.account_id) {
            return Ok((VerifyOutcome::AccountMismatch, None, None));
        }
        if let Some(seen) = self.pending_touch(&hash) {
            session.last_seen_at = session.last_seen_at.max(seen);
        }
        let now = self.clock.now();
        let Some(user) = self
            .store
            .get_user(&session.account_id, &session.username)?
            .filter(|user| lifecycle::session_belongs_to(&session, user))
        else {
            return Ok((VerifyOutcome::NotFound, None, None));
        };
        let mut outcome = if !lifecycle::session_live(&session, &self.user_settings.sessions, now) {
            VerifyOutcome::Expired
        } else if user.status == UserStatus::Disabled {
            VerifyOutcome::Disabled(DisabledReason::UserDisabled)
        } else if !scope_expr::satisfied(query.required_scopes, query.scope_query, &[]) {
            // A session holds no scopes.
            VerifyOutcome::InsufficientScope
        } else {
            VerifyOutcome::Valid { retires_at: None }
        };
        if let Some(account) = self.accounts.get(&session.account_id) {
            outcome = account.gate().apply(outcome);
        }
        if matches!(outcome, VerifyOutcome::Valid { .. }) {
            self.session_touches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(hash, now);
        }
        Ok((outcome, Some(session), Some(user)))
    }

    pub(super) fn pending_touch(&self, hash: &[u8; 32]) -> Option<DateTime<Utc>> {
        self.session_touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .copied()
    }

    /// Writes pending session uses (called with the usage flush).
    pub(crate) fn flush_session_touches(&self) -> Result<usize, Error> {
        let touches: Vec<([u8; 32], DateTime<Utc>)> = self
            .session_touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (hash, seen) in &touches {
            self.store.touch_session(hash, *seen)?;
        }
        Ok(touches.len())
    }
}
