//! 6a's diagnostic: the ceiling any ext_authz server reaches on this
//! machine. A no-op `Check` that answers every request with credd's own
//! allow answer (captured from the daemon for one key: the same headers,
//! the same bytes) against `grpc.health.v1.Health/Check`, both served by
//! one tonic server in this process, with 6a's load and connections. What
//! separates the no-op from Health/Check is the messages alone (Envoy's
//! `CheckRequest` with its header map in, the answer's headers out); what
//! separates credd's `Check` from the no-op is credd's decision.
//!
//! 6b's diagnostic does the same over HTTP: an axum server in this process
//! answers `/healthz` and `/v1/check` with the daemon's own answers
//! (captured: status, headers, body), measured as 6b measures the daemon.

use std::net::SocketAddr;
use std::sync::Arc;

use ::http::response::Parts;
use axum::routing::get;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;

use credd::api::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use credd::api::envoy::service::auth::v3::authorization_server::{
    Authorization, AuthorizationServer,
};
use credd::api::envoy::service::auth::v3::{CheckRequest, CheckResponse};
use serde_json::json;
use tonic::{Request, Response, Status};

use super::{CONCURRENCY, CONNS, SECTION, check_op, check_request, http};
use crate::Ctx;
use crate::harness::load::alternate;
use crate::harness::report::{Row, ratio, round3};
use crate::harness::stats::Stats;
use crate::serve::{connect, serve};
use crate::transport::daemon::health_op;

/// Answers every `Check` with one fixed response.
struct NoopCheck(CheckResponse);

#[tonic::async_trait]
impl Authorization for NoopCheck {
    async fn check(
        &self,
        _request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        Ok(Response::new(self.0.clone()))
    }
}

/// The daemon's answer to a `Check` of `key`.
async fn captured_answer(daemon: SocketAddr, key: &str) -> CheckResponse {
    let channel = connect(daemon, 1).await.remove(0);
    AuthorizationClient::new(channel)
        .check(check_request(key))
        .await
        .expect("Check through the daemon")
        .into_inner()
}

/// The diagnostic row: the no-op `Check` against Health/Check in this
/// process, at [`CONCURRENCY`] over [`CONNS`] connections.
pub(super) fn noop_check(ctx: &mut Ctx, daemon: SocketAddr, keys: &[String]) {
    let answer = ctx.client_rt.block_on(captured_answer(daemon, &keys[0]));
    let (_, health) = tonic_health::server::health_reporter();
    let router = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(AuthorizationServer::new(NoopCheck(answer)));
    let served = serve(&ctx.server_rt, router);
    let (base, noop) = ctx.client_rt.block_on(async {
        let health = health_op(connect(served.addr, CONNS).await);
        let check = check_op(connect(served.addr, CONNS).await, keys);
        alternate(&ctx.s, CONCURRENCY, health, check).await
    });
    served.shutdown(&ctx.server_rt);
    diagnostic_rows(
        ctx,
        format!("diagnostic: Health/Check served in this process, c={CONCURRENCY}, {CONNS} conn"),
        format!(
            "diagnostic: no-op Check (credd's allow answer, fixed), same server, c={CONCURRENCY}"
        ),
        (base, noop),
    );
}

/// A daemon's answer to `GET path` (with `key` in `x-api-key`).
async fn captured_http(addr: SocketAddr, path: &str, key: Option<&str>) -> (Parts, Bytes) {
    let conn = http::open(addr).await;
    let mut request = hyper::Request::get(path).header("host", "credd");
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let request = request.body(Empty::<Bytes>::new()).expect("request");
    let response = conn
        .lock()
        .await
        .send_request(request)
        .await
        .expect("the daemon answers");
    let (parts, body) = response.into_parts();
    let body = body.collect().await.expect("its body").to_bytes();
    (parts, body)
}

/// A handler answering with a copy of `answer` every time.
fn fixed((parts, body): (Parts, Bytes)) -> axum::routing::MethodRouter {
    let parts = Arc::new(parts);
    get(move || {
        let (parts, body) = (parts.clone(), body.clone());
        async move {
            let mut response = axum::response::Response::new(axum::body::Body::from(body));
            *response.status_mut() = parts.status;
            *response.headers_mut() = parts.headers.clone();
            response
        }
    })
}

/// 6b's diagnostic: the daemon's `/healthz` and `/v1/check` answers served
/// by a no-op axum server in this process, measured as 6b measures.
pub(super) fn noop_http(ctx: &mut Ctx, daemon_http: SocketAddr, keys: &Arc<Vec<String>>) {
    let (health, check) = ctx.client_rt.block_on(async {
        (
            captured_http(daemon_http, "/healthz", None).await,
            captured_http(daemon_http, "/v1/check", Some(&keys[0])).await,
        )
    });
    let app = axum::Router::new()
        .route("/healthz", fixed(health))
        .route("/v1/check", fixed(check));
    let listener = ctx
        .server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let server = ctx
        .server_rt
        .spawn(async move { axum::serve(listener, app).await });
    let ((base, _), (noop, _)) = ctx.client_rt.block_on(http::measure(
        &ctx.s,
        addr,
        keys.clone(),
        std::process::id(),
    ));
    server.abort();
    diagnostic_rows(
        ctx,
        format!(
            "diagnostic: /healthz's answer from a no-op axum server in this process, c={CONCURRENCY}"
        ),
        format!("diagnostic: /v1/check's answer from the same no-op server, c={CONCURRENCY}"),
        (base, noop),
    );
}

/// A diagnostic pair's rows: the baseline, then the no-op with its ratios.
fn diagnostic_rows(
    ctx: &mut Ctx,
    baseline: String,
    scenario: String,
    (base, noop): (Stats, Stats),
) {
    let thr = ratio(noop.throughput, base.throughput);
    let p99 = ratio(noop.p99_us, base.p99_us);
    ctx.report.info(SECTION, baseline, &base);
    ctx.report.push(Row::of(
        SECTION,
        scenario,
        &noop,
        format!(
            "thr {thr:.2}x, p99 {p99:.2}x, cpu/call {:+.0} µs",
            noop.cpu_us_per_op - base.cpu_us_per_op
        ),
        String::new(),
        None,
        json!({
            "baseline": base.json(),
            "noop": noop.json(),
            "throughput_ratio": round3(thr),
            "p99_ratio": round3(p99),
        }),
    ));
}
