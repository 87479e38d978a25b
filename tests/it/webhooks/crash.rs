//! `kill -9` between a change and its delivery: changes made while the
//! receiver is down are delivered after the restart under the
//! `webhook-id` ListWebhookDeliveries showed before the kill, each
//! accepted once; and changes whose events were not yet fanned out when
//! the daemon died are each delivered exactly once after the restart.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use credd::api::pb;

use super::receiver::Receiver;
use super::*;

/// Events fanned out before the kill keep their ids across it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_after_fan_out_keeps_each_webhook_id() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &patient_config());
    let mut receiver = Receiver::start_down().await;
    let mut hooks = hooks(&daemon).await;
    let (endpoint, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    let (a, _) = credential(&daemon, "crash", "a").await;
    credential(&daemon, "crash", "b").await;
    revoke(&daemon, &a).await;

    let before = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "tried once", |list| {
        list.len() == 3 && list.iter().all(|d| !d.attempts.is_empty())
    })
    .await;
    let before: BTreeMap<String, String> = before
        .iter()
        .map(|d| (d.event_id.clone(), d.event_type.clone()))
        .collect();
    assert_eq!(before.len(), 3, "one id per event: {before:?}");
    assert_eq!(receiver.count(), 0);

    daemon.kill9();
    receiver.up().await;
    daemon.restart();
    let mut hooks = super::hooks(&daemon).await;
    receiver
        .wait_until(LIMIT, "delivered after the restart", |seen| {
            seen.iter().map(|r| r.id()).collect::<BTreeSet<_>>().len() >= 3
        })
        .await;
    let after = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "delivered", |list| {
        list.iter()
            .all(|d| in_state(d, pb::WebhookDeliveryState::Delivered))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let accepted = receiver.accepted();
    assert_eq!(
        accepted.keys().cloned().collect::<BTreeSet<_>>(),
        before.keys().cloned().collect::<BTreeSet<_>>(),
        "the ids received are the ones listed before the kill"
    );
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    let after: BTreeMap<String, String> = after
        .iter()
        .map(|d| (d.event_id.clone(), d.event_type.clone()))
        .collect();
    assert_eq!(after, before, "ListWebhookDeliveries after the restart");
    for r in receiver.requests() {
        r.verify(&secret).expect("oracle");
        assert_eq!(Some(&r.event_type()), before.get(&r.id()));
    }
}

/// Events not yet fanned out when the daemon died (its worker polls once
/// a minute) are each delivered once after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_before_fan_out_delivers_each_event_once() {
    let dir = support::temp_dir();
    let fast = default_config();
    let slow = fast.replace("poll_interval = \"200ms\"", "poll_interval = \"60s\"");
    assert_ne!(fast, slow);
    let mut daemon = support::start(dir.path(), &slow);
    let receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;
    let (endpoint, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    let (a, _) = credential(&daemon, "crash", "a").await;
    let (b, _) = credential(&daemon, "crash", "b").await;
    revoke(&daemon, &a).await;
    // The worker's first round ran at start; the next is a minute away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(deliveries(&mut hooks, &endpoint.id).await.is_empty());
    assert_eq!(receiver.count(), 0);

    daemon.kill9();
    std::fs::write(&daemon.config_path, &fast).expect("rewrite config");
    daemon.restart();
    let mut hooks = super::hooks(&daemon).await;
    receiver
        .wait_until(LIMIT, "delivered after the restart", |seen| seen.len() >= 3)
        .await;
    wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "delivered", |list| {
        list.len() == 3
            && list
                .iter()
                .all(|d| in_state(d, pb::WebhookDeliveryState::Delivered))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let seen = receiver.requests();
    let mut got: Vec<(String, String)> = seen
        .iter()
        .map(|r| {
            let id = r.json()["data"]["credential_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (r.event_type(), id)
        })
        .collect();
    got.sort();
    let mut expected = vec![
        ("credential.created".to_string(), a.clone()),
        ("credential.created".to_string(), b.clone()),
        ("credential.revoked".to_string(), a.clone()),
    ];
    expected.sort();
    assert_eq!(got, expected, "each event once: {:?}", receiver.summary());
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 3);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    for r in &seen {
        r.verify(&secret).expect("oracle");
    }
}
