//! Console sessions, kept in this process's memory only: a random id in
//! the `credd_console` cookie (`HttpOnly`, `SameSite=Strict`, `Path=/console`,
//! `Secure` over TLS or behind an https `public_url`), looked up by its
//! SHA-256; the principal it stands
//! for; a CSRF token every form carries; the one-time reveal of a rotated
//! secret; a flash message. A session ends at sign-out, after
//! `idle_timeout` without a request and `max_lifetime` after sign-in, and
//! when the daemon stops; ended sessions are dropped at the next sign-in,
//! with any secret they still held for a reveal. Before sign-in, a double-submit cookie
//! (`credd_console_pre`) guards the sign-in forms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cookie::{Cookie, SameSite};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::engine::ConsolePrincipal;
use crate::secret::Secret;

/// The session cookie.
pub(super) const COOKIE: &str = "credd_console";
/// The sign-in forms' double-submit cookie.
pub(super) const PRE_COOKIE: &str = "credd_console_pre";
/// Most sessions kept at once; a sign-in beyond it is refused.
const MAX_SESSIONS: usize = 10_000;

/// A rotated secret waiting to be shown once.
pub(super) struct Reveal {
    pub credential_id: String,
    pub secret: Secret,
}

/// One signed-in browser.
pub(super) struct ConsoleSession {
    pub principal: Arc<ConsolePrincipal>,
    pub csrf: String,
    created: Instant,
    last_seen: Instant,
    pub reveal: Option<Reveal>,
    pub flash: Option<String>,
}

/// Every session of this process.
pub(super) struct Sessions {
    by_hash: Mutex<HashMap<[u8; 32], Arc<Mutex<ConsoleSession>>>>,
    idle: Duration,
    lifetime: Duration,
    /// Whether cookies are marked `Secure` (the listener speaks TLS, or the
    /// console's public URL is https).
    secure: bool,
}

impl Sessions {
    pub(super) fn new(idle: Duration, lifetime: Duration, secure: bool) -> Self {
        Sessions {
            by_hash: Mutex::default(),
            idle,
            lifetime,
            secure,
        }
    }

    /// Starts a session for `principal`; returns its cookie. Sessions that
    /// have ended are dropped first.
    ///
    /// # Errors
    /// Too many sessions, or no randomness.
    pub(super) fn start(&self, principal: ConsolePrincipal) -> Result<String, String> {
        let id = random_token()?;
        let now = Instant::now();
        let session = ConsoleSession {
            principal: Arc::new(principal),
            csrf: random_token()?,
            created: now,
            last_seen: now,
            reveal: None,
            flash: None,
        };
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| {
            let s = s.lock().unwrap_or_else(|e| e.into_inner());
            self.live(&s, now)
        });
        if map.len() >= MAX_SESSIONS {
            return Err("too many console sessions; try again later".to_string());
        }
        map.insert(hash(&id), Arc::new(Mutex::new(session)));
        Ok(self.cookie(COOKIE, &id, None))
    }

    /// The live session the request's cookie names, touched; an expired
    /// one is removed. The map is not held while the session is locked.
    pub(super) fn find(&self, headers: &HeaderMap) -> Option<Arc<Mutex<ConsoleSession>>> {
        let id = cookie_value(headers, COOKIE)?;
        let key = hash(&id);
        let session = self
            .by_hash
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)?
            .clone();
        let now = Instant::now();
        let mut guard = session.lock().unwrap_or_else(|e| e.into_inner());
        if !self.live(&guard, now) {
            drop(guard);
            self.remove(&key, &session);
            return None;
        }
        guard.last_seen = now;
        drop(guard);
        Some(session)
    }

    /// Removes `session` under `key`, unless the key now names another.
    fn remove(&self, key: &[u8; 32], session: &Arc<Mutex<ConsoleSession>>) {
        let mut map = self.by_hash.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(key).is_some_and(|s| Arc::ptr_eq(s, session)) {
            map.remove(key);
        }
    }

    /// Ends the session the request's cookie names; returns it.
    pub(super) fn end(&self, headers: &HeaderMap) -> Option<Arc<Mutex<ConsoleSession>>> {
        let id = cookie_value(headers, COOKIE)?;
        self.by_hash
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&hash(&id))
    }

    /// Ends the session the request's cookie names (its reveal dropped);
    /// gives back who it was and, for a user, a copy of the login session's
    /// token, to end that session too.
    pub(super) fn sign_out(
        &self,
        headers: &HeaderMap,
    ) -> Option<(String, Option<Zeroizing<String>>)> {
        let session = self.end(headers)?;
        let mut guard = session.lock().unwrap_or_else(|e| e.into_inner());
        guard.reveal = None;
        Some((guard.principal.label(), guard.principal.login_token()))
    }

    fn live(&self, session: &ConsoleSession, now: Instant) -> bool {
        now.duration_since(session.last_seen) < self.idle
            && now.duration_since(session.created) < self.lifetime
    }

    /// A `Set-Cookie` value for the console's path; `max_age` zero clears.
    pub(super) fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut cookie = Cookie::build((name, value))
            .path("/console")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(self.secure)
            .build();
        if let Some(seconds) = max_age {
            cookie.set_max_age(cookie::time::Duration::seconds(seconds));
        }
        cookie.to_string()
    }
}

