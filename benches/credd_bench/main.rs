//! `cargo bench --bench credd_bench`: credd's speed goals, measured in one run
//! on this machine, printed as a table and written as JSON
//! (`target/credd-bench.json`).
//!
//! 1. Transport ceiling: a no-op `CredentialVerifier` (credd's own generated
//!    server trait, answering a fixed VALID response without any lookup) vs
//!    the real `VerifierService` over an engine with 10K credentials, both
//!    served by tonic on 127.0.0.1, at 1, 16 and 64 concurrent requests.
//!
//!    1b: the same from outside the process: the real `credd` binary, Verify
//!    of 1,000 keys created through it, in round-robin order, vs its own
//!    `grpc.health.v1.Health/Check`, over 4 HTTP/2 connections.
//! 2. Flat in store size: Verify (over gRPC, and `Engine::verify` called
//!    directly) with 10K vs 1M stored credentials (and 10M when asked).
//! 3. Sweep cost: `Engine::sweep` with 1K due among 1M vs 1K due among 1K.
//! 4. Durable writes: acknowledged `CreateCredential` calls per second, 64
//!    concurrent callers vs one serial caller (one flush per create).
//! 5. Footprint: the real `credd` binary started on the 1M store: time to
//!    READY (sd_notify datagram on a socket the bench listens on) and its RSS.
//! 6. Gateways: ext_authz `Check` vs the daemon's Health/Check, `/v1/check`
//!    vs `/healthz` on its HTTP listener, and Envoy with the ext_authz
//!    filter vs Envoy without it (when Envoy is installed).
//! 7. Session sweep cost: `Engine::sweep_sessions` with 1K idle sessions due
//!    among 1M (`CREDD_BENCH_LARGE`) vs 1K due among 1K.
//! 8. Usage flush at scale (with the large store): a VALID answer of each of
//!    its 1M credentials (last use and daily count) flushed, CPU seconds and
//!    wall time; `Engine::verify` during such a flush vs without one, with
//!    the Verify thread's share of time on a core.
//! 9. Metering overhead: `Engine::verify` of 1,000 keys with credits vs
//!    plain keys of the small store, on the same engine.
//! 10. Cluster mode (built with `--features etcd`; see `cluster`): Verify
//!     on a node of a 3-member etcd cluster vs the sled daemon, revocation
//!     propagation between nodes, creates per second, a node's restart.
//! 11. Backup (`CREDD_BENCH_ONLY=backup`, or with every section): a store
//!     of `CREDD_BENCH_LARGE` credentials backed up to a file with a writer
//!     beside it: wall time, RSS, how long writes were held, the longest
//!     commit, and `Engine::verify` during a backup vs without one.
//! 12. Webhooks (`CREDD_BENCH_ONLY=webhooks`): 10K events to 10 loopback
//!     endpoints, deliveries per second and the backlog over time;
//!     `Engine::verify` while the worker delivers vs with it idle.
//! 13. Console (`CREDD_BENCH_ONLY=console`): the real `credd` binary with
//!     its admin console on, over a store of
//!     `CREDD_BENCH_CONSOLE_CREDENTIALS` (100000): server time of the
//!     overview (uncached and cached), the credentials list and a
//!     credential's page, signed in with the admin key; Verify over gRPC
//!     while a browser refreshes the overview every second vs idle.
//!
//! Stores are filled through `Store::commit` directly (records built here,
//! hashed with the store's pepper, one flush at the end), never through RPCs.
//! Every measurement is closed-loop: each caller sends its next request when
//! the previous one is answered.
//!
//! Environment (all optional): `CREDD_BENCH_LARGE` (1000000),
//! `CREDD_BENCH_SMALL` (10000), `CREDD_BENCH_HUGE` (0 = skip; e.g. 10000000),
//! `CREDD_BENCH_SECS` (3), `CREDD_BENCH_WARMUP_SECS` (0.5),
//! `CREDD_BENCH_DUE` (1000), `CREDD_BENCH_SWEEP_ROUNDS` (5), `CREDD_BENCH_SEGMENTS` (6),
//! `CREDD_BENCH_CACHE_MB` (256: sled cache of every measured store and of
//! the daemon), `CREDD_BENCH_FILL_CACHE_MB` (same as CACHE_MB: sled cache
//! while filling the large store only), `CREDD_BENCH_DIAG_CACHE_MB` (1024: a diagnostic
//! rerun of direct Verify on the large store with this cache; 0 skips it),
//! `CREDD_BENCH_DAEMON_CACHE_MB` (64: `cache_capacity_mb` of the credd
//! process started in 5), `CREDD_BENCH_DAEMON_ARENAS` (unset: passed as
//! `MALLOC_ARENA_MAX` to every credd process the bench starts, which then
//! keeps glibc's setting instead of its own two arenas),
//! `CREDD_BENCH_SAMPLE` (100000),
//! `CREDD_BENCH_JSON` (target/credd-bench.json), `CREDD_BENCH_ONLY`
//! (comma list of transport, daemon, gateway, writes, large, flush (section 8
//! alone, with the large store it needs), sessions, metering, cluster, backup, webhooks, console, huge; default
//! all but huge), `CREDD_BENCH_CONSOLE_CREDENTIALS` (100000),
//! `CREDD_BENCH_CONSOLE_REQUESTS` (50 a page), `CREDD_BENCH_CONSOLE_UNCACHED`
//! (3), `CREDD_BENCH_CONSOLE_SEGMENT_SECS` (10), `CREDD_TEST_ENVOY` (the Envoy binary for 6c; else
//! `target/test-tools/envoy-venv/bin/envoy`, then `envoy` on PATH).
//!
//! Layout: `harness/` (settings, load loops, stats, rows, the printed table
//! and the JSON), `fill` and `small` (stores), `serve` and `verify` (servers
//! and Verify load), `daemon` (the credd process), then one module a
//! section: `transport` (1, 1b), `large` (2), `sweep` (3), `writes` (4),
//! `footprint` (5), `gateway` (6), `sessions` (7), `flush` (8), `metering` (9),
//! `cluster` (10), `backup` (11), `webhooks` (12), `console` (13).

