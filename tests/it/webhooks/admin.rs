//! The WebhookAdmin surface: scopes (webhooks:read, webhooks:write), an
//! account-scoped key that sees and receives only its account's, event
//! filters, bad input refused with a clear message, SendTestWebhook,
//! RedeliverWebhook (the same `webhook-id` again), DeleteWebhook, and the
//! signing secrets never in the logs or the data files.

use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use super::receiver::Receiver;
use super::*;

fn request(url: &str, account: &str, events: &[&str]) -> pb::CreateWebhookRequest {
    pb::CreateWebhookRequest {
        url: url.to_string(),
        account_id: account.to_string(),
        description: String::new(),
        event_types: events.iter().map(|e| e.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_and_accounts() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &default_config());
    let everything = Receiver::start().await;
    let acme_receiver = Receiver::start().await;
    credential(&daemon, "acme", "first").await;
    credential(&daemon, "globex", "first").await;

    let reader = admin_key(&daemon, "", &["webhooks:read"]).await;
    let outsider = admin_key(&daemon, "", &["credentials:read"]).await;
    let acme = admin_key(&daemon, "acme", &["webhooks:read", "webhooks:write"]).await;
    let mut root = hooks(&daemon).await;
    let mut reader = hooks_as(&daemon, &reader).await;
    let mut outsider = hooks_as(&daemon, &outsider).await;
    let mut acme = hooks_as(&daemon, &acme).await;

    let refused = reader
        .create_webhook(request(&everything.url(), "", &[]))
        .await;
    support::expect_code(refused, Code::PermissionDenied, "read-only key creates");
    let refused = outsider
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await;
    support::expect_code(refused, Code::PermissionDenied, "no webhooks scope lists");

    let (global, global_secret) = create_hook(&mut root, &everything.url(), "", &[]).await;
    let (own, own_secret) = create_hook(&mut acme, &acme_receiver.url(), "acme", &[]).await;
    assert_eq!(own.account_id, "acme");
    let refused = acme
        .create_webhook(request(&acme_receiver.url(), "globex", &[]))
        .await;
    support::expect_code(refused, Code::PermissionDenied, "acme key for globex");
    let global_by_acme = acme
        .create_webhook(request(&acme_receiver.url(), "", &[]))
        .await;
    assert!(
        global_by_acme.is_err(),
        "an account-scoped key created a global endpoint: {global_by_acme:?}"
    );

    let listed = reader
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await
        .expect("reader lists")
        .into_inner()
        .webhooks;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let listed = acme
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await
        .expect("acme lists")
        .into_inner()
        .webhooks;
    let ids: Vec<&str> = listed.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [own.id.as_str()], "acme sees only its own");
    let other = acme
        .get_webhook(pb::GetWebhookRequest {
            id: global.id.clone(),
        })
        .await;
    support::expect_code(other, Code::NotFound, "acme reads the global endpoint");
    let other = acme
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            id: global.id.clone(),
            ..Default::default()
        })
        .await;
    support::expect_code(other, Code::NotFound, "acme lists global deliveries");
    let other = acme
        .delete_webhook(pb::DeleteWebhookRequest {
            id: global.id.clone(),
        })
        .await;
    support::expect_code(other, Code::NotFound, "acme deletes the global endpoint");
    let other = acme
        .list_webhooks(pb::ListWebhooksRequest {
            account_id: "globex".into(),
        })
        .await;
    support::expect_code(other, Code::PermissionDenied, "acme lists globex's");

    // Events: acme's endpoint gets acme's only; the global one both.
    let (acme_cred, _) = credential(&daemon, "acme", "second").await;
    let (globex_cred, _) = credential(&daemon, "globex", "second").await;
    revoke(&daemon, &globex_cred).await;
    revoke(&daemon, &acme_cred).await;
    everything
        .wait_until(LIMIT, "four events", |seen| seen.len() >= 4)
        .await;
    acme_receiver
        .wait_until(LIMIT, "acme's two events", |seen| seen.len() >= 2)
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for r in acme_receiver.requests() {
        r.verify(&own_secret).expect("oracle");
        assert_eq!(r.json()["data"]["account_id"], "acme", "{}", r.text());
        assert_eq!(r.json()["data"]["credential_id"], acme_cred.as_str());
    }
    assert_eq!(acme_receiver.count(), 2, "{:?}", acme_receiver.summary());
    for r in everything.requests() {
        r.verify(&global_secret).expect("oracle");
        // The acme secret does not sign the global endpoint's requests.
        assert!(r.verify(&own_secret).is_err());
    }
    assert_eq!(everything.count(), 4, "{:?}", everything.summary());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_test_events_redelivery_and_secrets() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &default_config());
    let receiver = Receiver::start().await;
    let filtered_receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;

    for (url, events, needle) in [
        (
            "https://h.example/x",
            &["credential.exploded"][..],
            "unknown event type",
        ),
        (
            "https://h.example/x",
            &["nothing.*"][..],
            "unknown event type",
        ),
        ("ftp://h.example/x", &[][..], "scheme"),
        ("https://user:pass@h.example/x", &[][..], "user or password"),
        ("not a url", &[][..], "url"),
        ("", &[][..], "url"),
    ] {
        let refused = hooks.create_webhook(request(url, "", events)).await;
        expect_invalid(refused, needle, &format!("{url} {events:?}"));
    }
    let unknown_account = hooks
        .create_webhook(request(&receiver.url(), "nobody", &[]))
        .await;
    assert!(unknown_account.is_err(), "{unknown_account:?}");

    let (endpoint, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    let (filtered, filtered_secret) = create_hook(
        &mut hooks,
        &filtered_receiver.url(),
        "",
        &["credential.revoked", "account.*"],
    )
    .await;
    assert_eq!(
        filtered.event_types,
        ["credential.revoked".to_string(), "account.*".to_string()]
    );
    let refused = hooks
        .update_webhook(pb::UpdateWebhookRequest {
            id: filtered.id.clone(),
            event_types: Some(pb::StringList {
                values: vec!["credential.nope".into()],
            }),
            ..Default::default()
        })
        .await;
    expect_invalid(refused, "unknown event type", "update with a bad filter");

    // The test event.
    let sent = hooks
        .send_test_webhook(pb::SendTestWebhookRequest {
            id: endpoint.id.clone(),
        })
        .await
        .expect("send test")
        .into_inner()
        .delivery
        .expect("delivery");
    assert_eq!(sent.event_type, "webhook.test");
    let r = receiver
        .wait_for(LIMIT, "the test event", |r| {
            r.event_type() == "webhook.test"
        })
        .await;
    r.verify(&secret).expect("oracle");
    assert_eq!(r.id(), sent.event_id);
    assert_eq!(r.json()["data"]["webhook_id"], endpoint.id.as_str());
    assert_eq!(
        filtered_receiver.count(),
        0,
        "a test event goes to one endpoint"
    );

    // A change, delivered; then redelivered with the same id and body.
    let (id, _) = credential(&daemon, "acme", "one").await;
    revoke(&daemon, &id).await;
    let created = receiver
        .wait_for(LIMIT, "created", |r| r.event_type() == "credential.created")
        .await;
    let revoked = filtered_receiver
        .wait_for(LIMIT, "revoked (filtered)", |r| {
            r.event_type() == "credential.revoked"
        })
        .await;
    revoked.verify(&filtered_secret).expect("oracle");
    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "delivered", |list| {
        list.iter()
            .any(|d| d.event_id == created.id() && in_state(d, pb::WebhookDeliveryState::Delivered))
    })
    .await;
    let original = list
        .iter()
        .find(|d| d.event_id == created.id())
        .expect("listed");
    let redelivered = hooks
        .redeliver_webhook(pb::RedeliverWebhookRequest {
            id: endpoint.id.clone(),
            event_seq: original.event_seq,
        })
        .await
        .expect("redeliver")
        .into_inner()
        .delivery
        .expect("delivery");
    assert_eq!(redelivered.event_id, created.id());
    receiver
        .wait_until(LIMIT, "redelivered", |seen| {
            seen.iter().filter(|r| r.id() == created.id()).count() == 2
        })
        .await;
    let again: Vec<_> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.id() == created.id())
        .collect();
    assert_eq!(again[0].body, again[1].body, "the same body again");
    again[1].verify(&secret).expect("oracle");
    let missing = hooks
        .redeliver_webhook(pb::RedeliverWebhookRequest {
            id: endpoint.id.clone(),
            event_seq: 999_999,
        })
        .await;
    support::expect_code(missing, Code::NotFound, "redeliver an unknown seq");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let filtered_types: Vec<String> = filtered_receiver
        .requests()
        .iter()
        .map(|r| r.event_type())
        .collect();
    assert_eq!(filtered_types, ["credential.revoked"], "the filter holds");

    // Deleted: gone, and nothing more is sent to it.
    hooks
        .delete_webhook(pb::DeleteWebhookRequest {
            id: filtered.id.clone(),
        })
        .await
        .expect("delete");
    let gone = hooks
        .get_webhook(pb::GetWebhookRequest {
            id: filtered.id.clone(),
        })
        .await;
    support::expect_code(gone, Code::NotFound, "deleted endpoint");
    let (later, _) = credential(&daemon, "acme", "later").await;
    revoke(&daemon, &later).await;
    receiver
        .wait_for(LIMIT, "later revoked", |r| {
            r.json()["data"]["credential_id"] == later.as_str()
                && r.event_type() == "credential.revoked"
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(filtered_receiver.count(), 1, "sent to a deleted endpoint");

    // The signing secrets are nowhere on disk or in the logs.
    let logs = daemon.logs();
    for s in [&secret, &filtered_secret] {
        let body = s.trim_start_matches("whsec_").to_string();
        assert!(!logs.contains(&body), "a signing secret in the logs");
        support::assert_no_secret_in_files(&daemon.data_dir, &[s.clone(), body]);
    }
}
