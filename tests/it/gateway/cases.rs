//! The cases every proxy must pass in front of a real daemon, end to end:
//! a good key reaches the upstream with `x-credd-account` and without the
//! credential; a bad key is a 401 JSON; spoofed `x-credd-*` headers never
//! reach the upstream; a route's scope is enforced; a rate limit is a 429
//! with `Retry-After`; a key revoked through the admin API is refused on
//! the very next request; product-level Basic acts for `X-Client-Id`; a key
//! in its rotation window gets `Sunset`; malformed credentials are each a
//! clear 401; and with credd killed the proxy refuses.

use std::net::SocketAddr;

use super::fixture::Fixture;
use super::harness::client::{Request, Response};
use super::harness::upstream::Upstream;
use crate::http_auth::{LAGERMAN, MYPRODUCT, basic};
use crate::support::Daemon;

/// A proxy in front of the daemon and the echo upstream.
pub struct Proxied<'a> {
    pub proxy: SocketAddr,
    pub upstream: &'a Upstream,
    pub fixture: &'a Fixture,
    /// The proxy's log, for failure messages.
    pub log: &'a dyn Fn() -> String,
    /// The status the proxy itself answers two Authorization headers with,
    /// before asking credd (nginx: 400); None: it asks credd (401).
    pub own_duplicate_status: Option<u16>,
}

impl Proxied<'_> {
    async fn send(&self, request: Request) -> Response {
        let response = request.send(self.proxy).await;
        let text = response.text();
        for secret in &self.fixture.secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a response body carries a key"
            );
        }
        response
    }

    /// Sends `request`, which must be allowed; returns what the upstream saw.
    async fn allowed(&self, request: Request) -> (Response, super::harness::upstream::Seen) {
        let before = self.upstream.count();
        let response = self.send(request).await;
        assert_eq!(
            response.status,
            200,
            "{}\n{}",
            response.text(),
            (self.log)()
        );
        assert_eq!(self.upstream.count(), before + 1, "the upstream got it");
        let seen = self.upstream.last().expect("seen");
        (response, seen)
    }

    /// Sends `request`, which must be refused with `status` and `code`, and
    /// must not reach the upstream.
    async fn refused(&self, request: Request, status: u16, code: &str) -> Response {
        let before = self.upstream.count();
        let response = self.send(request).await;
        assert_eq!(
            response.status,
            status,
            "{}\n{}",
            response.text(),
            (self.log)()
        );
        assert_eq!(
            self.upstream.count(),
            before,
            "a refused request reached the upstream"
        );
        assert_eq!(
            response.header("content-type").as_deref(),
            Some("application/json"),
            "{response:?}"
        );
        let body = response.json();
        assert_eq!(body["code"], code, "{body}");
        assert!(!body["message"].as_str().unwrap_or("").is_empty(), "{body}");
        response
    }
}

