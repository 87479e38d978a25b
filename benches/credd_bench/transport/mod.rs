//! Section 1, the transport ceiling: a no-op `CredentialVerifier` (credd's
//! own generated server trait, a fixed VALID answer) against the real
//! `VerifierService` on the small store, both served in this process.
//! Section 1b, against the real daemon, is in [`daemon`].
//!
//! A diagnostic pair at 16 and 64 streams serves the no-op twice, once
//! spinning for as long as `Engine::verify` takes per call (measured here):
//! a handler that costs Verify's CPU and blocks on nothing. Its ratios to
//! the plain no-op tell how much of Verify's tail and throughput ratios the
//! CPU per call alone explains on a machine whose cores the load generator
//! shares.

pub(crate) mod daemon;
mod pair;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use credd::api::pb;
use credd::engine::validate;
use serde_json::json;
use tonic::transport::server::Router;
use tonic::{Request, Response};

use self::pair::Pair;
use crate::harness::load::pick;
use crate::harness::report::round3;
use crate::serve::{channels_for, serve, serve_with, verifier_router};
use crate::small::SmallStore;
use crate::verify::compare_grpc_verify;
use crate::{Ctx, SCOPES};

const SECTION: &str = "1 transport ceiling";

/// The transport ceiling: credd's own Verify message types and codec, and a
/// fixed VALID answer (the size of a real one) without any lookup; with a
/// `spin`, it first keeps its thread busy that long.
#[derive(Debug, Clone)]
struct NoopVerifier {
    response: pb::VerifyResponse,
    spin: Duration,
}

#[tonic::async_trait]
impl pb::credential_verifier_server::CredentialVerifier for NoopVerifier {
    async fn verify(
        &self,
        _request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, tonic::Status> {
        let started = Instant::now();
        while started.elapsed() < self.spin {
            std::hint::spin_loop();
        }
        Ok(Response::new(self.response.clone()))
    }

    async fn verify_http_authorization(
        &self,
        _request: Request<pb::VerifyHttpAuthorizationRequest>,
    ) -> Result<Response<pb::VerifyHttpAuthorizationResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the bench's no-op serves Verify only",
        ))
    }

    async fn verify_partner_pair(
        &self,
        _request: Request<pb::VerifyPartnerPairRequest>,
    ) -> Result<Response<pb::VerifyPartnerPairResponse>, tonic::Status> {
        Err(tonic::Status::unimplemented(
            "the bench's no-op serves Verify only",
        ))
    }
}

fn noop_response() -> pb::VerifyResponse {
    pb::VerifyResponse {
        result: pb::VerifyResult::Valid.into(),
        credential_id: validate::new_credential_id(),
        account_id: "acct-0000042".to_string(),
        kind: pb::Kind::ApiKey.into(),
        environment: pb::Environment::Live.into(),
        scopes: SCOPES.iter().map(|s| (*s).to_string()).collect(),
        expires_at: Some(prost_types::Timestamp {
            seconds: 1_900_000_000,
            nanos: 0,
        }),
        ..Default::default()
    }
}

/// The no-op service (spinning `spin` per call), as a router to serve.
fn noop_router(spin: Duration) -> Router {
    tonic::transport::Server::builder().add_service(
        pb::credential_verifier_server::CredentialVerifierServer::new(NoopVerifier {
            response: noop_response(),
            spin,
        }),
    )
}

/// 1: the no-op service vs Verify on the small store at 1, 16 and 64.
pub(crate) fn transport(ctx: &mut Ctx, small: &SmallStore) {
    eprintln!("[bench] transport ceiling");
    let noop = serve(&ctx.server_rt, noop_router(Duration::ZERO));
    for concurrency in [1usize, 16, 64] {
        let pair = measure(ctx, small, (noop.addr, small.server.addr), concurrency);
        push_rows(ctx, small, &pair, concurrency, true);
    }
    noop.shutdown(&ctx.server_rt);

    // Diagnostic: the same pair at c=64 without TCP_NODELAY on accepted sockets.
    let noop = serve_with(&ctx.server_rt, noop_router(Duration::ZERO), false);
    let real = serve_with(&ctx.server_rt, verifier_router(&small.opened.engine), false);
    let pair = measure(ctx, small, (noop.addr, real.addr), 64);
    noop.shutdown(&ctx.server_rt);
    real.shutdown(&ctx.server_rt);
    push_rows(ctx, small, &pair, 64, false);
    spinning_noop(ctx, small);
}

