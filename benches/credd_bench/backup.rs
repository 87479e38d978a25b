//! Section 11, backups of the large store (`CREDD_BENCH_ONLY=backup`): its
//! own store of `CREDD_BENCH_LARGE` credentials, then `ROUNDS` rounds of
//! `Engine::backup` to a file: wall time, the bench process's RSS above
//! where it stood before (sampled every 10 ms), how long writes were held
//! (the header's `write_hold_ms`) and the longest `Store::commit` of a
//! writer thread committing new credentials throughout; and
//! `Engine::verify` on one thread during a backup against the same thread
//! without one for as long, in the same round.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use credd::engine::Actor;
use serde_json::json;

use crate::Ctx;
use crate::daemon::proc_status_kib;
use crate::fill::{FillPlan, Opened, build_record, commit, open_filled};
use crate::flush::verify_thread;
use crate::harness::report::{Row, count_label, rate, ratio, round3};
use crate::sweep::spread;

const SECTION: &str = "11 backup";
const ROUNDS: usize = 3;

#[derive(Default)]
struct Round {
    wall_secs: f64,
    rss_above_mib: f64,
    hold_ms: u64,
    longest_commit_ms: f64,
    bytes: u64,
    during_per_s: f64,
    without_per_s: f64,
}

/// 11: fill, `ROUNDS` rounds, rows.
pub(crate) fn backup(ctx: &mut Ctx) {
    let dir = ctx.work.path().join("backup");
    eprintln!("[bench] backup: filling {} credentials", ctx.s.large);
    let (opened, filled) = open_filled(
        ctx,
        &dir.join("data"),
        ctx.s.cache_mb,
        &FillPlan::plain(ctx.s.large, ctx.s.sample),
    );
    let keys = Arc::new(filled.sample);
    let label = count_label(filled.records);
    let rounds: Vec<Round> = (0..ROUNDS)
        .map(|i| round(&opened, &keys, &dir.join(format!("round{i}.backup"))))
        .collect();
    rows(ctx, &rounds, &label);
    drop(opened);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A backup with a writer and a Verify thread beside it, then the Verify
/// thread alone as long.
fn round(opened: &Opened, keys: &Arc<Vec<String>>, out: &std::path::Path) -> Round {
    let engine = opened.engine.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let rss_before = proc_status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(rss_before));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let now = proc_status_kib(std::process::id(), "VmRSS:").unwrap_or(0);
                peak.fetch_max(now, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let longest = Arc::new(AtomicU64::new(0));
    let writer = std::thread::scope(|scope| {
        let writer = scope.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let (record, _) = build_record(
                    opened,
                    format!("writer{}", n / 90),
                    format!("w{n}"),
                    chrono::Utc::now(),
                );
                let started = Instant::now();
                commit(opened, &record);
                longest.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                n += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            n
        });
        let verify = verify_thread(engine.clone(), keys.clone(), stop.clone());
        let started = Instant::now();
        let header = engine.backup(&Actor::system(), out).expect("backup");
        let wall = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let during = verify.join().expect("verify thread");
        (header, wall, during, writer.join().expect("writer"))
    });
    sampler.join().expect("sampler");
    let (header, wall, during_per_s, _) = writer;
    let again = Arc::new(AtomicBool::new(false));
    let verify = verify_thread(engine, keys.clone(), again.clone());
    std::thread::sleep(wall.max(Duration::from_millis(200)));
    again.store(true, Ordering::Relaxed);
    let without_per_s = verify.join().expect("verify thread");
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(out);
    Round {
        wall_secs: wall.as_secs_f64(),
        rss_above_mib: peak.load(Ordering::Relaxed).saturating_sub(rss_before) as f64 / 1024.0,
        hold_ms: header.write_hold_ms,
        longest_commit_ms: longest.load(Ordering::Relaxed) as f64 / 1000.0,
        bytes,
        during_per_s,
        without_per_s,
    }
}

fn rows(ctx: &mut Ctx, rounds: &[Round], label: &str) {
    let pick = |f: fn(&Round) -> f64| spread(&rounds.iter().map(f).collect::<Vec<_>>());
    let (wall, _, _) = pick(|r| r.wall_secs);
    let (_, _, rss_max) = pick(|r| r.rss_above_mib);
    let (hold, _, hold_max) = pick(|r| r.hold_ms as f64);
    let (_, _, commit_max) = pick(|r| r.longest_commit_ms);
    let n = ctx.s.large as f64;
    ctx.report.push(Row {
        section: SECTION,
        scenario: format!("backup of {label} credentials to a file, a writer beside it"),
        throughput: rate(n / wall),
        p50: format!("{wall:.2} s wall"),
        p99: format!("writes held {hold:.0} ms (max {hold_max:.0}), longest commit {commit_max:.0} ms, RSS +{rss_max:.0} MiB"),
        versus: format!("{:.0} MiB file", rounds[0].bytes as f64 / 1048576.0),
        goal: String::new(),
        pass: None,
        json: json!({
            "wall_secs": rounds.iter().map(|r| r.wall_secs).collect::<Vec<_>>(),
            "write_hold_ms": rounds.iter().map(|r| r.hold_ms).collect::<Vec<_>>(),
            "longest_commit_ms": rounds.iter().map(|r| r.longest_commit_ms).collect::<Vec<_>>(),
            "rss_above_mib": rounds.iter().map(|r| r.rss_above_mib).collect::<Vec<_>>(),
            "bytes": rounds[0].bytes,
        }),
    });
    let (during, _, _) = pick(|r| r.during_per_s);
    let (without, _, _) = pick(|r| r.without_per_s);
    let r = ratio(during, without);
    let pass = r >= 0.9;
    ctx.report.push(Row {
        section: SECTION,
        scenario: "Engine::verify, 1 thread, during a backup".to_string(),
        throughput: rate(during),
        p50: String::new(),
        p99: String::new(),
        versus: format!("{r:.2}x of {} without", rate(without)),
        goal: ">= 0.9x".to_string(),
        pass: Some(pass),
        json: json!({"during_per_s": rounds.iter().map(|r| r.during_per_s).collect::<Vec<_>>(), "without_per_s": rounds.iter().map(|r| r.without_per_s).collect::<Vec<_>>(), "ratio": round3(r)}),
    });
    if !pass {
        ctx.report.findings.push(format!(
            "backup: Verify during a {label}-credential backup ran at {r:.2}x of Verify without one (goal >= 0.9x)"
        ));
    }
}
