//! Section 13, the admin console (`CREDD_BENCH_ONLY=console`), against the
//! real `credd` binary with `[http] listen` and `[console] enabled = true`,
//! on a store of `CREDD_BENCH_CONSOLE_CREDENTIALS` (100,000) credentials
//! filled in-process (`fill`), then each made [`SPACING`] after the one
//! before it, over the past year, and used the day before (so all are
//! active), with its `credential.create` audit event at that time (as a
//! daemon that created them over the year would hold), then closed.
//!
//! 13a, server time per page: signed in with the bootstrap admin key
//! through the sign-in form (double-submit token, 303 with the session
//! cookie), one HTTP/1.1 keep-alive connection, serial requests: `GET
//! /console/` first after the start (the scan, cold), cached (within the
//! engine's 10 s), and uncached again (`CREDD_BENCH_CONSOLE_UNCACHED`
//! times, each once the cached overview has expired); `GET
//! /console/credentials` (first page); a credential's page (its history
//! is read from the audit log) for the credential whose audit event is
//! first in the log and the one whose event is last; and `GET
//! /console/credentials?status=revoked`, a filter nothing matches.
//! `CREDD_BENCH_CONSOLE_REQUESTS` (50) requests of each, at most 10 s of
//! each; latency as the client sees it, and credd's CPU per request from
//! /proc.
//!
//! 13b: Verify over gRPC (16 callers, 4 connections, keys sampled at fill)
//! with the console idle against the same while a "browser" fetches `GET
//! /console/`, `console.css` and `console.js` once a second, in
//! `CREDD_BENCH_SEGMENTS` alternating segments of
//! `CREDD_BENCH_CONSOLE_SEGMENT_SECS` (10) each: a browser refreshing the
//! overview costs one scan per 10 s (each browser segment starts with an
//! expired overview) and a cached render per second otherwise. Goal:
//! throughput with the browser >= 0.95x of idle.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credd::lifecycle::Kind;
use credd::store::{AuditEntry, Commit};
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::Ctx;
use crate::daemon::{start_daemon, write_config};
use crate::fill::{FillPlan, open_filled};
use crate::harness::load::{Op, drive, other_process_cpu_secs, segment_warmup};
use crate::harness::report::{Row, count_label, micros, rate, ratio, round3};
use crate::harness::settings::{Settings, env_or};
use crate::harness::stats::{Raw, Stats};
use crate::serve::{channels_for, connect};
use crate::verify::verify_op;
use browser::{Browser, Fetch, OVERVIEW_TTL, TICK, browse};

mod browser;

const SECTION: &str = "13 console";
/// Keys kept at fill time for the Verify load.
const VERIFY_KEYS: usize = 10_000;
const CONCURRENCY: usize = 16;
/// Time between two credentials' creation (100K over 347 days).
const SPACING: chrono::Duration = chrono::Duration::minutes(5);
/// Most time one page's requests take in 13a.
const PAGE_BUDGET: Duration = Duration::from_secs(10);

/// The section's own settings.
struct Knobs {
    credentials: usize,
    requests: usize,
    uncached: usize,
    segment: Duration,
}

impl Knobs {
    fn from_env() -> Self {
        Knobs {
            credentials: env_or("CREDD_BENCH_CONSOLE_CREDENTIALS", 100_000usize).max(100),
            requests: env_or("CREDD_BENCH_CONSOLE_REQUESTS", 50usize).max(1),
            uncached: env_or("CREDD_BENCH_CONSOLE_UNCACHED", 3usize).max(1),
            segment: Duration::from_secs_f64(
                env_or("CREDD_BENCH_CONSOLE_SEGMENT_SECS", 10.0f64).max(1.0),
            ),
        }
    }
}

/// The filled store: Verify keys, and the credentials whose audit events
/// are first and last in the log.
struct Filled {
    records: usize,
    keys: Arc<Vec<String>>,
    first: String,
    last: String,
    fill_secs: f64,
    audit_secs: f64,
}

