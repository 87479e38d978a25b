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
//! process started in 5),
//! `CREDD_BENCH_SAMPLE` (100000),
//! `CREDD_BENCH_JSON` (target/credd-bench.json), `CREDD_BENCH_ONLY`
//! (comma list of transport, daemon, writes, large, huge; default all but huge).

use std::future::Future;
use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use comfy_table::{ContentArrangement, Table, presets};
use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::api::{AdminService, Authenticator, Throttle, ThrottlePolicy, VerifierService};
use credd::clock::{Clock, ManualClock, SystemClock};
use credd::config::{self, Config, Overrides};
use credd::engine::{Actor, Engine, NewCredential, validate};
use credd::lifecycle::{
    self, CredentialRecord, DeadlineEvent, Environment, Kind, SecretVersion, Status,
};
use credd::secret::{Pepper, Secret};
use credd::store::Commit;
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use tonic::transport::server::Router;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response};

/// Scopes every benchmark credential holds; Verify requires the first.
const SCOPES: [&str; 2] = ["credentials:read", "reports:write"];

// ---------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------

struct Settings {
    large: usize,
    small: usize,
    huge: usize,
    secs: f64,
    warmup: f64,
    due: usize,
    rounds: usize,
    segments: usize,
    cache_mb: u64,
    fill_cache_mb: u64,
    diag_cache_mb: u64,
    daemon_cache_mb: u64,
    sample: usize,
    json: PathBuf,
    only: Vec<String>,
}

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(raw) => raw
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={raw:?} is not a valid number")),
        Err(_) => default,
    }
}

impl Settings {
    fn from_env() -> Self {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
        Self {
            large: env_or("CREDD_BENCH_LARGE", 1_000_000),
            small: env_or("CREDD_BENCH_SMALL", 10_000),
            huge: env_or("CREDD_BENCH_HUGE", 0),
            secs: env_or("CREDD_BENCH_SECS", 3.0),
            warmup: env_or("CREDD_BENCH_WARMUP_SECS", 0.5),
            due: env_or("CREDD_BENCH_DUE", 1_000),
            rounds: env_or("CREDD_BENCH_SWEEP_ROUNDS", 5).max(1),
            segments: env_or("CREDD_BENCH_SEGMENTS", 6).max(1),
            cache_mb: env_or("CREDD_BENCH_CACHE_MB", 256),
            fill_cache_mb: env_or(
                "CREDD_BENCH_FILL_CACHE_MB",
                env_or("CREDD_BENCH_CACHE_MB", 256),
            ),
            diag_cache_mb: env_or("CREDD_BENCH_DIAG_CACHE_MB", 1024),
            daemon_cache_mb: env_or("CREDD_BENCH_DAEMON_CACHE_MB", 64),
            sample: env_or("CREDD_BENCH_SAMPLE", 100_000).max(1),
            json: std::env::var_os("CREDD_BENCH_JSON")
                .map_or_else(|| target.join("credd-bench.json"), PathBuf::from),
            only: std::env::var("CREDD_BENCH_ONLY")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Whether a part (`transport`, `writes`, `large`, `huge`) is to run.
    fn runs(&self, part: &str) -> bool {
        (self.only.is_empty() && (part != "huge" || self.huge > 0))
            || self.only.iter().any(|p| p == part)
    }

    fn measure(&self) -> Duration {
        Duration::from_secs_f64(self.secs)
    }

    fn warm(&self) -> Duration {
        Duration::from_secs_f64(self.warmup)
    }
}

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

/// One closed-loop measurement.
#[derive(Debug, Clone, Default)]
struct Stats {
    ops: u64,
    errors: u64,
    secs: f64,
    throughput: f64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    /// Process CPU time (every thread: client, server, sled) per call,
    /// warm-up calls included.
    cpu_us_per_op: f64,
}

impl Stats {
    fn from_latencies(mut lat_ns: Vec<u64>, errors: u64, secs: f64) -> Self {
        lat_ns.sort_unstable();
        let pct = |q: f64| -> f64 {
            if lat_ns.is_empty() {
                return f64::NAN;
            }
            let rank = ((q * lat_ns.len() as f64).ceil() as usize).clamp(1, lat_ns.len());
            lat_ns[rank - 1] as f64 / 1_000.0
        };
        Stats {
            ops: lat_ns.len() as u64,
            errors,
            secs,
            throughput: lat_ns.len() as f64 / secs.max(1e-9),
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            max_us: lat_ns.last().map_or(f64::NAN, |v| *v as f64 / 1_000.0),
            cpu_us_per_op: f64::NAN,
        }
    }

    fn json(&self) -> Value {
        json!({
            "ops": self.ops,
            "errors": self.errors,
            "secs": round3(self.secs),
            "throughput_per_s": round3(self.throughput),
            "p50_us": round3(self.p50_us),
            "p99_us": round3(self.p99_us),
            "max_us": round3(self.max_us),
            "process_cpu_us_per_op": round3(self.cpu_us_per_op),
        })
    }
}

/// A row of the printed table (and of the JSON).
struct Row {
    section: &'static str,
    scenario: String,
    throughput: String,
    p50: String,
    p99: String,
    versus: String,
    goal: String,
    /// None: informational, no goal.
    pass: Option<bool>,
    json: Value,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    findings: Vec<String>,
}

impl Report {
    fn info(&mut self, section: &'static str, scenario: impl Into<String>, s: &Stats) {
        self.push(Row {
            section,
            scenario: scenario.into(),
            throughput: rate(s.throughput),
            p50: micros(s.p50_us),
            p99: micros(s.p99_us),
            versus: "baseline".to_string(),
            goal: String::new(),
            pass: None,
            json: s.json(),
        });
    }

    fn push(&mut self, row: Row) {
        let mark = match row.pass {
            Some(true) => " PASS",
            Some(false) => " MISS",
            None => "",
        };
        eprintln!(
            "[bench] {:<28} {:<58} {:>12} p50 {:>9} p99 {:>9} {}{}",
            row.section, row.scenario, row.throughput, row.p50, row.p99, row.versus, mark
        );
        self.rows.push(row);
    }
}

fn round3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

fn rate(per_s: f64) -> String {
    if !per_s.is_finite() {
        return "-".to_string();
    }
    if per_s >= 10_000.0 {
        format!("{:.1}K/s", per_s / 1_000.0)
    } else {
        format!("{per_s:.0}/s")
    }
}

fn micros(us: f64) -> String {
    if !us.is_finite() {
        "-".to_string()
    } else if us >= 1_000_000.0 {
        format!("{:.2} s", us / 1_000_000.0)
    } else if us >= 1_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ---------------------------------------------------------------------------
// Stores
// ---------------------------------------------------------------------------

/// A config as the daemon would load it, for a data directory.
fn bench_config(data_dir: &Path, cache_mb: u64) -> Config {
    config::load(
        None,
        vec![(
            "CREDD_STORAGE_CACHE_CAPACITY_MB".to_string(),
            cache_mb.to_string(),
        )],
        &Overrides {
            data_dir: Some(data_dir.display().to_string()),
            ..Overrides::default()
        },
    )
    .expect("bench config")
}

/// An engine over a store plus a copy of its pepper (to hash filled secrets).
struct Opened {
    config: Config,
    engine: Arc<Engine>,
    pepper: Pepper,
}

fn open(data_dir: &Path, cache_mb: u64, clock: Arc<dyn Clock>) -> Opened {
    let config = bench_config(data_dir, cache_mb);
    let engine = Arc::new(credd::daemon::open_engine(&config, clock).expect("open engine"));
    let pepper = Pepper::load_or_create(&config.pepper_file)
        .expect("pepper")
        .0;
    Opened {
        config,
        engine,
        pepper,
    }
}

/// A second engine over the same store with its own clock (the sweep's).
fn engine_with_clock(opened: &Opened, clock: Arc<dyn Clock>) -> Engine {
    Engine::new(
        opened.engine.store().clone(),
        Pepper::load_or_create(&opened.config.pepper_file)
            .expect("pepper")
            .0,
        clock,
        opened.config.policy.clone(),
        opened.config.key_prefix.clone(),
    )
    .expect("engine")
}

/// What to put in a store.
struct FillPlan {
    /// Ordinary credentials: created a day before `base`, nothing due for
    /// about two months.
    normal: usize,
    /// Groups of credentials whose inactivity deadline falls a day or more
    /// after `base`, one minute apart per group (swept with a manual clock).
    due_groups: usize,
    due_per_group: usize,
    /// Plaintext secrets kept, spread evenly over the normal credentials.
    sample: usize,
}

struct Filled {
    /// Plaintext secrets of normal credentials (never of due ones).
    sample: Vec<String>,
    /// Inactivity deadline of each due group.
    due_at: Vec<DateTime<Utc>>,
    records: usize,
    secs: f64,
}

fn build_record(
    opened: &Opened,
    account_id: String,
    name: String,
    created_at: DateTime<Utc>,
) -> (CredentialRecord, Secret) {
    let secret = Secret::generate(&opened.config.key_prefix, Environment::Live, Kind::ApiKey)
        .expect("randomness");
    let version = SecretVersion {
        version: 1,
        hash: opened.pepper.hash(secret.expose()).0,
        hint: secret.hint(),
        created_at,
        retires_at: None,
    };
    let mut record = CredentialRecord {
        id: validate::new_credential_id(),
        account_id,
        kind: Kind::ApiKey,
        environment: Environment::Live,
        name,
        description: "benchmark credential".to_string(),
        scopes: SCOPES.iter().map(|s| (*s).to_string()).collect(),
        status: Status::Active,
        disabled_reason: None,
        status_reason: String::new(),
        created_at,
        updated_at: created_at,
        expires_at: created_at + chrono::Duration::days(365),
        last_used_at: None,
        reactivated_at: None,
        notify_emails: vec!["ops@example.com".to_string()],
        versions: vec![version],
        expiry_warned_for: None,
        scheduled: Vec::new(),
        user: None,
        client_id: None,
        grant_id: None,
    };
    record.scheduled = lifecycle::next_deadlines(&record, &opened.config.policy);
    (record, secret)
}

fn commit(opened: &Opened, record: &CredentialRecord) {
    let done = opened
        .engine
        .store()
        .commit(None, Some(record), None)
        .expect("commit");
    assert_eq!(done, Commit::Done, "fresh id conflicted");
}

/// Fills through `Store::commit` on every core, then one flush.
fn fill(rt: &Runtime, opened: &Opened, base: DateTime<Utc>, plan: &FillPlan) -> Filled {
    let started = Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let every = plan.normal.div_ceil(plan.sample).max(1);
    let keep_per_thread = plan.sample.div_ceil(threads);
    let normal_created = base - chrono::Duration::days(1);
    let progress_every = 100_000;
    let mut sample = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut kept = Vec::new();
                    // The k-th record of this thread is kept when k % every == 0.
                    for (k, i) in (t..plan.normal).step_by(threads).enumerate() {
                        let (record, secret) = build_record(
                            opened,
                            format!("acct-{:07}", i / 100),
                            format!("service key {i}"),
                            normal_created,
                        );
                        commit(opened, &record);
                        if k % every == 0 && kept.len() < keep_per_thread {
                            kept.push(secret.expose().to_string());
                        }
                        if t == 0 && i > 0 && i % progress_every < threads {
                            eprintln!(
                                "[bench]   filled {i} of {} ({:.0}/s)",
                                plan.normal,
                                i as f64 / started.elapsed().as_secs_f64()
                            );
                        }
                    }
                    kept
                })
            })
            .collect();
        for handle in handles {
            sample.extend(handle.join().expect("fill thread"));
        }
    });
    let mut due_at = Vec::new();
    for group in 0..plan.due_groups {
        // Inactivity disable (2 months by default) a day or more after
        // `base`, so neither the bench's system clock nor the daemon's start
        // sweep finds them due.
        let created = base - chrono::Duration::days(58) + chrono::Duration::minutes(group as i64);
        let mut at = None;
        for j in 0..plan.due_per_group {
            let (record, _) = build_record(
                opened,
                format!("due-{group}-{}", j / 100),
                format!("due key {group}/{j}"),
                created,
            );
            if at.is_none() {
                at = record
                    .scheduled
                    .iter()
                    .find(|d| d.event == DeadlineEvent::InactivityDisable)
                    .map(|d| d.at);
            }
            commit(opened, &record);
        }
        let at = at.expect("a due group has an inactivity deadline");
        assert!(at > base, "due group must not be due at the start");
        if let Some(previous) = due_at.last() {
            assert!(at > *previous, "due groups must fall due one after another");
        }
        due_at.push(at);
    }
    rt.block_on(opened.engine.store().flush()).expect("flush");
    Filled {
        sample,
        due_at,
        records: plan.normal + plan.due_groups * plan.due_per_group,
        secs: started.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------
// Servers and load
// ---------------------------------------------------------------------------

/// The transport ceiling: credd's own Verify message types and codec, and a
/// fixed VALID answer (the size of a real one) without any lookup.
#[derive(Debug, Clone)]
struct NoopVerifier {
    response: pb::VerifyResponse,
}

#[tonic::async_trait]
impl pb::credential_verifier_server::CredentialVerifier for NoopVerifier {
    async fn verify(
        &self,
        _request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, tonic::Status> {
        Ok(Response::new(self.response.clone()))
    }

    async fn verify_http_authorization(
        &self,
        _request: Request<pb::VerifyHttpAuthorizationRequest>,
    ) -> Result<Response<pb::VerifyHttpAuthorizationResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the bench's no-op serves Verify only",
        ))
    }

    async fn verify_partner_pair(
        &self,
        _request: Request<pb::VerifyPartnerPairRequest>,
    ) -> Result<Response<pb::VerifyPartnerPairResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the bench's no-op serves Verify only",
        ))
    }
}

