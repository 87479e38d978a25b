//! Envoy's `envoy.service.auth.v3.Authorization/Check` called directly on
//! the real daemon, as Envoy calls it: what an allowed request carries
//! upstream and which headers it loses, each refusal's status, headers and
//! JSON body, route scopes from `context_extensions`, the rotation
//! window's `Sunset`, a rate limit's `Retry-After`, revocation on the very
//! next call, bad input, and the port of its own. No answer or log line
//! carries a secret.

use std::collections::HashMap;

use credd::api::envoy::config::core::v3::{HeaderMap, HeaderValue};
use credd::api::envoy::service::auth::v3::attribute_context::{HttpRequest, Peer, Request};
use credd::api::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use credd::api::envoy::service::auth::v3::check_response::HttpResponse;
use credd::api::envoy::service::auth::v3::{
    AttributeContext, CheckRequest, CheckResponse, DeniedHttpResponse, OkHttpResponse,
};
use tonic::transport::Channel;

use crate::gateway::fixture::Fixture;
use crate::http_auth::{LAGERMAN, MYPRODUCT, basic};
use crate::support::{self, Daemon};

/// A `CheckRequest` for `GET /orders` with these headers and route scopes.
fn check(headers: &[(&str, &str)], scopes: Option<&str>) -> CheckRequest {
    let mut context_extensions = HashMap::new();
    if let Some(scopes) = scopes {
        context_extensions.insert("credd_scopes".to_string(), scopes.to_string());
    }
    let mut map = HashMap::new();
    for (name, value) in headers {
        map.insert(name.to_string(), value.to_string());
    }
    map.insert(":path".to_string(), "/orders".to_string());
    CheckRequest {
        attributes: Some(AttributeContext {
            source: Some(Peer::default()),
            request: Some(Request {
                http: Some(HttpRequest {
                    method: "GET".to_string(),
                    path: "/orders".to_string(),
                    headers: map,
                    ..HttpRequest::default()
                }),
            }),
            context_extensions,
            ..AttributeContext::default()
        }),
    }
}

/// A `CheckRequest` with `key` in `x-api-key` and no route scope.
fn api_key(key: &str) -> CheckRequest {
    check(&[("x-api-key", key)], None)
}

/// A `CheckRequest` whose headers come as Envoy's raw `header_map`.
fn raw_headers(headers: Vec<HeaderValue>) -> CheckRequest {
    let mut request = check(&[], None);
    if let Some(http) = request
        .attributes
        .as_mut()
        .and_then(|a| a.request.as_mut())
        .and_then(|r| r.http.as_mut())
    {
        http.header_map = Some(HeaderMap { headers });
    }
    request
}

struct Envoy {
    client: AuthorizationClient<Channel>,
    secrets: Vec<String>,
}

impl Envoy {
    async fn ask(&mut self, request: CheckRequest) -> CheckResponse {
        let answer = self
            .client
            .check(request)
            .await
            .expect("Check answers")
            .into_inner();
        let shown = format!("{answer:?}");
        for secret in &self.secrets {
            assert!(!shown.contains(secret.as_str()), "an answer carries a key");
        }
        answer
    }

    async fn ok(&mut self, request: CheckRequest) -> OkHttpResponse {
        let answer = self.ask(request).await;
        assert_eq!(
            answer.status.as_ref().map(|s| s.code),
            Some(0),
            "{answer:?}"
        );
        match answer.http_response {
            Some(HttpResponse::OkResponse(ok)) => ok,
            other => panic!("expected OK, got {other:?}"),
        }
    }

    async fn denied(
        &mut self,
        request: CheckRequest,
        status: i32,
        code: &str,
    ) -> DeniedHttpResponse {
        let answer = self.ask(request).await;
        assert_ne!(answer.status.as_ref().map(|s| s.code), Some(0));
        let Some(HttpResponse::DeniedResponse(denied)) = answer.http_response else {
            panic!("expected a denial, got {answer:?}");
        };
        assert_eq!(
            denied.status.as_ref().map(|s| s.code),
            Some(status),
            "{denied:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&denied.body).expect("JSON body");
        assert_eq!(body["code"], code, "{denied:?}");
        assert!(!body["message"].as_str().unwrap_or("").is_empty());
        assert_eq!(
            header(&denied.headers, "content-type"),
            Some("application/json")
        );
        denied
    }
}

fn header<'a>(
    headers: &'a [credd::api::envoy::config::core::v3::HeaderValueOption],
    name: &str,
) -> Option<&'a str> {
    headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .find(|h| h.key == name)
        .map(|h| h.value.as_str())
}

