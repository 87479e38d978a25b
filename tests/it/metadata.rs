//! Credential metadata through the real daemon: set at create, returned by
//! Get, List, Verify and VerifyHttpAuthorization, replaced and cleared by
//! update, malformed or over-8-KiB metadata refused with INVALID_ARGUMENT
//! changing nothing, and a mapped key forwarded as a header by `/v1/check`
//! and by Envoy's `Check`.

use std::collections::HashMap;

use credd::api::envoy::service::auth::v3::attribute_context::{HttpRequest, Request as Attrs};
use credd::api::envoy::service::auth::v3::authorization_client::AuthorizationClient;
use credd::api::envoy::service::auth::v3::check_response::HttpResponse;
use credd::api::envoy::service::auth::v3::{AttributeContext, CheckRequest};
use credd::api::pb;
use tonic::Code;

use crate::gateway::harness::client::Request;
use crate::support;

const PLAN: &str = r#"{"plan":"pro","seats":5,"note":"a\nb"}"#;

fn with_metadata(metadata: &str) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        metadata: metadata.to_string(),
        ..support::api_key("acme", "metered")
    }
}

fn update(id: &str, metadata: &str) -> pb::UpdateCredentialRequest {
    pb::UpdateCredentialRequest {
        id: id.to_string(),
        metadata: Some(metadata.to_string()),
        ..Default::default()
    }
}

/// Create, Get, List, Verify and update, all through gRPC.
#[tokio::test(flavor = "multi_thread")]
async fn metadata_round_trip() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;

    let (cred, secret) = support::create(
        &mut admin,
        with_metadata("{ \"plan\": \"pro\",\n \"seats\": 5 }"),
    )
    .await;
    let compact = r#"{"plan":"pro","seats":5}"#;
    assert_eq!(cred.metadata, compact);
    assert_eq!(support::get(&mut admin, &cred.id).await.metadata, compact);
    let listed = admin
        .list_credentials(pb::ListCredentialsRequest {
            account_id: "acme".to_string(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.credentials[0].metadata, compact);
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.metadata, compact);
    let http = verifier
        .verify_http_authorization(pb::VerifyHttpAuthorizationRequest {
            authorization: format!("Bearer {secret}"),
            accept_bearer: true,
            ..Default::default()
        })
        .await
        .expect("verify http")
        .into_inner();
    assert!(http.allowed, "{}", http.reason);
    assert_eq!(http.metadata, compact);
    assert_eq!(
        http.verification.map(|v| v.metadata).as_deref(),
        Some(compact)
    );

    // Replaced: Verify sees the new value at once.
    let replaced = admin
        .update_credential(update(&cred.id, r#"{"plan":"enterprise"}"#))
        .await
        .expect("update")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(replaced.metadata, r#"{"plan":"enterprise"}"#);
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.metadata, r#"{"plan":"enterprise"}"#);

    // An update that does not name metadata leaves it alone.
    let renamed = admin
        .update_credential(pb::UpdateCredentialRequest {
            id: cred.id.clone(),
            name: Some("renamed".to_string()),
            ..Default::default()
        })
        .await
        .expect("rename")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(renamed.metadata, r#"{"plan":"enterprise"}"#);

    // Cleared with "".
    admin
        .update_credential(update(&cred.id, ""))
        .await
        .expect("clear");
    assert_eq!(support::get(&mut admin, &cred.id).await.metadata, "");
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.metadata, "");

    // A revoked key's answer still names the credential, and its metadata.
    admin
        .update_credential(update(&cred.id, compact))
        .await
        .expect("set again");
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: cred.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("revoke");
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);
    assert_eq!(answer.metadata, compact);
}

/// Malformed JSON, non-objects and 8 KiB + 1 are refused with
/// INVALID_ARGUMENT naming metadata; nothing is created or changed.
#[tokio::test(flavor = "multi_thread")]
async fn bad_metadata_is_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;

    // {"k":"xxx..."}: 8 bytes of framing, so this is 8 KiB + 1 as compact JSON.
    let over = format!(r#"{{"k":"{}"}}"#, "x".repeat(8 * 1024 - 7));
    let at_limit = format!(r#"{{"k":"{}"}}"#, "x".repeat(8 * 1024 - 8));
    assert_eq!((over.len(), at_limit.len()), (8193, 8192));
    let bad = ["{\"plan\":", "not json", "[1,2]", "\"pro\"", over.as_str()];
    for metadata in bad {
        let status = support::expect_code(
            admin.create_credential(with_metadata(metadata)).await,
            Code::InvalidArgument,
            metadata,
        );
        assert!(
            status.message().contains("metadata"),
            "{}",
            status.message()
        );
    }
    let listed = admin
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed.credentials.iter().all(|c| c.account_id != "acme"),
        "a refused create left a credential"
    );

    let (cred, secret) = support::create(&mut admin, with_metadata(&at_limit)).await;
    assert_eq!(cred.metadata, at_limit);
    let before = support::get(&mut admin, &cred.id).await;
    for metadata in bad {
        let status = support::expect_code(
            admin.update_credential(update(&cred.id, metadata)).await,
            Code::InvalidArgument,
            metadata,
        );
        assert!(
            status.message().contains("metadata"),
            "{}",
            status.message()
        );
    }
    assert_eq!(
        support::steady(support::get(&mut admin, &cred.id).await),
        support::steady(before)
    );
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.metadata, at_limit);
}

/// The daemon's config for the gateway tests: `/v1/check` on, four keys
/// mapped.
const GATEWAY: &str = "[http]\nlisten = \"127.0.0.1:0\"\n[gateway]\nmetadata_headers = { plan = \"X-Credd-Meta-Plan\", seats = \"x-credd-seats\", note = \"x-credd-note\", absent = \"x-credd-absent\" }\n";

/// `/v1/check` forwards the mapped keys present in the metadata as their
/// headers; a value with a control character and unmapped keys are not.
#[tokio::test(flavor = "multi_thread")]
async fn forward_auth_carries_mapped_keys() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), GATEWAY);
    let http = daemon.http_addr.expect("http listener");
    let mut admin = daemon.admin().await;
    let (_, secret) = support::create(&mut admin, with_metadata(PLAN)).await;
    let (_, plain) = support::create(&mut admin, support::api_key("acme", "plain")).await;

    let r = Request::get("/v1/check")
        .header("x-api-key", &secret)
        .send(http)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-credd-meta-plan").as_deref(), Some("pro"));
    assert_eq!(r.header("x-credd-seats").as_deref(), Some("5"));
    assert_eq!(r.header("x-credd-note"), None);
    assert_eq!(r.header("x-credd-absent"), None);
    assert_eq!(r.header("x-credd-account").as_deref(), Some("acme"));

    let r = Request::get("/v1/check")
        .header("x-api-key", &plain)
        .send(http)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-credd-meta-plan"), None);
}