fn noop_response() -> pb::VerifyResponse {
    pb::VerifyResponse {
        result: pb::VerifyResult::Valid.into(),
        credential_id: validate::new_credential_id(),
        account_id: "acct-0000042".to_string(),
        kind: pb::Kind::ApiKey.into(),
        environment: pb::Environment::Live.into(),
        scopes: SCOPES.iter().map(|s| (*s).to_string()).collect(),
        expires_at: Some(prost_types::Timestamp {
            seconds: 1_900_000_000,
            nanos: 0,
        }),
        ..Default::default()
    }
}

/// A router served on 127.0.0.1:0 the way the daemon serves it
/// (`serve_with_incoming_shutdown` over a bound `TcpListener`).
struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
}

/// Serves `router` as the daemon does: TCP_NODELAY on every accepted socket.
fn serve(rt: &Runtime, router: Router) -> Served {
    serve_with(rt, router, true)
}

/// [`serve`]; without `nodelay`, accepted sockets keep Nagle's algorithm on
/// (a diagnostic variant: the daemon sets TCP_NODELAY).
fn serve_with(rt: &Runtime, router: Router, nodelay: bool) -> Served {
    use tokio_stream::StreamExt;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(move |stream| {
        if nodelay && let Ok(stream) = &stream {
            let _ = stream.set_nodelay(true);
        }
        stream
    });
    let task = rt.spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

impl Served {
    fn shutdown(mut self, rt: &Runtime) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ =
                rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), task).await });
        }
    }
}

async fn connect(addr: SocketAddr, n: usize) -> Vec<Channel> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect");
        channels.push(channel);
    }
    channels
}

/// Separate HTTP/2 connections for a concurrency level.
fn channels_for(concurrency: usize) -> usize {
    concurrency.clamp(1, 4)
}

type OpFuture = Pin<Box<dyn Future<Output = bool> + Send>>;
/// One request of caller `worker`, its `n`th; true when answered as expected.
type Op = Arc<dyn Fn(usize, u64) -> OpFuture + Send + Sync>;

/// Raw latencies of one or more measured segments.
#[derive(Debug, Default)]
struct Raw {
    lat_ns: Vec<u64>,
    errors: u64,
    secs: f64,
    /// Calls made, warm-up included.
    all_ops: u64,
    /// Process CPU seconds over the same span, warm-up included.
    cpu_secs: f64,
}

impl Raw {
    fn add(&mut self, other: Raw) {
        self.lat_ns.extend(other.lat_ns);
        self.errors += other.errors;
        self.secs += other.secs;
        self.all_ops += other.all_ops;
        self.cpu_secs += other.cpu_secs;
    }

    fn stats(self) -> Stats {
        let cpu_us_per_op = self.cpu_secs * 1e6 / self.all_ops.max(1) as f64;
        let mut stats = Stats::from_latencies(self.lat_ns, self.errors, self.secs);
        stats.cpu_us_per_op = cpu_us_per_op;
        stats
    }
}

/// CPU time of this whole process so far (user + system, all threads).
fn process_cpu_secs() -> f64 {
    // SAFETY: getrusage(2) fills the struct we pass; nothing else is touched.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// `concurrency` callers in a closed loop for warmup + measure; only calls
/// started after the warmup are counted.
async fn drive(concurrency: usize, warmup: Duration, measure: Duration, op: Op) -> Raw {
    let cpu_before = process_cpu_secs();
    let start = Instant::now() + warmup;
    let end = start + measure;
    let mut handles = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let op = op.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(16_384);
            let mut errors = 0u64;
            let mut last = start;
            let mut n = 0u64;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let ok = op(worker, n).await;
                n += 1;
                let t1 = Instant::now();
                if t0 >= start {
                    lat.push((t1 - t0).as_nanos() as u64);
                    errors += u64::from(!ok);
                    last = last.max(t1);
                }
            }
            (lat, errors, last, n)
        }));
    }
    let mut raw = Raw::default();
    let mut last = start;
    for handle in handles {
        let (lat, e, l, n) = handle.await.expect("load task");
        raw.lat_ns.extend(lat);
        raw.errors += e;
        raw.all_ops += n;
        last = last.max(l);
    }
    raw.secs = last.saturating_duration_since(start).as_secs_f64();
    raw.cpu_secs = process_cpu_secs() - cpu_before;
    raw
}

/// Warm-up of the `i`th segment: the full warm-up first, a short one after.
fn segment_warmup(s: &Settings, i: usize) -> Duration {
    if i == 0 {
        s.warm()
    } else {
        s.warm().min(Duration::from_millis(100))
    }
}

fn segment_len(s: &Settings) -> Duration {
    Duration::from_secs_f64(s.secs / s.segments as f64)
}

/// A cheap deterministic pick in `0..len` for caller `w`'s `n`th call.
fn pick(w: usize, n: u64, len: usize) -> usize {
    let mut x =
        (w as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n.wrapping_add(0x632B_E59B_D9B4_E019);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % len as u64) as usize
}

fn verify_request(secret: String) -> pb::VerifyRequest {
    pb::VerifyRequest {
        secret,
        account_id: String::new(),
        required_scopes: vec![SCOPES[0].to_string()],
        ..Default::default()
    }
}

