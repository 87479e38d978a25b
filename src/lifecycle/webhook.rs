//! Webhooks as rules: which audit action is which event type, which
//! endpoints an event goes to, when a failed delivery is tried again, what
//! a receiver's answer means, and which addresses a delivery may never
//! reach (the SSRF guard). No I/O: the engine and `notify::webhooks` apply
//! these.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Every event type, as receivers see it (`type` in the body), in the
/// order README lists them.
pub const EVENT_TYPES: &[&str] = &[
    "credential.created",
    "credential.updated",
    "credential.rotated",
    "credential.rotation_completed",
    "credential.revoked",
    "credential.disabled",
    "credential.reactivated",
    "credential.expiring",
    "credential.expired",
    "credential.deleted",
    "credential.leaked",
    "account.suspended",
    "account.resumed",
    "user.created",
    "user.updated",
    "user.disabled",
    "user.enabled",
    "user.deleted",
    "user.passcode_granted",
    "user.passcode_revoked",
    "session.created",
    "session.ended",
    "session.expired",
];

/// The test event `SendTestWebhook` sends; never caused by a change.
pub const TEST_EVENT: &str = "webhook.test";

/// The event a committed audit action announces, if any. Refusals
/// (`denied`) and reads announce nothing.
pub fn event_type(action: &str, outcome: &str) -> Option<&'static str> {
    if outcome != "ok" {
        return None;
    }
    Some(match action {
        "credential.create" | "credential.import" => "credential.created",
        "credential.update" => "credential.updated",
        "credential.rotate" => "credential.rotated",
        "credential.complete_rotation" | "lifecycle.retire_rotation" => {
            "credential.rotation_completed"
        }
        "credential.revoke" => "credential.revoked",
        "credential.disable" | "lifecycle.disable_inactivity" => "credential.disabled",
        "credential.reactivate" | "lifecycle.reactivate_on_use" => "credential.reactivated",
        "lifecycle.expiry_warning" => "credential.expiring",
        "lifecycle.expire" => "credential.expired",
        "credential.delete" | "lifecycle.delete_inactivity" => "credential.deleted",
        "credential.leaked" => "credential.leaked",
        "account.suspend" => "account.suspended",
        "account.resume" => "account.resumed",
        "user.create" => "user.created",
        "user.update" => "user.updated",
        "user.disable" => "user.disabled",
        "user.enable" => "user.enabled",
        "user.delete" => "user.deleted",
        "user.passcode_grant" => "user.passcode_granted",
        "user.passcode_revoke" => "user.passcode_revoked",
        "session.login" => "session.created",
        "session.logout" => "session.ended",
        "session.expire" => "session.expired",
        _ => return None,
    })
}

/// The status a credential has right after an event of `event_type`
/// (what the body says, whatever happened to it since), if the event says.
pub fn status_after(event_type: &str) -> Option<&'static str> {
    Some(match event_type {
        "credential.created" | "credential.reactivated" | "credential.rotated" => "ACTIVE",
        "credential.revoked" => "REVOKED",
        "credential.disabled" => "DISABLED",
        "credential.expired" => "EXPIRED",
        "credential.deleted" => "DELETED",
        _ => return None,
    })
}

/// Why an event filter was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}; known: {known}", known = EVENT_TYPES.join(", "))]
pub struct UnknownEventType(pub String);

/// Checks an endpoint's event filter: every name a known type, or a
/// prefix ending in `.*` (`credential.*`). Empty means every event.
///
/// # Errors
/// The first name that matches no event type.
pub fn check_filter(filter: &[String]) -> Result<(), UnknownEventType> {
    for name in filter {
        let known = match name.strip_suffix(".*") {
            Some(prefix) => EVENT_TYPES
                .iter()
                .any(|t| t.split_once('.').is_some_and(|(p, _)| p == prefix)),
            None => EVENT_TYPES.contains(&name.as_str()) || name == TEST_EVENT,
        };
        if !known {
            return Err(UnknownEventType(name.clone()));
        }
    }
    Ok(())
}

/// An endpoint as the fan-out sees it.
#[derive(Debug, Clone, Copy)]
pub struct Subscriber<'a> {
    /// Its account; `None`: every account's events.
    pub account: Option<&'a str>,
    /// Its event filter (empty: all).
    pub filter: &'a [String],
    /// Disabled endpoints receive nothing.
    pub enabled: bool,
    /// Events from before an endpoint existed are not sent to it.
    pub created_at: DateTime<Utc>,
}

/// Whether an event of `event_type` about `account` at `at` goes to `sub`.
pub fn subscribed(sub: Subscriber<'_>, event_type: &str, account: &str, at: DateTime<Utc>) -> bool {
    sub.enabled
        && at >= sub.created_at
        && sub.account.is_none_or(|a| a == account)
        && (sub.filter.is_empty()
            || sub.filter.iter().any(|f| match f.strip_suffix(".*") {
                Some(prefix) => event_type.split_once('.').is_some_and(|(p, _)| p == prefix),
                None => f == event_type,
            }))
}

/// The default retry schedule: the delay before each attempt, the first
/// at once; about three days in all.
pub const DEFAULT_SCHEDULE: &[Duration] = &[
    Duration::ZERO,
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(14 * 3600),
    Duration::from_secs(20 * 3600),
    Duration::from_secs(24 * 3600),
];

/// What a receiver's answer (or its absence) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: delivered.
    Delivered,
    /// 410 Gone: the endpoint is disabled at once, nothing more is sent.
    Gone,
    /// Any other status, a timeout or a refused connection: try again,
    /// not before `not_before` when the receiver said (`Retry-After`).
    Failed {
        /// The receiver's `Retry-After` on a 429 or 503.
        retry_after: Option<Duration>,
    },
}

/// Classifies an HTTP status (redirects are failures: never followed).
pub fn answer(status: Option<u16>, retry_after: Option<&str>, now: DateTime<Utc>) -> Answer {
    match status {
        Some(200..=299) => Answer::Delivered,
        Some(410) => Answer::Gone,
        Some(429 | 503) => Answer::Failed {
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        _ => Answer::Failed { retry_after: None },
    }
}

/// `Retry-After`: delta-seconds or an HTTP date; at most a day is honoured.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = DateTime::parse_from_rfc2822(value)
            .ok()?
            .with_timezone(&Utc);
        (at - now).to_std().unwrap_or(Duration::ZERO)
    };
    Some(wait.min(Duration::from_secs(24 * 3600)))
}

/// When the attempt after `attempts` failed ones is due, or `None` when the
/// schedule is spent (the delivery failed for good). `jitter` in [0, 1)
/// spreads retries by up to a tenth of their delay; a `Retry-After` longer
/// than the schedule's delay wins.
pub fn next_attempt(
    schedule: &[Duration],
    attempts: usize,
    retry_after: Option<Duration>,
    jitter: f64,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let base = *schedule.get(attempts)?;
    let spread = base.mul_f64(jitter.clamp(0.0, 1.0) / 10.0);
    let wait = (base + spread).max(retry_after.unwrap_or_default());
    Some(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX))
}

/// Whether a delivery may connect to `ip` unless config allows it:
/// loopback, private (RFC 1918, unique local), link-local (with the cloud
/// metadata address 169.254.169.254), carrier-grade NAT, multicast,
/// broadcast, unspecified and documentation ranges are forbidden, and an
/// IPv4-mapped IPv6 address is judged as its IPv4 address.
pub fn forbidden_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_address(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
                || first == 0x0064 && v6.segments()[1] == 0xff9b
        }
    }
}

#[cfg(test)]
mod tests;
