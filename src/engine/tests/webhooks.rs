//! Webhooks in the engine, on the manual clock: events written with the
//! change, fanned out to the endpoints that want them (account, filter,
//! creation time), each answer's consequence (delivered, retried on the
//! schedule, disabled with a notice after a 410 or a spent schedule),
//! `Retry-After`, the rotation overlap, and who may manage endpoints.

use std::time::Duration;

use super::*;
use crate::config::WebhooksConfig;
use crate::engine::access::Scope;
use crate::engine::webhooks::{AttemptOutcome, NewWebhook, WebhookChange};
use crate::lifecycle::NoticeKind;
use crate::store::DeliveryState;

fn rules() -> WebhooksConfig {
    WebhooksConfig {
        retry_schedule: vec![
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_secs(60),
        ],
        rotation_overlap: Duration::from_secs(3600),
        ..WebhooksConfig::default()
    }
}

fn endpoint(account: Option<&str>, filter: &[&str]) -> NewWebhook {
    NewWebhook {
        url: "https://hooks.example.com/credd".to_string(),
        account_id: account.map(str::to_string),
        description: String::new(),
        event_types: strings(filter),
    }
}

fn answered(h: &Harness, status: Option<u16>, retry_after: Option<&str>) -> AttemptOutcome {
    AttemptOutcome {
        at: h.clock.now(),
        latency_ms: 3,
        status,
        retry_after: retry_after.map(str::to_string),
        error: if status.is_none() {
            "connection refused".into()
        } else {
            String::new()
        },
    }
}

async fn account(h: &Harness, id: &str) {
    let new = NewAccount {
        id: id.to_string(),
        contact_emails: vec![format!("ops@{id}.example")],
        ..NewAccount::default()
    };
    h.engine.create_account(&admin(), new).await.unwrap();
}

/// A change's event waits in the store until the fan-out; then each
/// endpoint that wants it holds one delivery, due now, with the same id.
#[tokio::test]
async fn events_fan_out_to_the_endpoints_that_want_them() {
    let h = harness();
    account(&h, "acme").await;
    account(&h, "other").await;
    let all = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(None, &[]))
        .await
        .unwrap();
    let acme = h
        .engine
        .create_webhook(
            &admin(),
            &rules(),
            endpoint(Some("acme"), &["credential.revoked"]),
        )
        .await
        .unwrap();
    let (view, _) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &view.record.id, "test")
        .await
        .unwrap();
    h.create("other").await;
    assert_eq!(
        h.engine.store().pending_webhook_events(100).unwrap().len(),
        3
    );
    assert_eq!(h.engine.fan_out_webhooks().unwrap(), 3);
    assert!(
        h.engine
            .store()
            .pending_webhook_events(100)
            .unwrap()
            .is_empty()
    );
    let to_all = h
        .engine
        .store()
        .deliveries_of(&all.endpoint.id, None, 100)
        .unwrap();
    let to_acme = h
        .engine
        .store()
        .deliveries_of(&acme.endpoint.id, None, 100)
        .unwrap();
    let types = |d: &[crate::store::WebhookDelivery]| {
        d.iter().map(|d| d.event_type.clone()).collect::<Vec<_>>()
    };
    assert_eq!(
        types(&to_all),
        [
            "credential.created",
            "credential.revoked",
            "credential.created"
        ]
    );
    assert_eq!(types(&to_acme), ["credential.revoked"]);
    assert_eq!(
        to_acme[0].event_id, to_all[1].event_id,
        "one id per event, whatever the endpoint"
    );
    let body: serde_json::Value = serde_json::from_str(&to_acme[0].body).unwrap();
    assert_eq!(body["type"], "credential.revoked");
    assert_eq!(body["data"]["status"], "REVOKED");
    assert_eq!(body["data"]["credential_id"], view.record.id.as_str());
    assert_eq!(body["data"]["kind"], "api_key");
    assert_eq!(h.engine.due_webhooks(100).unwrap().len(), 4);
}

/// An endpoint created after an event does not receive it.
#[tokio::test]
async fn earlier_events_are_not_sent_to_a_new_endpoint() {
    let h = harness();
    h.create("acme").await;
    h.clock.advance(chrono::Duration::seconds(1));
    let late = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(None, &[]))
        .await
        .unwrap();
    h.engine.fan_out_webhooks().unwrap();
    assert!(
        h.engine
            .store()
            .deliveries_of(&late.endpoint.id, None, 10)
            .unwrap()
            .is_empty()
    );
}