async fn envoy_for(daemon: &Daemon, fixture: &Fixture) -> Envoy {
    Envoy {
        client: AuthorizationClient::new(daemon.channel().await),
        secrets: fixture.secrets.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_allows_refuses_and_strips() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let f = Fixture::create(&daemon).await;
    let mut envoy = envoy_for(&daemon, &f).await;
    let bearer = format!("Bearer {}", f.key);

    // Allowed: credd's facts set (overwriting), spoofed ones and the
    // credential removed.
    let ok = envoy
        .ok(check(
            &[
                ("authorization", &bearer),
                ("x-credd-account", "evil"),
                ("x-credd-acting-for", "victim"),
            ],
            Some("orders:read"),
        ))
        .await;
    assert_eq!(header(&ok.headers, "x-credd-account"), Some("acme"));
    assert_eq!(
        header(&ok.headers, "x-credd-credential-id"),
        Some(f.key_id.as_str())
    );
    assert_eq!(header(&ok.headers, "x-credd-kind"), Some("api_key"));
    assert!(
        ok.headers.iter().all(|h| h.append_action == 2),
        "OVERWRITE_IF_EXISTS_OR_ADD"
    );
    assert!(
        ok.headers_to_remove
            .contains(&"x-credd-acting-for".to_string())
    );
    assert!(ok.headers_to_remove.contains(&"authorization".to_string()));
    assert!(
        !ok.headers_to_remove
            .contains(&"x-credd-account".to_string())
    );

    // The same key through X-Api-Key.
    let ok = envoy.ok(api_key(&f.key)).await;
    assert!(ok.headers_to_remove.contains(&"x-api-key".to_string()));

    // Route scope not held: 403.
    envoy
        .denied(
            check(&[("authorization", &bearer)], Some("admin:write")),
            403,
            "INSUFFICIENT_SCOPE",
        )
        .await;

    // Missing and unknown: 401 with a challenge.
    let denied = envoy
        .denied(check(&[], None), 401, "MISSING_CREDENTIALS")
        .await;
    assert!(header(&denied.headers, "www-authenticate").is_some());
    let unknown = envoy
        .denied(
            check(&[("authorization", "Bearer credd_live_api_0000")], None),
            401,
            "INVALID_CREDENTIALS",
        )
        .await;

    // Revoked through the admin API: refused on the very next call, and
    // told apart from unknown by nothing.
    envoy.ok(api_key(&f.doomed_key)).await;
    f.revoke_doomed(&daemon).await;
    let revoked = envoy
        .denied(api_key(&f.doomed_key), 401, "INVALID_CREDENTIALS")
        .await;
    assert_eq!(revoked.body, unknown.body);

    // The older secret of a rotation: Deprecation and Sunset for the client.
    let ok = envoy
        .ok(check(
            &[("authorization", &format!("Bearer {}", f.rotating_old))],
            None,
        ))
        .await;
    assert!(header(&ok.response_headers_to_add, "sunset").is_some_and(|s| s.ends_with("GMT")));
    assert!(header(&ok.response_headers_to_add, "deprecation").is_some());

    // Product level: Basic ProductId:key acting for X-Client-Id.
    let product = basic(MYPRODUCT, &f.product_key);
    let ok = envoy
        .ok(check(
            &[
                ("authorization", &product),
                ("x-product-id", MYPRODUCT),
                ("x-client-id", LAGERMAN),
            ],
            Some("orders:read"),
        ))
        .await;
    assert_eq!(header(&ok.headers, "x-credd-acting-for"), Some(LAGERMAN));
    assert_eq!(header(&ok.headers, "x-credd-partner"), Some(MYPRODUCT));

    // Passcode with its account id (CleverTap's pair).
    envoy
        .ok(check(
            &[
                ("x-clevertap-account-id", "acme"),
                ("x-clevertap-passcode", &f.passcode),
            ],
            None,
        ))
        .await;

    // Rate limit: 429 with Retry-After.
    envoy.ok(api_key(&f.limited_key)).await;
    let limited = envoy
        .denied(api_key(&f.limited_key), 429, "RATE_LIMITED")
        .await;
    assert!(header(&limited.headers, "retry-after").is_some());
    support::assert_no_secret_in_files(dir.path(), &f.secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_401() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let f = Fixture::create(&daemon).await;
    let mut envoy = envoy_for(&daemon, &f).await;
    let no_colon = basic("LAGERMAN", "").replace("Og==", "");
    let huge = "x".repeat(64 * 1024);
    let two = format!("Bearer {},Bearer {}", f.key, f.key);
    for (headers, code) in [
        (
            vec![("authorization", no_colon.as_str())],
            "MALFORMED_CREDENTIALS",
        ),
        (
            vec![("authorization", "Basic !!!")],
            "MALFORMED_CREDENTIALS",
        ),
        (vec![("authorization", "Bearer ")], "MALFORMED_CREDENTIALS"),
        (
            vec![("authorization", two.as_str())],
            "MALFORMED_CREDENTIALS",
        ),
        (
            vec![("authorization", huge.as_str())],
            "MALFORMED_CREDENTIALS",
        ),
        (vec![("x-api-key", huge.as_str())], "MALFORMED_CREDENTIALS"),
    ] {
        envoy.denied(check(&headers, None), 401, code).await;
    }
    // Raw headers (encode_raw_headers): non-UTF-8 bytes and a repeat.
    let raw = |name: &str, value: &[u8]| HeaderValue {
        key: name.to_string(),
        raw_value: value.to_vec(),
        ..HeaderValue::default()
    };
    let not_text = raw_headers(vec![raw("authorization", b"Bearer \xff\xfe")]);
    let denied = envoy.denied(not_text, 401, "MALFORMED_CREDENTIALS").await;
    assert!(denied.body.contains("not valid text"), "{}", denied.body);
    let key = raw("x-api-key", f.key.as_bytes());
    let repeated = raw_headers(vec![key.clone(), key]);
    let denied = envoy.denied(repeated, 401, "MALFORMED_CREDENTIALS").await;
    assert!(denied.body.contains("more than once"), "{}", denied.body);
    // The daemon is unaffected.
    envoy.ok(api_key(&f.key)).await;
    assert!(!daemon.logs().contains(&f.key));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_on_its_own_port() {
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        "[gateway]\next_authz_listen = \"127.0.0.1:0\"\n",
    );
    let f = Fixture::create(&daemon).await;
    let addr = daemon.ext_authz_addr.expect("ext_authz port");
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("url")
        .connect()
        .await
        .expect("connect");
    let mut envoy = Envoy {
        client: AuthorizationClient::new(channel),
        secrets: f.secrets.clone(),
    };
    envoy.ok(api_key(&f.key)).await;
}
