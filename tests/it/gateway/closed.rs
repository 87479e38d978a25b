//! Fail closed: with credd down (nothing listens where the proxies ask it),
//! Envoy answers the example's `status_on_error` (503) and nginx a 500, and
//! no request reaches the upstream. The unauthenticated `/healthz` route
//! shows the upstream itself was reachable all along.

use std::net::SocketAddr;

use super::harness::client::Request;
use super::harness::envoy::Envoy;
use super::harness::nginx::Nginx;
use super::harness::upstream::Upstream;
use super::harness::{free_port, tools};

/// The key presented: well-formed, so only credd's absence refuses it.
const KEY: &str = "credd_live_api_000000000000000000000000AAAAAA";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_with_credd_down_refuses_and_never_reaches_the_upstream() {
    let Some(bin) = tools::envoy() else { return };
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(&bin, free_port(), upstream.port()).await;
    assert_closed(envoy.addr(), 503, &upstream, &|| envoy.log()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_with_credd_down_answers_500_and_never_reaches_the_upstream() {
    let Some(bin) = tools::nginx() else { return };
    let upstream = Upstream::start().await;
    let nginx = Nginx::start(&bin, free_port(), upstream.port()).await;
    assert_closed(nginx.addr(), 500, &upstream, &|| nginx.error_log()).await;
}

/// Every protected route answers `status` and reaches nothing; `/healthz`
/// (no check) reaches the upstream. `log` is the proxy's, for failures.
async fn assert_closed(
    proxy: SocketAddr,
    status: u16,
    upstream: &Upstream,
    log: &dyn Fn() -> String,
) {
    for path in ["/orders/1", "/admin", "/anything"] {
        let answer = Request::get(path).bearer(KEY).send(proxy).await;
        assert_eq!(
            answer.status,
            status,
            "{path}: {}\n{}",
            answer.text(),
            log()
        );
    }
    let reached = upstream.requests();
    assert!(
        reached.is_empty(),
        "a request reached the upstream: {reached:?}"
    );

    let health = Request::get("/healthz").send(proxy).await;
    assert_eq!(health.status, 200, "{}\n{}", health.text(), log());
    assert_eq!(upstream.count(), 1);
}
