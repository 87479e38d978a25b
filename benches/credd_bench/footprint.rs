//! Section 5, footprint: the large store's fill, then the real `credd`
//! binary started on it three times (time to READY, RSS, time to exit),
//! and the in-process reopen.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::clock::SystemClock;
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::Ctx;
use crate::daemon::{Daemon, proc_status_kib, start_daemon, write_config};
use crate::fill::{Filled, Opened, open};
use crate::harness::load::{drive, process_cpu_secs};
use crate::harness::report::{Report, Row, count_label, mib, rate, round3};
use crate::harness::stats::{Raw, Stats};
use crate::serve::{channels_for, connect};
use crate::verify::{grpc_verify, is_valid, verify_op};

const SECTION: &str = "5 footprint";

/// The daemon's config for the large store, in the work directory.
fn daemon_config(work: &Path, data_dir: &Path, cache_mb: u64) -> PathBuf {
    let path = work.join("credd.toml");
    write_config(
        &path,
        data_dir,
        &format!("[storage]\ncache_capacity_mb = {cache_mb}\n"),
    );
    path
}

/// A row of section 5: a value and a second one in the p50 and p99 columns.
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
        section: SECTION,
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

/// The fill of the large store (`opened`, still open) and this process's
/// RSS after it.
pub(crate) fn fill_rows(ctx: &mut Ctx, opened: &Opened, filled: &Filled) {
    let n = filled.records;
    let label = count_label(n);
    let bench_rss = proc_status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    let disk = opened.engine.store().size_on_disk().unwrap_or(0);
    ctx.report.push(Row {
        section: SECTION,
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
}

/// The large store opened again in this process (as the daemon would, plus
/// binding a listener), timed as a row.
pub(crate) fn reopen(ctx: &mut Ctx, data_dir: &Path, label: &str) -> Opened {
    let reopen_started = Instant::now();
    let opened = open(data_dir, ctx.s.cache_mb, Arc::new(SystemClock));
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
    opened
}

/// Every key of `keys` verified once, by 16 callers over the daemon's
/// connections: warms the daemon's cache over the whole sample.
fn verify_each_once(rt: &Runtime, daemon: &Daemon, keys: &Arc<Vec<String>>) -> Stats {
    let concurrency = 16;
    rt.block_on(async {
        let channels = connect(daemon.addr, channels_for(concurrency)).await;
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
                    let ok = is_valid(&mut client, key.clone()).await;
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

/// What three starts of credd on the large store measured.
struct Starts {
    /// Spawn to READY: the first start after the fill, the restart after
    /// SIGKILL and the one after SIGTERM.
    ready: [f64; 3],
    rss_ready: u64,
    rss_random: u64,
    rss_full: u64,
    hwm_full: u64,
    rss_idle: u64,
    /// SIGTERM to exit: idle, and after a short check.
    stop: [f64; 2],
    random_load: Stats,
    full_pass: Stats,
    check: Stats,
}

/// A `kB` field of the daemon's /proc status, 0 when unreadable.
fn kib(daemon: &Daemon, field: &str) -> u64 {
    proc_status_kib(daemon.pid(), field).unwrap_or(0)
}

/// Starts credd on `data_dir`, loads it, SIGKILLs it, restarts it idle,
/// SIGTERMs it, restarts it for a short check and SIGTERMs it again.
fn three_starts(ctx: &Ctx, data_dir: &Path, keys: &Arc<Vec<String>>) -> Starts {
    let s = &ctx.s;
    let config_path = daemon_config(ctx.work.path(), data_dir, s.daemon_cache_mb);
    let log = ctx.work.path().join("credd-daemon.log");
    eprintln!("[bench] starting credd on the large store");
    let daemon = start_daemon(ctx.work.path(), &config_path, &log);
    let first_ready = daemon.ready_secs;
    let rss_ready = kib(&daemon, "VmRSS:");
    let random_load = grpc_verify(&ctx.client_rt, s, daemon.addr, 16, keys);
    let rss_random = kib(&daemon, "VmRSS:");
    eprintln!(
        "[bench] verifying each of {} sample keys once against credd",
        keys.len()
    );
    let full_pass = verify_each_once(&ctx.client_rt, &daemon, keys);
    let rss_full = kib(&daemon, "VmRSS:");
    let hwm_full = kib(&daemon, "VmHWM:");
    daemon.kill9();
    let daemon = start_daemon(ctx.work.path(), &config_path, &log);
    let after_kill_ready = daemon.ready_secs;
    std::thread::sleep(Duration::from_millis(500));
    let rss_idle = kib(&daemon, "VmRSS:");
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
    Starts {
        ready: [first_ready, after_kill_ready, after_term_ready],
        rss_ready,
        rss_random,
        rss_full,
        hwm_full,
        rss_idle,
        stop: [stop_secs, stop_secs_2],
        random_load,
        full_pass,
        check,
    }
}

/// 5 on the large store: the real credd binary, started three times.
/// Returns the random-key Verify load against it, and the full pass.
pub(crate) fn daemon_footprint(
    ctx: &mut Ctx,
    data_dir: &Path,
    n: usize,
    keys: &Arc<Vec<String>>,
) -> (Stats, Stats) {
    let starts = three_starts(ctx, data_dir, keys);
    let label = count_label(n);
    ready_rows(ctx, &starts, n, &label);
    let Starts {
        check, full_pass, ..
    } = &starts;
    if check.errors > 0 || check.ops == 0 || full_pass.errors > 0 {
        ctx.report.findings.push(format!(
            "Verify against restarted credd: {} of {} calls after the last restart and {} of {} in the full pass did not answer VALID",
            check.errors, check.ops, full_pass.errors, full_pass.ops
        ));
    }
    rss_rows(ctx, &starts, keys.len(), &label);
    let [stop_secs, stop_secs_2] = starts.stop;
    footprint_row(
        &mut ctx.report,
        "credd SIGTERM -> exit, idle / after a short check".to_string(),
        format!("{stop_secs:.2} s"),
        format!("{stop_secs_2:.2} s"),
        "",
        None,
        json!({"idle_secs": round3(stop_secs), "after_check_secs": round3(stop_secs_2)}),
    );
    (starts.random_load, starts.full_pass)
}

/// Spawn -> READY of each start, against the goal.
fn ready_rows(ctx: &mut Ctx, starts: &Starts, n: usize, label: &str) {
    let whats = [
        "credd first start after the fill (log since last open: the whole fill)",
        "credd restart after SIGKILL (little written since last open)",
        "credd restart after SIGTERM (little written since last open)",
    ];
    for (what, secs) in whats.into_iter().zip(starts.ready) {
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
}

/// The daemon's RSS under load and after the full pass, against the goal.
fn rss_rows(ctx: &mut Ctx, starts: &Starts, sampled: usize, label: &str) {
    let s = &ctx.s;
    let Starts {
        rss_ready,
        rss_random,
        rss_full,
        hwm_full,
        rss_idle,
        ..
    } = *starts;
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
            count_label(sampled)
        ),
        format!("{:.0} MiB", mib(rss_full)),
        format!("{:.0} MiB peak", mib(hwm_full)),
        "< 400 MiB",
        Some(pass),
        json!({"vm_rss_kib": rss_full, "vm_hwm_kib": hwm_full, "cache_capacity_mb": s.daemon_cache_mb, "keys": sampled}),
    );
    if !pass {
        ctx.report.findings.push(format!(
            "RSS with {label} credentials: {:.0} MiB (peak {:.0} MiB) after verifying {} keys, goal < 400 MiB",
            mib(rss_full),
            mib(hwm_full),
            sampled
        ));
    }
}