/// Failures follow the schedule (Retry-After when longer); when it runs
/// out the delivery fails, the endpoint is disabled and its contacts get
/// a notice; a 410 does the same at once.
#[tokio::test]
async fn failures_retry_on_the_schedule_then_disable_with_a_notice() {
    let h = harness();
    account(&h, "acme").await;
    let hook = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(Some("acme"), &[]))
        .await
        .unwrap();
    h.create("acme").await;
    h.engine.fan_out_webhooks().unwrap();
    let due = h.engine.due_webhooks(10).unwrap().remove(0);
    let after_500 = h
        .engine
        .record_webhook_attempt(&rules(), &due, answered(&h, Some(500), None))
        .unwrap();
    assert_eq!(after_500.state, DeliveryState::Pending);
    let wait = after_500.next_at.unwrap() - h.clock.now();
    assert!(
        wait >= chrono::Duration::seconds(10) && wait <= chrono::Duration::seconds(11),
        "{wait}"
    );
    assert!(
        h.engine.due_webhooks(10).unwrap().is_empty(),
        "not due before its time"
    );
    h.clock.advance(chrono::Duration::seconds(12));
    let due = h.engine.due_webhooks(10).unwrap().remove(0);
    let after_429 = h
        .engine
        .record_webhook_attempt(&rules(), &due, answered(&h, Some(429), Some("600")))
        .unwrap();
    let wait = after_429.next_at.unwrap() - h.clock.now();
    assert_eq!(
        wait,
        chrono::Duration::seconds(600),
        "Retry-After beats the schedule's 60 s"
    );
    h.clock.advance(chrono::Duration::seconds(601));
    let due = h.engine.due_webhooks(10).unwrap().remove(0);
    let last = h
        .engine
        .record_webhook_attempt(&rules(), &due, answered(&h, None, None))
        .unwrap();
    assert_eq!(last.state, DeliveryState::Failed);
    assert_eq!(last.attempts.len(), 3);
    let disabled = h.engine.get_webhook(&admin(), &hook.endpoint.id).unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason, "failing");
    let notices = h.engine.store().outbox().unwrap();
    let notice = notices
        .iter()
        .find(|n| n.kind == NoticeKind::WebhookDisabled)
        .expect("a notice");
    assert_eq!(notice.credential_id, hook.endpoint.id);
    assert_eq!(notice.recipients, ["ops@acme.example"]);
}

/// 410 Gone disables at once; later events wait as failed deliveries
/// (RedeliverWebhook needs the endpoint enabled again).
#[tokio::test]
async fn gone_disables_at_once_and_redelivery_keeps_the_id() {
    let h = harness();
    let hook = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(None, &[]))
        .await
        .unwrap();
    h.create("acme").await;
    h.engine.fan_out_webhooks().unwrap();
    let due = h.engine.due_webhooks(10).unwrap().remove(0);
    let gone = h
        .engine
        .record_webhook_attempt(&rules(), &due, answered(&h, Some(410), None))
        .unwrap();
    assert_eq!(gone.state, DeliveryState::Failed);
    let endpoint = h.engine.get_webhook(&admin(), &hook.endpoint.id).unwrap();
    assert_eq!(
        (endpoint.enabled, endpoint.disabled_reason.as_str()),
        (false, "gone")
    );
    let refused = h
        .engine
        .redeliver_webhook(&admin(), &hook.endpoint.id, gone.seq)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::FailedPrecondition(_)),
        "{refused:?}"
    );
    let on = WebhookChange {
        enabled: Some(true),
        ..WebhookChange::default()
    };
    h.engine
        .update_webhook(&admin(), &rules(), &hook.endpoint.id, on)
        .await
        .unwrap();
    let again = h
        .engine
        .redeliver_webhook(&admin(), &hook.endpoint.id, gone.seq)
        .await
        .unwrap();
    assert_eq!(again.event_id, gone.event_id);
    let due = h.engine.due_webhooks(10).unwrap().remove(0);
    let ok = h
        .engine
        .record_webhook_attempt(&rules(), &due, answered(&h, Some(204), None))
        .unwrap();
    assert_eq!(ok.state, DeliveryState::Delivered);
    assert_eq!(ok.attempts.len(), 2);
}

