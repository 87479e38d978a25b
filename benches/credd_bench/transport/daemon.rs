//! Section 1b: the real `credd` binary on its defaults, measured from
//! outside: Verify of keys created through it, in round-robin order, against
//! its own `grpc.health.v1.Health/Check`.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use tonic::transport::Channel;

use super::pair::Pair;
use crate::daemon::{Daemon, start_daemon, write_config};
use crate::harness::load::{Op, alternate_probed, other_process_cpu_secs};
use crate::harness::report::round3;
use crate::serve::connect;
use crate::verify::{is_valid, verifier_clients};
use crate::writes::create::{admin_client, create_request};
use crate::{Ctx, SCOPES};

const SECTION: &str = "1b transport, real daemon";

/// Keys created through the real daemon for section 1b.
const DAEMON_KEYS: usize = 1_000;
/// HTTP/2 connections of section 1b, as the independent load generator used.
const DAEMON_CONNS: usize = 4;

/// Verify of `keys` in round-robin order over `channels`.
pub(crate) fn round_robin_verify_op(channels: Vec<Channel>, keys: Arc<Vec<String>>) -> Op {
    let clients = verifier_clients(channels);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move |w, _| {
        let mut client = clients[w % clients.len()].clone();
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = keys[i % keys.len()].clone();
        Box::pin(async move { is_valid(&mut client, key).await })
    })
}

/// `grpc.health.v1.Health/Check` on the same daemon: the no-op baseline.
pub(crate) fn health_op(channels: Vec<Channel>) -> Op {
    use tonic_health::pb::health_client::HealthClient;
    let clients: Vec<_> = channels.into_iter().map(HealthClient::new).collect();
    Arc::new(move |w, _| {
        let mut client = clients[w % clients.len()].clone();
        Box::pin(async move {
            client
                .check(tonic_health::pb::HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok()
        })
    })
}

/// Creates [`DAEMON_KEYS`] API keys through the daemon's admin API.
pub(crate) async fn create_keys_through(
    addr: SocketAddr,
    admin_key: &str,
    n: usize,
) -> Vec<String> {
    let channel = connect(addr, 1).await.remove(0);
    let mut admin = admin_client(channel, admin_key);
    let mut keys = Vec::with_capacity(n);
    for i in 0..n {
        let mut request = create_request("daemon", 0, i as u64);
        request.scopes = vec![SCOPES[0].to_string()];
        let response = admin
            .create_credential(request)
            .await
            .expect("create through the daemon")
            .into_inner();
        keys.push(response.secret);
    }
    keys
}

/// 1b: the real `credd` binary on its defaults, measured from outside as the
/// issue's independent load generator did: Verify of 1,000 keys in
/// round-robin order against `grpc.health.v1.Health/Check` on the same
/// daemon, over 4 HTTP/2 connections, in alternating segments.
pub(crate) fn daemon_transport(ctx: &mut Ctx) {
    eprintln!("[bench] transport against the real daemon");
    let (daemon, keys) = start_with_keys(ctx, "daemon-transport", "");
    for concurrency in [1usize, 16, 64] {
        daemon_at(ctx, &daemon, &keys, concurrency);
    }
    daemon.terminate();
}

/// The daemon on its defaults (plus the TOML `tables`) in a fresh data
/// directory `work/<name>`, and [`DAEMON_KEYS`] keys created through it.
pub(crate) fn start_with_keys(ctx: &Ctx, name: &str, tables: &str) -> (Daemon, Arc<Vec<String>>) {
    let work = ctx.work.path().join(name);
    std::fs::create_dir_all(&work).expect("daemon work dir");
    let data_dir = work.join("data");
    let config_path = work.join("credd.toml");
    write_config(
        &config_path,
        &data_dir,
        &format!("[policy]\nmax_credentials_per_account = 100000\n{tables}"),
    );
    let log = work.join("credd.log");
    let daemon = start_daemon(&work, &config_path, &log);
    let admin_key = std::fs::read_to_string(data_dir.join("admin.key"))
        .expect("admin key")
        .trim()
        .to_string();
    let keys = Arc::new(ctx.client_rt.block_on(create_keys_through(
        daemon.addr,
        &admin_key,
        DAEMON_KEYS,
    )));
    (daemon, keys)
}

/// One concurrency level of section 1b, against its goal.
fn daemon_at(ctx: &mut Ctx, daemon: &Daemon, keys: &Arc<Vec<String>>, concurrency: usize) {
    let s = &ctx.s;
    let pid = daemon.pid();
    let conns = DAEMON_CONNS.min(concurrency);
    let ((base, base_server_us), (verify, verify_server_us)) = ctx.client_rt.block_on(async {
        let health = health_op(connect(daemon.addr, conns).await);
        let verify = round_robin_verify_op(connect(daemon.addr, conns).await, keys.clone());
        alternate_probed(s, concurrency, health, verify, &|| {
            other_process_cpu_secs(pid)
        })
        .await
    });
    let pair = Pair::new((base, verify));
    ctx.report.info(
        SECTION,
        format!("credd Health/Check, c={concurrency}, {conns} conn"),
        &pair.base,
    );
    // The goals: p99 within 1.3x at every level, throughput at
    // least 0.9x at 64 streams.
    let min_thr = if concurrency == 64 { 0.9 } else { 0.0 };
    let pass = pair.passes(min_thr, 1.3);
    ctx.report.push(pair.row(
        SECTION,
        format!("credd Verify, {DAEMON_KEYS} keys round-robin, c={concurrency}, {conns} conn"),
        format!(
            "credd {:+.0} µs, client {:+.0} µs",
            verify_server_us - base_server_us,
            pair.cpu_delta_us()
        ),
        if concurrency == 64 {
            "thr >= 0.9x, p99 <= 1.3x".to_string()
        } else {
            "p99 <= 1.3x".to_string()
        },
        Some(pass),
        json!({
            "concurrency": concurrency,
            "channels": conns,
            "health": pair.base.json(),
            "verify": pair.verify.json(),
            "credd_cpu_us_per_call": { "health": round3(base_server_us), "verify": round3(verify_server_us) },
        }),
    ));
    if !pass {
        let Pair { thr, p99, .. } = pair;
        ctx.report.findings.push(format!(
            "daemon transport c={concurrency}: Verify reaches {thr:.2}x of Health/Check's throughput (goal >= {min_thr}x) with p99 {p99:.2}x (goal <= 1.3x); errors {}",
            pair.verify.errors
        ));
    }
}
