//! An event for every lifecycle transition: admin changes (created,
//! updated, rotated, rotation_completed, disabled, reactivated, revoked,
//! deleted), the sweep's (expiring, disabled, expired, deleted, with a
//! policy in seconds), a leak report, an account suspended and resumed, a
//! user created and a session started and ended. Every request verifies
//! with the oracle; every body is `{type, timestamp, data}` with the ids
//! and never a secret or anything that looks like a hash.

use std::collections::BTreeMap;

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;
use credd::api::pb::leak_admin_client::LeakAdminClient;
use credd::api::pb::session_auth_client::SessionAuthClient;
use serde_json::Value;

use super::receiver::{Received, Receiver};
use super::*;

/// Expiry after 6 s with a warning 3 s ahead; unused for 3 s: disabled;
/// for 9 s: deleted. A sweep every second; users and sessions cheap.
const LIFECYCLE: &str = "[policy]\ndefault_lifetime = \"6s\"\n\
    expiry_warning_before = \"3s\"\ninactivity_disable_after = \"3s\"\n\
    inactivity_delete_after = \"9s\"\n\
    [schedule]\nsweep = \"* * * * * *\"\nusage_flush_interval = \"1s\"\n\
    [users]\nargon2_memory_kib = 64\nargon2_iterations = 1\n\
    [sessions]\nidle_timeout = \"30s\"\nlifetime = \"60s\"\n";

const PASSWORD: &str = "correct horse battery staple";

