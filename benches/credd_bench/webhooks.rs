//! Section 12, webhook fan-out (`CREDD_BENCH_ONLY=webhooks`): `EVENTS`
//! changes (creates through the engine, 64 at a time) on the small store's
//! engine with `ENDPOINTS` endpoints registered, each a receiver on
//! loopback in this process answering 204 (on a runtime of their own at
//! nice 19: they stand in for other machines); then the webhook worker's rounds
//! (fan-out, signing, POSTs, each answer recorded; on a thread of its own
//! at nice 10, as the daemon runs it) until every delivery is in: deliveries per second and the backlog (events not fanned out plus
//! deliveries due) sampled every 250 ms. `Engine::verify` on one thread
//! while the worker delivers against the same thread with the worker idle
//! for as long (up to 30 s), right after, in the same run. The worker
//! runs with the default `[webhooks]` settings (`max_per_second` 500).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use credd::config::WebhooksConfig;
use credd::engine::webhooks::NewWebhook;
use credd::engine::{Actor, Engine, NewCredential};
use credd::notify::webhooks::WebhookWorker;
use serde_json::json;

use crate::Ctx;
use crate::flush::verify_thread;
use crate::harness::report::{Row, rate, ratio, round3};
use crate::small::SmallStore;

const SECTION: &str = "12 webhooks";
const EVENTS: usize = 10_000;
const ENDPOINTS: usize = 10;

/// 12: endpoints, events, the delivery, rows.
pub(crate) fn webhooks(ctx: &mut Ctx, small: &SmallStore) {
    let engine = small.opened.engine.clone();
    let received = Arc::new(AtomicU64::new(0));
    let rules = Arc::new(WebhooksConfig {
        allow_http: true,
        poll_interval: Duration::from_millis(100),
        allowed_networks: vec!["127.0.0.0/8".parse().expect("network")],
        ..WebhooksConfig::default()
    });
    eprintln!("[bench] webhooks: {ENDPOINTS} receivers, {EVENTS} events");
    // The receivers stand in for other machines: their own runtime, at a
    // background priority, so what they take is not counted against credd.
    let receivers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(|| {
            // SAFETY: setpriority on this thread's own id.
            unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 19) };
        })
        .enable_all()
        .build()
        .expect("receiver runtime");
    let urls: Vec<String> = (0..ENDPOINTS)
        .map(|_| receivers.block_on(receiver(received.clone())))
        .collect();
    ctx.client_rt.block_on(async {
        for url in &urls {
            let new = NewWebhook {
                url: url.clone(),
                ..NewWebhook::default()
            };
            engine
                .create_webhook(&Actor::system(), &rules, new)
                .await
                .expect("endpoint");
        }
    });
    let started = Instant::now();
    ctx.client_rt.block_on(make_events(&engine));
    let make_secs = started.elapsed().as_secs_f64();
    let keys = small.keys.clone();
    let worker = Arc::new(WebhookWorker::new(engine.clone(), rules).expect("worker"));
    let expected = (EVENTS * ENDPOINTS) as u64;
    let busy = Arc::new(AtomicBool::new(false));
    let during = verify_thread(engine.clone(), keys.clone(), busy.clone());
    let t0 = Instant::now();
    // As the daemon runs it (`WebhookWorker::spawn`: its own thread and
    // runtime, at a background priority); the backlog sampled meanwhile.
    let (stop_worker, stop_rx) = tokio::sync::watch::channel(false);
    let delivery = {
        let _entered = ctx.server_rt.enter();
        worker.clone().spawn(stop_rx)
    };
    let backlog = watch_backlog(&engine, &received, expected);
    let wall = t0.elapsed();
    let _ = stop_worker.send(true);
    ctx.server_rt.block_on(delivery).expect("delivery thread");
    busy.store(true, Ordering::Relaxed);
    let during = during.join().expect("verify thread");
    let idle = Arc::new(AtomicBool::new(false));
    let without = verify_thread(engine.clone(), keys, idle.clone());
    std::thread::sleep(wall.min(Duration::from_secs(30)));
    idle.store(true, Ordering::Relaxed);
    let without = without.join().expect("verify thread");
    rows(
        ctx,
        received.load(Ordering::Relaxed),
        wall,
        make_secs,
        &backlog,
        during,
        without,
    );
}