/// 13.
pub(crate) fn console(ctx: &mut Ctx) {
    let started = Instant::now();
    let knobs = Knobs::from_env();
    let work = ctx.work.path().join("console");
    let data_dir = work.join("data");
    let filled = fill(ctx, &data_dir, knobs.credentials);
    let http_port = crate::gateway::free_port();
    let config = work.join("credd.toml");
    write_config(
        &config,
        &data_dir,
        &format!("[http]\nlisten = \"127.0.0.1:{http_port}\"\n\n[console]\nenabled = true\n"),
    );
    let daemon = start_daemon(&work, &config, &work.join("credd.log"));
    let admin_key = std::fs::read_to_string(data_dir.join("admin.key"))
        .expect("admin key")
        .trim()
        .to_string();
    let http: SocketAddr = format!("127.0.0.1:{http_port}").parse().expect("addr");
    let pid = daemon.pid();
    eprintln!(
        "[bench] console: pages of {} credentials, then Verify with and without a browser",
        filled.records
    );
    let (pages, compared) = ctx.client_rt.block_on(async {
        let mut browser = Browser::sign_in(http, &admin_key).await;
        let pages = time_pages(&mut browser, &knobs, &filled, pid).await;
        let verify = verify_op(
            connect(daemon.addr, channels_for(CONCURRENCY)).await,
            filled.keys.clone(),
        );
        let compared = compare(&ctx.s, knobs.segment, pid, verify, browser).await;
        (pages, compared)
    });
    daemon.terminate();
    let _ = std::fs::remove_dir_all(&work);
    fill_row(ctx, &filled);
    page_rows(ctx, &pages, &filled);
    verify_rows(ctx, &knobs, &compared);
    let secs = started.elapsed().as_secs_f64();
    eprintln!("[bench] console section: {secs:.1} s");
    ctx.extra
        .insert("console_section_secs".to_string(), round3(secs));
}

/// The store: `n` credentials through `fill`, each then made [`SPACING`]
/// after the one before it (in id order) with its audit event, flushed and
/// closed.
fn fill(ctx: &mut Ctx, data_dir: &Path, n: usize) -> Filled {
    eprintln!("[bench] console: filling a store of {n} credentials");
    let plan = FillPlan::plain(n, VERIFY_KEYS.min(n));
    let (opened, filled) = open_filled(ctx, data_dir, ctx.s.cache_mb, &plan);
    let started = Instant::now();
    let store = opened.engine.store();
    let (mut first, mut last) = (None, None);
    let records: Vec<_> = store
        .scan(None, None)
        .map(|r| r.expect("record"))
        .filter(|r| !matches!(r.kind, Kind::AdminKey | Kind::Session))
        .collect();
    let count = i32::try_from(records.len()).expect("count");
    for (i, record) in (0..count).rev().zip(records) {
        let mut made = record.clone();
        made.last_used_at = Some(record.created_at);
        made.created_at = record.created_at - SPACING * (i + 1);
        let entry = AuditEntry {
            at: made.created_at,
            actor: "bench".to_string(),
            action: "credential.create",
            credential_id: record.id.clone(),
            account_id: record.account_id.clone(),
            detail: String::new(),
            outcome: "ok",
            request_id: String::new(),
        };
        let commit = store
            .commit(Some(&record), Some(&made), Some(&entry))
            .expect("commit");
        assert!(matches!(commit, Commit::Done), "a conflict while filling");
        first.get_or_insert_with(|| record.id.clone());
        last = Some(record.id);
    }
    ctx.client_rt.block_on(store.flush()).expect("flush");
    let audit_secs = started.elapsed().as_secs_f64();
    drop(opened);
    Filled {
        records: filled.records,
        keys: Arc::new(filled.sample),
        first: first.expect("a credential"),
        last: last.expect("a credential"),
        fill_secs: filled.secs,
        audit_secs,
    }
}

/// One page's serial requests: latencies, credd's CPU, the last body.
struct PageRun {
    raw: Raw,
    credd_ms: f64,
    body: Bytes,
}

impl PageRun {
    fn new() -> PageRun {
        PageRun {
            raw: Raw::default(),
            credd_ms: 0.0,
            body: Bytes::new(),
        }
    }

    fn add(&mut self, fetch: Fetch, credd_secs: f64) {
        self.raw.lat_ns.push(fetch.ns);
        self.raw.errors += u64::from(!fetch.ok);
        self.raw.all_ops += 1;
        self.raw.secs += fetch.ns as f64 / 1e9;
        self.credd_ms += credd_secs * 1e3;
        self.body = fetch.body;
    }

    fn credd_ms_per_request(&self) -> f64 {
        self.credd_ms / self.raw.all_ops.max(1) as f64
    }

    /// credd's CPU per request as shown: /proc counts in clock ticks, so
    /// less than one tick over the whole run is shown as a bound.
    fn credd_cpu(&self) -> String {
        // SAFETY: sysconf only reads a system constant.
        let tick_ms = 1e3 / (unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64).max(1.0);
        let n = self.raw.all_ops.max(1) as f64;
        if self.credd_ms < tick_ms {
            format!("< {:.2} ms/req", tick_ms / n)
        } else {
            format!("{:.2} ms/req", self.credd_ms / n)
        }
    }

