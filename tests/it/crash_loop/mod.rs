//! Crash loop: `kill -9` the daemon at random moments while several clients
//! create, rotate, revoke and verify as fast as they can, reopen the same
//! data directory, and check that every change the daemon acknowledged before
//! the kill is still there.
//!
//! sled 0.34 has open reports of databases that would not reopen after an
//! abrupt stop (sled issues 1533, 1527, 1509, 1166); this test is how we find
//! out for credd. `CREDD_CRASH_LOOPS` sets the number of kills (default 50);
//! a run asked for more than 50 also stops once 100 s have passed.
//!
//! Each daemon life ends in one of three ways: at a random moment (20-400 ms
//! into the load), right after the k-th acknowledged change, or right after
//! an acknowledgement that raced another change to the same credential (two
//! concurrent revokes, as a retrying client sends): the instants right after
//! a promise are where a change acknowledged before it was durable shows.
//!
//! The model: a change is acknowledged only if its RPC returned `Ok` (an
//! answer the daemon sent before it died counts, even if the client read it
//! after the kill). An RPC that failed or never answered has an unknown
//! outcome, and the model allows both: an unanswered create may or may not
//! exist, an unanswered revoke is "maybe revoked" and an unanswered rotation
//! "maybe rotated" until the check after the next restart reads which way it
//! went. What that check reads is on disk (a `kill -9` loses only what was
//! still in the daemon's memory), so from then on it is held to it as well.
//!
//! This file holds the test and the model; `load.rs` drives the clients,
//! `check.rs` checks the model after each restart, `report.rs` reports a
//! failure.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::ops::Range;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use credd::api::pb;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use rand::Rng;
use tonic::Code;
use tonic::transport::Channel;

use crate::support;

mod check;
mod load;
mod report;

use check::check;
use load::worker;
use report::{copy_dir, fail};

/// Kills when `CREDD_CRASH_LOOPS` is unset, and the fewest a run may stop at
/// when the time budget runs out.
const MIN_KILLS: usize = 50;

/// Past this (and past [`MIN_KILLS`]) the loop stops early.
const TIME_BUDGET: Duration = Duration::from_secs(100);

/// Concurrent client tasks per daemon life.
const WORKERS: usize = 4;

/// Creates per worker per daemon life, so the model (and each check) stays
/// small: at most `WORKERS * CREATES_PER_WORKER` new credentials per kill,
/// each account getting at most this many (far below the quota of 100).
const CREATES_PER_WORKER: usize = 2;

/// How long the load runs before the kill, in milliseconds.
const KILL_DELAY_MS: Range<u64> = 20..400;

/// In some lives the kill comes right after the k-th acknowledged change
/// instead (k drawn from this range): an answer has just been promised, and
/// anything not yet durable is most exposed.
const KILL_AFTER_ACK: Range<usize> = 1..40;

/// Bound on any one RPC.
const RPC_TIMEOUT: Duration = Duration::from_secs(10);

/// Bound on the whole check after a restart.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Concurrent tasks (each with its own connection) checking the model after
/// a restart; the check waits on round trips more than on CPU.
const CHECKERS: usize = 48;

/// A small page cache; the rest is the default configuration (a 7-day
/// rotation window, so a rotated credential keeps both secrets throughout).
const CONFIG: &str = "[storage]\ncache_capacity_mb = 32\n";

/// Info logs carry credential ids ("credential created/changed"), which the
/// failure report greps; sled's own messages are kept too.
const LOG_FILTER: &str = "warn,credd=info,sled=info";

/// The scope every verify asks for (the support requests carry it).
const SCOPE: &str = "orders:read";

/// Whether an acknowledged credential is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revoked {
    /// No revoke was ever sent.
    No,
    /// A revoke was sent but not answered; the next check decides.
    Maybe,
    /// A revoke returned `Ok`.
    Yes,
}