fn verify_op(channels: Vec<Channel>, keys: Arc<Vec<String>>) -> Op {
    let clients: Vec<_> = channels
        .into_iter()
        .map(CredentialVerifierClient::new)
        .collect();
    Arc::new(move |w, n| {
        let mut client = clients[w % clients.len()].clone();
        let key = keys[pick(w, n, keys.len())].clone();
        Box::pin(async move {
            match client.verify(verify_request(key)).await {
                Ok(answer) => answer.into_inner().result == i32::from(pb::VerifyResult::Valid),
                Err(_) => false,
            }
        })
    })
}

/// Verify over gRPC at `concurrency` against `addr`, in one run.
fn grpc_verify(
    rt: &Runtime,
    s: &Settings,
    addr: SocketAddr,
    concurrency: usize,
    keys: &Arc<Vec<String>>,
) -> Stats {
    rt.block_on(async {
        let channels = connect(addr, channels_for(concurrency)).await;
        drive(
            concurrency,
            s.warm(),
            s.measure(),
            verify_op(channels, keys.clone()),
        )
        .await
        .stats()
    })
}

/// Verify over gRPC at `concurrency` against `a` and `b` in alternating
/// segments (so drifting load on the shared machine hits both alike).
fn compare_grpc_verify(
    rt: &Runtime,
    s: &Settings,
    concurrency: usize,
    a: (SocketAddr, &Arc<Vec<String>>),
    b: (SocketAddr, &Arc<Vec<String>>),
) -> (Stats, Stats) {
    rt.block_on(async {
        let n = channels_for(concurrency);
        let op_a = verify_op(connect(a.0, n).await, a.1.clone());
        let op_b = verify_op(connect(b.0, n).await, b.1.clone());
        alternate(s, concurrency, op_a, op_b).await
    })
}

/// `op_a` and `op_b` at `concurrency` in alternating segments (so drifting
/// load on the shared machine hits both alike).
async fn alternate(s: &Settings, concurrency: usize, op_a: Op, op_b: Op) -> (Stats, Stats) {
    let ((a, _), (b, _)) = alternate_probed(s, concurrency, op_a, op_b, &|| 0.0).await;
    (a, b)
}

/// [`alternate`], also reading `probe` (a CPU-seconds counter, e.g. another
/// process's) around each segment: returns each side's probe microseconds
/// per call, warm-up calls included.
async fn alternate_probed(
    s: &Settings,
    concurrency: usize,
    op_a: Op,
    op_b: Op,
    probe: &(dyn Fn() -> f64 + Sync),
) -> ((Stats, f64), (Stats, f64)) {
    let (mut raw_a, mut raw_b) = (Raw::default(), Raw::default());
    let (mut probe_a, mut probe_b) = (0.0, 0.0);
    for i in 0..s.segments {
        let warm = segment_warmup(s, i);
        let before = probe();
        raw_a.add(drive(concurrency, warm, segment_len(s), op_a.clone()).await);
        let middle = probe();
        raw_b.add(drive(concurrency, warm, segment_len(s), op_b.clone()).await);
        probe_a += middle - before;
        probe_b += probe() - middle;
    }
    let per_call = |secs: f64, raw: &Raw| secs * 1e6 / raw.all_ops.max(1) as f64;
    let (us_a, us_b) = (per_call(probe_a, &raw_a), per_call(probe_b, &raw_b));
    ((raw_a.stats(), us_a), (raw_b.stats(), us_b))
}

/// CPU seconds (user + system) that process `pid` has used.
fn other_process_cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): utime is the
    // 12th and stime the 13th of them, in clock ticks.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / hz.max(1.0)
}

/// `Engine::verify` called in a loop on this thread: the store's cost alone.
fn direct_verify(engine: &Engine, keys: &[String], warmup: Duration, measure: Duration) -> Raw {
    let scopes = vec![SCOPES[0].to_string()];
    let cpu_before = process_cpu_secs();
    let warm_end = Instant::now() + warmup;
    let mut n = 0u64;
    while Instant::now() < warm_end {
        let _ = engine.verify(&keys[pick(0, n, keys.len())], None, &scopes);
        n += 1;
    }
    let start = Instant::now();
    let end = start + measure;
    let mut raw = Raw {
        lat_ns: Vec::with_capacity(1 << 20),
        ..Raw::default()
    };
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let ok = matches!(
            engine.verify(&keys[pick(0, n, keys.len())], None, &scopes),
            Ok(v) if matches!(v.outcome, lifecycle::VerifyOutcome::Valid { .. })
        );
        n += 1;
        raw.lat_ns.push(t0.elapsed().as_nanos() as u64);
        raw.errors += u64::from(!ok);
    }
    raw.secs = start.elapsed().as_secs_f64();
    raw.all_ops = n;
    raw.cpu_secs = process_cpu_secs() - cpu_before;
    raw
}

/// [`direct_verify`] on two engines in alternating segments.
fn compare_direct_verify(
    s: &Settings,
    a: (&Engine, &[String]),
    b: (&Engine, &[String]),
) -> (Stats, Stats) {
    // Every sampled key verified once first, on both engines: the keys in
    // use are then in the verify cache, as a service's keys in use are. The
    // cold pass is measured on its own against the daemon (section 5).
    let scopes = vec![SCOPES[0].to_string()];
    for (engine, keys) in [a, b] {
        for key in keys {
            let _ = engine.verify(key, None, &scopes);
        }
    }
    let (mut raw_a, mut raw_b) = (Raw::default(), Raw::default());
    for i in 0..s.segments {
        let warm = segment_warmup(s, i);
        raw_a.add(direct_verify(a.0, a.1, warm, segment_len(s)));
        raw_b.add(direct_verify(b.0, b.1, warm, segment_len(s)));
    }
    (raw_a.stats(), raw_b.stats())
}

fn create_request(run: &str, w: usize, n: u64) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        // At most 50 per account: the default quota is 100 live credentials.
        account_id: format!("{run}-{w}-{}", n / 50),
        kind: pb::Kind::ApiKey.into(),
        environment: pb::Environment::Live.into(),
        name: format!("bench create {n}"),
        description: "benchmark credential".to_string(),
        scopes: SCOPES.iter().map(|s| (*s).to_string()).collect(),
        lifetime: None,
        notify_emails: vec!["ops@example.com".to_string()],
        client_id: String::new(),
    }
}

/// `AdminService` behind the daemon's own authenticator, and a key for it:
/// the create benchmarks pay for authentication as real callers do.
fn authenticated_admin(rt: &Runtime, engine: &Arc<Engine>) -> (Router, String) {
    let (_, key) = rt
        .block_on(engine.issue_root_admin_key(&Actor::system(), "bench"))
        .expect("bench admin key");
    let throttle = Arc::new(Throttle::new(ThrottlePolicy {
        burst: std::num::NonZeroU32::MIN,
        refill: Duration::from_secs(60),
    }));
    let router = tonic::transport::Server::builder().add_service(
        tonic::service::interceptor::InterceptedService::new(
            AdminService::new(engine.clone()).into_server(),
            Authenticator::new(engine.clone(), throttle),
        ),
    );
    (router, key.expose().to_string())
}

fn grpc_create(
    rt: &Runtime,
    s: &Settings,
    key: &str,
    addr: SocketAddr,
    concurrency: usize,
    run: &'static str,
) -> Stats {
    rt.block_on(async {
        let bearer: tonic::metadata::MetadataValue<_> =
            format!("Bearer {key}").parse().expect("ascii key");
        let clients: Vec<_> = connect(addr, channels_for(concurrency))
            .await
            .into_iter()
            .map(|channel| {
                let bearer = bearer.clone();
                CredentialAdminClient::with_interceptor(
                    channel,
                    move |mut request: tonic::Request<()>| {
                        request
                            .metadata_mut()
                            .insert("authorization", bearer.clone());
                        Ok(request)
                    },
                )
            })
            .collect();
        let op: Op = Arc::new(move |w, n| {
            let mut client = clients[w % clients.len()].clone();
            Box::pin(async move {
                client
                    .create_credential(create_request(run, w, n))
                    .await
                    .is_ok_and(|r| !r.into_inner().secret.is_empty())
            })
        });
        drive(concurrency, s.warm(), s.measure(), op).await.stats()
    })
}

fn direct_create(rt: &Runtime, s: &Settings, engine: &Arc<Engine>, concurrency: usize) -> Stats {
    let engine = engine.clone();
    let run: &'static str = if concurrency == 1 {
        "direct1"
    } else {
        "direct"
    };
    rt.block_on(async {
        let op: Op = Arc::new(move |w, n| {
            let engine = engine.clone();
            Box::pin(async move {
                let request = create_request(run, w, n);
                engine
                    .create(
                        &Actor::unrestricted("admin"),
                        NewCredential {
                            account_id: request.account_id,
                            kind: Kind::ApiKey,
                            environment: Environment::Live,
                            name: request.name,
                            description: request.description,
                            scopes: request.scopes,
                            lifetime: None,
                            notify_emails: request.notify_emails,
                            client_id: None,
                        },
                    )
                    .await
                    .is_ok()
            })
        });
        drive(concurrency, s.warm(), s.measure(), op).await.stats()
    })
}

// ---------------------------------------------------------------------------
// The real daemon
// ---------------------------------------------------------------------------