/// Envoy's `Check`: the mapped keys are set (overwriting a client's
/// spoofed copy), and a client-sent mapped header whose key the credential
/// lacks is removed.
#[tokio::test(flavor = "multi_thread")]
async fn ext_authz_carries_mapped_keys() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), GATEWAY);
    let mut admin = daemon.admin().await;
    let (_, secret) = support::create(&mut admin, with_metadata(PLAN)).await;
    let mut client = AuthorizationClient::new(daemon.channel().await);
    let headers: HashMap<String, String> = [
        ("x-api-key", secret.as_str()),
        ("x-credd-meta-plan", "spoofed"),
        ("x-credd-absent", "spoofed"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    let request = CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(Attrs {
                http: Some(HttpRequest {
                    method: "GET".to_string(),
                    path: "/orders".to_string(),
                    headers,
                    ..HttpRequest::default()
                }),
            }),
            ..AttributeContext::default()
        }),
    };
    let answer = client.check(request).await.expect("Check").into_inner();
    let Some(HttpResponse::OkResponse(ok)) = answer.http_response else {
        panic!("expected OK, got {answer:?}");
    };
    let set: HashMap<&str, &str> = ok
        .headers
        .iter()
        .filter_map(|h| h.header.as_ref())
        .map(|h| (h.key.as_str(), h.value.as_str()))
        .collect();
    assert_eq!(set.get("x-credd-meta-plan"), Some(&"pro"));
    assert_eq!(set.get("x-credd-seats"), Some(&"5"));
    assert!(!set.contains_key("x-credd-note") && !set.contains_key("x-credd-absent"));
    assert!(ok.headers_to_remove.contains(&"x-credd-absent".to_string()));
    assert!(
        !ok.headers_to_remove
            .contains(&"x-credd-meta-plan".to_string())
    );
}

/// Runs credctl against `daemon` with its bootstrap key; returns
/// (success, stdout, stderr).
fn credctl(daemon: &support::Daemon, args: &[&str]) -> (bool, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_credctl"))
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .env_remove("CREDD_ADDR")
        .arg("--addr")
        .arg(daemon.addr.to_string())
        .arg("--admin-key-file")
        .arg(daemon.data_dir.join("admin.key"))
        .args(args)
        .output()
        .expect("run credctl");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// `credctl create --metadata`, `update --metadata` / `--clear-metadata`:
/// `--json` shows the metadata as an object, the table only a marker.
#[tokio::test(flavor = "multi_thread")]
async fn credctl_metadata() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let create = [
        "--json",
        "create",
        "--account",
        "acme",
        "--name",
        "m",
        "--metadata",
    ];
    let (ok, out, err) = credctl(&daemon, &[&create[..], &[r#"{"plan": "pro"}"#]].concat());
    assert!(ok, "create: {err}");
    let created = json(&out);
    assert_eq!(created["metadata"], serde_json::json!({ "plan": "pro" }));
    let id = created["id"].as_str().expect("id").to_string();

    let (ok, _, err) = credctl(&daemon, &[&create[..], &["[1]"]].concat());
    assert!(!ok && err.contains("metadata"), "{err}");

    let (ok, out, err) = credctl(&daemon, &["get", &id]);
    assert!(ok, "get: {err}");
    assert!(out.contains("1 key") && !out.contains("pro"), "{out}");

    let update = [
        "--json",
        "update",
        &id,
        "--metadata",
        r#"{"plan":"team","seats":3}"#,
    ];
    let (ok, out, err) = credctl(&daemon, &update);
    assert!(ok, "update: {err}");
    assert_eq!(json(&out)["metadata"]["seats"], 3);
    let (ok, out, err) = credctl(&daemon, &["--json", "list", "--account", "acme"]);
    assert!(ok, "list: {err}");
    assert_eq!(json(&out)["credentials"][0]["metadata"]["plan"], "team");

    let (ok, out, err) = credctl(&daemon, &["--json", "update", &id, "--clear-metadata"]);
    assert!(ok, "clear: {err}");
    assert_eq!(json(&out)["metadata"], serde_json::Value::Null);
}
