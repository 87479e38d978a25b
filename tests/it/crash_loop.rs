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

/// One client: creates (up to its cap), rotates, revokes and verifies random
/// credentials of the model until the kill.
async fn worker(shared: Arc<Shared>, channel: Channel, life: usize, worker_no: usize) {
    let mut admin = support::admin_on(channel.clone(), &shared.admin_key());
    let mut verifier = CredentialVerifierClient::new(channel);
    let account = format!("crash-{life}-{worker_no}");
    let mut created = 0usize;
    while !shared.killed.load(Ordering::SeqCst) {
        let roll = rand::rng().random_range(0..10u32);
        let did_something = if roll < 3 && created < CREATES_PER_WORKER {
            created += 1;
            create(&shared, &mut admin, &account, life, created).await;
            true
        } else if roll < 5 {
            rotate(&shared, &mut admin).await
        } else if roll < 7 {
            revoke(&shared, &mut admin).await
        } else {
            verify(&shared, &mut verifier).await
        };
        if !did_something {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

async fn create(shared: &Shared, admin: &mut support::Admin, account: &str, life: usize, n: usize) {
    let passcode = rand::rng().random_bool(0.5);
    let name = format!("crash {life}.{n}");
    let request = if passcode {
        support::passcode(account, &name)
    } else {
        support::api_key(account, &name)
    };
    let result = call(shared, admin.create_credential(request)).await;
    let mut model = shared.model();
    match result {
        Ok(answer) => match answer.credential {
            Some(credential) if !answer.secret.is_empty() => {
                model.acked_creates += 1;
                model.creds.push(Cred {
                    id: credential.id,
                    account: account.to_string(),
                    born: life,
                    original: answer.secret,
                    rotated: None,
                    rotation_unknown: false,
                    rotated_unseen: false,
                    revoked: Revoked::No,
                });
                drop(model);
                shared.acked(false);
            }
            _ => model.live_violations.push(Violation::general(format!(
                "CreateCredential for {account} answered Ok without a credential or secret"
            ))),
        },
        Err(status) => {
            model.unknown_creates += 1;
            shared.error(&mut model, None, "CreateCredential", &status);
        }
    }
}

/// Rotates a credential with no rotation known; false if there is none.
async fn rotate(shared: &Shared, admin: &mut support::Admin) -> bool {
    let Some((idx, cred)) =
        shared.pick(|c| c.rotated.is_none() && !c.rotated_unseen && c.revoked != Revoked::Yes)
    else {
        return false;
    };
    let request = pb::RotateCredentialRequest {
        id: cred.id.clone(),
        window: None,
    };
    let result = call(shared, admin.rotate_credential(request)).await;
    let mut model = shared.model();
    match result {
        Ok(answer) => {
            model.acked_rotates += 1;
            let c = &mut model.creds[idx];
            if c.rotated.is_some() || c.rotated_unseen {
                let text = format!(
                    "RotateCredential {} succeeded twice within one open rotation window",
                    c.id
                );
                model.live_violations.push(Violation::about(&cred.id, text));
            } else {
                c.rotated = Some(answer.secret);
            }
            drop(model);
            shared.acked(false);
        }
        // An answer: already rotated or revoked (perhaps by a change whose
        // outcome is still unknown here); nothing changed.
        Err(status) if status.code() == Code::FailedPrecondition => {}
        Err(status) => {
            model.unknown_rotates += 1;
            model.creds[idx].rotation_unknown = true;
            shared.error(&mut model, Some(&cred.id), "RotateCredential", &status);
        }
    }
    true
}

/// Revokes a random credential (mostly one not known to be revoked, as only
/// those can change), sometimes twice at once as a retrying client would;
/// false if there is none.
async fn revoke(shared: &Shared, admin: &mut support::Admin) -> bool {
    let fresh_only = rand::rng().random_bool(0.8);
    let picked = if fresh_only {
        shared.pick(|c| c.revoked != Revoked::Yes)
    } else {
        None
    };
    let Some((idx, cred)) = picked.or_else(|| shared.pick(|_| true)) else {
        return false;
    };
    let twice = rand::rng().random_bool(0.5);
    {
        let mut model = shared.model();
        if model.creds[idx].revoked == Revoked::No {
            model.creds[idx].revoked = Revoked::Maybe;
        }
    }
    let pending = AtomicUsize::new(if twice { 2 } else { 1 });
    if twice {
        let mut second = admin.clone();
        tokio::join!(
            revoke_once(shared, admin, idx, &cred.id, &pending),
            revoke_once(shared, &mut second, idx, &cred.id, &pending)
        );
    } else {
        revoke_once(shared, admin, idx, &cred.id, &pending).await;
    }
    true
}

/// One RevokeCredential, recorded as soon as it answers. `pending` counts
/// this call and its twin, if any, until they answer.
async fn revoke_once(
    shared: &Shared,
    admin: &mut support::Admin,
    idx: usize,
    id: &str,
    pending: &AtomicUsize,
) {
    let request = pb::RevokeCredentialRequest {
        id: id.to_string(),
        reason: "crash loop".to_string(),
    };
    let result = call(shared, admin.revoke_credential(request)).await;
    let twin_unanswered = pending.fetch_sub(1, Ordering::SeqCst) > 1;
    let mut model = shared.model();
    match result {
        Ok(answer) => {
            model.acked_revokes += 1;
            model.creds[idx].revoked = Revoked::Yes;
            let status = answer.credential.as_ref().map(pb::Credential::status);
            if status != Some(pb::Status::Revoked) {
                let text = format!("RevokeCredential {id} answered Ok with status {status:?}");
                model.live_violations.push(Violation::about(id, text));
            }
            drop(model);
            shared.acked(twin_unanswered);
        }
        Err(status) => {
            model.unknown_revokes += 1;
            shared.error(&mut model, Some(id), "RevokeCredential", &status);
        }
    }
}

/// Verifies the known secrets of a random credential against the running
/// daemon; false if there is none.
async fn verify(shared: &Shared, verifier: &mut CredentialVerifierClient<Channel>) -> bool {
    let Some((_, cred)) = shared.pick(|_| true) else {
        return false;
    };
    let secrets: Vec<String> = std::iter::once(cred.original.clone())
        .chain(cred.rotated.clone())
        .collect();
    for secret in secrets {
        let request = support::verify_req(&secret, &cred.account, &[SCOPE]);
        let result = call(shared, verifier.verify(request)).await;
        let mut model = shared.model();
        model.verifies += 1;
        match result {
            Ok(answer) => {
                let allowed: &[pb::VerifyResult] = if cred.revoked == Revoked::Yes {
                    &[pb::VerifyResult::Revoked]
                } else {
                    &[pb::VerifyResult::Valid, pb::VerifyResult::Revoked]
                };
                if !allowed.contains(&answer.result()) {
                    let text = format!(
                        "Verify of an acknowledged secret of {} answered {:?} (revoked: {:?})",
                        cred.id,
                        answer.result(),
                        cred.revoked
                    );
                    model.live_violations.push(Violation::about(&cred.id, text));
                }
            }
            Err(status) => shared.error(&mut model, Some(&cred.id), "Verify", &status),
        }
    }
    true
}

/// What a check learned about a credential whose last change was unanswered.
#[derive(Debug, Clone, Copy)]
struct Resolution {
    idx: usize,
    revoked: bool,
    rotation_open: bool,
}

/// Checks the whole model against the restarted daemon and settles the
/// unknown outcomes it finds. Returns what is wrong.
async fn check(daemon: &support::Daemon, shared: &Shared) -> Vec<Violation> {
    let channel = daemon.channel().await;
    let (creds, unknown_creates) = {
        let model = shared.model();
        (
            model.creds.iter().cloned().enumerate().collect::<Vec<_>>(),
            model.unknown_creates,
        )
    };
    let mut violations = Vec::new();

    // The listing: every acknowledged credential, and no more extras than
    // creates whose answer never came.
    let mut admin = support::admin_on(channel.clone(), &shared.admin_key());
    match list_all(shared, &mut admin).await {
        Ok(listed) => {
            let known: HashSet<&str> = creds.iter().map(|(_, c)| c.id.as_str()).collect();
            let listed_ids: HashSet<&str> = listed.iter().map(|c| c.id.as_str()).collect();
            for (_, cred) in &creds {
                if !listed_ids.contains(cred.id.as_str()) {
                    let text = format!(
                        "credential {} (created in life {}, acknowledged) is missing from ListCredentials",
                        cred.id, cred.born
                    );
                    violations.push(Violation::about(&cred.id, text));
                }
            }
            let extras: Vec<&pb::Credential> = listed
                .iter()
                .filter(|c| !known.contains(c.id.as_str()))
                .collect();
            if extras.len() > unknown_creates {
                violations.push(Violation::general(format!(
                    "{} credentials exist that were never acknowledged, but only {unknown_creates} creates went unanswered",
                    extras.len()
                )));
            }
            for extra in extras {
                if !extra.account_id.starts_with("crash-") {
                    let text = format!(
                        "credential {} of unknown account {:?} appeared",
                        extra.id, extra.account_id
                    );
                    violations.push(Violation::about(&extra.id, text));
                }
            }
        }
        Err(status) => violations.push(Violation::general(format!(
            "ListCredentials failed after restart: {:?} {}",
            status.code(),
            status.message()
        ))),
    }

    // Each credential: readable, right status, its secrets verify.
    let chunk_len = creds.len().div_ceil(CHECKERS).max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in creds.chunks(chunk_len) {
        let chunk = chunk.to_vec();
        let channel = daemon.channel().await;
        let key = shared.admin_key();
        tasks.spawn(async move {
            let mut admin = support::admin_on(channel.clone(), &key);
            let mut verifier = CredentialVerifierClient::new(channel);
            let mut violations = Vec::new();
            let mut resolutions = Vec::new();
            for (idx, cred) in chunk {
                if let Some(resolution) =
                    check_one(&mut admin, &mut verifier, idx, &cred, &mut violations).await
                {
                    resolutions.push(resolution);
                }
            }
            (violations, resolutions)
        });
    }
    let mut resolutions = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (v, r) = done.expect("a check task panicked");
        violations.extend(v);
        resolutions.extend(r);
    }

    // What is on disk now is what later restarts are held to.
    let mut model = shared.model();
    for r in resolutions {
        let cred = &mut model.creds[r.idx];
        if cred.revoked == Revoked::Maybe {
            cred.revoked = if r.revoked { Revoked::Yes } else { Revoked::No };
        }
        if cred.rotation_unknown {
            cred.rotation_unknown = false;
            if cred.rotated.is_none() && r.rotation_open {
                cred.rotated_unseen = true;
            }
        }
    }
    violations
}

/// Every credential, all pages.
async fn list_all(
    shared: &Shared,
    admin: &mut support::Admin,
) -> Result<Vec<pb::Credential>, tonic::Status> {
    let mut all = Vec::new();
    let mut page_token = String::new();
    for _ in 0..1000 {
        let request = pb::ListCredentialsRequest {
            page_size: 1000,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = call(shared, admin.list_credentials(request)).await?;
        all.extend(page.credentials);
        if page.next_page_token.is_empty() {
            return Ok(all);
        }
        page_token = page.next_page_token;
    }
    Err(tonic::Status::internal("more than 1000 pages"))
}

/// Checks one credential; returns what it shows about unknown outcomes.
async fn check_one(
    admin: &mut support::Admin,
    verifier: &mut CredentialVerifierClient<Channel>,
    idx: usize,
    cred: &Cred,
    violations: &mut Vec<Violation>,
) -> Option<Resolution> {
    let id = cred.id.as_str();
    let mut lost = |text: String| violations.push(Violation::about(id, text));
    let what = format!(
        "credential {id} (created in life {}, acknowledged)",
        cred.born
    );
    let request = pb::GetCredentialRequest { id: id.to_string() };
    let credential = match tokio::time::timeout(RPC_TIMEOUT, admin.get_credential(request)).await {
        Ok(Ok(answer)) => match answer.into_inner().credential {
            Some(credential) => credential,
            None => {
                lost(format!(
                    "{what}: GetCredential answered without a credential"
                ));
                return None;
            }
        },
        Ok(Err(status)) => {
            lost(format!(
                "{what}: GetCredential failed after restart: {:?} {}",
                status.code(),
                status.message()
            ));
            return None;
        }
        Err(_) => {
            lost(format!("{what}: GetCredential did not answer"));
            return None;
        }
    };
    if credential.account_id != cred.account {
        lost(format!(
            "{what}: account is {:?}, expected {:?}",
            credential.account_id, cred.account
        ));
    }

    let status = credential.status();
    let revoked = match (cred.revoked, status) {
        (Revoked::Yes | Revoked::Maybe, pb::Status::Revoked) => true,
        (Revoked::No | Revoked::Maybe, pb::Status::Active) => false,
        (Revoked::Yes, other) => {
            lost(format!(
                "{what}: acknowledged revoke lost, status is {other:?}"
            ));
            other == pb::Status::Revoked
        }
        (Revoked::No | Revoked::Maybe, other) => {
            lost(format!(
                "{what}: status is {other:?}, expected ACTIVE{}",
                if cred.revoked == Revoked::Maybe {
                    " or REVOKED"
                } else {
                    ""
                }
            ));
            other == pb::Status::Revoked
        }
    };

    let rotation_open = credential.rotation_retires_at.is_some();
    let must_be_open = cred.rotated.is_some() || cred.rotated_unseen;
    if must_be_open && !rotation_open {
        lost(format!(
            "{what}: acknowledged rotation lost, no rotation window is open"
        ));
    }
    if !must_be_open && !cred.rotation_unknown && rotation_open {
        lost(format!(
            "{what}: a rotation window is open though no rotation was ever applied"
        ));
    }
    // The newest secret the test knows, when it knows it is the newest.
    let newest = match (&cred.rotated, rotation_open) {
        (Some(secret), _) => Some(secret),
        (None, false) => Some(&cred.original),
        (None, true) => None,
    };
    if let Some(secret) = newest {
        let last_four = &secret[secret.len().saturating_sub(4)..];
        if !credential.secret_hint.ends_with(last_four) {
            lost(format!(
                "{what}: secret_hint {:?} is not that of the newest acknowledged secret",
                credential.secret_hint
            ));
        }
    }

    let expected = if revoked {
        pb::VerifyResult::Revoked
    } else {
        pb::VerifyResult::Valid
    };
    let mut secrets = vec![("original", &cred.original, rotation_open)];
    if let Some(rotated) = &cred.rotated {
        secrets.push(("rotated", rotated, false));
    }
    for (which, secret, superseded) in secrets {
        let request = support::verify_req(secret, &cred.account, &[SCOPE]);
        match tokio::time::timeout(RPC_TIMEOUT, verifier.verify(request)).await {
            Ok(Ok(answer)) => {
                let answer = answer.into_inner();
                if answer.result() != expected {
                    lost(format!(
                        "{what}: its {which} secret verifies {:?}, expected {expected:?}",
                        answer.result()
                    ));
                } else if answer.credential_id != id {
                    lost(format!(
                        "{what}: its {which} secret verifies as credential {:?}",
                        answer.credential_id
                    ));
                } else if expected == pb::VerifyResult::Valid && answer.superseded != superseded {
                    lost(format!(
                        "{what}: its {which} secret verifies with superseded={}, expected {superseded}",
                        answer.superseded
                    ));
                }
            }
            Ok(Err(status)) => lost(format!(
                "{what}: Verify of its {which} secret failed after restart: {:?} {}",
                status.code(),
                status.message()
            )),
            Err(_) => lost(format!(
                "{what}: Verify of its {which} secret did not answer"
            )),
        }
    }
    Some(Resolution {
        idx,
        revoked,
        rotation_open,
    })
}

/// Copies a directory tree (the data directory is small: a sled database,
/// the pepper, perhaps some mail).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create snapshot dir");
    let Ok(entries) = std::fs::read_dir(from) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy into snapshot");
        }
    }
}

