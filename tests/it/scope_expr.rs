//! Scope expressions against the real daemon: Verify's `scope_query` (VALID
//! when it holds, INSUFFICIENT_SCOPE when not, INVALID_ARGUMENT with the
//! column when malformed, and then no use counted), VerifyHttpAuthorization,
//! Envoy's `Check` (`credd_scope_query`) and `/v1/check` (`scope_query`
//! parameter and `x-credd-scope-query` header).

use std::collections::HashMap;

use credd::api::envoy::service::auth::v3::attribute_context::{HttpRequest, Request as Http};
use credd::api::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use credd::api::envoy::service::auth::v3::check_response::HttpResponse;
use credd::api::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use credd::api::pb;
use tonic::Code;

use crate::gateway::harness::client::{Request, Response};
use crate::support;

/// The example; the test keys hold orders:read and orders:write.
const EXAMPLE: &str = "orders:read AND (refunds:write OR admin)";
const HELD: &str = "orders:read AND (refunds:write OR orders:write)";

fn query_req(secret: &str, scopes: &[&str], query: &str) -> pb::VerifyRequest {
    pb::VerifyRequest {
        scope_query: query.to_string(),
        ..support::verify_req(secret, "", scopes)
    }
}

/// Over gRPC Verify: held, not held, with a required-scope list (both must
/// hold), and malformed: INVALID_ARGUMENT naming the field and the column,
/// for a known or unknown key alike, counting no use.
#[tokio::test(flavor = "multi_thread")]
async fn verify_with_scope_query() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, key) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let mut result = async |scopes: &[&str], query: &str| {
        verifier
            .verify(query_req(&key, scopes, query))
            .await
            .expect("verify call")
            .into_inner()
    };
    let answer = result(&[], HELD).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.credential_id, cred.id);
    for (scopes, query) in [
        (&[][..], EXAMPLE),
        (&["admin"][..], HELD),
        (
            &["orders:read"][..],
            "admin OR refunds:write AND orders:read",
        ),
    ] {
        let answer = result(scopes, query).await;
        assert_eq!(
            answer.result(),
            pb::VerifyResult::InsufficientScope,
            "{scopes:?} {query}"
        );
    }
    let answer = result(&["orders:write"], "admin OR orders:read").await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
}

/// A malformed expression is INVALID_ARGUMENT with its column, before any
/// lookup: the key's last_used_at stays unset until a good Verify.
#[tokio::test(flavor = "multi_thread")]
async fn malformed_scope_query_is_invalid_and_not_a_use() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, key) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let unknown = support::flip_char(&key);

    for (query, column) in [
        ("orders:read AND (admin", 23),
        ("orders:read AND", 16),
        ("orders:read)", 12),
        ("   ", 4),
        ("orders:read OR ümlaut", 16),
    ] {
        for secret in [&key, &unknown] {
            let call = verifier.verify(query_req(secret, &[], query)).await;
            let status = support::expect_code(call, Code::InvalidArgument, query);
            let message = status.message();
            assert!(message.starts_with("scope_query "), "{message}");
            assert!(
                message.contains(&format!("at column {column}:")),
                "{query}: {message}"
            );
        }
    }
    let deep = format!("{}orders:read{}", "(".repeat(40), ")".repeat(40));
    let status = support::expect_code(
        verifier.verify(query_req(&key, &[], &deep)).await,
        Code::InvalidArgument,
        "too deep",
    );
    assert!(status.message().contains("at column 33:"), "{status:?}");
    let long = vec!["orders:read"; 100].join(" OR ");
    let status = support::expect_code(
        verifier.verify(query_req(&key, &[], &long)).await,
        Code::InvalidArgument,
        "too long",
    );
    assert!(status.message().contains("1024 bytes"), "{status:?}");

    let unused = support::get(&mut admin, &cred.id).await;
    assert!(
        unused.last_used_at.is_none(),
        "a refused request counted as use"
    );
    let ok = verifier
        .verify(query_req(&key, &[], HELD))
        .await
        .expect("verify");
    assert_eq!(ok.into_inner().result(), pb::VerifyResult::Valid);
    let used = support::get(&mut admin, &cred.id).await;
    assert!(used.last_used_at.is_some(), "a good Verify counts");
}

/// VerifyHttpAuthorization takes the expression as Verify does.
#[tokio::test(flavor = "multi_thread")]
async fn verify_http_authorization_with_scope_query() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (_, key) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let request = |query: &str| pb::VerifyHttpAuthorizationRequest {
        authorization: format!("Bearer {key}"),
        accept_bearer: true,
        scope_query: query.to_string(),
        ..Default::default()
    };
    let answer = verifier
        .verify_http_authorization(request(HELD))
        .await
        .expect("call")
        .into_inner();
    assert!(answer.allowed, "{answer:?}");
    let answer = verifier
        .verify_http_authorization(request(EXAMPLE))
        .await
        .expect("call")
        .into_inner();
    assert!(!answer.allowed);
    assert_eq!(answer.refusal(), pb::HttpAuthRefusal::InsufficientScope);
    let status = support::expect_code(
        verifier
            .verify_http_authorization(request("(orders:read"))
            .await,
        Code::InvalidArgument,
        "malformed",
    );
    assert!(status.message().contains("scope_query"), "{status:?}");
    assert!(status.message().contains("at column 13:"), "{status:?}");
}

