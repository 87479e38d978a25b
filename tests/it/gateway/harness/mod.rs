//! The real components of the gateway tests: where Envoy and nginx are
//! installed ([`tools`]), starting them on the example configs ([`envoy`],
//! [`nginx`]), the echo upstream behind them ([`upstream`]) and a raw HTTP
//! client in front of them ([`client`]). Every server listens on 127.0.0.1 on
//! an ephemeral port and is stopped on drop; every wait is bounded.

#![allow(dead_code)]

pub mod client;
pub mod envoy;
pub mod headers;
pub mod nginx;
pub mod tools;
pub mod upstream;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

/// How long a proxy may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A loopback port nothing listens on (bound, then released at once). Also
/// the "credd is down" address of the fail-closed cases.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// A file of `examples/`, read as text.
fn example(relative: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `text` with every `from` replaced by `to`; panics unless `from` occurs
/// exactly once, so an edited example cannot silently keep a fixed port.
fn substitute(text: &str, from: &str, to: &str) -> String {
    let count = text.matches(from).count();
    assert_eq!(
        count, 1,
        "example config: expected `{from}` exactly once, found {count}"
    );
    text.replacen(from, to, 1)
}

/// The last `lines` lines of a log file (for a failure message).
fn tail(path: &std::path::Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