/// A `credd` process started on a data directory, READY when returned.
struct Daemon {
    child: Child,
    /// Kept open so the daemon's STOPPING=1 has somewhere to go.
    _notify: UnixDatagram,
    addr: SocketAddr,
    /// Spawn to the READY datagram.
    ready_secs: f64,
}

fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn start_daemon(work: &Path, config_path: &Path, log: &Path) -> Daemon {
    let socket_path = work.join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    socket
        .set_read_timeout(Some(Duration::from_secs(120)))
        .expect("socket timeout");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_credd"))
        .arg("--config")
        .arg(config_path)
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove("RUST_LOG")
        .env_remove("CREDD_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("spawn credd");
    let mut buf = [0u8; 4096];
    loop {
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "credd sent no READY ({e}); its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        };
        let message = String::from_utf8_lossy(&buf[..n]).to_string();
        if message.lines().any(|l| l == "READY=1") {
            let ready_secs = started.elapsed().as_secs_f64();
            let addr = message
                .lines()
                .find_map(|l| l.strip_prefix("STATUS=listening on "))
                .and_then(|a| a.parse().ok())
                .expect("READY carries the address");
            return Daemon {
                child,
                _notify: socket,
                addr,
                ready_secs,
            };
        }
    }
}

impl Daemon {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait; returns the seconds until exit.
    fn terminate(mut self) -> f64 {
        let started = Instant::now();
        // SAFETY: kill(2) on our own child; no memory is touched.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "credd exited with {status}");
                return started.elapsed().as_secs_f64();
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("credd did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------

struct Ctx {
    s: Settings,
    server_rt: Runtime,
    client_rt: Runtime,
    work: tempfile::TempDir,
    base: DateTime<Utc>,
    report: Report,
    extra: serde_json::Map<String, Value>,
}

fn ratio(a: f64, b: f64) -> f64 {
    a / b
}

fn count_label(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}K", n / 1_000)
    } else {
        n.to_string()
    }
}

/// The small store: open and served from the transport rows to the flat rows,
/// so the two store sizes can be measured in alternating segments.
struct SmallStore {
    opened: Opened,
    keys: Arc<Vec<String>>,
    server: Served,
    label: String,
}

fn small_store(ctx: &mut Ctx) -> SmallStore {
    eprintln!(
        "[bench] filling the small store ({} credentials)",
        ctx.s.small
    );
    let opened = open(
        &ctx.work.path().join("small"),
        ctx.s.cache_mb,
        Arc::new(SystemClock),
    );
    let filled = fill(
        &ctx.client_rt,
        &opened,
        ctx.base,
        &FillPlan {
            normal: ctx.s.small,
            due_groups: 0,
            due_per_group: 0,
            sample: ctx.s.sample,
        },
    );
    eprintln!(
        "[bench]   {} credentials in {:.1} s",
        filled.records, filled.secs
    );
    let server = serve(
        &ctx.server_rt,
        tonic::transport::Server::builder()
            .add_service(VerifierService::new(opened.engine.clone(), false).into_server()),
    );
    SmallStore {
        opened,
        keys: Arc::new(filled.sample),
        server,
        label: count_label(filled.records),
    }
}

/// 1: the no-op service vs Verify on the small store at 1, 16 and 64.
fn transport(ctx: &mut Ctx, small: &SmallStore) {
    eprintln!("[bench] transport ceiling");
    let noop = serve(
        &ctx.server_rt,
        tonic::transport::Server::builder().add_service(
            pb::credential_verifier_server::CredentialVerifierServer::new(NoopVerifier {
                response: noop_response(),
            }),
        ),
    );
    let section = "1 transport ceiling";
    for concurrency in [1usize, 16, 64] {
        let (base, verify) = compare_grpc_verify(
            &ctx.client_rt,
            &ctx.s,
            concurrency,
            (noop.addr, &small.keys),
            (small.server.addr, &small.keys),
        );
        let conns = channels_for(concurrency);
        ctx.report.info(
            section,
            format!("no-op RPC (fixed VALID), c={concurrency}, {conns} conn"),
            &base,
        );
        let thr = ratio(verify.throughput, base.throughput);
        let p99 = ratio(verify.p99_us, base.p99_us);
        let pass = thr >= 0.8 && p99 <= 1.5 && verify.errors == 0;
        ctx.report.push(Row {
            section,
            scenario: format!(
                "Verify, {} creds, c={concurrency}, {conns} conn",
                small.label
            ),
            throughput: rate(verify.throughput),
            p50: micros(verify.p50_us),
            p99: micros(verify.p99_us),
            versus: format!(
                "thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.0} µs",
                verify.cpu_us_per_op - base.cpu_us_per_op
            ),
            goal: "thr >= 0.8x, p99 <= 1.5x".to_string(),
            pass: Some(pass),
            json: json!({
                "concurrency": concurrency,
                "channels": conns,
                "noop": base.json(),
                "verify": verify.json(),
                "throughput_ratio": round3(thr),
                "p99_ratio": round3(p99),
            }),
        });
        if !pass {
            ctx.report.findings.push(format!(
                "transport c={concurrency}: Verify reaches {thr:.2}x of the no-op throughput (goal >= 0.8x) with p99 {p99:.2}x of the no-op's (goal <= 1.5x); errors {}",
                verify.errors
            ));
        }
    }
    noop.shutdown(&ctx.server_rt);

    // Diagnostic: the same pair at c=64 without TCP_NODELAY on accepted sockets.
    let noop = serve_with(
        &ctx.server_rt,
        tonic::transport::Server::builder().add_service(
            pb::credential_verifier_server::CredentialVerifierServer::new(NoopVerifier {
                response: noop_response(),
            }),
        ),
        false,
    );
    let real = serve_with(
        &ctx.server_rt,
        tonic::transport::Server::builder()
            .add_service(VerifierService::new(small.opened.engine.clone(), false).into_server()),
        false,
    );
    let (base, verify) = compare_grpc_verify(
        &ctx.client_rt,
        &ctx.s,
        64,
        (noop.addr, &small.keys),
        (real.addr, &small.keys),
    );
    noop.shutdown(&ctx.server_rt);
    real.shutdown(&ctx.server_rt);
    ctx.report.info(
        section,
        "diagnostic: no-op, c=64, server without TCP_NODELAY (daemon: on)",
        &base,
    );
    let thr = ratio(verify.throughput, base.throughput);
    let p99 = ratio(verify.p99_us, base.p99_us);
    ctx.report.push(Row {
        section,
        scenario: format!(
            "diagnostic: Verify, {} creds, c=64, server without TCP_NODELAY",
            small.label
        ),
        throughput: rate(verify.throughput),
        p50: micros(verify.p50_us),
        p99: micros(verify.p99_us),
        versus: format!(
            "thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.0} µs",
            verify.cpu_us_per_op - base.cpu_us_per_op
        ),
        goal: String::new(),
        pass: None,
        json: json!({
            "concurrency": 64,
            "server_tcp_nodelay": false,
            "noop": base.json(),
            "verify": verify.json(),
            "throughput_ratio": round3(thr),
            "p99_ratio": round3(p99),
        }),
    });
}

/// Keys created through the real daemon for section 1b.
const DAEMON_KEYS: usize = 1_000;
/// HTTP/2 connections of section 1b, as the independent load generator used.
const DAEMON_CONNS: usize = 4;

/// Verify of `keys` in round-robin order over `channels`.
fn round_robin_verify_op(channels: Vec<Channel>, keys: Arc<Vec<String>>) -> Op {
    let clients: Vec<_> = channels
        .into_iter()
        .map(CredentialVerifierClient::new)
        .collect();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move |w, _| {
        let mut client = clients[w % clients.len()].clone();
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = keys[i % keys.len()].clone();
        Box::pin(async move {
            match client.verify(verify_request(key)).await {
                Ok(answer) => answer.into_inner().result == i32::from(pb::VerifyResult::Valid),
                Err(_) => false,
            }
        })
    })
}

/// `grpc.health.v1.Health/Check` on the same daemon: the no-op baseline.
fn health_op(channels: Vec<Channel>) -> Op {
    use tonic_health::pb::health_client::HealthClient;
    let clients: Vec<_> = channels.into_iter().map(HealthClient::new).collect();
    Arc::new(move |w, _| {
        let mut client = clients[w % clients.len()].clone();
        Box::pin(async move {
            client
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok()
        })
    })
}

/// Creates [`DAEMON_KEYS`] API keys through the daemon's admin API.
async fn create_keys_through(addr: SocketAddr, admin_key: &str, n: usize) -> Vec<String> {
    let channel = connect(addr, 1).await.remove(0);
    let bearer: tonic::metadata::MetadataValue<_> =
        format!("Bearer {admin_key}").parse().expect("bearer");
    let mut admin =
        CredentialAdminClient::with_interceptor(channel, move |mut r: tonic::Request<()>| {
            r.metadata_mut().insert("authorization", bearer.clone());
            Ok(r)
        });
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let mut request = create_request("daemon", 0, i as u64);
        request.scopes = vec![SCOPES[0].to_string()];
        let response = admin
            .create_credential(request)
            .await
            .expect("create through the daemon")
            .into_inner();
        keys.push(response.secret);
    }
    keys
}