/// A receiver answering 204 and counting, on an ephemeral loopback port.
async fn receiver(count: Arc<AtomicU64>) -> String {
    let app = Router::new().route(
        "/hook",
        post(move || {
            let count = count.clone();
            async move {
                count.fetch_add(1, Ordering::Relaxed);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// `EVENTS` creates (one `credential.created` event each), 64 at a time.
async fn make_events(engine: &Arc<Engine>) {
    let mut set = tokio::task::JoinSet::new();
    for lane in 0..64 {
        let engine = engine.clone();
        set.spawn(async move {
            for i in (lane..EVENTS).step_by(64) {
                engine
                    .create(&Actor::system(), event_key(i))
                    .await
                    .expect("create");
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Waits until `expected` requests arrived (bounded: 10 minutes);
/// returns (seconds, backlog) samples every 250 ms.
fn watch_backlog(engine: &Arc<Engine>, received: &AtomicU64, expected: u64) -> Vec<(f64, u64)> {
    let t0 = Instant::now();
    let mut samples = Vec::new();
    while received.load(Ordering::Relaxed) < expected && t0.elapsed() < Duration::from_secs(600) {
        let (events, due) = engine.store().webhook_backlog().expect("backlog");
        samples.push((
            t0.elapsed().as_secs_f64(),
            (events * ENDPOINTS + due) as u64,
        ));
        std::thread::sleep(Duration::from_millis(250));
    }
    samples
}

fn event_key(i: usize) -> NewCredential {
    crate::api_key(format!("bench-webhooks-{}", i % 100), format!("event {i}"))
}

fn rows(
    ctx: &mut Ctx,
    received: u64,
    wall: Duration,
    make_secs: f64,
    backlog: &[(f64, u64)],
    during: f64,
    without: f64,
) {
    let per_s = received as f64 / wall.as_secs_f64();
    let peak = backlog.iter().map(|s| s.1).max().unwrap_or(0);
    let shown: Vec<String> = backlog
        .iter()
        .step_by(4.max(backlog.len() / 8))
        .map(|(t, n)| format!("{t:.0}s:{n}"))
        .collect();
    ctx.report.push(Row {
        section: SECTION,
        scenario: format!("{EVENTS} events to {ENDPOINTS} loopback endpoints ({received} deliveries)"),
        throughput: rate(per_s),
        p50: format!("{:.1} s wall", wall.as_secs_f64()),
        p99: format!("backlog peak {peak}; {}", shown.join(" ")),
        versus: format!("events made in {make_secs:.1} s"),
        goal: String::new(),
        pass: None,
        json: json!({"deliveries": received, "wall_secs": round3(wall.as_secs_f64()), "deliveries_per_s": round3(per_s), "backlog": backlog}),
    });
    let r = ratio(during, without);
    let pass = r >= 0.95;
    ctx.report.push(Row {
        section: SECTION,
        scenario: "Engine::verify, 1 thread, while the worker delivers".to_string(),
        throughput: rate(during),
        p50: String::new(),
        p99: String::new(),
        versus: format!("{r:.2}x of {} with the worker idle", rate(without)),
        goal: ">= 0.95x".to_string(),
        pass: Some(pass),
        json: json!({"during_per_s": round3(during), "idle_per_s": round3(without), "ratio": round3(r)}),
    });
    if !pass {
        ctx.report.findings.push(format!(
            "webhooks: Verify while the worker delivered ran at {r:.2}x of Verify with it idle (goal >= 0.95x)"
        ));
    }
}