/// Every case but the kill, in one run against one daemon.
pub async fn every_case(p: &Proxied<'_>, daemon: &Daemon) {
    let f = p.fixture;
    // A good key: the upstream learns the account, never the credential.
    let (_, seen) = p.allowed(Request::get("/orders/1").bearer(&f.key)).await;
    assert_eq!(seen.header("x-credd-account").as_deref(), Some("acme"));
    assert_eq!(seen.header("x-credd-kind").as_deref(), Some("api_key"));
    assert!(!seen.headers.has("authorization"), "{seen:?}");
    let (_, seen) = p
        .allowed(Request::get("/anything").header("x-api-key", &f.key))
        .await;
    assert!(!seen.headers.has("x-api-key"), "{seen:?}");

    // Spoofed credd headers never reach the upstream.
    let spoofed = Request::get("/orders/2")
        .bearer(&f.key)
        .header("x-credd-account", "victim")
        .header("x-credd-acting-for", "victim");
    let (_, seen) = p.allowed(spoofed).await;
    assert_eq!(
        seen.headers.all("x-credd-account"),
        vec![b"acme".as_slice()]
    );
    assert!(!seen.headers.has("x-credd-acting-for"), "{seen:?}");

    // Unknown key and missing key: 401 JSON with a challenge.
    let r = p
        .refused(
            Request::get("/orders/1").bearer("credd_live_api_0000000000"),
            401,
            "INVALID_CREDENTIALS",
        )
        .await;
    assert!(r.header("www-authenticate").is_some(), "{r:?}");
    p.refused(Request::get("/orders/1"), 401, "MISSING_CREDENTIALS")
        .await;

    // The route's scope (admin:write) is not the key's: 403.
    p.refused(
        Request::get("/admin").bearer(&f.key),
        403,
        "INSUFFICIENT_SCOPE",
    )
    .await;

    // Product level: MYPRODUCT's key acting for LAGERMAN.
    let product = Request::get("/orders/3")
        .header("authorization", basic(MYPRODUCT, &f.product_key))
        .header("x-product-id", MYPRODUCT)
        .header("x-client-id", LAGERMAN);
    let (_, seen) = p.allowed(product).await;
    assert_eq!(seen.header("x-credd-acting-for").as_deref(), Some(LAGERMAN));
    assert_eq!(seen.header("x-credd-partner").as_deref(), Some(MYPRODUCT));

    // The older secret of a rotation: the client learns its sunset.
    let (r, _) = p
        .allowed(Request::get("/orders/4").bearer(&f.rotating_old))
        .await;
    assert!(
        r.header("sunset").is_some_and(|s| s.ends_with("GMT")),
        "{r:?}"
    );
    assert!(r.header("deprecation").is_some(), "{r:?}");

    // Rate limit (one per second): the second at once is a 429.
    p.allowed(Request::get("/x").header("x-api-key", &f.limited_key))
        .await;
    let r = p
        .refused(
            Request::get("/x").header("x-api-key", &f.limited_key),
            429,
            "RATE_LIMITED",
        )
        .await;
    assert!(r.header("retry-after").is_some(), "{r:?}");

    // Revoked through the admin API: refused on the very next request.
    p.allowed(Request::get("/y").bearer(&f.doomed_key)).await;
    f.revoke_doomed(daemon).await;
    p.refused(
        Request::get("/y").bearer(&f.doomed_key),
        401,
        "INVALID_CREDENTIALS",
    )
    .await;

    bad_input(p).await;
    // The daemon is unaffected.
    p.allowed(Request::get("/z").bearer(&f.key)).await;
}

/// Kills credd with SIGKILL; the proxy then answers `status` to a good
/// key, and nothing reaches the upstream.
pub async fn killed(p: &Proxied<'_>, daemon: &mut Daemon, status: u16) {
    daemon.kill9();
    let before = p.upstream.count();
    let r = Request::get("/orders/1")
        .bearer(&p.fixture.key)
        .send(p.proxy)
        .await;
    assert_eq!(r.status, status, "{}\n{}", r.text(), (p.log)());
    assert_eq!(p.upstream.count(), before, "nothing reaches the upstream");
}

/// Each malformed credential is a 401 with a clear message, never a 500.
async fn bad_input(p: &Proxied<'_>) {
    let f = p.fixture;
    let no_colon = format!("Basic {}", base64_of("LAGERMAN"));
    let two = Request::get("/b").bearer(&f.key).bearer(&f.key);
    if let Some(status) = p.own_duplicate_status {
        let before = p.upstream.count();
        assert_eq!(p.send(two.clone()).await.status, status);
        assert_eq!(p.upstream.count(), before);
    }
    let mut cases: Vec<(&str, Request)> = vec![
        (
            "Basic without a colon",
            Request::get("/b").header("authorization", &no_colon),
        ),
        (
            "bad base64",
            Request::get("/b").header("authorization", "Basic !!!*"),
        ),
        (
            "an empty bearer",
            Request::get("/b").header("authorization", "Bearer "),
        ),
        (
            "a 64 KiB header",
            Request::get("/b").header("authorization", format!("Bearer {}", "k".repeat(64 * 1024))),
        ),
        (
            "non-UTF-8 bytes",
            Request::get("/b").header("authorization", b"Bearer \xff\xfe\xfd".as_slice()),
        ),
    ];
    if p.own_duplicate_status.is_none() {
        cases.push(("two Authorization headers", two));
    }
    for (what, request) in cases {
        let r = p.refused(request, 401, "MALFORMED_CREDENTIALS").await;
        let message = r.json()["message"].as_str().unwrap_or("").to_string();
        assert!(message.len() > 10, "{what}: {message}");
    }
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
