//! Shutdown under load at trace level: SIGTERM must end the daemon with
//! status 0 after draining, every time. Trace level is where an event fired
//! while a thread's thread-locals are torn down (sled's epoch garbage, mio's
//! deregistrations) used to abort the process with status 134, once in
//! several runs; 50 start/stop cycles with clients verifying and creating
//! throughout make such a one-in-several event show.
//!
//! `CREDD_SHUTDOWN_CYCLES` sets the number of cycles (default 50); the loop
//! also stops after [`TIME_BUDGET`], but never before [`MIN_CYCLES`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;

use crate::support::{self, Daemon};

/// Cycles when `CREDD_SHUTDOWN_CYCLES` is unset.
const DEFAULT_CYCLES: usize = 50;
/// The loop may stop early for time only after this many cycles.
const MIN_CYCLES: usize = 20;
/// Past this (and past [`MIN_CYCLES`]) the loop stops.
const TIME_BUDGET: Duration = Duration::from_secs(150);
/// Concurrent verifying clients per cycle (plus one creating).
const VERIFIERS: usize = 3;

/// Verifies `secret` and creates credentials until `stop` is set or the
/// daemon goes away; returns how many calls were answered.
async fn load(
    daemon: &Daemon,
    secret: String,
    stop: Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    let mut tasks = Vec::new();
    for _ in 0..VERIFIERS {
        let mut verifier = daemon.verifier().await;
        let secret = secret.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                match verifier
                    .verify(support::verify_req(&secret, "acme", &[]))
                    .await
                {
                    Ok(_) => n += 1,
                    Err(_) => break,
                }
            }
            n
        }));
    }
    let mut admin = daemon.admin().await;
    let stop = stop.clone();
    tasks.push(tokio::spawn(async move {
        let mut n = 0;
        while !stop.load(Ordering::Relaxed) {
            let request = support::api_key("acme", &format!("load {n}"));
            match admin.create_credential(request).await {
                Ok(_) => n += 1,
                Err(_) => break,
            }
        }
        n
    }));
    tasks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_at_trace_level_exits_zero_every_time() {
    let cycles = std::env::var("CREDD_SHUTDOWN_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CYCLES);
    let dir = support::temp_dir();
    let mut daemon = support::start_with_env(
        dir.path(),
        "[policy]\nmax_credentials_per_account = 100000\n",
        &[("RUST_LOG", "trace")],
    );
    let (_, secret) = {
        let mut admin = daemon.admin().await;
        support::create(&mut admin, support::api_key("acme", "verified")).await
    };
    let started = Instant::now();
    let mut done = 0;
    let mut answered = 0;
    for cycle in 0..cycles {
        if cycle > 0 {
            if started.elapsed() > TIME_BUDGET && cycle >= MIN_CYCLES {
                break;
            }
            // Each life's trace log is large; keep only the current one.
            let _ = std::fs::remove_file(&daemon.log_path);
            daemon.restart();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = load(&daemon, secret.clone(), stop.clone()).await;
        let delay = rand::rng().random_range(30..300);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let status = tokio::task::block_in_place(|| daemon.terminate(Duration::from_secs(30)));
        stop.store(true, Ordering::Relaxed);
        for task in tasks {
            answered += task.await.expect("load task");
        }
        let log = daemon.logs();
        assert!(
            status.success(),
            "cycle {cycle}: SIGTERM ended credd with {status:?}; end of its log:\n{}",
            log.lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            log.contains("database flushed; credd stopped"),
            "cycle {cycle}: no orderly stop in the log"
        );
        done += 1;
    }
    eprintln!(
        "{done} SIGTERM cycles at trace level under load, all exit 0 ({answered} calls answered, {:.0} s)",
        started.elapsed().as_secs_f64()
    );
    assert!(answered > 0, "the load never got an answer");
}