/// After a rotation two secrets sign until the overlap ends; the secret
/// shown is never stored.
#[tokio::test]
async fn rotation_signs_with_both_secrets_for_the_overlap() {
    let h = harness();
    let created = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(None, &[]))
        .await
        .unwrap();
    let rotated = h
        .engine
        .rotate_webhook_secret(&admin(), &rules(), &created.endpoint.id)
        .await
        .unwrap();
    assert_ne!(created.secret, rotated.secret);
    let signers = h.engine.webhook_signers(&rotated.endpoint, h.clock.now());
    let shown: Vec<String> = signers.iter().map(|s| s.reveal().to_string()).collect();
    assert_eq!(
        shown,
        [rotated.secret.to_string(), created.secret.to_string()]
    );
    h.clock.advance(chrono::Duration::seconds(3601));
    let endpoint = h
        .engine
        .get_webhook(&admin(), &created.endpoint.id)
        .unwrap();
    assert_eq!(h.engine.webhook_signers(&endpoint, h.clock.now()).len(), 1);
    h.engine.store().flush().await.unwrap();
    for secret in [&created.secret, &rotated.secret] {
        use base64::Engine as _;
        let text = secret.trim_start_matches("whsec_");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert_absent(h.dir.path(), text.as_bytes());
        assert_absent(h.dir.path(), &raw);
    }
}

/// No file below `dir` holds `needle`.
fn assert_absent(dir: &std::path::Path, needle: &[u8]) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_absent(&path, needle);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds a signing secret",
                path.display()
            );
        }
    }
}

/// Scopes and accounts: an account-scoped key manages only its account's
/// endpoints; bad URLs and filters are refused with the reason.
#[tokio::test]
async fn who_may_manage_what_and_bad_input() {
    let h = harness();
    account(&h, "acme").await;
    account(&h, "other").await;
    let scoped = Actor::admin_key("k1", Scope::ACCOUNT, Some("acme".into()), String::new());
    let reader = Actor::admin_key("k2", [Scope::WebhooksRead], None, String::new());
    let err = h
        .engine
        .create_webhook(&scoped, &rules(), endpoint(None, &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    let err = h
        .engine
        .create_webhook(&reader, &rules(), endpoint(Some("acme"), &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::PermissionDenied(_)), "{err:?}");
    let own = h
        .engine
        .create_webhook(&scoped, &rules(), endpoint(Some("acme"), &[]))
        .await
        .unwrap();
    let theirs = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(Some("other"), &[]))
        .await
        .unwrap();
    let seen: Vec<String> = h
        .engine
        .list_webhooks(&scoped, None)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(seen, std::slice::from_ref(&own.endpoint.id));
    assert!(matches!(
        h.engine.get_webhook(&scoped, &theirs.endpoint.id),
        Err(Error::NoSuch(_))
    ));
    for (url, why) in [
        ("http://hooks.example.com/x", "https"),
        ("ftp://hooks.example.com/x", "scheme"),
        ("https://user:pw@hooks.example.com/x", "user"),
        ("https://10.1.2.3/x", "forbidden"),
        ("https://[::1]/x", "forbidden"),
        ("https://169.254.169.254/latest", "forbidden"),
        ("not a url", "url"),
    ] {
        let mut bad = endpoint(None, &[]);
        bad.url = url.to_string();
        let err = h
            .engine
            .create_webhook(&admin(), &rules(), bad)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidArgument(m) if m.contains(why)),
            "{url}: {err:?}"
        );
    }
    let err = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(None, &["credential.revokd"]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument(m) if m.contains("credential.revokd")),
        "{err:?}"
    );
    let mut open = rules();
    open.allowed_networks = vec!["10.0.0.0/8".parse().unwrap()];
    let mut inside = endpoint(None, &[]);
    inside.url = "https://10.1.2.3/x".into();
    h.engine
        .create_webhook(&admin(), &open, inside)
        .await
        .unwrap();
}

/// Finished deliveries older than `keep_days` go; pending ones stay.
#[tokio::test]
async fn old_finished_deliveries_are_pruned() {
    let h = harness();
    let hook = h
        .engine
        .create_webhook(&admin(), &rules(), endpoint(None, &[]))
        .await
        .unwrap();
    h.create("acme").await;
    h.create("acme").await;
    h.engine.fan_out_webhooks().unwrap();
    let due = h.engine.due_webhooks(10).unwrap().remove(0);
    h.engine
        .record_webhook_attempt(&rules(), &due, answered(&h, Some(200), None))
        .unwrap();
    h.clock.advance(chrono::Duration::days(29));
    assert_eq!(h.engine.prune_webhook_deliveries(&rules(), 100).unwrap(), 0);
    h.clock.advance(chrono::Duration::days(2));
    assert_eq!(h.engine.prune_webhook_deliveries(&rules(), 100).unwrap(), 1);
    let left = h
        .engine
        .store()
        .deliveries_of(&hook.endpoint.id, None, 10)
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, DeliveryState::Pending);
}
