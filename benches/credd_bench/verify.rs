//! Verify load: over gRPC (random keys, one run or two targets in
//! alternating segments) and `Engine::verify` called directly.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credd::api::pb;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::engine::Engine;
use credd::lifecycle;
use tokio::runtime::Runtime;
use tonic::transport::Channel;

use crate::SCOPES;
use crate::harness::load::{
    Op, alternate, drive, pick, process_cpu_secs, segment_len, segment_warmup,
};
use crate::harness::settings::Settings;
use crate::harness::stats::{Raw, Stats};
use crate::serve::{channels_for, connect};

/// A Verify request for `secret`, requiring the first of [`SCOPES`].
fn verify_request(secret: String) -> pb::VerifyRequest {
    pb::VerifyRequest {
        secret,
        account_id: String::new(),
        required_scopes: vec![SCOPES[0].to_string()],
        ..Default::default()
    }
}

/// One Verify of `key`; true when answered VALID.
pub(crate) async fn is_valid(client: &mut CredentialVerifierClient<Channel>, key: String) -> bool {
    match client.verify(verify_request(key)).await {
        Ok(answer) => answer.into_inner().result == i32::from(pb::VerifyResult::Valid),
        Err(_) => false,
    }
}

/// A Verify client on each channel.
pub(crate) fn verifier_clients(channels: Vec<Channel>) -> Vec<CredentialVerifierClient<Channel>> {
    channels
        .into_iter()
        .map(CredentialVerifierClient::new)
        .collect()
}

/// Verify of random keys drawn from `keys`, caller `w` on channel `w`.
pub(crate) fn verify_op(channels: Vec<Channel>, keys: Arc<Vec<String>>) -> Op {
    let clients = verifier_clients(channels);
    Arc::new(move |w, n| {
        let mut client = clients[w % clients.len()].clone();
        let key = keys[pick(w, n, keys.len())].clone();
        Box::pin(async move { is_valid(&mut client, key).await })
    })
}

/// Verify over gRPC at `concurrency` against `addr`, in one run.
pub(crate) fn grpc_verify(
    rt: &Runtime,
    s: &Settings,
    addr: SocketAddr,
    concurrency: usize,
    keys: &Arc<Vec<String>>,
) -> Stats {
    rt.block_on(async {
        let channels = connect(addr, channels_for(concurrency)).await;
        drive(
            concurrency,
            s.warm(),
            s.measure(),
            verify_op(channels, keys.clone()),
        )
        .await
        .stats()
    })
}

/// Verify over gRPC at `concurrency` against `a` and `b` in alternating
/// segments (so drifting load on the shared machine hits both alike).
pub(crate) fn compare_grpc_verify(
    rt: &Runtime,
    s: &Settings,
    concurrency: usize,
    a: (SocketAddr, &Arc<Vec<String>>),
    b: (SocketAddr, &Arc<Vec<String>>),
) -> (Stats, Stats) {
    rt.block_on(async {
        let n = channels_for(concurrency);
        let op_a = verify_op(connect(a.0, n).await, a.1.clone());
        let op_b = verify_op(connect(b.0, n).await, b.1.clone());
        alternate(s, concurrency, op_a, op_b).await
    })
}

/// `Engine::verify` called in a loop on this thread: the store's cost alone.
fn direct_verify(engine: &Engine, keys: &[String], warmup: Duration, measure: Duration) -> Raw {
    let scopes = vec![SCOPES[0].to_string()];
    let cpu_before = process_cpu_secs();
    let warm_end = Instant::now() + warmup;
    let mut n = 0u64;
    while Instant::now() < warm_end {
        let _ = engine.verify(&keys[pick(0, n, keys.len())], None, &scopes);
        n += 1;
    }
    let start = Instant::now();
    let end = start + measure;
    let mut raw = Raw {
        lat_ns: Vec::with_capacity(1 << 20),
        ..Raw::default()
    };
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let ok = matches!(
            engine.verify(&keys[pick(0, n, keys.len())], None, &scopes),
            Ok(v) if matches!(v.outcome, lifecycle::VerifyOutcome::Valid { .. })
        );
        n += 1;
        raw.lat_ns.push(t0.elapsed().as_nanos() as u64);
        raw.errors += u64::from(!ok);
    }
    raw.secs = start.elapsed().as_secs_f64();
    raw.all_ops = n;
    raw.cpu_secs = process_cpu_secs() - cpu_before;
    raw
}

/// [`direct_verify`] on two engines in alternating segments.
pub(crate) fn compare_direct_verify(
    s: &Settings,
    a: (&Engine, &[String]),
    b: (&Engine, &[String]),
) -> (Stats, Stats) {
    // Every sampled key verified once first, on both engines: the keys in
    // use are then in the verify cache, as a service's keys in use are. The
    // cold pass is measured on its own against the daemon (section 5).
    let scopes = vec![SCOPES[0].to_string()];
    for (engine, keys) in [a, b] {
        for key in keys {
            let _ = engine.verify(key, None, &scopes);
        }
    }
    let (mut raw_a, mut raw_b) = (Raw::default(), Raw::default());
    for i in 0..s.segments {
        let warm = segment_warmup(s, i);
        raw_a.add(direct_verify(a.0, a.1, warm, segment_len(s)));
        raw_b.add(direct_verify(b.0, b.1, warm, segment_len(s)));
    }
    (raw_a.stats(), raw_b.stats())
}
