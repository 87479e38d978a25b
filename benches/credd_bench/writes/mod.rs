//! Section 4, durable writes: acknowledged `CreateCredential` calls per
//! second, 64 concurrent callers vs one serial caller (one flush per
//! create), beside the floors under them and `Engine::create` direct.

pub(crate) mod create;
mod probes;

use std::path::Path;
use std::sync::Arc;

use credd::clock::SystemClock;
use serde_json::json;

use self::create::{authenticated_admin, direct_create, grpc_create};
use self::probes::{commit_flush_probe, disk_probe};
use crate::Ctx;
use crate::fill::{Opened, open};
use crate::harness::report::{Row, micros, ratio, round3};
use crate::harness::stats::Stats;
use crate::serve::{channels_for, serve, serve_with};

const SECTION: &str = "4 durable writes";

/// 4: acknowledged creates per second.
pub(crate) fn durable_writes(ctx: &mut Ctx) {
    eprintln!("[bench] durable writes");
    let dir = ctx.work.path().join("writes");
    let opened = open(&dir, ctx.s.cache_mb, Arc::new(SystemClock));
    let floors = floors(ctx, &dir, &opened);
    let (key, serial, concurrent) = over_grpc(ctx, &opened, &floors);
    without_nodelay(ctx, &opened, &key, &serial, &concurrent);
    direct(ctx, &opened, &concurrent);
    ctx.extra.insert(
        "writes_store_size_on_disk_bytes".to_string(),
        json!(opened.engine.store().size_on_disk().ok()),
    );
    drop(opened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// What the finding of a missed goal quotes from the probes.
struct Floors {
    /// 4 KiB pwrite + sync_file_range.
    range: Stats,
    /// `Store::flush` after one commit.
    flushes: Stats,
}

/// The probe rows: the disk's floor, then one commit and one flush.
fn floors(ctx: &mut Ctx, dir: &Path, opened: &Opened) -> Floors {
    let probe_secs = ctx.s.secs.min(1.0);
    let (range, datasync) = disk_probe(dir, probe_secs);
    ctx.report.info(
        SECTION,
        "disk floor: 4 KiB pwrite + sync_file_range, serial",
        &range,
    );
    ctx.report.info(
        SECTION,
        "disk floor: 4 KiB pwrite + fdatasync, serial",
        &datasync,
    );
    let (commits, flushes) = commit_flush_probe(ctx, opened, probe_secs);
    ctx.report.info(
        SECTION,
        "Store::commit of 1 record (7-tree transaction), serial",
        &commits,
    );
    ctx.report.info(
        SECTION,
        "Store::flush after that commit (group-commit thread)",
        &flushes,
    );
    Floors { range, flushes }
}

/// `CreateCredential` over gRPC, serial and with 64 callers, against the
/// goal; returns the admin key and both measurements.
fn over_grpc(ctx: &mut Ctx, opened: &Opened, floors: &Floors) -> (String, Stats, Stats) {
    let (router, key) = authenticated_admin(&ctx.server_rt, &opened.engine);
    let admin = serve(&ctx.server_rt, router);
    let serial = grpc_create(&ctx.client_rt, &ctx.s, &key, admin.addr, 1, "serial");
    ctx.report.info(
        SECTION,
        "CreateCredential, 1 caller (1 flush per create)",
        &serial,
    );
    let concurrent = grpc_create(&ctx.client_rt, &ctx.s, &key, admin.addr, 64, "c64");
    let pass = concurrent.throughput >= 2_000.0 && concurrent.errors == 0;
    ctx.report.push(Row::of(
        SECTION,
        format!("CreateCredential, 64 callers, {} conn", channels_for(64)),
        &concurrent,
        format!(
            "{:.1}x serial",
            ratio(concurrent.throughput, serial.throughput)
        ),
        ">= 2,000/s".to_string(),
        Some(pass),
        json!({
            "serial": serial.json(),
            "concurrent64": concurrent.json(),
            "speedup": round3(ratio(concurrent.throughput, serial.throughput)),
        }),
    ));
    if !pass {
        ctx.report.findings.push(format!(
            "durable writes: {:.0} acknowledged creates/s with 64 callers (goal 2,000/s: {:.0}% of it); serial {:.0}/s; one Store::flush after one commit takes p50 {} (disk floor p50 {}); errors {}",
            concurrent.throughput,
            100.0 * concurrent.throughput / 2_000.0,
            serial.throughput,
            micros(floors.flushes.p50_us),
            micros(floors.range.p50_us),
            concurrent.errors
        ));
    }
    admin.shutdown(&ctx.server_rt);
    (key, serial, concurrent)
}

/// Diagnostic: the same creates against a server without TCP_NODELAY.
fn without_nodelay(ctx: &mut Ctx, opened: &Opened, key: &str, serial: &Stats, concurrent: &Stats) {
    let (router, _) = authenticated_admin(&ctx.server_rt, &opened.engine);
    let admin = serve_with(&ctx.server_rt, router, false);
    let serial_nagle = grpc_create(&ctx.client_rt, &ctx.s, key, admin.addr, 1, "serialng");
    let concurrent_nagle = grpc_create(&ctx.client_rt, &ctx.s, key, admin.addr, 64, "c64ng");
    admin.shutdown(&ctx.server_rt);
    for (what, stats, with) in [
        ("1 caller", &serial_nagle, serial),
        ("64 callers", &concurrent_nagle, concurrent),
    ] {
        ctx.report.push(Row::of(
            SECTION,
            format!(
                "diagnostic: CreateCredential, {what}, server without TCP_NODELAY (daemon: on)"
            ),
            stats,
            format!("{:.2}x with", ratio(stats.throughput, with.throughput)),
            String::new(),
            None,
            json!({"server_tcp_nodelay": false, "stats": stats.json()}),
        ));
    }
}

/// `Engine::create` direct, serial and with 64 tasks (no gRPC).
fn direct(ctx: &mut Ctx, opened: &Opened, concurrent: &Stats) {
    let direct_serial = direct_create(&ctx.client_rt, &ctx.s, &opened.engine, 1);
    ctx.report.info(
        SECTION,
        "Engine::create direct, 1 task (no gRPC)",
        &direct_serial,
    );
    let direct = direct_create(&ctx.client_rt, &ctx.s, &opened.engine, 64);
    ctx.report.push(Row::of(
        SECTION,
        "Engine::create direct, 64 tasks (no gRPC)".to_string(),
        &direct,
        format!(
            "{:.2}x gRPC c=64",
            ratio(direct.throughput, concurrent.throughput)
        ),
        String::new(),
        None,
        direct.json(),
    ));
}
