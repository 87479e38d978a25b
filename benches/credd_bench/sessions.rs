//! Section 7, session sweep cost: `Engine::sweep_sessions` with one group of
//! `CREDD_BENCH_DUE` idle sessions among `CREDD_BENCH_LARGE` sessions vs the
//! same number among themselves (a fresh store each round), in alternating
//! rounds, with a manual clock set just past each group's deadline. Sessions
//! are loaded through `Store::load_sessions` in batches, never by logins.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use credd::clock::{Clock, ManualClock};
use credd::lifecycle::SessionRecord;

use crate::Ctx;
use crate::fill::{Opened, engine_with_clock, open};
use crate::harness::report::count_label;
use crate::sweep::due_rows;

const SECTION: &str = "7 session sweep O(due)";
/// Sessions built and loaded at a time (bounds the bench's memory).
const LOAD_CHUNK: usize = 100_000;

/// A well-spread 32-byte key for session `n` (stands in for a token HMAC).
fn session_hash(n: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut x = n;
    for chunk in out.chunks_mut(8) {
        // splitmix64
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_be_bytes());
    }
    out
}

/// A session last seen at `seen`, indexed at its idle deadline (30 min).
fn session_at(n: u64, seen: DateTime<Utc>) -> ([u8; 32], SessionRecord, DateTime<Utc>) {
    let session = SessionRecord {
        id: format!("sess_bench_{n:08}"),
        account_id: format!("acct{:04}", n % 1000),
        username: "api".to_string(),
        created_at: seen - Duration::hours(1),
        last_seen_at: seen,
        expires_at: seen + Duration::hours(11),
    };
    (session_hash(n), session, seen + Duration::minutes(30))
}

/// Loads sessions `from..to`, each last seen at `seen(n)`.
fn load(opened: &Opened, from: u64, to: u64, seen: &dyn Fn(u64) -> DateTime<Utc>) {
    let mut start = from;
    while start < to {
        let end = (start + LOAD_CHUNK as u64).min(to);
        let rows: Vec<_> = (start..end).map(|n| session_at(n, seen(n))).collect();
        opened.engine.store().load_sessions(&rows).expect("load");
        start = end;
    }
}

/// A store in `dir` with `groups` groups of `due` sessions, group `g` due at
/// `base + g + 1` minutes, and `idle` sessions due a day later.
fn filled(ctx: &Ctx, dir: &Path, groups: usize, idle: usize) -> (Opened, Vec<DateTime<Utc>>) {
    let (base, due) = (ctx.base, ctx.s.due as u64);
    let opened = open(dir, ctx.s.cache_mb, Arc::new(ManualClock::new(base)));
    let group_due = |g: u64| base + Duration::minutes(g as i64 + 1);
    let n_due = groups as u64 * due;
    load(&opened, 0, n_due, &|n| {
        group_due(n / due) - Duration::minutes(30)
    });
    load(&opened, n_due, n_due + idle as u64, &|_| {
        base + Duration::days(1)
    });
    ctx.client_rt
        .block_on(opened.engine.store().flush())
        .expect("flush");
    (opened, (0..groups as u64).map(group_due).collect())
}

/// One timed session sweep at `at`; returns seconds, asserting that exactly
/// the group due was removed.
fn timed(ctx: &Ctx, opened: &Opened, at: DateTime<Utc>) -> f64 {
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(at + Duration::seconds(1)));
    let sweeper = engine_with_clock(opened, clock);
    let started = Instant::now();
    let removed = ctx
        .client_rt
        .block_on(sweeper.sweep_sessions())
        .expect("session sweep");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(removed, ctx.s.due, "exactly one group is removed");
    secs
}

/// 7: alternating rounds, a fresh small store then the next group of the
/// large one.
pub(crate) fn session_sweep(ctx: &mut Ctx) {
    let (rounds, n) = (ctx.s.rounds, ctx.s.large);
    eprintln!(
        "[bench] session sweep: filling {n} sessions ({rounds} groups of {} due)",
        ctx.s.due
    );
    let started = Instant::now();
    let dir = ctx.work.path().join("sessions-large");
    let idle = n.saturating_sub(rounds * ctx.s.due);
    let (large, due_at) = filled(ctx, &dir, rounds, idle);
    eprintln!(
        "[bench]   {:?} sessions and index entries in {:.1} s",
        large.engine.store().session_counts(),
        started.elapsed().as_secs_f64()
    );
    let (mut small_times, mut large_times) = (Vec::new(), Vec::new());
    for (round, at) in due_at.iter().enumerate() {
        let small_dir = ctx.work.path().join(format!("sessions-small-{round}"));
        let (small, small_due) = filled(ctx, &small_dir, 1, 0);
        small_times.push(timed(ctx, &small, small_due[0]));
        drop(small);
        let _ = std::fs::remove_dir_all(&small_dir);
        large_times.push(timed(ctx, &large, *at));
    }
    drop(large);
    let _ = std::fs::remove_dir_all(&dir);
    rows(ctx, &small_times, &large_times, &count_label(n));
}

/// The small rounds as the baseline, the large rounds against the goal.
fn rows(ctx: &mut Ctx, small_times: &[f64], large_times: &[f64], label: &str) {
    let due_label = count_label(ctx.s.due);
    due_rows(
        ctx,
        SECTION,
        (
            format!("session sweep {due_label} due among {due_label} sessions"),
            small_times,
        ),
        (
            format!("session sweep {due_label} due among {label} sessions"),
            large_times,
        ),
    );
}