/// `Engine::verify`'s time per call on the small store, on this thread.
fn verify_cost(small: &SmallStore) -> Duration {
    const CALLS: u32 = 200_000;
    let engine = &small.opened.engine;
    let scopes = vec![SCOPES[0].to_string()];
    let started = Instant::now();
    for i in 0..CALLS {
        let key = &small.keys[pick(0, u64::from(i), small.keys.len())];
        let _ = engine.verify(key, None, &scopes);
    }
    started.elapsed() / CALLS
}

/// The diagnostic: the no-op against the no-op spinning Verify's cost.
fn spinning_noop(ctx: &mut Ctx, small: &SmallStore) {
    let spin = verify_cost(small);
    let noop = serve(&ctx.server_rt, noop_router(Duration::ZERO));
    let spinning = serve(&ctx.server_rt, noop_router(spin));
    for concurrency in [16usize, 64] {
        let pair = measure(ctx, small, (noop.addr, spinning.addr), concurrency);
        let conns = channels_for(concurrency);
        ctx.report.info(
            SECTION,
            format!("diagnostic: no-op, c={concurrency}, {conns} conn"),
            &pair.base,
        );
        let spin_us = spin.as_secs_f64() * 1e6;
        ctx.report.push(pair.row(
            SECTION,
            format!(
                "diagnostic: no-op spinning {spin_us:.1} µs a call (Engine::verify's own time), c={concurrency}"
            ),
            format!("{:+.0} µs", pair.cpu_delta_us()),
            String::new(),
            None,
            json!({ "concurrency": concurrency, "spin_us": round3(spin_us), "noop": pair.base.json(), "spinning": pair.verify.json() }),
        ));
    }
    noop.shutdown(&ctx.server_rt);
    spinning.shutdown(&ctx.server_rt);
}

/// The no-op at `noop` vs Verify at `real`, both over the small store's
/// keys, at `concurrency` in alternating segments.
fn measure(
    ctx: &Ctx,
    small: &SmallStore,
    (noop, real): (SocketAddr, SocketAddr),
    concurrency: usize,
) -> Pair {
    Pair::new(compare_grpc_verify(
        &ctx.client_rt,
        &ctx.s,
        concurrency,
        (noop, &small.keys),
        (real, &small.keys),
    ))
}

/// Section 1's rows of `pair`: the no-op as the baseline, then Verify,
/// against the goal when the servers set TCP_NODELAY (as the daemon does),
/// else as a diagnostic.
fn push_rows(ctx: &mut Ctx, small: &SmallStore, pair: &Pair, concurrency: usize, nodelay: bool) {
    let conns = channels_for(concurrency);
    let label = &small.label;
    let (base_scenario, scenario, setting) = if nodelay {
        (
            format!("no-op RPC (fixed VALID), c={concurrency}, {conns} conn"),
            format!("Verify, {label} creds, c={concurrency}, {conns} conn"),
            ("channels", json!(conns)),
        )
    } else {
        (
            format!("diagnostic: no-op, c={concurrency}, server without TCP_NODELAY (daemon: on)"),
            format!(
                "diagnostic: Verify, {label} creds, c={concurrency}, server without TCP_NODELAY"
            ),
            ("server_tcp_nodelay", json!(false)),
        )
    };
    ctx.report.info(SECTION, base_scenario, &pair.base);
    let pass = nodelay.then(|| pair.passes(0.8, 1.5));
    let mut fields = json!({ "concurrency": concurrency });
    fields[setting.0] = setting.1;
    fields["noop"] = pair.base.json();
    fields["verify"] = pair.verify.json();
    let goal = if nodelay {
        "thr >= 0.8x, p99 <= 1.5x"
    } else {
        ""
    };
    ctx.report.push(pair.row(
        SECTION,
        scenario,
        format!("{:+.0} µs", pair.cpu_delta_us()),
        goal.to_string(),
        pass,
        fields,
    ));
    if pass == Some(false) {
        let Pair { thr, p99, .. } = *pair;
        ctx.report.findings.push(format!(
            "transport c={concurrency}: Verify reaches {thr:.2}x of the no-op throughput (goal >= 0.8x) with p99 {p99:.2}x of the no-op's (goal <= 1.5x); errors {}",
            pair.verify.errors
        ));
    }
}
