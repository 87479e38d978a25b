//! Section 8, the usage flush at scale: a VALID answer noted for every
//! credential of the large store (1M distinct keys: its last use and its
//! day's count), then `Engine::flush_usage`: its CPU
//! seconds (the whole process, sled's threads included) and wall time
//! alone, and `Engine::verify` throughput on one thread while a flush of the
//! same size runs against the same thread for the same time without one.
//! Each Verify thread also reports the share of its wall time it was on a
//! core (below 1: it waited for one), and is named (`verify-during`,
//! `verify-alone`) for `perf report --sort comm`.
//! Two diagnostic rows put the Verify thread beside a thread that keeps one
//! core busy instead of a flush, with PAUSE or with arithmetic (no memory,
//! no locks): what a second busy core alone costs Verify on this machine.
//! `CREDD_BENCH_ONLY=flush` runs this section alone on a freshly filled
//! large store.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use credd::clock::{Clock, SystemClock};
use credd::engine::Engine;
use serde_json::json;

use crate::Ctx;
use crate::fill::Opened;
use crate::harness::load::{pick, process_cpu_secs, thread_cpu_secs};
use crate::harness::report::{Row, count_label, rate, ratio, round3};
use crate::{SCOPES, sweep::spread};

const SECTION: &str = "8 usage flush at scale";
const ROUNDS: usize = 3;

/// One round's figures.
#[derive(Default)]
struct Round {
    cpu_secs: f64,
    wall_secs: f64,
    during: Load,
    without: Load,
}

/// 8: `ROUNDS` rounds on the large store (`opened`, `keys` sampled from it).
pub(crate) fn usage_flush(ctx: &mut Ctx, opened: &Opened, keys: &Arc<Vec<String>>) {
    let engine = &opened.engine;
    let ids: Vec<(String, String)> = engine
        .store()
        .scan(None, None)
        .map(|r| r.expect("record"))
        .map(|r| (r.id, r.account_id))
        .collect();
    eprintln!(
        "[bench] usage flush: {} rounds of {} distinct uses",
        ROUNDS,
        ids.len()
    );
    let rounds: Vec<Round> = (0..ROUNDS)
        .map(|_| round(ctx, engine, &ids, keys))
        .collect();
    flush_rows(ctx, &rounds, &count_label(ids.len()));
    let wall =
        Duration::from_secs_f64(spread(&rounds.iter().map(|r| r.wall_secs).collect::<Vec<_>>()).0);
    beside_spinner(ctx, engine, keys, wall.max(Duration::from_secs(1)));
}

/// How a diagnostic's second thread keeps its core busy.
#[derive(Clone, Copy)]
enum Spin {
    /// `spin_loop` (x86 PAUSE, which lends a core's pipeline to its
    /// hyperthread sibling).
    Pause,
    /// Integer arithmetic, no memory, no PAUSE.
    Arithmetic,
}

/// The diagnostics: the Verify thread beside a spinning thread against the
/// Verify thread alone, `ROUNDS` times `length` each.
fn beside_spinner(ctx: &mut Ctx, engine: &Arc<Engine>, keys: &Arc<Vec<String>>, length: Duration) {
    for (spin, what) in [
        (Spin::Pause, "a thread that only spins (PAUSE)"),
        (Spin::Arithmetic, "a thread doing integer arithmetic"),
    ] {
        let (mut beside, mut alone) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let stop = Arc::new(AtomicBool::new(false));
            let spinner = spinner(spin, stop.clone());
            beside.push(verify_for(engine, keys, length));
            stop.store(true, Ordering::Relaxed);
            spinner.join().expect("spinner");
            alone.push(verify_for(engine, keys, length));
        }
        let on_cpu: Vec<_> = beside.iter().map(|l| round3(l.on_cpu)).collect();
        let beside: Vec<f64> = beside.iter().map(|l| l.per_s).collect();
        let alone: Vec<f64> = alone.iter().map(|l| l.per_s).collect();
        let (beside, alone) = (spread(&beside).0, spread(&alone).0);
        let r = ratio(beside, alone);
        ctx.report.push(Row {
            section: SECTION,
            scenario: format!("diagnostic: Engine::verify, 1 thread, beside {what}"),
            throughput: rate(beside),
            p50: String::new(),
            p99: String::new(),
            versus: format!("{r:.2}x of {} without", rate(alone)),
            goal: String::new(),
            pass: None,
            json: json!({"beside_per_s": beside, "alone_per_s": alone, "ratio": round3(r),
                "on_cpu_beside": on_cpu}),
        });
    }
}

fn spinner(spin: Spin, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut x = 1u64;
        while !stop.load(Ordering::Relaxed) {
            match spin {
                Spin::Pause => std::hint::spin_loop(),
                Spin::Arithmetic => {
                    for _ in 0..64 {
                        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005) ^ 1);
                    }
                }
            }
        }
        std::hint::black_box(x);
    })
}

/// Verify calls per second on one thread for `length`.
fn verify_for(engine: &Arc<Engine>, keys: &Arc<Vec<String>>, length: Duration) -> Load {
    let stop = Arc::new(AtomicBool::new(false));
    let load = verify_thread_load(engine.clone(), keys.clone(), stop.clone(), "verify-alone");
    std::thread::sleep(length);
    stop.store(true, Ordering::Relaxed);
    load.join().expect("verify thread")
}