    fn stats(&self) -> Stats {
        Raw {
            lat_ns: self.raw.lat_ns.clone(),
            errors: self.raw.errors,
            secs: self.raw.secs,
            all_ops: self.raw.all_ops,
            cpu_secs: 0.0,
        }
        .stats()
    }
}

/// What 13a measured.
struct Pages {
    first: PageRun,
    cached: PageRun,
    uncached: PageRun,
    list: PageRun,
    early: PageRun,
    late: PageRun,
    no_match: PageRun,
}

/// Up to `n` GETs of `path` until `deadline`, one at a time.
async fn time_page(
    browser: &mut Browser,
    path: &str,
    n: usize,
    deadline: Instant,
    pid: u32,
) -> PageRun {
    let mut run = PageRun::new();
    for _ in 0..n {
        if Instant::now() >= deadline {
            break;
        }
        let cpu = other_process_cpu_secs(pid);
        let fetch = browser.get(path).await;
        run.add(fetch, other_process_cpu_secs(pid) - cpu);
    }
    run
}

/// 13a.
async fn time_pages(browser: &mut Browser, knobs: &Knobs, filled: &Filled, pid: u32) -> Pages {
    let overview = |run: &mut PageRun, fetch: Fetch, cpu: f64| {
        assert!(fetch.uncached, "an overview expected to be computed");
        run.add(fetch, cpu);
    };
    let mut first = PageRun::new();
    let cpu = other_process_cpu_secs(pid);
    let fetch = browser.overview().await;
    overview(&mut first, fetch, other_process_cpu_secs(pid) - cpu);
    // Cached: only while the overview just computed is fresh.
    let fresh_until = Instant::now() + OVERVIEW_TTL - Duration::from_millis(1500);
    let n = knobs.requests;
    let cached = time_page(browser, "/console/", n, fresh_until, pid).await;
    let budget = || Instant::now() + PAGE_BUDGET;
    let list = time_page(browser, "/console/credentials", n, budget(), pid).await;
    let early_path = format!("/console/credentials/{}", filled.first);
    let early = time_page(browser, &early_path, n, budget(), pid).await;
    let late_path = format!("/console/credentials/{}", filled.last);
    let late = time_page(browser, &late_path, n, budget(), pid).await;
    let filter = "/console/credentials?status=revoked";
    let no_match = time_page(browser, filter, n, budget(), pid).await;
    let mut uncached = PageRun::new();
    for _ in 0..knobs.uncached {
        if let Some(at) = browser.computed {
            let due = at + OVERVIEW_TTL + Duration::from_millis(100);
            tokio::time::sleep_until(due.into()).await;
        }
        let cpu = other_process_cpu_secs(pid);
        let fetch = browser.overview().await;
        overview(&mut uncached, fetch, other_process_cpu_secs(pid) - cpu);
    }
    Pages {
        first,
        cached,
        uncached,
        list,
        early,
        late,
        no_match,
    }
}

/// What 13b measured: each side's Verify and credd's CPU per call, and
/// the browser's fetches.
struct Compared {
    idle: (Stats, f64),
    browsing: (Stats, f64),
    overview_cached: Vec<u64>,
    overview_uncached: Vec<u64>,
    assets: Vec<u64>,
    fetch_errors: u64,
    refreshes: usize,
    browsing_secs: f64,
}

/// 13b: Verify alone, then Verify with the browser, per segment.
async fn compare(
    s: &Settings,
    segment: Duration,
    pid: u32,
    verify: Op,
    mut browser: Browser,
) -> Compared {
    // About six calls a sampled key first, so both sides find (nearly)
    // every key in the daemon's verify cache.
    drive(CONCURRENCY, Duration::ZERO, 2 * TICK, verify.clone()).await;
    let (mut idle, mut browsing) = (Raw::default(), Raw::default());
    let (mut idle_cpu, mut browsing_cpu) = (0.0, 0.0);
    let mut out = Compared {
        idle: (Stats::default(), 0.0),
        browsing: (Stats::default(), 0.0),
        overview_cached: Vec::new(),
        overview_uncached: Vec::new(),
        assets: Vec::new(),
        fetch_errors: 0,
        refreshes: 0,
        browsing_secs: 0.0,
    };
    let max = (segment.as_secs_f64() / TICK.as_secs_f64()).ceil() as usize + 1;
    for i in 0..s.segments {
        let warm = segment_warmup(s, i);
        let before = other_process_cpu_secs(pid);
        idle.add(drive(CONCURRENCY, warm, segment, verify.clone()).await);
        let middle = other_process_cpu_secs(pid);
        let start = Instant::now() + warm;
        let task = tokio::spawn(browse(browser, start, start + segment, max));
        let raw = drive(CONCURRENCY, warm, segment, verify.clone()).await;
        out.browsing_secs += raw.secs;
        browsing.add(raw);
        let (back, refreshes) = task.await.expect("browser");
        browser = back;
        idle_cpu += middle - before;
        browsing_cpu += other_process_cpu_secs(pid) - middle;
        for (page, assets) in refreshes {
            out.refreshes += 1;
            out.fetch_errors += u64::from(!page.ok);
            if page.uncached {
                out.overview_uncached.push(page.ns);
            } else {
                out.overview_cached.push(page.ns);
            }
            for asset in assets {
                out.fetch_errors += u64::from(!asset.ok);
                out.assets.push(asset.ns);
            }
        }
    }
    let per_call = |cpu: f64, raw: &Raw| cpu * 1e6 / raw.all_ops.max(1) as f64;
    let (idle_us, browsing_us) = (per_call(idle_cpu, &idle), per_call(browsing_cpu, &browsing));
    out.idle = (idle.stats(), idle_us);
    out.browsing = (browsing.stats(), browsing_us);
    out
}

