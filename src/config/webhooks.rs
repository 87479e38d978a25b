//! `[webhooks]`: how events are delivered: the SSRF guard (https only and
//! no private addresses unless allowed here), concurrency, the timeout,
//! the retry schedule and a rotated secret's overlap.

use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;

use super::ConfigError;
use super::check::Check;
use crate::lifecycle::webhook::DEFAULT_SCHEDULE;

/// `[webhooks]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WebhooksFile {
    allow_http: Option<bool>,
    allowed_networks: Option<Vec<String>>,
    concurrency: Option<i64>,
    timeout: Option<String>,
    retry_schedule: Option<Vec<String>>,
    rotation_overlap: Option<String>,
    poll_interval: Option<String>,
    keep_days: Option<i64>,
    max_per_second: Option<i64>,
}

/// `[webhooks]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhooksConfig {
    /// Endpoint URLs may be `http://` (tests, a receiver on the same host).
    pub allow_http: bool,
    /// Networks a delivery may reach although the guard forbids them
    /// (loopback, private, link-local...).
    pub allowed_networks: Vec<IpNet>,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Per attempt: connect, send, answer.
    pub timeout: Duration,
    /// The wait before each attempt, the first included.
    pub retry_schedule: Vec<Duration>,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub rotation_overlap: Duration,
    /// How often the worker looks for new events and due retries.
    pub poll_interval: Duration,
    /// Days a finished delivery (with its attempts) is kept for
    /// ListWebhookDeliveries and RedeliverWebhook.
    pub keep_days: u32,
    /// Attempts started per second at most (0: no limit): deliveries are
    /// background work and must not take the CPU Verify needs.
    pub max_per_second: u32,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        WebhooksConfig {
            allow_http: false,
            allowed_networks: Vec::new(),
            concurrency: 16,
            timeout: Duration::from_secs(15),
            retry_schedule: DEFAULT_SCHEDULE.to_vec(),
            rotation_overlap: Duration::from_secs(24 * 3600),
            poll_interval: Duration::from_secs(1),
            keep_days: 30,
            max_per_second: 500,
        }
    }
}

impl WebhooksConfig {
    /// Whether a delivery may connect to `ip`: an address the guard
    /// allows, or one inside `allowed_networks`.
    pub fn may_reach(&self, ip: std::net::IpAddr) -> bool {
        !crate::lifecycle::webhook::forbidden_address(ip)
            || self.allowed_networks.iter().any(|n| n.contains(&ip))
    }
}

/// Validates `[webhooks]`.
pub(super) fn validate(file: WebhooksFile, check: &Check) -> Result<WebhooksConfig, ConfigError> {
    let defaults = WebhooksConfig::default();
    let allowed_networks = file
        .allowed_networks
        .unwrap_or_default()
        .iter()
        .map(|n| {
            n.parse::<IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    check.invalid(
                        "webhooks.allowed_networks",
                        format!("{n:?} is not a network such as 127.0.0.0/8 or ::1"),
                    )
                })
        })
        .collect::<Result<_, _>>()?;
    let retry_schedule = match file.retry_schedule {
        None => defaults.retry_schedule,
        Some(list) if list.is_empty() || list.len() > 20 => {
            return Err(check.invalid(
                "webhooks.retry_schedule",
                "must list between 1 and 20 waits (the first is usually \"0s\")".into(),
            ));
        }
        Some(list) => list
            .into_iter()
            .map(|w| match w.as_str() {
                "0" | "0s" => Ok(Duration::ZERO),
                _ => wait(check, "webhooks.retry_schedule", Some(w), "0s"),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(WebhooksConfig {
        allow_http: file.allow_http.unwrap_or(false),
        allowed_networks,
        concurrency: check.whole("webhooks.concurrency", file.concurrency, 16, 1..=256)?,
        timeout: check.fixed("webhooks.timeout", file.timeout, "15s")?,
        retry_schedule,
        rotation_overlap: check.fixed("webhooks.rotation_overlap", file.rotation_overlap, "24h")?,
        poll_interval: wait(check, "webhooks.poll_interval", file.poll_interval, "1s")?,
        keep_days: check.whole("webhooks.keep_days", file.keep_days, 30, 1..=3650)?,
        max_per_second: check.whole(
            "webhooks.max_per_second",
            file.max_per_second,
            500,
            0..=1_000_000,
        )?,
    })
}

/// A positive fixed duration, also in milliseconds (`200ms`), which the
/// worker's polling and a test's retry schedule need.
fn wait(
    check: &Check,
    key: &str,
    value: Option<String>,
    default: &str,
) -> Result<Duration, ConfigError> {
    match value.as_deref().and_then(|v| v.strip_suffix("ms")) {
        Some(ms) => match ms.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(Duration::from_millis(n)),
            _ => Err(check.invalid(
                key,
                format!("{ms:?}ms is not a positive number of milliseconds"),
            )),
        },
        None => check.fixed(key, value, default),
    }
}