mod backup;
#[cfg(feature = "etcd")]
mod cluster;
mod console;
mod daemon;
mod fill;
mod flush;
mod footprint;
mod gateway;
mod harness;
mod large;
mod metering;
mod serve;
mod sessions;
mod small;
mod sweep;
mod transport;
mod verify;
mod webhooks;
mod writes;

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{DateTime, Utc};
use credd::clock::{Clock, SystemClock};
use serde_json::Value;
use tokio::runtime::Runtime;

use crate::harness::report::Report;
use crate::harness::settings::Settings;

/// Scopes every benchmark credential holds; Verify requires the first.
const SCOPES: [&str; 2] = ["credentials:read", "reports:write"];

/// What every section works with: settings, runtimes, the work directory,
/// the start instant of stored timestamps, and the report being built.
struct Ctx {
    s: Settings,
    server_rt: Runtime,
    client_rt: Runtime,
    work: tempfile::TempDir,
    base: DateTime<Utc>,
    report: Report,
    extra: serde_json::Map<String, Value>,
}

/// A live API key of `account` with the bench's scopes and nothing else,
/// as a section creates it through the engine.
fn api_key(account: String, name: String) -> credd::engine::NewCredential {
    credd::engine::NewCredential {
        account_id: account,
        kind: credd::lifecycle::Kind::ApiKey,
        environment: credd::lifecycle::Environment::Live,
        name,
        description: String::new(),
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        lifetime: None,
        notify_emails: Vec::new(),
        client_id: None,
        metadata: None,
        rate_limits: Vec::new(),
        credits: None,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn runtime(name: &str) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Like the daemon's default: info to a log file (the hot paths log
/// nothing at info; creates log one line each, as in the daemon).
fn init_tracing(work: &Path) {
    let log_file = std::fs::File::create(work.join("bench.log")).expect("bench log");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(Mutex::new(log_file))
        .with_ansi(false)
        .init();
}

fn main() {
    let s = Settings::from_env();
    let work = tempfile::Builder::new()
        .prefix("credd-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("work dir");
    init_tracing(work.path());
    let started = Instant::now();
    let load_start = loadavg();
    eprintln!(
        "[bench] credd bench: large={} small={} huge={} secs={} warmup={} due={} rounds={} cache={} MiB; work dir {}; loadavg {load_start}",
        s.large,
        s.small,
        s.huge,
        s.secs,
        s.warmup,
        s.due,
        s.rounds,
        s.cache_mb,
        work.path().display()
    );
    let mut ctx = Ctx {
        server_rt: runtime("server"),
        client_rt: runtime("client"),
        base: SystemClock.now(),
        work,
        report: Report::default(),
        extra: serde_json::Map::new(),
        s,
    };

    run_sections(&mut ctx);

    let wall = started.elapsed().as_secs_f64();
    let load_end = loadavg();
    harness::output::print_and_write(&ctx, wall, &load_start, &load_end);
}

/// The sections `CREDD_BENCH_ONLY` selects, around the small store.
fn run_sections(ctx: &mut Ctx) {
    let small = small::small_store(ctx);
    if ctx.s.runs("transport") {
        transport::transport(ctx, &small);
    }
    if ctx.s.runs("daemon") {
        transport::daemon::daemon_transport(ctx);
    }
    if ctx.s.runs("gateway") {
        gateway::gateways(ctx);
    }
    if ctx.s.runs("writes") {
        writes::durable_writes(ctx);
    }
    if ctx.s.runs("large") {
        large::large(ctx, &small);
    }
    if ctx.s.asks("flush") && !ctx.s.runs("large") {
        large::flush_only(ctx);
    }
    if ctx.s.runs("sessions") {
        sessions::session_sweep(ctx);
    }
    if ctx.s.runs("metering") {
        metering::metering(ctx, &small);
    }
    #[cfg(feature = "etcd")]
    if ctx.s.runs("cluster") {
        cluster::cluster(ctx);
    }
    if ctx.s.runs("backup") {
        backup::backup(ctx);
    }
    if ctx.s.runs("webhooks") {
        webhooks::webhooks(ctx, &small);
    }
    if ctx.s.runs("console") {
        console::console(ctx);
    }
    if ctx.s.runs("huge") && ctx.s.huge > 0 {
        large::huge(ctx, &small);
    }
    small.server.shutdown(&ctx.server_rt);
    drop(small.opened);
}