/// What the test knows about one credential whose creation was acknowledged.
#[derive(Debug, Clone)]
struct Cred {
    id: String,
    account: String,
    /// The daemon life (loop iteration) it was created in.
    born: usize,
    /// The secret CreateCredential returned.
    original: String,
    /// The secret an acknowledged RotateCredential returned.
    rotated: Option<String>,
    /// A rotation was sent and not answered; the next check decides.
    rotation_unknown: bool,
    /// An unanswered rotation turned out to have been applied: the credential
    /// holds a newer secret the test never saw.
    rotated_unseen: bool,
    revoked: Revoked,
}

/// A broken promise, with the credential it concerns (for the log excerpt).
#[derive(Debug, Clone)]
struct Violation {
    id: Option<String>,
    text: String,
}

impl Violation {
    fn about(id: &str, text: String) -> Self {
        Self {
            id: Some(id.to_string()),
            text,
        }
    }

    fn general(text: String) -> Self {
        Self { id: None, text }
    }
}

/// Everything acknowledged so far, and counters for the summary.
#[derive(Debug, Default)]
struct Model {
    creds: Vec<Cred>,
    acked_creates: usize,
    acked_rotates: usize,
    acked_revokes: usize,
    unknown_creates: usize,
    unknown_rotates: usize,
    unknown_revokes: usize,
    verifies: usize,
    /// Wrong answers from a daemon that had not been killed yet.
    live_violations: Vec<Violation>,
}

/// State shared by the test and its client tasks.
#[derive(Debug, Default)]
struct Shared {
    model: Mutex<Model>,
    /// The daemon's bootstrap admin key.
    admin_key: std::sync::OnceLock<String>,
    /// Set just before the kill: errors after it are expected, and the
    /// clients send nothing more (so what is in flight is what the kill hit).
    killed: AtomicBool,
    /// RPCs sent and not yet answered.
    in_flight: AtomicUsize,
    /// Changes acknowledged in this daemon life.
    acks: AtomicUsize,
    /// Kill right after this many acknowledgements (0: no such trigger).
    kill_at_ack: AtomicUsize,
    /// Kill right after the first acknowledgement that came while another
    /// change to the same credential was still unanswered.
    kill_on_race: AtomicBool,
    /// An ack trigger is set and nobody has claimed it yet.
    armed: AtomicBool,
    /// Woken by the worker that claims the trigger.
    ack_reached: tokio::sync::Notify,
}

impl Shared {
    fn admin_key(&self) -> String {
        self.admin_key.get().cloned().unwrap_or_default()
    }