/// The value of cookie `name` in the request, if any.
pub(super) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()))
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Whether `given` is `expected` (constant time; empty never matches).
pub(super) fn token_matches(given: Option<&str>, expected: &str) -> bool {
    match given {
        Some(given) if !given.is_empty() && !expected.is_empty() => {
            bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
        }
        _ => false,
    }
}

/// 32 random bytes, URL-safe base64.
pub(super) fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn principal() -> ConsolePrincipal {
        ConsolePrincipal::AdminKey {
            key_id: "cred_1".to_string(),
            version: 1,
        }
    }

    fn request_with(set_cookie: &str) -> HeaderMap {
        let pair = set_cookie.split(';').next().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {pair}")).unwrap(),
        );
        headers
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_ends_when_idle_or_signed_out() {
        let sessions = Sessions::new(Duration::from_millis(50), Duration::from_secs(60), false);
        let set = sessions.start(principal()).unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(set.contains("Path=/console") && !set.contains("Secure"));
        let headers = request_with(&set);
        assert!(sessions.find(&headers).is_some());
        assert!(
            sessions
                .find(&request_with("credd_console=forged"))
                .is_none()
        );
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.find(&headers).is_none(), "idle too long");
        let set = sessions.start(principal()).unwrap();
        let headers = request_with(&set);
        assert!(sessions.end(&headers).is_some());
        assert!(sessions.find(&headers).is_none(), "signed out");
    }

    #[test]
    fn a_session_ends_at_its_lifetime_even_when_busy() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_millis(50), true);
        let set = sessions.start(principal()).unwrap();
        assert!(set.contains("Secure"));
        let headers = request_with(&set);
        for _ in 0..3 {
            assert!(sessions.find(&headers).is_some());
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(50));
        assert!(sessions.find(&headers).is_none());
    }

    #[test]
    fn ended_sessions_are_dropped_at_the_next_sign_in() {
        let sessions = Sessions::new(Duration::from_millis(50), Duration::from_secs(60), false);
        for _ in 0..3 {
            sessions.start(principal()).unwrap();
        }
        let count = || sessions.by_hash.lock().unwrap().len();
        assert_eq!(count(), 3);
        std::thread::sleep(Duration::from_millis(80));
        sessions.start(principal()).unwrap();
        assert_eq!(count(), 1);
    }

    #[test]
    fn tokens_match_only_exactly() {
        assert!(token_matches(Some("abc"), "abc"));
        assert!(!token_matches(Some("abd"), "abc"));
        assert!(!token_matches(None, "abc"));
        assert!(!token_matches(Some(""), ""));
    }
}
