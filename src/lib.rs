//! credd: a credential lifecycle manager. It issues API keys and passcodes,
//! verifies them on every request other services receive, and retires them
//! safely (expiry, inactivity, rotation windows), over gRPC, persisted in sled.
//!
//! # Layout
//! - [`config`]: TOML file, `CREDD_*` environment and flags, validated.
//! - [`clock`]: where "now" comes from; a manual clock for tests.
//! - [`secret`]: generation, format, checksum, pepper, HMAC.
//! - [`lifecycle`]: the pure rules: states, policy, verify decision, deadlines.
//! - [`store`]: the only code that touches sled.
//! - [`engine`]: the use cases, over store, secret, lifecycle and clock.
//! - [`notify`]: notice templates, lettre transports, outbox delivery.
//! - [`api`]: tonic services (Envoy's ext_authz `Check` among them); the only
//!   code that touches generated types.
//! - [`http`]: the HTTP forward-auth listener (`/v1/check`) on axum.
//! - [`telemetry`]: Prometheus metric names and the exporter.
//! - [`logging`]: the log subscriber, safe while threads are torn down.
//! - [`daemon`]: wiring, background tasks and shutdown.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::todo,
    clippy::await_holding_lock
)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod engine;
pub mod http;
pub mod lifecycle;
pub mod logging;
pub mod notify;
mod offload;
pub mod progress;
pub mod secret;
pub mod store;
pub mod telemetry;