/// 1b: the real `credd` binary on its defaults, measured from outside as the
/// issue's independent load generator did: Verify of 1,000 keys in
/// round-robin order against `grpc.health.v1.Health/Check` on the same
/// daemon, over 4 HTTP/2 connections, in alternating segments.
fn daemon_transport(ctx: &mut Ctx) {
    eprintln!("[bench] transport against the real daemon");
    let work = ctx.work.path().join("daemon-transport");
    std::fs::create_dir_all(&work).expect("daemon work dir");
    let data_dir = work.join("data");
    let config_path = work.join("credd.toml");
    std::fs::write(
        &config_path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nlog_filter = \"info\"\n\n[policy]\nmax_credentials_per_account = 100000\n",
            data_dir.display()
        ),
    )
    .expect("daemon config");
    let log = work.join("credd.log");
    let daemon = start_daemon(&work, &config_path, &log);
    let admin_key = std::fs::read_to_string(data_dir.join("admin.key"))
        .expect("admin key")
        .trim()
        .to_string();
    let keys = Arc::new(ctx.client_rt.block_on(create_keys_through(
        daemon.addr,
        &admin_key,
        DAEMON_KEYS,
    )));
    let section = "1b transport, real daemon";
    for concurrency in [1usize, 16, 64] {
        let s = &ctx.s;
        let pid = daemon.pid();
        let ((base, base_server_us), (verify, verify_server_us)) = ctx.client_rt.block_on(async {
            let conns = DAEMON_CONNS.min(concurrency);
            let health = health_op(connect(daemon.addr, conns).await);
            let verify = round_robin_verify_op(connect(daemon.addr, conns).await, keys.clone());
            alternate_probed(s, concurrency, health, verify, &|| {
                other_process_cpu_secs(pid)
            })
            .await
        });
        let conns = DAEMON_CONNS.min(concurrency);
        ctx.report.info(
            section,
            format!("credd Health/Check, c={concurrency}, {conns} conn"),
            &base,
        );
        let thr = ratio(verify.throughput, base.throughput);
        let p99 = ratio(verify.p99_us, base.p99_us);
        // The issue's goals: p99 within 1.3x at every level, throughput at
        // least 0.9x at 64 streams.
        let min_thr = if concurrency == 64 { 0.9 } else { 0.0 };
        let pass = thr >= min_thr && p99 <= 1.3 && verify.errors == 0;
        ctx.report.push(Row {
            section,
            scenario: format!(
                "credd Verify, {DAEMON_KEYS} keys round-robin, c={concurrency}, {conns} conn"
            ),
            throughput: rate(verify.throughput),
            p50: micros(verify.p50_us),
            p99: micros(verify.p99_us),
            versus: format!(
                "thr {thr:.2}x, p99 {p99:.2}x, cpu/call credd {:+.0} µs, client {:+.0} µs",
                verify_server_us - base_server_us,
                verify.cpu_us_per_op - base.cpu_us_per_op
            ),
            goal: if concurrency == 64 {
                "thr >= 0.9x, p99 <= 1.3x".to_string()
            } else {
                "p99 <= 1.3x".to_string()
            },
            pass: Some(pass),
            json: json!({
                "concurrency": concurrency,
                "channels": conns,
                "health": base.json(),
                "verify": verify.json(),
                "credd_cpu_us_per_call": { "health": round3(base_server_us), "verify": round3(verify_server_us) },
                "throughput_ratio": round3(thr),
                "p99_ratio": round3(p99),
            }),
        });
        if !pass {
            ctx.report.findings.push(format!(
                "daemon transport c={concurrency}: Verify reaches {thr:.2}x of Health/Check's throughput (goal >= {min_thr}x) with p99 {p99:.2}x (goal <= 1.3x); errors {}",
                verify.errors
            ));
        }
    }
    daemon.terminate();
}