/// The body's `data.credential_id` ("" when absent).
fn credential_of(r: &Received) -> String {
    r.json()["data"]["credential_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The event types received about credential `id`, sorted.
fn types_about(seen: &[Received], id: &str) -> Vec<String> {
    let mut types: Vec<String> = seen
        .iter()
        .filter(|r| credential_of(r) == id)
        .map(Received::event_type)
        .collect();
    types.sort();
    types
}

fn sorted(types: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = types.iter().map(|t| t.to_string()).collect();
    v.sort();
    v
}

/// Whether `seen` holds an event of `event_type` about credential `id`
/// (any credential for "").
fn has(seen: &[Received], event_type: &str, id: &str) -> bool {
    seen.iter()
        .any(|r| r.event_type() == event_type && (id.is_empty() || credential_of(r) == id))
}

/// The checks every request must pass: the oracle's signature check, the
/// Standard Webhooks headers, the body's shape, and no secret or
/// hash-like text.
fn check_request(r: &Received, signing_secret: &str, secrets: &[String]) {
    let text = r.text();
    r.verify(signing_secret)
        .unwrap_or_else(|e| panic!("signature of {text} refused by the oracle: {e}"));
    assert!(r.id().starts_with("msg_"), "webhook-id {:?}", r.id());
    let ts: i64 = r.header("webhook-timestamp").parse().expect("timestamp");
    assert!(
        (support::unix_now() - ts).abs() < 60,
        "webhook-timestamp {ts}"
    );
    assert_eq!(r.header("content-type"), "application/json");
    let body = r.json();
    let mut fields: Vec<&String> = body.as_object().expect("object").keys().collect();
    fields.sort();
    assert_eq!(fields, ["data", "timestamp", "type"], "{text}");
    let at = body["timestamp"].as_str().expect("timestamp string");
    chrono::DateTime::parse_from_rfc3339(at).unwrap_or_else(|e| panic!("{at}: {e}"));
    let data = body["data"].as_object().expect("data object");
    assert!(data["account_id"].is_string(), "no account_id: {text}");
    let kind = body["type"].as_str().expect("type");
    if kind.starts_with("credential.") {
        let id = data["credential_id"].as_str().unwrap_or_default();
        assert!(id.starts_with("cred_"), "no credential_id: {text}");
    }
    for key in data.keys() {
        for bad in ["hash", "secret", "salt", "pepper", "password", "token"] {
            assert!(!key.contains(bad), "field {key:?} in {text}");
        }
    }
    for secret in secrets {
        assert!(!text.contains(secret.as_str()), "a secret in {text}");
    }
    let hashy = regex::Regex::new(r"[0-9a-fA-F]{32,}|[A-Za-z0-9+/_-]{40,}|\$argon2").unwrap();
    assert!(!hashy.is_match(&text), "something like a hash in {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lifecycle_transition_is_announced() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &format!("{}{LIFECYCLE}", default_config()));
    let receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;
    let (endpoint, signing_secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    assert!(endpoint.enabled && endpoint.id.starts_with("wh_"));
    let mut admin = daemon.admin().await;
    let mut secrets = vec![signing_secret.clone(), daemon.admin_key(), PASSWORD.into()];

    // Left alone: the sweep warns, disables, expires and deletes it.
    let (swept, s) = support::create(&mut admin, support::api_key("acct-ev", "swept")).await;
    secrets.push(s);
    // Every admin transition, quickly (before the 3 s inactivity).
    let (walked, s) = support::create(&mut admin, support::api_key("acct-ev", "walked")).await;
    secrets.push(s);
    let id = walked.id.clone();
    admin
        .update_credential(pb::UpdateCredentialRequest {
            id: id.clone(),
            name: Some("walked-renamed".into()),
            ..Default::default()
        })
        .await
        .expect("update");
    let rotated = admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: id.clone(),
            window: Some(prost_types::Duration {
                seconds: 60,
                nanos: 0,
            }),
        })
        .await
        .expect("rotate")
        .into_inner();
    secrets.push(rotated.secret);
    admin
        .complete_rotation(pb::CompleteRotationRequest { id: id.clone() })
        .await
        .expect("complete rotation");
    admin
        .disable_credential(pb::DisableCredentialRequest {
            id: id.clone(),
            reason: "test".into(),
        })
        .await
        .expect("disable");
    admin
        .reactivate_credential(pb::ReactivateCredentialRequest { id: id.clone() })
        .await
        .expect("reactivate");
    revoke(&daemon, &id).await;
    admin
        .delete_credential(pb::DeleteCredentialRequest { id: id.clone() })
        .await
        .expect("delete");

    // A leak report.
    let (leaked, leaked_secret) =
        support::create(&mut admin, support::api_key("acct-ev", "leaked")).await;
    secrets.push(leaked_secret.clone());
    let key = daemon.admin_key();
    LeakAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(&key)))
        .report_leaked_credential(pb::ReportLeakedCredentialRequest {
            secret: leaked_secret,
            source: "pastebin".into(),
            url: "https://paste.example/abc".into(),
        })
        .await
        .expect("report leak");

    // An account suspended and resumed.
    let (_, s) = support::create(&mut admin, support::api_key("acct-sus", "s")).await;
    secrets.push(s);
    let mut accounts =
        AccountAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(&key)));
    accounts
        .suspend_account(pb::SuspendAccountRequest {
            id: "acct-sus".into(),
            reason: "unpaid".into(),
        })
        .await
        .expect("suspend");
    accounts
        .resume_account(pb::ResumeAccountRequest {
            id: "acct-sus".into(),
        })
        .await
        .expect("resume");

    // A user, a session started and ended.
    daemon
        .users()
        .await
        .create_user(pb::CreateUserRequest {
            account_id: "acct-ev".into(),
            username: "ann".into(),
            role: pb::UserRole::ApiUser.into(),
            email: "ann@acct-ev.example".into(),
            password: PASSWORD.into(),
        })
        .await
        .expect("create user");
    let mut sessions = SessionAuthClient::new(daemon.channel().await);
    let session = sessions
        .login(pb::LoginRequest {
            account_id: "acct-ev".into(),
            username: "ann".into(),
            password: PASSWORD.into(),
            client_ip: "10.0.0.1".into(),
        })
        .await
        .expect("login")
        .into_inner();
    secrets.push(session.session_token.clone());
    sessions
        .logout(pb::LogoutRequest {
            session_token: session.session_token,
        })
        .await
        .expect("logout");

    let walked_events = [
        "credential.created",
        "credential.updated",
        "credential.rotated",
        "credential.rotation_completed",
        "credential.disabled",
        "credential.reactivated",
        "credential.revoked",
        "credential.deleted",
    ];
    let swept_events = [
        "credential.created",
        "credential.expiring",
        "credential.disabled",
        "credential.expired",
        "credential.deleted",
    ];
    receiver
        .wait_until(LIMIT + LIMIT, "every transition announced", |seen| {
            types_about(seen, &swept.id).len() >= swept_events.len()
                && types_about(seen, &id).len() >= walked_events.len()
                && has(seen, "credential.leaked", &leaked.id)
                && has(seen, "account.resumed", "")
                && has(seen, "session.ended", "")
        })
        .await;
    // Anything late (a retry, a duplicate) would show up now.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let seen_all = receiver.requests();

    assert_eq!(types_about(&seen_all, &id), sorted(&walked_events));
    assert_eq!(types_about(&seen_all, &swept.id), sorted(&swept_events));
    for (event_type, status) in [
        ("credential.revoked", "REVOKED"),
        ("credential.deleted", "DELETED"),
        ("credential.reactivated", "ACTIVE"),
    ] {
        let r = seen_all
            .iter()
            .find(|r| credential_of(r) == id && r.event_type() == event_type)
            .expect("event");
        let data = &r.json()["data"];
        assert_eq!(data["status"], status, "{}", r.text());
        assert_eq!(data["account_id"], "acct-ev", "{}", r.text());
    }
    let expired = seen_all
        .iter()
        .find(|r| credential_of(r) == swept.id && r.event_type() == "credential.expired")
        .expect("expired");
    assert_eq!(expired.json()["data"]["status"], "EXPIRED");
    assert_eq!(expired.json()["data"]["actor"], "system");
    let leak = seen_all
        .iter()
        .find(|r| r.event_type() == "credential.leaked")
        .expect("leaked");
    assert_eq!(leak.json()["data"]["account_id"], "acct-ev");
    for (event_type, account) in [
        ("account.suspended", "acct-sus"),
        ("account.resumed", "acct-sus"),
        ("user.created", "acct-ev"),
        ("session.created", "acct-ev"),
        ("session.ended", "acct-ev"),
    ] {
        let r = seen_all
            .iter()
            .find(|r| r.event_type() == event_type)
            .unwrap_or_else(|| panic!("no {event_type}: {:?}", receiver.summary()));
        assert_eq!(r.json()["data"]["account_id"], account, "{}", r.text());
    }

    // Every request: signed (oracle), shaped, free of secrets; one id per
    // event, each accepted once.
    for r in &seen_all {
        check_request(r, &signing_secret, &secrets);
    }
    let accepted = receiver.accepted();
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    assert_eq!(accepted.len(), seen_all.len(), "{:?}", receiver.summary());

    // The endpoint's deliveries say the same: each DELIVERED once.
    let listed = deliveries(&mut hooks, &endpoint.id).await;
    let by_id: BTreeMap<String, &pb::WebhookDelivery> =
        listed.iter().map(|d| (d.event_id.clone(), d)).collect();
    assert_eq!(by_id.len(), listed.len(), "one delivery per event");
    for r in &seen_all {
        let d = by_id
            .get(&r.id())
            .unwrap_or_else(|| panic!("{} not listed", r.id()));
        assert!(in_state(d, pb::WebhookDeliveryState::Delivered), "{d:?}");
        assert_eq!(d.event_type, r.event_type());
        assert_eq!(d.body.as_bytes(), r.body.as_slice());
        let last = d.attempts.last().expect("an attempt");
        assert_eq!(last.status_code, 200);
    }
    let body: Value = serde_json::from_str(&listed[0].body).expect("json body");
    assert!(body["type"].is_string());
}

