//! Section 2, flat in store size: Verify (over gRPC, and `Engine::verify`
//! called directly) on the small store vs the large one (`CREDD_BENCH_LARGE`)
//! and, when asked, the huge one (`CREDD_BENCH_HUGE`). The large store also
//! serves sections 3 (sweep), 5 (footprint) and 8 (usage flush), run from here.

use std::path::Path;
use std::sync::Arc;

use credd::clock::SystemClock;
use serde_json::json;

use crate::Ctx;
use crate::fill::{FillPlan, Filled, Opened, open, open_filled};
use crate::flush::usage_flush;
use crate::footprint::{daemon_footprint, fill_rows, reopen};
use crate::harness::report::{Report, Row, count_label, ratio, round3};
use crate::harness::stats::Stats;
use crate::serve::{channels_for, serve, verifier_router};
use crate::small::SmallStore;
use crate::sweep::sweep;
use crate::verify::{compare_direct_verify, compare_grpc_verify};

const SECTION: &str = "2 flat in store size";

/// 2 (large half), 3, 5.
pub(crate) fn large(ctx: &mut Ctx, small: &SmallStore) {
    let data_dir = ctx.work.path().join("large");
    let filled = fill_large(ctx, &data_dir);
    let n = filled.records;
    let label = count_label(n);
    let keys = Arc::new(filled.sample);

    let (on_daemon, full_pass) = daemon_footprint(ctx, &data_dir, n, &keys);

    // In-process again: reopen, Verify against both sizes, sweep.
    let opened = reopen(ctx, &data_dir, &label);
    eprintln!("[bench] flat in store size");
    let large_grpc = flat(ctx, small, &opened, &keys, &label);
    daemon_rows(ctx, &label, keys.len(), &on_daemon, &large_grpc, &full_pass);
    sweep(ctx, &opened, &filled.due_at, n);
    usage_flush(ctx, &opened, &keys);
    drop(opened);
    diagnostic_cache(ctx, small, &data_dir, &keys, &label);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Section 8 alone (`CREDD_BENCH_ONLY=flush`): the large store filled and
/// reopened, then its usage flush measured; for iterating on the flush
/// without sections 2, 3 and 5.
pub(crate) fn flush_only(ctx: &mut Ctx) {
    let data_dir = ctx.work.path().join("large");
    let filled = fill_large(ctx, &data_dir);
    let keys = Arc::new(filled.sample);
    let opened = reopen(ctx, &data_dir, &count_label(filled.records));
    usage_flush(ctx, &opened, &keys);
    drop(opened);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// The large store: normal credentials and one due group per sweep round,
/// filled with the fill cache, its footprint rows pushed, then closed.
fn fill_large(ctx: &mut Ctx, data_dir: &Path) -> Filled {
    let due_total = ctx.s.rounds * ctx.s.due;
    let normal = ctx.s.large.saturating_sub(due_total);
    eprintln!("[bench] filling the large store ({normal} + {due_total} credentials due later)");
    let (opened, filled) = open_filled(
        ctx,
        data_dir,
        ctx.s.fill_cache_mb,
        &FillPlan {
            normal,
            due_groups: ctx.s.rounds,
            due_per_group: ctx.s.due,
            sample: ctx.s.sample,
        },
    );
    fill_rows(ctx, &opened, &filled);
    filled
}

/// Verify on the small store vs `opened` (`keys` sampled from it), over
/// gRPC at c=16 then direct, each in alternating segments: the two rows of
/// a store size. Returns the gRPC measurement on `opened`.
fn flat(
    ctx: &mut Ctx,
    small: &SmallStore,
    opened: &Opened,
    keys: &Arc<Vec<String>>,
    label: &str,
) -> Stats {
    let server = serve(&ctx.server_rt, verifier_router(&opened.engine));
    let (small_grpc, grpc) = compare_grpc_verify(
        &ctx.client_rt,
        &ctx.s,
        16,
        (small.server.addr, &small.keys),
        (server.addr, keys),
    );
    server.shutdown(&ctx.server_rt);
    let (small_direct, direct) = compare_direct_verify(
        &ctx.s,
        (&small.opened.engine, &small.keys),
        (&opened.engine, keys),
    );
    flat_rows(
        &mut ctx.report,
        &format!("Verify gRPC c=16, {} conn", channels_for(16)),
        (&small.label, &small_grpc),
        (label, &grpc),
    );
    flat_rows(
        &mut ctx.report,
        "Engine::verify direct, 1 thread",
        (&small.label, &small_direct),
        (label, &direct),
    );
    grpc
}

/// The Verify loads section 5 ran against the credd process, beside the
/// in-process gRPC measurement on the same store.
fn daemon_rows(
    ctx: &mut Ctx,
    label: &str,
    sampled: usize,
    on_daemon: &Stats,
    large_grpc: &Stats,
    full_pass: &Stats,
) {
    ctx.report.push(Row::of(
        SECTION,
        format!("Verify gRPC c=16 against the credd process, {label}"),
        on_daemon,
        format!(
            "{:.2}x in-process {label}",
            ratio(on_daemon.throughput, large_grpc.throughput)
        ),
        String::new(),
        None,
        on_daemon.json(),
    ));
    ctx.report.push(Row::of(
        SECTION,
        format!(
            "Verify of each of {} keys once, c=16, credd process (cold)",
            count_label(sampled)
        ),
        full_pass,
        String::new(),
        String::new(),
        None,
        full_pass.json(),
    ));
}

/// Diagnostic: is the large store's Verify cost the sled cache's size?
fn diagnostic_cache(
    ctx: &mut Ctx,
    small: &SmallStore,
    data_dir: &Path,
    keys: &Arc<Vec<String>>,
    label: &str,
) {
    if ctx.s.diag_cache_mb == 0 {
        return;
    }
    let opened = open(data_dir, ctx.s.diag_cache_mb, Arc::new(SystemClock));
    let (small_direct, large_direct) = compare_direct_verify(
        &ctx.s,
        (&small.opened.engine, &small.keys),
        (&opened.engine, keys),
    );
    let thr = ratio(small_direct.throughput, large_direct.throughput);
    let p99 = ratio(large_direct.p99_us, small_direct.p99_us);
    ctx.report.push(Row::of(
        SECTION,
        format!(
            "diagnostic: Engine::verify direct, {label} creds, cache_capacity_mb={}",
            ctx.s.diag_cache_mb
        ),
        &large_direct,
        format!(
            "{}/{label} thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.1} µs",
            small.label,
            large_direct.cpu_us_per_op - small_direct.cpu_us_per_op
        ),
        String::new(),
        None,
        json!({
            "cache_capacity_mb": ctx.s.diag_cache_mb,
            "small": small_direct.json(),
            "large": large_direct.json(),
            "small_over_large_throughput": round3(thr),
            "large_over_small_p99": round3(p99),
        }),
    ));
    drop(opened);
}

/// A store size's pair of rows: the small store's as the baseline, the
/// larger one's against the goal.
fn flat_rows(report: &mut Report, what: &str, small: (&str, &Stats), large: (&str, &Stats)) {
    report.info(SECTION, format!("{what}, {} creds", small.0), small.1);
    let thr = ratio(small.1.throughput, large.1.throughput);
    let p99 = ratio(large.1.p99_us, small.1.p99_us);
    let pass = thr <= 1.2 && large.1.errors == 0;
    report.push(Row::of(
        SECTION,
        format!("{what}, {} creds", large.0),
        large.1,
        format!(
            "{}/{} thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.1} µs",
            small.0,
            large.0,
            large.1.cpu_us_per_op - small.1.cpu_us_per_op
        ),
        "thr within 1.2x".to_string(),
        Some(pass),
        json!({
            "small": small.1.json(),
            "large": large.1.json(),
            "small_over_large_throughput": round3(thr),
            "large_over_small_p99": round3(p99),
        }),
    ));
    if !pass {
        report.findings.push(format!(
            "{what}: {} has {thr:.2}x less throughput than {} (goal within 1.2x), p99 {p99:.2}x; errors {}",
            large.0, small.0, large.1.errors
        ));
    }
}

/// The optional 10M point of scenario 2 (`CREDD_BENCH_HUGE`).
pub(crate) fn huge(ctx: &mut Ctx, small: &SmallStore) {
    eprintln!(
        "[bench] filling the huge store ({} credentials)",
        ctx.s.huge
    );
    let dir = ctx.work.path().join("huge");
    let (opened, filled) = open_filled(
        ctx,
        &dir,
        ctx.s.cache_mb,
        &FillPlan::plain(ctx.s.huge, ctx.s.sample),
    );
    let keys = Arc::new(filled.sample);
    let label = count_label(filled.records);
    flat(ctx, small, &opened, &keys, &label);
    ctx.extra.insert(
        "huge_fill".to_string(),
        json!({"records": filled.records, "secs": round3(filled.secs)}),
    );
    drop(opened);
    let _ = std::fs::remove_dir_all(&dir);
}
