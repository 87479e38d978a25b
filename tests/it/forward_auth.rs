//! `/v1/check`, the HTTP forward-auth endpoint, called directly on the real
//! daemon as Traefik or Caddy call it: any method, the route's scopes from
//! the `scopes` query parameter and the scopes header, nginx mode (a rate
//! limit as 403 with `x-credd-code`), `/healthz` and a JSON 404, and the
//! decisions counted in the metrics by outcome code.

use crate::gateway::fixture::Fixture;
use crate::gateway::harness::client::{Request, Response};
use crate::gateway::harness::free_port;
use crate::support;

fn code(r: &Response) -> String {
    r.json()["code"].as_str().unwrap_or("").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_endpoint() {
    let metrics = free_port();
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        &format!("[http]\nlisten = \"127.0.0.1:0\"\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n"),
    );
    let f = Fixture::create(&daemon).await;
    let http = daemon.http_addr.expect("http listener");

    // Any method; the x-credd-* headers for the proxy to copy.
    for method in ["GET", "POST", "DELETE"] {
        let r = Request::new(method, "/v1/check")
            .bearer(&f.key)
            .header("x-forwarded-method", "PATCH")
            .header("x-forwarded-uri", "/orders/1")
            .send(http)
            .await;
        assert_eq!(r.status, 200, "{method}: {}", r.text());
        assert_eq!(r.header("x-credd-account").as_deref(), Some("acme"));
        assert_eq!(code(&r), "OK");
    }

    // Scopes from the query and from the header: all are required.
    let ok = Request::get("/v1/check?scopes=orders:read").bearer(&f.key);
    assert_eq!(ok.send(http).await.status, 200);
    let r = Request::get("/v1/check?scopes=orders:read")
        .bearer(&f.key)
        .header("x-credd-required-scopes", "admin:write")
        .send(http)
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (403, "INSUFFICIENT_SCOPE".to_string())
    );
    let r = Request::get("/v1/check?scopes=bad%20scope!")
        .bearer(&f.key)
        .send(http)
        .await;
    assert_eq!(r.status, 403, "a space separates two scopes: {}", r.text());
    let r = Request::get("/v1/check?scopes=b%C3%A4d")
        .bearer(&f.key)
        .send(http)
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (500, "GATEWAY_MISCONFIGURED".to_string())
    );

    // A rate limit: 429 for Traefik and Caddy, 403 + x-credd-code for nginx.
    let limited = || Request::get("/v1/check").header("x-api-key", &f.limited_key);
    assert_eq!(limited().send(http).await.status, 200);
    let r = limited().send(http).await;
    assert_eq!((r.status, code(&r)), (429, "RATE_LIMITED".to_string()));
    assert!(r.header("retry-after").is_some());
    let r = limited()
        .header("x-original-uri", "/orders")
        .send(http)
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header("x-credd-code").as_deref(), Some("RATE_LIMITED"));
    assert!(r.header("retry-after").is_some());
    let r = Request::get("/v1/check?proxy=nginx")
        .header("x-api-key", &f.limited_key)
        .send(http)
        .await;
    assert_eq!(r.status, 403);

    // The listener's other answers are JSON too.
    let r = Request::get("/healthz").send(http).await;
    assert_eq!(
        (r.status, r.json()["status"].as_str()),
        (200, Some("serving"))
    );
    let r = Request::get("/nope").send(http).await;
    assert_eq!((r.status, code(&r)), (404, "NOT_FOUND".to_string()));

    let scrape = Request::get("/metrics")
        .send(([127, 0, 0, 1], metrics).into())
        .await;
    let body = scrape.text();
    assert!(
        body.contains("credd_gateway_checks_total{transport=\"http\",code=\"OK\"} 5"),
        "{body}"
    );
    assert!(
        body.contains("credd_gateway_checks_total{transport=\"http\",code=\"RATE_LIMITED\"} 3"),
        "{body}"
    );
    assert!(body.contains("credd_gateway_check_duration_seconds_bucket{transport=\"http\""));
    for secret in &f.secrets {
        assert!(!body.contains(secret.as_str()));
    }
}