    fn model(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records `status` as a violation if the daemon was not being killed
    /// and the code is not one of `expected`.
    fn error(&self, model: &mut Model, id: Option<&str>, what: &str, status: &tonic::Status) {
        if !self.killed.load(Ordering::SeqCst) {
            model.live_violations.push(Violation {
                id: id.map(str::to_string),
                text: format!(
                    "{what} failed before the kill: {:?} {}",
                    status.code(),
                    status.message()
                ),
            });
        }
    }

    /// Counts an acknowledged change (call it once the change is in the
    /// model) and wakes the test if this is the one to kill after. `raced`:
    /// another change to the same credential is still unanswered.
    fn acked(&self, raced: bool) {
        let n = self.acks.fetch_add(1, Ordering::SeqCst) + 1;
        let hit = n == self.kill_at_ack.load(Ordering::SeqCst)
            || (raced && self.kill_on_race.load(Ordering::SeqCst));
        if hit && self.armed.swap(false, Ordering::SeqCst) {
            self.ack_reached.notify_one();
        }
    }

    /// A random credential satisfying `filter`: its index and a copy.
    fn pick(&self, filter: impl Fn(&Cred) -> bool) -> Option<(usize, Cred)> {
        let model = self.model();
        let candidates: Vec<usize> = (0..model.creds.len())
            .filter(|&i| filter(&model.creds[i]))
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let n = rand::rng().random_range(0..candidates.len());
        let idx = candidates[n];
        Some((idx, model.creds[idx].clone()))
    }
}

/// Runs one RPC with a client-side time limit, counting it as in flight.
async fn call<T>(
    shared: &Shared,
    rpc: impl Future<Output = Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T, tonic::Status> {
    shared.in_flight.fetch_add(1, Ordering::SeqCst);
    let result = tokio::time::timeout(RPC_TIMEOUT, rpc).await;
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    match result {
        Ok(answer) => answer.map(tonic::Response::into_inner),
        Err(_) => Err(tonic::Status::deadline_exceeded(format!(
            "no answer within {RPC_TIMEOUT:?} (client-side limit)"
        ))),
    }
}

/// `kill -9` the daemon at least 50 times at random moments under concurrent
/// create/rotate/revoke/verify load; every restart must reopen the database
/// and still show every change acknowledged before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_changes_survive_repeated_kill_9_under_load() {
    let target = match std::env::var("CREDD_CRASH_LOOPS") {
        Ok(value) => value
            .trim()
            .parse::<usize>()
            .unwrap_or_else(|e| panic!("CREDD_CRASH_LOOPS={value:?} is not a count: {e}")),
        Err(_) => MIN_KILLS,
    };
    assert!(target > 0, "CREDD_CRASH_LOOPS must be at least 1");
    if target < MIN_KILLS {
        eprintln!(
            "crash_loop: CREDD_CRASH_LOOPS={target} is below the CI form's {MIN_KILLS} kills"
        );
    }
    let dir = support::temp_dir();
    let started = Instant::now();
    let mut daemon = support::start_with_env(dir.path(), CONFIG, &[("RUST_LOG", LOG_FILTER)]);
    let shared = Arc::new(Shared::default());
    let _ = shared.admin_key.set(daemon.admin_key());
    let mut kills = 0usize;
    let mut kills_mid_request = 0usize;
    // Kills at a random moment, after the k-th ack, after a raced ack.
    let mut kills_by_trigger = [0usize; 3];
    let mut last_kill = String::from("none yet");
    let mut restart_time = Duration::ZERO;
    let mut check_time = Duration::ZERO;
    loop {
        // The daemon has just (re)started: everything acknowledged must be there.
        let life = kills + 1;
        let check_start = Instant::now();
        let violations = match tokio::time::timeout(CHECK_TIMEOUT, check(&daemon, &shared)).await {
            Ok(violations) => violations,
            Err(_) => vec![Violation::general(format!(
                "the check did not finish within {CHECK_TIMEOUT:?}"
            ))],
        };
        check_time += check_start.elapsed();
        if !violations.is_empty() {
            fail(
                dir,
                &daemon,
                &format!(
                    "after kill {kills}, the reopened database lost or changed acknowledged state \
                     (last kill: {last_kill})"
                ),
                &violations,
            );
        }
        if kills >= target || (kills >= MIN_KILLS && started.elapsed() > TIME_BUDGET) {
            break;
        }

        // Load, then kill while it runs.
        shared.killed.store(false, Ordering::SeqCst);
        shared.acks.store(0, Ordering::SeqCst);
        // How this life ends: at a random moment, right after the k-th
        // acknowledgement, or right after an acknowledgement that raced
        // another change to the same credential (with the timer as backstop).
        let mode = rand::rng().random_range(0..10u32);
        let kill_at_ack = if (4..7).contains(&mode) {
            rand::rng().random_range(KILL_AFTER_ACK)
        } else {
            0
        };
        shared.kill_at_ack.store(kill_at_ack, Ordering::SeqCst);
        shared.kill_on_race.store(mode >= 7, Ordering::SeqCst);
        let armed = mode >= 4;
        shared.armed.store(armed, Ordering::SeqCst);
        let mut workers = Vec::with_capacity(WORKERS);
        for worker_no in 0..WORKERS {
            let channel = daemon.channel().await;
            workers.push(tokio::spawn(worker(
                shared.clone(),
                channel,
                life,
                worker_no,
            )));
        }
        let load_start = Instant::now();
        let delay = rand::rng().random_range(KILL_DELAY_MS);
        let timer_won = tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(delay)) => true,
            () = shared.ack_reached.notified() => false,
        };
        shared.killed.store(true, Ordering::SeqCst);
        if timer_won && armed && !shared.armed.swap(false, Ordering::SeqCst) {
            // A worker claimed the trigger just as the timer fired: take its
            // wake-up, so that none is left over for the next life.
            tokio::time::timeout(Duration::from_secs(5), shared.ack_reached.notified())
                .await
                .expect("the worker that claimed the kill trigger did not signal it");
        }
        let in_flight = shared.in_flight.load(Ordering::SeqCst);
        if in_flight > 0 {
            kills_mid_request += 1;
        }
        tokio::task::block_in_place(|| daemon.kill9());
        kills += 1;
        let (trigger, how) = match (timer_won, kill_at_ack) {
            (true, _) => (0, "at a random moment".to_string()),
            (false, 0) => (2, "right after an ack that raced a twin revoke".to_string()),
            (false, k) => (1, format!("right after ack number {k}")),
        };
        kills_by_trigger[trigger] += 1;
        last_kill = format!(
            "{how}, {} ms into daemon life {life}, with {in_flight} requests in flight",
            load_start.elapsed().as_millis()
        );
        for handle in workers {
            tokio::time::timeout(Duration::from_secs(30), handle)
                .await
                .expect("a client task did not stop within 30 s of the kill")
                .expect("a client task panicked");
        }

