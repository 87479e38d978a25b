//! Authentication of gRPC calls: a tonic interceptor that reads
//! `authorization: Bearer <admin key>` once per call, asks the engine who it
//! is, and puts the resulting [`Actor`] into the request's extensions for
//! the handler to pass on. Failed attempts are throttled per peer address
//! (a GCRA rate limiter from `governor`), so guessing keys is slow for the
//! guesser and costs nobody else anything.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tonic::metadata::MetadataMap;
use tonic::service::Interceptor;
use tonic::{Code, Request, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tracing::warn;

use crate::engine::{Actor, Engine};
use crate::telemetry;

/// Longest `x-request-id` taken from a caller; longer ones are replaced.
const MAX_REQUEST_ID: usize = 128;
/// Prune the throttle's memory after this many failures.
const PRUNE_EVERY: u64 = 1024;

/// How many failed authentications a peer may make.
#[derive(Debug, Clone, Copy)]
pub struct ThrottlePolicy {
    /// Failures allowed at once.
    pub burst: NonZeroU32,
    /// One more failure is allowed every this long.
    pub refill: Duration,
}

/// Failed-authentication throttle, keyed by peer IP address.
pub struct Throttle {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// Peers over their budget, and until when.
    blocked: Mutex<HashMap<IpAddr, Instant>>,
    n_failures: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

impl Throttle {
    /// A throttle with this budget per peer.
    pub fn new(policy: ThrottlePolicy) -> Self {
        let quota = Quota::with_period(policy.refill)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(policy.burst);
        Throttle {
            limiter: RateLimiter::keyed(quota),
            blocked: Mutex::new(HashMap::new()),
            n_failures: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// How long `peer` must still wait, if it is over its budget.
    fn wait(&self, peer: IpAddr) -> Option<Duration> {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        let until = *blocked.get(&peer)?;
        let now = Instant::now();
        if until > now {
            Some(until - now)
        } else {
            blocked.remove(&peer);
            None
        }
    }

    /// Counts a failure; returns how long the peer must now wait, if it has
    /// gone over its budget.
    fn failed(&self, peer: IpAddr) -> Option<Duration> {
        let n = self
            .n_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
            let now = Instant::now();
            self.blocked
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .retain(|_, until| *until > now);
        }
        let not_until = self.limiter.check_key(&peer).err()?;
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        self.blocked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(peer, Instant::now() + wait);
        Some(wait)
    }
}

/// The interceptor in front of every authenticated service.
#[derive(Debug, Clone)]
pub struct Authenticator {
    engine: Arc<Engine>,
    throttle: Arc<Throttle>,
    /// False for an open verifier: calls pass without a key.
    required: bool,
}

impl Authenticator {
    /// Authenticates against `engine`, throttling failures with `throttle`.
    pub fn new(engine: Arc<Engine>, throttle: Arc<Throttle>) -> Self {
        Self {
            engine,
            throttle,
            required: true,
        }
    }

    /// Lets every call through unauthenticated (`[auth] verifier = "open"`).
    pub fn open(engine: Arc<Engine>, throttle: Arc<Throttle>) -> Self {
        Self {
            engine,
            throttle,
            required: false,
        }
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if !self.required {
            return Ok(request);
        }
        let peer = request
            .remote_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        if let Some(wait) = self.throttle.wait(peer) {
            telemetry::auth_failure("throttled");
            return Err(throttled(wait));
        }
        let request_id = request_id(request.metadata());
        let presented = match bearer(request.metadata()) {
            Ok(presented) => presented,
            Err(message) => {
                telemetry::auth_failure("missing");
                return Err(Status::unauthenticated(message));
            }
        };
        match self.engine.authenticate(presented, request_id.clone()) {
            Ok(Ok(actor)) => {
                request.extensions_mut().insert(actor);
                Ok(request)
            }
            Ok(Err(failure)) => {
                telemetry::auth_failure("rejected");
                warn!(peer = %peer, request_id = %request_id, reason = %failure, "admin authentication failed");
                if let Some(wait) = self.throttle.failed(peer) {
                    return Err(throttled(wait));
                }
                Err(Status::unauthenticated(format!(
                    "{failure}: send `authorization: Bearer <admin key>` with an active admin key"
                )))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The actor the interceptor authenticated.
///
/// # Errors
/// `UNAUTHENTICATED` when the call did not pass through an [`Authenticator`].
pub(crate) fn actor<T>(request: &Request<T>) -> Result<Actor, Status> {
    request
        .extensions()
        .get::<Actor>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("this call needs an admin key"))
}

/// The key from `authorization: Bearer <key>`.
fn bearer(metadata: &MetadataMap) -> Result<&str, &'static str> {
    let value = metadata
        .get("authorization")
        .ok_or("missing admin key: send `authorization: Bearer <admin key>`")?
        .to_str()
        .map_err(|_| "the authorization header is not printable ASCII")?;
    let (scheme, key) = value
        .split_once(' ')
        .ok_or("the authorization header must be `Bearer <admin key>`")?;
    if !scheme.eq_ignore_ascii_case("bearer") || key.trim().is_empty() {
        return Err("the authorization header must be `Bearer <admin key>`");
    }
    Ok(key.trim())
}

/// The caller's `x-request-id` when it is short and plain, else a new ULID.
fn request_id(metadata: &MetadataMap) -> String {
    metadata
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= MAX_REQUEST_ID
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
        })
        .map_or_else(|| ulid::Ulid::new().to_string(), str::to_string)
}

/// `RESOURCE_EXHAUSTED` with a `google.rpc.RetryInfo` detail and the wait in
/// the message.
fn throttled(wait: Duration) -> Status {
    let seconds = wait.as_secs_f64().ceil().max(1.0);
    Status::with_error_details(
        Code::ResourceExhausted,
        format!("too many failed authentications from this address; retry in {seconds:.0}s"),
        ErrorDetails::with_retry_info(Some(wait)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&'static str, &str)]) -> MetadataMap {
        let mut map = MetadataMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn bearer_needs_the_scheme_and_a_key() {
        assert_eq!(
            bearer(&metadata(&[("authorization", "Bearer abc")])),
            Ok("abc")
        );
        assert_eq!(
            bearer(&metadata(&[("authorization", "bearer  abc ")])),
            Ok("abc")
        );
        assert!(bearer(&metadata(&[])).is_err());
        assert!(bearer(&metadata(&[("authorization", "Basic abc")])).is_err());
        assert!(bearer(&metadata(&[("authorization", "Bearer ")])).is_err());
    }

    #[test]
    fn request_ids_are_taken_when_plain() {
        assert_eq!(request_id(&metadata(&[("x-request-id", "req-1")])), "req-1");
        let made_up = request_id(&metadata(&[("x-request-id", "a b")]));
        assert_eq!(made_up.len(), 26);
        assert_eq!(request_id(&metadata(&[])).len(), 26);
    }

    #[test]
    fn throttle_blocks_one_peer_only() {
        let throttle = Throttle::new(ThrottlePolicy {
            burst: NonZeroU32::new(3).unwrap(),
            refill: Duration::from_secs(60),
        });
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        for _ in 0..3 {
            assert_eq!(throttle.failed(a), None);
        }
        let wait = throttle
            .failed(a)
            .expect("the fourth failure is over budget");
        assert!(wait > Duration::from_secs(50));
        assert!(throttle.wait(a).is_some());
        assert!(throttle.wait(b).is_none());
        assert_eq!(throttle.failed(b), None);
    }
}
