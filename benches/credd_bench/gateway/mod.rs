//! Section 6: the gateways, against the real `credd` binary with its HTTP
//! listener on. 6a: ext_authz `Check` of 1,000 keys (in `x-api-key`,
//! round-robin) against the daemon's own `grpc.health.v1.Health/Check`,
//! over 4 HTTP/2 connections. 6b: `/v1/check` against `/healthz` on the
//! same HTTP listener, one HTTP/1.1 keep-alive connection per caller.
//! 6c (`envoy`): requests through Envoy with the ext_authz filter against
//! Envoy without it, to the same upstream (when Envoy is installed).
//! Goals: 6a and 6b at least 0.9x of the baseline's throughput at 64
//! callers; 6c is reported, not judged (Envoy's own hop dominates). 6a's
//! and 6b's diagnostics (`noop`) measure no-op servers in this process
//! that give credd's answers, against their baselines.

mod codec;
mod envoy;
mod http;
mod noop;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ::http::uri::PathAndQuery;
use bytes::Bytes;
use credd::api::envoy::service::auth::v3::attribute_context::{HttpRequest, Request};
use credd::api::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use prost::Message;
use serde_json::json;
use tonic::transport::Channel;

use crate::Ctx;
use crate::harness::load::{Op, alternate_probed, other_process_cpu_secs};
use crate::harness::report::round3;
use crate::harness::stats::Stats;
use crate::serve::connect;
use crate::transport::daemon::{health_op, start_with_keys};

const SECTION: &str = "6 gateways";

/// HTTP/2 connections of 6a, as in section 1b.
const CONNS: usize = 4;

/// Callers of every gateway measurement.
const CONCURRENCY: usize = 64;

/// A `CheckRequest` as Envoy sends it for `GET /orders` with `key` in
/// `x-api-key`.
fn check_request(key: &str) -> CheckRequest {
    let headers = HashMap::from([
        (":method".to_string(), "GET".to_string()),
        (":path".to_string(), "/orders".to_string()),
        (":authority".to_string(), "api.example".to_string()),
        ("x-api-key".to_string(), key.to_string()),
        ("user-agent".to_string(), "credd-bench".to_string()),
    ]);
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Request {
                http: Some(HttpRequest {
                    method: "GET".to_string(),
                    path: "/orders".to_string(),
                    headers,
                    ..HttpRequest::default()
                }),
            }),
            ..AttributeContext::default()
        }),
    }
}

/// ext_authz `Check` of `keys` in round-robin order; true when allowed.
/// Like a load generator (and unlike Envoy, whose work is on other cores
/// in production), the bench encodes each key's request once and reads
/// only the answer's status, so the closed loop measures credd, not the
/// client building a map of headers per call.
fn check_op(channels: Vec<Channel>, keys: &[String]) -> Op {
    let requests: Arc<Vec<Bytes>> = Arc::new(
        keys.iter()
            .map(|k| Bytes::from(check_request(k).encode_to_vec()))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    Arc::new(move |w, _| {
        let mut grpc = tonic::client::Grpc::new(channels[w % channels.len()].clone());
        let i = next.fetch_add(1, Ordering::Relaxed);
        let request = requests[i % requests.len()].clone();
        Box::pin(async move {
            if grpc.ready().await.is_err() {
                return false;
            }
            let path = PathAndQuery::from_static("/envoy.service.auth.v3.Authorization/Check");
            let answer = grpc
                .unary(tonic::Request::new(request), path, codec::PreEncoded)
                .await;
            answer.is_ok_and(|r| r.into_inner().allowed())
        })
    })
}

/// Section 6.
pub(crate) fn gateways(ctx: &mut Ctx) {
    eprintln!("[bench] gateways: ext_authz Check and /v1/check against the real daemon");
    let http_port = free_port();
    let tables = format!("[http]\nlisten = \"127.0.0.1:{http_port}\"\n");
    let (daemon, keys) = start_with_keys(ctx, "gateways", &tables);
    let pid = daemon.pid();
    let (base, check) = ctx.client_rt.block_on(async {
        let s = &ctx.s;
        let health = health_op(connect(daemon.addr, CONNS).await);
        let check = check_op(connect(daemon.addr, CONNS).await, &keys);
        alternate_probed(s, CONCURRENCY, health, check, &|| {
            other_process_cpu_secs(pid)
        })
        .await
    });
    judged(
        ctx,
        "ext_authz Check, 1000 keys round-robin, c=64, 4 conn",
        "credd Health/Check, c=64, 4 conn",
        base,
        check,
    );
    noop::noop_check(ctx, daemon.addr, &keys);
    let addr = format!("127.0.0.1:{http_port}").parse().expect("http addr");
    let (base, check) = ctx
        .client_rt
        .block_on(http::measure(&ctx.s, addr, keys.clone(), pid));
    judged(
        ctx,
        "/v1/check, 1000 keys round-robin, c=64, 64 HTTP/1.1 conn",
        "/healthz on the same listener, c=64",
        base,
        check,
    );
    noop::noop_http(ctx, addr, &keys);
    envoy::through_envoy(ctx, daemon.addr, &keys);
    daemon.terminate();
}

/// A measured pair judged against the goal: at least 0.9x of the
/// baseline's throughput.
fn judged(
    ctx: &mut Ctx,
    scenario: &str,
    baseline: &str,
    (base, base_us): (Stats, f64),
    (check, check_us): (Stats, f64),
) {
    let thr = crate::harness::report::ratio(check.throughput, base.throughput);
    let p99 = crate::harness::report::ratio(check.p99_us, base.p99_us);
    let pass = thr >= 0.9 && check.errors == 0;
    ctx.report.info(SECTION, baseline.to_string(), &base);
    ctx.report.push(crate::harness::report::Row::of(
        SECTION,
        scenario.to_string(),
        &check,
        format!(
            "thr {thr:.2}x, p99 {p99:.2}x, cpu/call credd {:+.0} µs, client {:+.0} µs",
            check_us - base_us,
            check.cpu_us_per_op - base.cpu_us_per_op
        ),
        "thr >= 0.9x".to_string(),
        Some(pass),
        json!({
            "baseline": base.json(),
            "check": check.json(),
            "throughput_ratio": round3(thr),
            "p99_ratio": round3(p99),
            "credd_cpu_us_per_call": { "baseline": round3(base_us), "check": round3(check_us) },
        }),
    ));
    if !pass {
        ctx.report.findings.push(format!(
            "{scenario}: {thr:.2}x of {baseline}'s throughput (goal >= 0.9x); errors {}",
            check.errors
        ));
    }
}

/// A loopback port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}