/// A VALID answer for every credential: its use and its day's count.
fn note_all(engine: &Engine, ids: &[(String, String)]) {
    let now = SystemClock.now();
    for (id, account) in ids {
        engine.note_valid_use(id, account, now);
    }
}

/// A flush alone (CPU and wall), then one beside a Verify thread, then that
/// thread alone for as long as the second flush took.
fn round(
    ctx: &Ctx,
    engine: &Arc<Engine>,
    ids: &[(String, String)],
    keys: &Arc<Vec<String>>,
) -> Round {
    note_all(engine, ids);
    let cpu_before = process_cpu_secs();
    let started = Instant::now();
    let written = ctx.client_rt.block_on(engine.flush_usage()).expect("flush");
    let mut round = Round {
        cpu_secs: process_cpu_secs() - cpu_before,
        wall_secs: started.elapsed().as_secs_f64(),
        ..Round::default()
    };
    assert_eq!(written, ids.len(), "every noted use written");

    note_all(engine, ids);
    let stop = Arc::new(AtomicBool::new(false));
    let load = verify_thread_load(engine.clone(), keys.clone(), stop.clone(), "verify-during");
    let started = Instant::now();
    ctx.client_rt.block_on(engine.flush_usage()).expect("flush");
    let flush_time = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    round.during = load.join().expect("verify thread");

    round.without = verify_for(engine, keys, flush_time.max(Duration::from_millis(200)));
    round
}

/// Verifies sampled keys in a loop until `stop`; returns calls per second.
pub(crate) fn verify_thread(
    engine: Arc<Engine>,
    keys: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || verify_loop(&engine, &keys, &stop).per_s)
}

/// What a Verify loop did: calls per second, and the share of its wall
/// time the thread was on a core (below 1: it waited for one).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Load {
    pub(crate) per_s: f64,
    pub(crate) on_cpu: f64,
}

fn verify_loop(engine: &Engine, keys: &[String], stop: &AtomicBool) -> Load {
    let scopes = vec![SCOPES[0].to_string()];
    let (started, cpu_before) = (Instant::now(), thread_cpu_secs());
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let _ = engine.verify(&keys[pick(1, n, keys.len())], None, &scopes);
        n += 1;
    }
    let wall = started.elapsed().as_secs_f64();
    Load {
        per_s: n as f64 / wall,
        on_cpu: (thread_cpu_secs() - cpu_before) / wall,
    }
}

/// [`verify_thread`] with the thread's share of time on a core.
fn verify_thread_load(
    engine: Arc<Engine>,
    keys: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    name: &str,
) -> std::thread::JoinHandle<Load> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || verify_loop(&engine, &keys, &stop))
        .expect("verify thread")
}

fn flush_rows(ctx: &mut Ctx, rounds: &[Round], label: &str) {
    let cpu: Vec<f64> = rounds.iter().map(|r| r.cpu_secs).collect();
    let wall: Vec<f64> = rounds.iter().map(|r| r.wall_secs).collect();
    let (cpu_med, _, cpu_max) = spread(&cpu);
    let (wall_med, _, _) = spread(&wall);
    let n_keys = ctx.s.large as f64;
    let pass = cpu_med < 5.0;
    ctx.report.push(Row {
        section: SECTION,
        scenario: format!("flush of {label} distinct used keys"),
        throughput: rate(n_keys / wall_med),
        p50: format!("{cpu_med:.2} s CPU"),
        p99: format!("{wall_med:.2} s wall (CPU max {cpu_max:.2} s)"),
        versus: String::new(),
        goal: "< 5 s CPU".to_string(),
        pass: Some(pass),
        json: json!({"cpu_secs": cpu, "wall_secs": wall, "median_cpu_secs": round3(cpu_med)}),
    });
    if !pass {
        ctx.report.findings.push(format!(
            "usage flush: {label} keys took {cpu_med:.2} s of CPU (goal < 5 s)"
        ));
    }
    let during: Vec<f64> = rounds.iter().map(|r| r.during.per_s).collect();
    let without: Vec<f64> = rounds.iter().map(|r| r.without.per_s).collect();
    let on_cpu: Vec<_> = rounds.iter().map(|r| round3(r.during.on_cpu)).collect();
    let on_cpu_without: Vec<_> = rounds.iter().map(|r| round3(r.without.on_cpu)).collect();
    let (during_med, without_med) = (spread(&during).0, spread(&without).0);
    let r = ratio(during_med, without_med);
    let pass = r >= 0.95;
    ctx.report.push(Row {
        section: SECTION,
        scenario: "Engine::verify, 1 thread, during a flush".to_string(),
        throughput: rate(during_med),
        p50: String::new(),
        p99: String::new(),
        versus: format!("{r:.2}x of {} without", rate(without_med)),
        goal: ">= 0.95x".to_string(),
        pass: Some(pass),
        json: json!({"during_per_s": during, "without_per_s": without, "ratio": round3(r),
            "on_cpu_during": on_cpu, "on_cpu_without": on_cpu_without}),
    });
    if !pass {
        ctx.report.findings.push(format!(
            "usage flush: Verify during a {label}-key flush ran at {r:.2}x of Verify without one (goal >= 0.95x)"
        ));
    }
}