/// Fails the test with what went wrong, the daemon log around it, and how to
/// reproduce it; keeps the test directory for inspection.
fn fail(
    dir: tempfile::TempDir,
    daemon: &support::Daemon,
    what: &str,
    violations: &[Violation],
) -> ! {
    let kept = dir.keep();
    let log = daemon.logs();
    let lines: Vec<&str> = log.lines().collect();
    let mut report = format!("crash loop: {what}\n");
    for v in violations.iter().take(30) {
        report.push_str(&format!("  - {}\n", v.text));
    }
    if violations.len() > 30 {
        report.push_str(&format!("  ... and {} more\n", violations.len() - 30));
    }
    let mut ids: Vec<&str> = violations.iter().filter_map(|v| v.id.as_deref()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut by_id: HashMap<&str, Vec<&str>> = HashMap::new();
    for id in ids.iter().take(5) {
        let mentions: Vec<&str> = lines
            .iter()
            .copied()
            .filter(|l| l.contains(id))
            .take(10)
            .collect();
        by_id.insert(id, mentions);
    }
    for (id, mentions) in &by_id {
        report.push_str(&format!("daemon log lines naming {id}:\n"));
        for line in mentions {
            report.push_str(&format!("  {line}\n"));
        }
    }
    report.push_str("daemon log, last 40 lines:\n");
    for line in &lines[lines.len().saturating_sub(40)..] {
        report.push_str(&format!("  {line}\n"));
    }
    report.push_str(&format!(
        "kept for inspection: {kept}/data (database now), {kept}/pre-restart (data directory \
         exactly as the last kill left it), {kept}/credd.log (whole log)\n\
         reproduce: `cargo test --test it crash_loop -- --nocapture` (kill timing is random; \
         CREDD_CRASH_LOOPS=500 runs longer), or reopen the kept state directly: \
         `cp -r {kept}/pre-restart /tmp/credd-repro && target/debug/credd --data-dir /tmp/credd-repro --listen 127.0.0.1:0`",
        kept = kept.display()
    ));
    panic!("{report}");
}