fn fill_row(ctx: &mut Ctx, filled: &Filled) {
    let label = count_label(filled.records);
    ctx.report.push(Row {
        section: SECTION,
        scenario: format!(
            "fill {label} via Store::commit, then each dated 5 min apart with its audit event (in-process)"
        ),
        throughput: rate(filled.records as f64 / filled.fill_secs),
        p50: format!("{:.1} s", filled.fill_secs),
        p99: format!("audit {:.1} s", filled.audit_secs),
        versus: String::new(),
        goal: String::new(),
        pass: None,
        json: json!({"records": filled.records, "fill_secs": round3(filled.fill_secs), "audit_secs": round3(filled.audit_secs)}),
    });
}

/// `<tr data-id=` rows of a credentials page.
fn rows_in(body: &[u8]) -> usize {
    String::from_utf8_lossy(body)
        .matches("<tr data-id=")
        .count()
}

/// The overview's count of ACTIVE credentials.
fn active_count(body: &[u8]) -> Option<u64> {
    let page = String::from_utf8_lossy(body);
    let row = &page[page.find("data-status=\"ACTIVE\"")?..];
    let cell = &row[row.find("class=\"count\">")? + "class=\"count\">".len()..];
    cell[..cell.find('<')?].trim().parse().ok()
}

fn page_rows(ctx: &mut Ctx, pages: &Pages, filled: &Filled) {
    let label = count_label(filled.records);
    let history = |run: &PageRun| String::from_utf8_lossy(&run.body).contains("data-seq=");
    let active = active_count(&pages.first.body);
    let listed = rows_in(&pages.list.body);
    let has_next = String::from_utf8_lossy(&pages.list.body).contains("id=\"next-page\"");
    let runs: [(&PageRun, String, String); 7] = [
        (
            &pages.first,
            format!("GET /console/ first after start (uncached: scan of {label}, cold)"),
            format!(
                "shows {} ACTIVE",
                active.map_or("?".to_string(), |n| n.to_string())
            ),
        ),
        (
            &pages.uncached,
            format!("GET /console/ uncached (expired after 10 s: scan of {label})"),
            String::new(),
        ),
        (
            &pages.cached,
            "GET /console/ cached".to_string(),
            String::new(),
        ),
        (
            &pages.list,
            "GET /console/credentials (first page)".to_string(),
            format!("{listed} rows, next page: {has_next}"),
        ),
        (
            &pages.early,
            format!("GET /console/credentials/{{id}}, {label} audit events, its own first"),
            format!("history shows its event: {}", history(&pages.early)),
        ),
        (
            &pages.late,
            format!("GET /console/credentials/{{id}}, {label} audit events, its own last"),
            format!("history shows its event: {}", history(&pages.late)),
        ),
        (
            &pages.no_match,
            "GET /console/credentials?status=revoked (none match)".to_string(),
            format!("{} rows", rows_in(&pages.no_match.body)),
        ),
    ];
    for (run, scenario, seen) in runs {
        let stats = run.stats();
        let kib = run.body.len() as f64 / 1024.0;
        ctx.report.push(Row::of(
            SECTION,
            format!("{scenario}, n={}", stats.ops),
            &stats,
            format!(
                "credd CPU {}, {kib:.1} KiB{}",
                run.credd_cpu(),
                if seen.is_empty() {
                    String::new()
                } else {
                    format!("; {seen}")
                }
            ),
            String::new(),
            None,
            json!({"stats": stats.json(), "credd_cpu_ms_per_request": round3(run.credd_ms_per_request()), "body_bytes": run.body.len(), "seen": seen}),
        ));
        if stats.errors > 0 || stats.ops == 0 {
            ctx.report.findings.push(format!(
                "console: {scenario}: {} of {} requests did not answer 200",
                stats.errors, stats.ops
            ));
        }
    }
    if active != Some(filled.records as u64) {
        ctx.report.findings.push(format!(
            "console: the overview shows {active:?} ACTIVE credentials; the store holds {}",
            filled.records
        ));
    }
    for (run, which) in [(&pages.early, "first"), (&pages.late, "last")] {
        if !history(run) {
            ctx.report.findings.push(format!(
                "console: the page of the credential whose audit event is {which} in the log shows no history"
            ));
        }
    }
}