fn code(r: &Response) -> String {
    r.json()["code"].as_str().unwrap_or("").to_string()
}

fn encoded(query: &str) -> String {
    url::form_urlencoded::byte_serialize(query.as_bytes()).collect()
}

/// `/v1/check`: the `scope_query` parameter and the `x-credd-scope-query`
/// header (all must hold); a malformed one is the proxy's misconfiguration
/// (500), never an allow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_with_scope_query() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
    let mut admin = daemon.admin().await;
    let (_, key) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let http = daemon.http_addr.expect("http listener");
    let with_param =
        |query: &str| Request::get(&format!("/v1/check?scope_query={}", encoded(query)));

    let r = with_param(HELD).bearer(&key).send(http).await;
    assert_eq!(
        (r.status, code(&r)),
        (200, "OK".to_string()),
        "{}",
        r.text()
    );
    let r = with_param(EXAMPLE).bearer(&key).send(http).await;
    assert_eq!(
        (r.status, code(&r)),
        (403, "INSUFFICIENT_SCOPE".to_string())
    );
    let r = Request::get("/v1/check")
        .bearer(&key)
        .header("x-credd-scope-query", HELD)
        .send(http)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = with_param(HELD)
        .bearer(&key)
        .header("x-credd-scope-query", "admin OR refunds:write")
        .send(http)
        .await;
    assert_eq!(
        (r.status, code(&r)),
        (403, "INSUFFICIENT_SCOPE".to_string())
    );
    for bad in [
        with_param("orders:read OR").bearer(&key),
        Request::get("/v1/check")
            .bearer(&key)
            .header("x-credd-scope-query", "orders:read OR"),
    ] {
        let r = bad.send(http).await;
        assert_eq!(
            (r.status, code(&r)),
            (500, "GATEWAY_MISCONFIGURED".to_string()),
            "{}",
            r.text()
        );
        let message = r.json()["message"].as_str().unwrap_or("").to_string();
        assert!(message.contains("at column 15:"), "{message}");
    }
}

/// A `CheckRequest` with a bearer key and a route's `credd_scope_query`.
fn envoy_check(key: &str, query: &str) -> CheckRequest {
    let headers = HashMap::from([("authorization".to_string(), format!("Bearer {key}"))]);
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Http {
                http: Some(HttpRequest {
                    method: "GET".to_string(),
                    path: "/orders".to_string(),
                    headers,
                    ..HttpRequest::default()
                }),
            }),
            context_extensions: HashMap::from([(
                "credd_scope_query".to_string(),
                query.to_string(),
            )]),
            ..AttributeContext::default()
        }),
    }
}

/// Envoy's `Check` reads the route's `credd_scope_query`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_check_with_scope_query() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (_, key) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let mut envoy = AuthorizationClient::new(daemon.channel().await);
    // The gRPC status and, for a denial, the HTTP status and code.
    let mut status = async |query: &str| {
        let answer = envoy
            .check(envoy_check(&key, query))
            .await
            .expect("check")
            .into_inner();
        let denied = match answer.http_response {
            Some(HttpResponse::DeniedResponse(d)) => {
                let body: serde_json::Value = serde_json::from_str(&d.body).expect("JSON body");
                let code = body["code"].as_str().unwrap_or("").to_string();
                Some((d.status.map_or(0, |s| s.code), code))
            }
            _ => None,
        };
        (answer.status.map_or(-1, |s| s.code), denied)
    };
    assert_eq!(status(HELD).await, (0, None), "allowed");
    let denied = Code::PermissionDenied as i32;
    assert_eq!(
        status(EXAMPLE).await,
        (denied, Some((403, "INSUFFICIENT_SCOPE".to_string())))
    );
    assert_eq!(
        status("(orders:read").await,
        (denied, Some((500, "GATEWAY_MISCONFIGURED".to_string()))),
        "malformed never allows"
    );
}

/// `credctl verify --scope-query`: the answer, and a malformed expression's
/// error with its column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credctl_verify_scope_query() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (_, key) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    // credctl finds the bootstrap key at ./credd-data/admin.key.
    std::os::unix::fs::symlink(&daemon.data_dir, dir.path().join("credd-data")).unwrap();
    let credctl = |query: &str| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_credctl"))
            .current_dir(dir.path())
            .env_remove("CREDD_ADMIN_KEY_FILE")
            .env_remove("CREDD_ADDR")
            .args(["--addr", &daemon.addr.to_string(), "--json", "verify", &key])
            .args(["--scope-query", query])
            .output()
            .expect("run credctl");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let result = |query: &str| {
        let (ok, out, err) = credctl(query);
        assert!(ok, "{query}: {err}");
        let verdict: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
        verdict["result"].as_str().unwrap_or("").to_string()
    };
    assert_eq!(result(HELD), "VERIFY_RESULT_VALID");
    assert_eq!(result(EXAMPLE), "VERIFY_RESULT_INSUFFICIENT_SCOPE");
    let (ok, _, err) = credctl("orders:read AND");
    assert!(!ok);
    assert!(
        err.contains("scope_query") && err.contains("at column 16:"),
        "{err}"
    );
}
