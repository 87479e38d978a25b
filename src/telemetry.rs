//! Prometheus metrics: their names, their labels, and the exporter. Labels
//! are small fixed sets (results, RPC names, status codes, transition kinds),
//! never a credential id, an account or anything secret. Without
//! `[metrics] listen` no recorder is installed and every call is a no-op.

use std::net::SocketAddr;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::PrometheusBuilder;

/// Verify results by result.
pub const VERIFY_TOTAL: &str = "credd_verify_total";
/// Verify latency in seconds, measured in the handler.
pub const VERIFY_SECONDS: &str = "credd_verify_duration_seconds";
/// Admin calls by RPC and gRPC status code.
pub const ADMIN_CALLS_TOTAL: &str = "credd_admin_calls_total";
/// Sweep duration in seconds.
pub const SWEEP_SECONDS: &str = "credd_sweep_duration_seconds";
/// Lifecycle transitions by kind.
pub const TRANSITIONS_TOTAL: &str = "credd_lifecycle_transitions_total";
/// Notices waiting in the outbox.
pub const OUTBOX_DEPTH: &str = "credd_outbox_depth";
/// Mail deliveries that failed, by `transient` or `permanent`.
pub const DELIVERY_FAILURES_TOTAL: &str = "credd_mail_delivery_failures_total";
/// Messages accepted by the mail transport.
pub const MESSAGES_SENT_TOTAL: &str = "credd_mail_messages_sent_total";
/// Admin authentications refused, by `missing`, `rejected` or `throttled`.
pub const AUTH_FAILURES_TOTAL: &str = "credd_auth_failures_total";
/// VerifyHttpAuthorization answers by mode and HTTP status.
pub const HTTP_AUTH_TOTAL: &str = "credd_http_auth_total";
/// Gateway decisions (ext_authz `Check`, HTTP `/v1/check`) by transport
/// (`ext_authz`, `http`) and outcome code (`OK`, `INVALID_CREDENTIALS`, ...).
pub const GATEWAY_CHECKS_TOTAL: &str = "credd_gateway_checks_total";
/// Gateway decision latency in seconds, by transport, measured in the handler.
pub const GATEWAY_CHECK_SECONDS: &str = "credd_gateway_check_duration_seconds";
/// VerifyPartnerPair answers by result.
pub const PARTNER_PAIR_TOTAL: &str = "credd_partner_pair_total";
/// Size of the database on disk.
pub const STORE_BYTES: &str = "credd_store_size_bytes";
/// Values in the verify cache.
pub const VERIFY_CACHE_ENTRIES: &str = "credd_verify_cache_entries";
/// Verify cache lookups by `hit` or `miss` (a miss reads sled).
pub const VERIFY_CACHE_LOOKUPS_TOTAL: &str = "credd_verify_cache_lookups_total";
/// Webhook attempts, by `result`: `delivered`, `failed` (to be retried or
/// given up) or `gone` (410).
pub const WEBHOOK_ATTEMPTS_TOTAL: &str = "credd_webhook_attempts_total";
/// Webhook events not fanned out yet (`kind="events"`) and deliveries
/// pending (`kind="deliveries"`).
pub const WEBHOOK_BACKLOG: &str = "credd_webhook_backlog";

/// Installs the Prometheus recorder and serves `/metrics` on `listen`.
///
/// # Errors
/// The exporter's message when the address cannot be bound or a recorder is
/// already installed.
pub fn install(listen: SocketAddr) -> Result<(), String> {
    let buckets = [
        0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
        0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ];
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .set_buckets(&buckets)
        .map_err(|e| e.to_string())?
        .install()
        .map_err(|e| e.to_string())
}

/// One Verify answered with `result` after `elapsed`.
pub fn verify(result: &'static str, elapsed: Duration) {
    counter!(VERIFY_TOTAL, "result" => result).increment(1);
    histogram!(VERIFY_SECONDS).record(elapsed.as_secs_f64());
}

/// One gateway decision over `transport` with outcome `code`, after `elapsed`.
pub fn gateway_check(transport: &'static str, code: &'static str, elapsed: Duration) {
    counter!(GATEWAY_CHECKS_TOTAL, "transport" => transport, "code" => code).increment(1);
    histogram!(GATEWAY_CHECK_SECONDS, "transport" => transport).record(elapsed.as_secs_f64());
}

/// One VerifyHttpAuthorization answer (`mode`: client, product, clevertap or none).
pub fn http_auth(mode: &'static str, http_status: u16) {
    let status: &'static str = match http_status {
        200 => "200",
        400 => "400",
        401 => "401",
        403 => "403",
        429 => "429",
        _ => "other",
    };
    counter!(HTTP_AUTH_TOTAL, "mode" => mode, "status" => status).increment(1);
}

/// One VerifyPartnerPair answer.
pub fn partner_pair(result: &'static str) {
    counter!(PARTNER_PAIR_TOTAL, "result" => result).increment(1);
}

/// One admin authentication refused.
pub fn auth_failure(why: &'static str) {
    counter!(AUTH_FAILURES_TOTAL, "why" => why).increment(1);
}

/// One admin call answered with the gRPC status `code` (its canonical name,
/// e.g. `NOT_FOUND`).
pub fn admin_call(rpc: &'static str, code: &'static str) {
    counter!(ADMIN_CALLS_TOTAL, "rpc" => rpc, "code" => code).increment(1);
}

/// One sweep took `elapsed` and applied `transitions`.
pub fn sweep<'a>(
    elapsed: Duration,
    transitions: impl IntoIterator<Item = (&'a &'static str, &'a usize)>,
) {
    histogram!(SWEEP_SECONDS).record(elapsed.as_secs_f64());
    for (kind, n) in transitions {
        counter!(TRANSITIONS_TOTAL, "kind" => *kind).increment(*n as u64);
    }
}

/// A delivery round's outcome and the outbox depth after it.
pub fn delivery(sent: usize, transient: usize, permanent: usize, outbox_depth: usize) {
    counter!(MESSAGES_SENT_TOTAL).increment(sent as u64);
    counter!(DELIVERY_FAILURES_TOTAL, "kind" => "transient").increment(transient as u64);
    counter!(DELIVERY_FAILURES_TOTAL, "kind" => "permanent").increment(permanent as u64);
    gauge!(OUTBOX_DEPTH).set(outbox_depth as f64);
}

/// One webhook attempt's result (`delivered`, `failed`, `gone`).
pub fn webhook_attempt(result: &'static str) {
    counter!(WEBHOOK_ATTEMPTS_TOTAL, "result" => result).increment(1);
}

/// Webhook events waiting for the fan-out and deliveries pending.
pub fn webhook_backlog(events: usize, deliveries: usize) {
    gauge!(WEBHOOK_BACKLOG, "kind" => "events").set(events as f64);
    gauge!(WEBHOOK_BACKLOG, "kind" => "deliveries").set(deliveries as f64);
}

/// The database's size on disk.
pub fn store_size(bytes: u64) {
    gauge!(STORE_BYTES).set(bytes as f64);
}

/// The verify cache's size and its lookups so far.
pub fn verify_cache(entries: usize, hits: u64, misses: u64) {
    gauge!(VERIFY_CACHE_ENTRIES).set(entries as f64);
    counter!(VERIFY_CACHE_LOOKUPS_TOTAL, "result" => "hit").absolute(hits);
    counter!(VERIFY_CACHE_LOOKUPS_TOTAL, "result" => "miss").absolute(misses);
}