/// Median and max of `ns`, in microseconds.
fn spread_us(ns: &[u64]) -> (f64, f64) {
    let mut sorted = ns.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => (f64::NAN, f64::NAN),
        len => (
            sorted[(len - 1) / 2] as f64 / 1e3,
            sorted[len - 1] as f64 / 1e3,
        ),
    }
}

fn verify_rows(ctx: &mut Ctx, knobs: &Knobs, c: &Compared) {
    let conns = channels_for(CONCURRENCY);
    let ((idle, idle_us), (browsing, browsing_us)) = (&c.idle, &c.browsing);
    let seg = knobs.segment.as_secs_f64();
    ctx.report.push(Row::of(
        SECTION,
        format!("Verify gRPC c={CONCURRENCY}, {conns} conn, console idle ({seg:.0} s segments)"),
        idle,
        "baseline".to_string(),
        String::new(),
        None,
        json!({"verify": idle.json(), "credd_cpu_us_per_call": round3(*idle_us)}),
    ));
    let thr = ratio(browsing.throughput, idle.throughput);
    let p99 = ratio(browsing.p99_us, idle.p99_us);
    let pass = thr >= 0.95 && browsing.errors == 0;
    ctx.report.push(Row::of(
        SECTION,
        format!("Verify gRPC c={CONCURRENCY}, {conns} conn, browser refreshing the overview 1/s"),
        browsing,
        format!(
            "thr {thr:.2}x, p99 {p99:.2}x, cpu/call credd {:+.1} µs",
            browsing_us - idle_us
        ),
        ">= 0.95x".to_string(),
        Some(pass),
        json!({
            "idle": idle.json(),
            "browsing": browsing.json(),
            "throughput_ratio": round3(thr),
            "p99_ratio": round3(p99),
            "credd_cpu_us_per_call": {"idle": round3(*idle_us), "browsing": round3(*browsing_us)},
        }),
    ));
    if !pass {
        ctx.report.findings.push(format!(
            "console: Verify while a browser refreshed the overview ran at {thr:.2}x of Verify with the console idle (goal >= 0.95x); errors {}",
            browsing.errors
        ));
    }
    browser_row(ctx, c);
}

/// What the browser saw during the Verify segments.
fn browser_row(ctx: &mut Ctx, c: &Compared) {
    let cached = Raw {
        lat_ns: c.overview_cached.clone(),
        secs: 1.0,
        ..Raw::default()
    }
    .stats();
    let (unc_med, unc_max) = spread_us(&c.overview_uncached);
    let (asset_med, asset_max) = spread_us(&c.assets);
    let json: Value = json!({
        "refreshes": c.refreshes,
        "fetch_errors": c.fetch_errors,
        "overview_cached": cached.json(),
        "overview_uncached_us": c.overview_uncached.iter().map(|ns| *ns as f64 / 1e3).collect::<Vec<_>>(),
        "assets_median_us": round3(asset_med),
        "assets_max_us": round3(asset_max),
    });
    ctx.report.push(Row {
        section: SECTION,
        scenario: format!(
            "browser under that load: GET /console/ + css + js, {} refreshes",
            c.refreshes
        ),
        throughput: rate(c.refreshes as f64 / c.browsing_secs.max(1e-9)),
        p50: micros(cached.p50_us),
        p99: micros(cached.p99_us),
        versus: format!(
            "cached p50/p99; uncached {}x median {} max {}; assets median {} max {}",
            c.overview_uncached.len(),
            micros(unc_med),
            micros(unc_max),
            micros(asset_med),
            micros(asset_max)
        ),
        goal: String::new(),
        pass: None,
        json,
    });
    if c.fetch_errors > 0 {
        ctx.report.findings.push(format!(
            "console: {} of the browser's fetches did not answer 200",
            c.fetch_errors
        ));
    }
}