/// A body describes the credential as it was at the change: the name it
/// had then, its kind and deadlines, even when it was renamed or deleted
/// before the worker's next round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_describe_the_credential_as_it_was_at_the_change() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &default_config());
    let receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;
    let (_, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    let mut admin = daemon.admin().await;
    // All within one poll interval (a second): no round in between, or
    // at most one.
    let (c, _) = support::create(&mut admin, support::api_key("acct-b", "named")).await;
    admin
        .update_credential(pb::UpdateCredentialRequest {
            id: c.id.clone(),
            name: Some("renamed".into()),
            ..Default::default()
        })
        .await
        .expect("update");
    admin
        .delete_credential(pb::DeleteCredentialRequest { id: c.id.clone() })
        .await
        .expect("delete");
    let seen = receiver
        .wait_until(LIMIT, "three events", |seen| seen.len() >= 3)
        .await;
    let mut problems = Vec::new();
    for (event_type, name) in [
        ("credential.created", "named"),
        ("credential.updated", "renamed"),
        ("credential.deleted", "renamed"),
    ] {
        let r = seen
            .iter()
            .find(|r| r.event_type() == event_type)
            .unwrap_or_else(|| panic!("no {event_type}: {:?}", receiver.summary()));
        r.verify(&secret).expect("oracle");
        let data = &r.json()["data"];
        if data["name"] != name || !data["kind"].is_string() || !data["expires_at"].is_string() {
            problems.push(format!(
                "{event_type}: expected name {name:?} with kind and expires_at, got {data}"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