        // Keep the database exactly as the kill left it, for a reproduction.
        let snapshot = dir.path().join("pre-restart");
        let _ = std::fs::remove_dir_all(&snapshot);
        copy_dir(&daemon.data_dir, &snapshot);

        let live = std::mem::take(&mut shared.model().live_violations);
        if !live.is_empty() {
            fail(
                dir,
                &daemon,
                &format!(
                    "during daemon life {life}, before the kill, the daemon answered wrongly \
                     (kill: {last_kill})"
                ),
                &live,
            );
        }

        let restart_start = Instant::now();
        let restarted = tokio::task::block_in_place(|| {
            std::panic::catch_unwind(AssertUnwindSafe(|| daemon.restart()))
        });
        restart_time += restart_start.elapsed();
        if let Err(panic) = restarted {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let head = why.lines().next().unwrap_or_default();
            let head = head.trim_end_matches(':').trim_end_matches("; log");
            fail(
                dir,
                &daemon,
                &format!(
                    "after kill {kills} ({last_kill}), credd could not reopen its data \
                     directory: {head}"
                ),
                &[],
            );
        }
    }

    let model = shared.model();
    eprintln!(
        "crash_loop: {kills} kills ({kills_mid_request} with requests in flight; {} at random \
         moments, {} right after the k-th ack, {} right after a raced ack) in {:.1} s \
         (restarts {:.1} s, checks {:.1} s); acknowledged {} creates, {} rotates, {} revokes, \
         {} verifies; unknown outcomes {} creates, {} rotates, {} revokes; {} credentials checked \
         after each restart at the end; no reopen failure, nothing lost",
        kills_by_trigger[0],
        kills_by_trigger[1],
        kills_by_trigger[2],
        started.elapsed().as_secs_f64(),
        restart_time.as_secs_f64(),
        check_time.as_secs_f64(),
        model.acked_creates,
        model.acked_rotates,
        model.acked_revokes,
        model.verifies,
        model.unknown_creates,
        model.unknown_rotates,
        model.unknown_revokes,
        model.creds.len(),
    );
    assert!(
        kills >= target.min(MIN_KILLS),
        "only {kills} kills happened; at least {} were required",
        target.min(MIN_KILLS)
    );
    // The test only means something if the load really ran and the kills
    // really interrupted it.
    assert!(
        model.acked_creates > 0 && model.acked_rotates > 0 && model.acked_revokes > 0,
        "the load acknowledged too little to test anything: {} creates, {} rotates, {} revokes",
        model.acked_creates,
        model.acked_rotates,
        model.acked_revokes
    );
    assert!(
        kills_mid_request * 2 >= kills,
        "only {kills_mid_request} of {kills} kills landed while requests were in flight"
    );
}
