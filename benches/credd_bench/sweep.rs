//! Section 3, sweep cost: `Engine::sweep` with one group of due
//! credentials among the large store vs the same number among themselves,
//! in alternating rounds, with a manual clock set just past each group.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use credd::clock::ManualClock;
use credd::engine::Engine;
use serde_json::json;
use tokio::runtime::Runtime;

use crate::Ctx;
use crate::fill::{FillPlan, Opened, engine_with_clock, open_filled};
use crate::harness::report::{Row, count_label, rate, ratio, round3};

const SECTION: &str = "3 sweep cost O(due)";

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
    let (opened, filled) = open_filled(
        ctx,
        &dir,
        ctx.s.cache_mb,
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
pub(crate) fn spread(times: &[f64]) -> (f64, f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    (
        sorted[sorted.len() / 2],
        sorted.first().copied().unwrap_or(f64::NAN),
        sorted.last().copied().unwrap_or(f64::NAN),
    )
}

/// 3: one round per due group of the large store (`opened`, `n` records,
/// each group falling due at `due_at`), a small round before each.
pub(crate) fn sweep(ctx: &mut Ctx, opened: &Opened, due_at: &[DateTime<Utc>], n: usize) {
    // Sweep: a small round, then a large round, alternately.
    eprintln!(
        "[bench] sweep: {} rounds of {} due among {} vs among {n}",
        ctx.s.rounds, ctx.s.due, ctx.s.due
    );
    let clock = Arc::new(ManualClock::new(ctx.base));
    let sweeper = engine_with_clock(opened, clock.clone());
    let (mut small_times, mut large_times) = (Vec::new(), Vec::new());
    for (round, at) in due_at.iter().enumerate() {
        small_times.push(sweep_small_round(ctx, round));
        clock.set(*at + chrono::Duration::seconds(1));
        let (secs, due, touched) = timed_sweep(&ctx.client_rt, &sweeper);
        assert_eq!(touched, ctx.s.due, "exactly one group is due per round");
        assert!(due >= ctx.s.due);
        large_times.push(secs);
    }
    drop(sweeper);
    sweep_rows(ctx, &small_times, &large_times, &count_label(n));
}

/// A round's row: the rate of due items swept, median and max time.
fn sweep_row(
    ctx: &Ctx,
    section: &'static str,
    scenario: String,
    times: &[f64],
    versus: String,
) -> Row {
    let (med, min, max) = spread(times);
    Row {
        section,
        scenario,
        throughput: rate(ctx.s.due as f64 / med),
        p50: format!("{:.1} ms", med * 1e3),
        p99: format!("max {:.1} ms", max * 1e3),
        versus,
        goal: String::new(),
        pass: None,
        json: json!({"rounds_secs": times, "median_secs": round3(med), "min_secs": round3(min), "max_secs": round3(max)}),
    }
}

/// The small rounds (scenario, times) as the baseline, the large rounds
/// against the goal (within 2x of the small ones' median).
pub(crate) fn due_rows(
    ctx: &mut Ctx,
    section: &'static str,
    small: (String, &[f64]),
    large: (String, &[f64]),
) {
    let (small_name, small_times) = small;
    let (large_name, large_times) = large;
    let row = sweep_row(
        ctx,
        section,
        small_name.clone(),
        small_times,
        "baseline".to_string(),
    );
    ctx.report.push(row);
    let (small_med, large_med) = (spread(small_times).0, spread(large_times).0);
    let r = ratio(large_med, small_med);
    let pass = r <= 2.0;
    let mut row = sweep_row(
        ctx,
        section,
        large_name.clone(),
        large_times,
        format!("{r:.2}x time"),
    );
    row.goal = "<= 2x".to_string();
    row.pass = Some(pass);
    row.json["time_ratio"] = round3(r);
    ctx.report.push(row);
    if !pass {
        ctx.report.findings.push(format!(
            "{large_name} takes {r:.2}x the time of {small_name} (goal <= 2x); medians {:.1} ms vs {:.1} ms",
            large_med * 1e3,
            small_med * 1e3
        ));
    }
}

/// The small rounds as the baseline, the large rounds against the goal.
fn sweep_rows(ctx: &mut Ctx, small_times: &[f64], large_times: &[f64], label: &str) {
    let due_label = count_label(ctx.s.due);
    due_rows(
        ctx,
        SECTION,
        (
            format!("sweep {due_label} due among {due_label} (fresh store each round)"),
            small_times,
        ),
        (format!("sweep {due_label} due among {label}"), large_times),
    );
}