/// Serial 4 KiB writes made durable the way sled 0.34 does on Linux
/// (`sync_file_range` with WAIT_BEFORE|WRITE|WAIT_AFTER) and with fdatasync:
/// the disk's floor for one flush.
fn disk_probe(dir: &Path, secs: f64) -> (Stats, Stats) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let path = dir.join("disk-probe");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .expect("probe file");
    let block = [0x5au8; 4096];
    let run = |durable: &dyn Fn(u64) -> std::io::Result<()>| -> Stats {
        let mut raw = Raw::default();
        let start = Instant::now();
        let mut offset = 0u64;
        while start.elapsed().as_secs_f64() < secs {
            let t0 = Instant::now();
            let ok = file.write_all_at(&block, offset).is_ok() && durable(offset).is_ok();
            raw.lat_ns.push(t0.elapsed().as_nanos() as u64);
            raw.errors += u64::from(!ok);
            offset = (offset + 4096) % (64 << 20);
        }
        raw.secs = start.elapsed().as_secs_f64();
        raw.stats()
    };
    let fd = file.as_raw_fd();
    let range = run(&|offset| {
        // SAFETY: sync_file_range(2) on an open descriptor we own.
        let rc = unsafe {
            libc::sync_file_range(
                fd,
                offset as libc::off64_t,
                4096,
                libc::SYNC_FILE_RANGE_WAIT_BEFORE
                    | libc::SYNC_FILE_RANGE_WRITE
                    | libc::SYNC_FILE_RANGE_WAIT_AFTER,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    });
    let datasync = run(&|_| file.sync_data());
    drop(file);
    let _ = std::fs::remove_file(&path);
    (range, datasync)
}

/// One record committed, then `Store::flush`, serially: the two halves of
/// a create's storage cost.
fn commit_flush_probe(ctx: &Ctx, opened: &Opened, secs: f64) -> (Stats, Stats) {
    let (mut commits, mut flushes) = (Raw::default(), Raw::default());
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed().as_secs_f64() < secs {
        let (record, _) = build_record(
            opened,
            format!("probe-{}", n / 50),
            format!("probe {n}"),
            ctx.base,
        );
        n += 1;
        let t0 = Instant::now();
        commit(opened, &record);
        let t1 = Instant::now();
        let ok = ctx
            .client_rt
            .block_on(opened.engine.store().flush())
            .is_ok();
        commits.lat_ns.push((t1 - t0).as_nanos() as u64);
        flushes.lat_ns.push(t1.elapsed().as_nanos() as u64);
        flushes.errors += u64::from(!ok);
    }
    let secs = start.elapsed().as_secs_f64();
    commits.secs = secs;
    flushes.secs = secs;
    (commits.stats(), flushes.stats())
}

/// 4: acknowledged creates per second.
fn durable_writes(ctx: &mut Ctx) {
    eprintln!("[bench] durable writes");
    let section = "4 durable writes";
    let dir = ctx.work.path().join("writes");
    let opened = open(&dir, ctx.s.cache_mb, Arc::new(SystemClock));
    let probe_secs = ctx.s.secs.min(1.0);
    let (range, datasync) = disk_probe(&dir, probe_secs);
    ctx.report.info(
        section,
        "disk floor: 4 KiB pwrite + sync_file_range, serial",
        &range,
    );
    ctx.report.info(
        section,
        "disk floor: 4 KiB pwrite + fdatasync, serial",
        &datasync,
    );
    let (commits, flushes) = commit_flush_probe(ctx, &opened, probe_secs);
    ctx.report.info(
        section,
        "Store::commit of 1 record (7-tree transaction), serial",
        &commits,
    );
    ctx.report.info(
        section,
        "Store::flush after that commit (group-commit thread)",
        &flushes,
    );
    let (router, key) = authenticated_admin(&ctx.server_rt, &opened.engine);
    let admin = serve(&ctx.server_rt, router);
    let serial = grpc_create(&ctx.client_rt, &ctx.s, &key, admin.addr, 1, "serial");
    ctx.report.info(
        section,
        "CreateCredential, 1 caller (1 flush per create)",
        &serial,
    );
    let concurrent = grpc_create(&ctx.client_rt, &ctx.s, &key, admin.addr, 64, "c64");
    let pass = concurrent.throughput >= 2_000.0 && concurrent.errors == 0;
    ctx.report.push(Row {
        section,
        scenario: format!("CreateCredential, 64 callers, {} conn", channels_for(64)),
        throughput: rate(concurrent.throughput),
        p50: micros(concurrent.p50_us),
        p99: micros(concurrent.p99_us),
        versus: format!(
            "{:.1}x serial",
            ratio(concurrent.throughput, serial.throughput)
        ),
        goal: ">= 2,000/s".to_string(),
        pass: Some(pass),
        json: json!({
            "serial": serial.json(),
            "concurrent64": concurrent.json(),
            "speedup": round3(ratio(concurrent.throughput, serial.throughput)),
        }),
    });
    if !pass {
        ctx.report.findings.push(format!(
            "durable writes: {:.0} acknowledged creates/s with 64 callers (goal 2,000/s: {:.0}% of it); serial {:.0}/s; one Store::flush after one commit takes p50 {} (disk floor p50 {}); errors {}",
            concurrent.throughput,
            100.0 * concurrent.throughput / 2_000.0,
            serial.throughput,
            micros(flushes.p50_us),
            micros(range.p50_us),
            concurrent.errors
        ));
    }
    admin.shutdown(&ctx.server_rt);
    let (router, _) = authenticated_admin(&ctx.server_rt, &opened.engine);
    let admin = serve_with(&ctx.server_rt, router, false);
    let serial_nagle = grpc_create(&ctx.client_rt, &ctx.s, &key, admin.addr, 1, "serialng");
    let concurrent_nagle = grpc_create(&ctx.client_rt, &ctx.s, &key, admin.addr, 64, "c64ng");
    admin.shutdown(&ctx.server_rt);
    for (what, stats) in [
        ("1 caller", &serial_nagle),
        ("64 callers", &concurrent_nagle),
    ] {
        ctx.report.push(Row {
            section,
            scenario: format!(
                "diagnostic: CreateCredential, {what}, server without TCP_NODELAY (daemon: on)"
            ),
            throughput: rate(stats.throughput),
            p50: micros(stats.p50_us),
            p99: micros(stats.p99_us),
            versus: format!(
                "{:.2}x with",
                ratio(
                    stats.throughput,
                    if what == "1 caller" {
                        serial.throughput
                    } else {
                        concurrent.throughput
                    }
                )
            ),
            goal: String::new(),
            pass: None,
            json: json!({"server_tcp_nodelay": false, "stats": stats.json()}),
        });
    }
    let direct_serial = direct_create(&ctx.client_rt, &ctx.s, &opened.engine, 1);
    ctx.report.info(
        section,
        "Engine::create direct, 1 task (no gRPC)",
        &direct_serial,
    );
    let direct = direct_create(&ctx.client_rt, &ctx.s, &opened.engine, 64);
    ctx.report.push(Row {
        section,
        scenario: "Engine::create direct, 64 tasks (no gRPC)".to_string(),
        throughput: rate(direct.throughput),
        p50: micros(direct.p50_us),
        p99: micros(direct.p99_us),
        versus: format!(
            "{:.2}x gRPC c=64",
            ratio(direct.throughput, concurrent.throughput)
        ),
        goal: String::new(),
        pass: None,
        json: direct.json(),
    });
    ctx.extra.insert(
        "writes_store_size_on_disk_bytes".to_string(),
        json!(opened.engine.store().size_on_disk().ok()),
    );
    drop(opened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// One timed sweep; returns (seconds, due events, records touched).
fn timed_sweep(rt: &Runtime, sweeper: &Engine) -> (f64, usize, usize) {
    let started = Instant::now();
    let report = rt.block_on(sweeper.sweep()).expect("sweep");
    (
        started.elapsed().as_secs_f64(),
        report.due_events,
        report.records_touched,
    )
}

/// 3, small half: a fresh store of `due` credentials, all due.
fn sweep_small_round(ctx: &Ctx, round: usize) -> f64 {
    let dir = ctx.work.path().join(format!("sweep-small-{round}"));
    let opened = open(&dir, ctx.s.cache_mb, Arc::new(SystemClock));
    let filled = fill(
        &ctx.client_rt,
        &opened,
        ctx.base,
        &FillPlan {
            normal: 0,
            due_groups: 1,
            due_per_group: ctx.s.due,
            sample: 1,
        },
    );
    let clock = Arc::new(ManualClock::new(
        filled.due_at[0] + chrono::Duration::seconds(1),
    ));
    let sweeper = engine_with_clock(&opened, clock);
    let (secs, due, touched) = timed_sweep(&ctx.client_rt, &sweeper);
    assert_eq!(touched, ctx.s.due, "every due credential is swept");
    assert!(due >= ctx.s.due);
    drop(sweeper);
    drop(opened);
    let _ = std::fs::remove_dir_all(&dir);
    secs
}

/// (median, min, max)
fn spread(times: &[f64]) -> (f64, f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        sorted[sorted.len() / 2],
        sorted.first().copied().unwrap_or(f64::NAN),
        sorted.last().copied().unwrap_or(f64::NAN),
    )
}

fn daemon_config(work: &Path, data_dir: &Path, cache_mb: u64) -> PathBuf {
    let path = work.join("credd.toml");
    std::fs::write(
        &path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nlog_filter = \"info\"\n\n[storage]\ncache_capacity_mb = {cache_mb}\n",
            data_dir.display()
        ),
    )
    .expect("write daemon config");
    path
}

fn footprint_row(
    report: &mut Report,
    scenario: String,
    value: String,
    second: String,
    goal: &str,
    pass: Option<bool>,
    json: Value,
) {
    report.push(Row {
        section: "5 footprint",
        scenario,
        throughput: String::new(),
        p50: value,
        p99: second,
        versus: String::new(),
        goal: goal.to_string(),
        pass,
        json,
    });
}

/// Every key of `keys` verified once, by `concurrency` callers over the
/// daemon's connection(s): warms the daemon's cache over the whole sample.
fn verify_each_once(
    rt: &Runtime,
    addr: SocketAddr,
    concurrency: usize,
    keys: &Arc<Vec<String>>,
) -> Stats {
    rt.block_on(async {
        let channels = connect(addr, channels_for(concurrency)).await;
        let cpu_before = process_cpu_secs();
        let started = Instant::now();
        let mut handles = Vec::new();
        for w in 0..concurrency {
            let mut client = CredentialVerifierClient::new(channels[w % channels.len()].clone());
            let keys = keys.clone();
            handles.push(tokio::spawn(async move {
                let mut raw = Raw::default();
                for key in keys.iter().skip(w).step_by(concurrency) {
                    let t0 = Instant::now();
                    let ok = client
                        .verify(verify_request(key.clone()))
                        .await
                        .is_ok_and(|a| a.into_inner().result == i32::from(pb::VerifyResult::Valid));
                    raw.lat_ns.push(t0.elapsed().as_nanos() as u64);
                    raw.errors += u64::from(!ok);
                    raw.all_ops += 1;
                }
                raw
            }));
        }
        let mut raw = Raw::default();
        for handle in handles {
            raw.add(handle.await.expect("verify task"));
        }
        raw.secs = started.elapsed().as_secs_f64();
        raw.cpu_secs = process_cpu_secs() - cpu_before;
        raw.stats()
    })
}

/// 5 on the large store: the real credd binary, started three times.
/// Returns the random-key Verify load against it, and the full pass.
fn daemon_footprint(
    ctx: &mut Ctx,
    data_dir: &Path,
    n: usize,
    keys: &Arc<Vec<String>>,
) -> (Stats, Stats) {
    let s = &ctx.s;
    let config_path = daemon_config(ctx.work.path(), data_dir, s.daemon_cache_mb);
    let log = ctx.work.path().join("credd-daemon.log");
    eprintln!("[bench] starting credd on the large store");
    let daemon = start_daemon(ctx.work.path(), &config_path, &log);
    let first_ready = daemon.ready_secs;
    let rss_ready = proc_status_kib(daemon.pid(), "VmRSS:").unwrap_or(0);
    let random_load = grpc_verify(&ctx.client_rt, s, daemon.addr, 16, keys);
    let rss_random = proc_status_kib(daemon.pid(), "VmRSS:").unwrap_or(0);
    eprintln!(
        "[bench] verifying each of {} sample keys once against credd",
        keys.len()
    );
    let full_pass = verify_each_once(&ctx.client_rt, daemon.addr, 16, keys);
    let rss_full = proc_status_kib(daemon.pid(), "VmRSS:").unwrap_or(0);
    let hwm_full = proc_status_kib(daemon.pid(), "VmHWM:").unwrap_or(0);
    daemon.kill9();
    let daemon = start_daemon(ctx.work.path(), &config_path, &log);
    let after_kill_ready = daemon.ready_secs;
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = proc_status_kib(daemon.pid(), "VmRSS:").unwrap_or(0);
    let stop_secs = daemon.terminate();
    let daemon = start_daemon(ctx.work.path(), &config_path, &log);
    let after_term_ready = daemon.ready_secs;
    let check = ctx.client_rt.block_on(async {
        let channels = connect(daemon.addr, 1).await;
        drive(
            1,
            Duration::ZERO,
            Duration::from_millis(300),
            verify_op(channels, keys.clone()),
        )
        .await
        .stats()
    });
    let stop_secs_2 = daemon.terminate();
    let _ = std::fs::copy(&log, s.json.with_file_name("credd-bench-daemon.log"));

    let label = count_label(n);
    for (what, secs) in [
        (
            "credd first start after the fill (log since last open: the whole fill)",
            first_ready,
        ),
        (
            "credd restart after SIGKILL (little written since last open)",
            after_kill_ready,
        ),
        (
            "credd restart after SIGTERM (little written since last open)",
            after_term_ready,
        ),
    ] {
        let pass = secs < 3.0;
        footprint_row(
            &mut ctx.report,
            format!("{what}: spawn -> READY, {label} creds"),
            format!("{secs:.2} s"),
            String::new(),
            "< 3 s",
            Some(pass),
            json!({"ready_secs": round3(secs), "records": n}),
        );
        if !pass {
            ctx.report.findings.push(format!(
                "{what}: {secs:.2} s to READY with {label} credentials (goal < 3 s, {:.1}x over)",
                secs / 3.0
            ));
        }
    }
    if check.errors > 0 || check.ops == 0 || full_pass.errors > 0 {
        ctx.report.findings.push(format!(
            "Verify against restarted credd: {} of {} calls after the last restart and {} of {} in the full pass did not answer VALID",
            check.errors, check.ops, full_pass.errors, full_pass.ops
        ));
    }
    footprint_row(
        &mut ctx.report,
        format!(
            "credd VmRSS at READY / after {:.1} s random Verify, cache_capacity_mb={}",
            s.secs + s.warmup,
            s.daemon_cache_mb
        ),
        format!("{:.0} MiB", mib(rss_ready)),
        format!("{:.0} MiB", mib(rss_random)),
        "",
        None,
        json!({"vm_rss_ready_kib": rss_ready, "vm_rss_after_random_verify_kib": rss_random, "vm_rss_idle_after_kill_restart_kib": rss_idle}),
    );
    let pass = rss_full < 400 * 1024 && hwm_full < 400 * 1024;
    footprint_row(
        &mut ctx.report,
        format!(
            "credd VmRSS / VmHWM after Verify of all {} sample keys, {label} creds",
            count_label(keys.len())
        ),
        format!("{:.0} MiB", mib(rss_full)),
        format!("{:.0} MiB peak", mib(hwm_full)),
        "< 400 MiB",
        Some(pass),
        json!({"vm_rss_kib": rss_full, "vm_hwm_kib": hwm_full, "cache_capacity_mb": s.daemon_cache_mb, "keys": keys.len()}),
    );
    if !pass {
        ctx.report.findings.push(format!(
            "RSS with {label} credentials: {:.0} MiB (peak {:.0} MiB) after verifying {} keys, goal < 400 MiB",
            mib(rss_full),
            mib(hwm_full),
            keys.len()
        ));
    }
    footprint_row(
        &mut ctx.report,
        "credd SIGTERM -> exit, idle / after a short check".to_string(),
        format!("{stop_secs:.2} s"),
        format!("{stop_secs_2:.2} s"),
        "",
        None,
        json!({"idle_secs": round3(stop_secs), "after_check_secs": round3(stop_secs_2)}),
    );
    (random_load, full_pass)
}

/// 2 (large half), 3, 5.
fn large(ctx: &mut Ctx, small: &SmallStore) {
    let due_total = ctx.s.rounds * ctx.s.due;
    let normal = ctx.s.large.saturating_sub(due_total);
    eprintln!("[bench] filling the large store ({normal} + {due_total} credentials due later)");
    let data_dir = ctx.work.path().join("large");
    let opened = open(&data_dir, ctx.s.fill_cache_mb, Arc::new(SystemClock));
    let filled = fill(
        &ctx.client_rt,
        &opened,
        ctx.base,
        &FillPlan {
            normal,
            due_groups: ctx.s.rounds,
            due_per_group: ctx.s.due,
            sample: ctx.s.sample,
        },
    );
    let n = filled.records;
    let label = count_label(n);
    let bench_rss = proc_status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    let disk = opened.engine.store().size_on_disk().unwrap_or(0);
    ctx.report.push(Row {
        section: "5 footprint",
        scenario: format!(
            "fill {label} via Store::commit, {} threads, cache {} MiB, 1 flush",
            std::thread::available_parallelism().map_or(2, |n| n.get()),
            ctx.s.fill_cache_mb
        ),
        throughput: rate(n as f64 / filled.secs),
        p50: format!("{:.1} s", filled.secs),
        p99: String::new(),
        versus: format!("{:.0} MiB on disk", disk as f64 / 1_048_576.0),
        goal: String::new(),
        pass: None,
        json: json!({"records": n, "secs": round3(filled.secs), "size_on_disk_bytes": disk, "fill_cache_capacity_mb": ctx.s.fill_cache_mb}),
    });
    footprint_row(
        &mut ctx.report,
        format!(
            "bench process VmRSS after the fill (sled cache_capacity {} MiB)",
            ctx.s.fill_cache_mb
        ),
        format!("{:.0} MiB", mib(bench_rss)),
        String::new(),
        "",
        None,
        json!({"vm_rss_kib": bench_rss}),
    );
    drop(opened);
    let keys = Arc::new(filled.sample);

    let (on_daemon, full_pass) = daemon_footprint(ctx, &data_dir, n, &keys);

    // In-process again: reopen, Verify against both sizes, sweep.
    let reopen_started = Instant::now();
    let opened = open(&data_dir, ctx.s.cache_mb, Arc::new(SystemClock));
    let listener = ctx
        .server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let reopen_secs = reopen_started.elapsed().as_secs_f64();
    drop(listener);
    footprint_row(
        &mut ctx.report,
        format!("in-process reopen: open_engine + bind, {label} creds"),
        format!("{reopen_secs:.2} s"),
        String::new(),
        "",
        None,
        json!({"secs": round3(reopen_secs)}),
    );
    let server = serve(
        &ctx.server_rt,
        tonic::transport::Server::builder()
            .add_service(VerifierService::new(opened.engine.clone(), false).into_server()),
    );
    eprintln!("[bench] flat in store size");
    let (small_grpc, large_grpc) = compare_grpc_verify(
        &ctx.client_rt,
        &ctx.s,
        16,
        (small.server.addr, &small.keys),
        (server.addr, &keys),
    );
    server.shutdown(&ctx.server_rt);
    let (small_direct, large_direct) = compare_direct_verify(
        &ctx.s,
        (&small.opened.engine, &small.keys),
        (&opened.engine, &keys),
    );
    let section2 = "2 flat in store size";
    flat_rows(
        &mut ctx.report,
        section2,
        &format!("Verify gRPC c=16, {} conn", channels_for(16)),
        (&small.label, &small_grpc),
        (&label, &large_grpc),
    );
    flat_rows(
        &mut ctx.report,
        section2,
        "Engine::verify direct, 1 thread",
        (&small.label, &small_direct),
        (&label, &large_direct),
    );
    ctx.report.push(Row {
        section: section2,
        scenario: format!("Verify gRPC c=16 against the credd process, {label}"),
        throughput: rate(on_daemon.throughput),
        p50: micros(on_daemon.p50_us),
        p99: micros(on_daemon.p99_us),
        versus: format!(
            "{:.2}x in-process {label}",
            ratio(on_daemon.throughput, large_grpc.throughput)
        ),
        goal: String::new(),
        pass: None,
        json: on_daemon.json(),
    });
    ctx.report.push(Row {
        section: section2,
        scenario: format!(
            "Verify of each of {} keys once, c=16, credd process (cold)",
            count_label(keys.len())
        ),
        throughput: rate(full_pass.throughput),
        p50: micros(full_pass.p50_us),
        p99: micros(full_pass.p99_us),
        versus: String::new(),
        goal: String::new(),
        pass: None,
        json: full_pass.json(),
    });

    // Sweep: a small round, then a large round, alternately.
    eprintln!(
        "[bench] sweep: {} rounds of {} due among {} vs among {n}",
        ctx.s.rounds, ctx.s.due, ctx.s.due
    );
    let clock = Arc::new(ManualClock::new(ctx.base));
    let sweeper = engine_with_clock(&opened, clock.clone());
    let (mut small_times, mut large_times) = (Vec::new(), Vec::new());
    for (round, at) in filled.due_at.iter().enumerate() {
        small_times.push(sweep_small_round(ctx, round));
        clock.set(*at + chrono::Duration::seconds(1));
        let (secs, due, touched) = timed_sweep(&ctx.client_rt, &sweeper);
        assert_eq!(touched, ctx.s.due, "exactly one group is due per round");
        assert!(due >= ctx.s.due);
        large_times.push(secs);
    }
    let (small_med, small_min, small_max) = spread(&small_times);
    let (large_med, large_min, large_max) = spread(&large_times);
    let section3 = "3 sweep cost O(due)";
    let due_label = count_label(ctx.s.due);
    ctx.report.push(Row {
        section: section3,
        scenario: format!("sweep {due_label} due among {due_label} (fresh store each round)"),
        throughput: rate(ctx.s.due as f64 / small_med),
        p50: format!("{:.1} ms", small_med * 1e3),
        p99: format!("max {:.1} ms", small_max * 1e3),
        versus: "baseline".to_string(),
        goal: String::new(),
        pass: None,
        json: json!({"rounds_secs": small_times, "median_secs": round3(small_med), "min_secs": round3(small_min), "max_secs": round3(small_max)}),
    });
    let r = ratio(large_med, small_med);
    let pass = r <= 2.0;
    ctx.report.push(Row {
        section: section3,
        scenario: format!("sweep {due_label} due among {label}"),
        throughput: rate(ctx.s.due as f64 / large_med),
        p50: format!("{:.1} ms", large_med * 1e3),
        p99: format!("max {:.1} ms", large_max * 1e3),
        versus: format!("{r:.2}x time"),
        goal: "<= 2x".to_string(),
        pass: Some(pass),
        json: json!({"rounds_secs": large_times, "median_secs": round3(large_med), "min_secs": round3(large_min), "max_secs": round3(large_max), "time_ratio": round3(r)}),
    });
    if !pass {
        ctx.report.findings.push(format!(
            "sweep: {due_label} due among {label} takes {r:.2}x the time of {due_label} due among {due_label} (goal <= 2x); medians {:.1} ms vs {:.1} ms",
            large_med * 1e3,
            small_med * 1e3
        ));
    }
    drop(sweeper);
    drop(opened);

    // Diagnostic: is the large store's Verify cost the sled cache's size?
    if ctx.s.diag_cache_mb > 0 {
        let opened = open(&data_dir, ctx.s.diag_cache_mb, Arc::new(SystemClock));
        let (small_direct, large_direct) = compare_direct_verify(
            &ctx.s,
            (&small.opened.engine, &small.keys),
            (&opened.engine, &keys),
        );
        let thr = ratio(small_direct.throughput, large_direct.throughput);
        let p99 = ratio(large_direct.p99_us, small_direct.p99_us);
        ctx.report.push(Row {
            section: section2,
            scenario: format!(
                "diagnostic: Engine::verify direct, {label} creds, cache_capacity_mb={}",
                ctx.s.diag_cache_mb
            ),
            throughput: rate(large_direct.throughput),
            p50: micros(large_direct.p50_us),
            p99: micros(large_direct.p99_us),
            versus: format!(
                "{}/{label} thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.1} µs",
                small.label,
                large_direct.cpu_us_per_op - small_direct.cpu_us_per_op
            ),
            goal: String::new(),
            pass: None,
            json: json!({
                "cache_capacity_mb": ctx.s.diag_cache_mb,
                "small": small_direct.json(),
                "large": large_direct.json(),
                "small_over_large_throughput": round3(thr),
                "large_over_small_p99": round3(p99),
            }),
        });
        drop(opened);
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

fn flat_rows(
    report: &mut Report,
    section: &'static str,
    what: &str,
    small: (&str, &Stats),
    large: (&str, &Stats),
) {
    report.info(section, format!("{what}, {} creds", small.0), small.1);
    let thr = ratio(small.1.throughput, large.1.throughput);
    let p99 = ratio(large.1.p99_us, small.1.p99_us);
    let pass = thr <= 1.2 && large.1.errors == 0;
    report.push(Row {
        section,
        scenario: format!("{what}, {} creds", large.0),
        throughput: rate(large.1.throughput),
        p50: micros(large.1.p50_us),
        p99: micros(large.1.p99_us),
        versus: format!(
            "{}/{} thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.1} µs",
            small.0,
            large.0,
            large.1.cpu_us_per_op - small.1.cpu_us_per_op
        ),
        goal: "thr within 1.2x".to_string(),
        pass: Some(pass),
        json: json!({
            "small": small.1.json(),
            "large": large.1.json(),
            "small_over_large_throughput": round3(thr),
            "large_over_small_p99": round3(p99),
        }),
    });
    if !pass {
        report.findings.push(format!(
            "{what}: {} has {thr:.2}x less throughput than {} (goal within 1.2x), p99 {p99:.2}x; errors {}",
            large.0, small.0, large.1.errors
        ));
    }
}

/// The optional 10M point of scenario 2 (`CREDD_BENCH_HUGE`).
fn huge(ctx: &mut Ctx, small: &SmallStore) {
    eprintln!(
        "[bench] filling the huge store ({} credentials)",
        ctx.s.huge
    );
    let dir = ctx.work.path().join("huge");
    let opened = open(&dir, ctx.s.cache_mb, Arc::new(SystemClock));
    let filled = fill(
        &ctx.client_rt,
        &opened,
        ctx.base,
        &FillPlan {
            normal: ctx.s.huge,
            due_groups: 0,
            due_per_group: 0,
            sample: ctx.s.sample,
        },
    );
    let keys = Arc::new(filled.sample);
    let label = count_label(filled.records);
    let server = serve(
        &ctx.server_rt,
        tonic::transport::Server::builder()
            .add_service(VerifierService::new(opened.engine.clone(), false).into_server()),
    );
    let (small_grpc, grpc) = compare_grpc_verify(
        &ctx.client_rt,
        &ctx.s,
        16,
        (small.server.addr, &small.keys),
        (server.addr, &keys),
    );
    server.shutdown(&ctx.server_rt);
    let (small_direct, direct) = compare_direct_verify(
        &ctx.s,
        (&small.opened.engine, &small.keys),
        (&opened.engine, &keys),
    );
    let section = "2 flat in store size";
    flat_rows(
        &mut ctx.report,
        section,
        &format!("Verify gRPC c=16, {} conn", channels_for(16)),
        (&small.label, &small_grpc),
        (&label, &grpc),
    );
    flat_rows(
        &mut ctx.report,
        section,
        "Engine::verify direct, 1 thread",
        (&small.label, &small_direct),
        (&label, &direct),
    );
    ctx.extra.insert(
        "huge_fill".to_string(),
        json!({"records": filled.records, "secs": round3(filled.secs)}),
    );
    drop(opened);
    let _ = std::fs::remove_dir_all(&dir);
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

fn main() {
    let s = Settings::from_env();
    let work = tempfile::Builder::new()
        .prefix("credd-bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("work dir");
    // Like the daemon's default: info to a log file (the hot paths log
    // nothing at info; creates log one line each, as in the daemon).
    let log_file = std::fs::File::create(work.path().join("bench.log")).expect("bench log");
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(Mutex::new(log_file))
        .with_ansi(false)
        .init();
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

    let small = small_store(&mut ctx);
    if ctx.s.runs("transport") {
        transport(&mut ctx, &small);
    }
    if ctx.s.runs("daemon") {
        daemon_transport(&mut ctx);
    }
    if ctx.s.runs("writes") {
        durable_writes(&mut ctx);
    }
    if ctx.s.runs("large") {
        large(&mut ctx, &small);
    }
    if ctx.s.runs("huge") && ctx.s.huge > 0 {
        huge(&mut ctx, &small);
    }
    small.server.shutdown(&ctx.server_rt);
    drop(small.opened);

    let wall = started.elapsed().as_secs_f64();
    let load_end = loadavg();
    print_and_write(&ctx, wall, &load_start, &load_end);
}

fn print_and_write(ctx: &Ctx, wall: f64, load_start: &str, load_end: &str) {
    // Grouped by section (the run order differs); stable within a section.
    let mut sorted: Vec<&Row> = ctx.report.rows.iter().collect();
    sorted.sort_by_key(|row| row.section);
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "section",
            "scenario",
            "throughput",
            "p50",
            "p99",
            "vs baseline",
            "goal",
            "result",
        ]);
    for row in &sorted {
        table.add_row(vec![
            row.section.to_string(),
            row.scenario.clone(),
            row.throughput.clone(),
            row.p50.clone(),
            row.p99.clone(),
            row.versus.clone(),
            row.goal.clone(),
            match row.pass {
                Some(true) => "PASS".to_string(),
                Some(false) => "MISS".to_string(),
                None => "info".to_string(),
            },
        ]);
    }
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "credd benchmark: {cores} cores, {:.0} s wall, loadavg at start {load_start} / end {load_end}",
        wall
    );
    println!("{table}");
    println!("Notes:");
    println!(
        "- Closed loop: each caller sends its next request when the previous one is answered. Client and server share this machine's cores (separate 2-thread tokio runtimes, loopback TCP, servers built like the daemon's). Paired rows (no-op/Verify, small/large store) run in {} alternating segments totalling {} s each, after {} s of warm-up.",
        ctx.s.segments, ctx.s.secs, ctx.s.warmup
    );
    println!(
        "- 1: the no-op server implements credd's generated CredentialVerifier and returns a fixed VALID response of the same shape, with no lookup; Verify is the real VerifierService over an Engine on a sled store (cache_capacity_mb={}) with the default verify cache (200,000 entries).",
        ctx.s.cache_mb
    );
    println!(
        "- 2: Verify of random keys drawn from up to {} plaintexts kept at fill time, spread evenly over the store, each VALID with one required scope; 'direct' is Engine::verify in a loop on one thread (no transport), after one pass over every sampled key on both stores (the keys in use are then in the verify cache). Stores are filled with Store::commit (no audit rows).",
        ctx.s.sample
    );
    println!(
        "- 3: per round, one group of {} credentials falls due (inactivity disable) and Engine::sweep runs with a manual clock just past it; its time includes its per-batch flushes. The large store holds every round's group from the start.",
        ctx.s.due
    );
    println!(
        "- 4: CreateCredential over gRPC to the real AdminService; each answer comes after Store::flush (group commit), so every counted create is acknowledged durable. Serial: one caller, one flush per create. The probe rows time the pieces serially."
    );
    println!(
        "- 5: the large store is filled in-process (sled cache {} MiB while filling), closed, then the real credd binary ({}) is started on it with cache_capacity_mb={}. READY is its sd_notify datagram on a socket the bench listens on, timed from spawn; the OS page cache is warm (the store was just written). sled 0.34 writes its snapshot only when a database is opened and replays the log written since the last open, so the first start after the fill replays the whole fill, and the restarts after it replay little. RSS is VmRSS/VmHWM from /proc/<pid>/status of that process alone.",
        ctx.s.fill_cache_mb,
        env!("CARGO_BIN_EXE_credd"),
        ctx.s.daemon_cache_mb
    );
    if !ctx.report.findings.is_empty() {
        println!("Missed goals:");
        for finding in &ctx.report.findings {
            println!("- {finding}");
        }
    }

    let rows: Vec<Value> = sorted
        .iter()
        .map(|row| {
            json!({
                "section": row.section,
                "scenario": row.scenario,
                "throughput": row.throughput,
                "p50": row.p50,
                "p99": row.p99,
                "vs_baseline": row.versus,
                "goal": row.goal,
                "pass": row.pass,
                "data": row.json,
            })
        })
        .collect();
    let out = json!({
        "generated_at": Utc::now().to_rfc3339(),
        "machine": {"cores": cores, "loadavg_start": load_start, "loadavg_end": load_end},
        "wall_secs": round3(wall),
        "settings": {
            "large": ctx.s.large,
            "small": ctx.s.small,
            "huge": ctx.s.huge,
            "secs": ctx.s.secs,
            "warmup_secs": ctx.s.warmup,
            "due": ctx.s.due,
            "sweep_rounds": ctx.s.rounds,
            "cache_capacity_mb": ctx.s.cache_mb,
            "fill_cache_capacity_mb": ctx.s.fill_cache_mb,
            "diag_cache_capacity_mb": ctx.s.diag_cache_mb,
            "segments": ctx.s.segments,
            "sample": ctx.s.sample,
            "only": ctx.s.only,
        },
        "rows": rows,
        "missed": ctx.report.findings,
        "extra": ctx.extra,
    });
    if let Some(parent) = ctx.s.json.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(
        &ctx.s.json,
        serde_json::to_string_pretty(&out).expect("json"),
    )
    .expect("write json");
    println!("JSON: {}", ctx.s.json.display());
}
