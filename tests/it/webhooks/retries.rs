//! What the receiver's answers do: failures (500s, then nothing
//! listening) are retried until it is back, and every event is then
//! accepted exactly once under the `webhook-id` it had from the start;
//! `410 Gone` disables the endpoint and nothing more is sent to it;
//! `Retry-After` on 429 and 503 holds the next attempt back.

use std::collections::BTreeSet;
use std::time::Duration;

use credd::api::pb;

use super::receiver::{Receiver, Reply};
use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_down_then_up_gets_every_event_once() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &patient_config());
    let mut receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let mut hooks = hooks(&daemon).await;
    let (endpoint, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;

    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(credential(&daemon, "down", &format!("c{n}")).await.0);
    }
    revoke(&daemon, &ids[0]).await;
    revoke(&daemon, &ids[1]).await;
    let events = 6;

    // Failing with 500: every delivery has been tried and refused twice.
    wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "two 500s each", |list| {
        list.len() == events
            && list
                .iter()
                .all(|d| d.attempts.iter().filter(|a| a.status_code == 500).count() >= 2)
    })
    .await;
    // Then not listening at all: attempts fail without an answer.
    receiver.down();
    let before_up = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "refused", |list| {
        list.iter().all(|d| {
            d.attempts
                .iter()
                .any(|a| a.status_code == 0 && !a.error.is_empty())
        })
    })
    .await;
    for d in &before_up {
        assert!(in_state(d, pb::WebhookDeliveryState::Pending), "{d:?}");
        assert!(d.next_attempt_at.is_some(), "{d:?}");
    }
    let failed_requests = receiver.count();
    assert!(failed_requests >= 2 * events);

    receiver.always(Reply::status(200));
    receiver.up().await;
    let delivered = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "delivered", |list| {
        list.iter()
            .all(|d| in_state(d, pb::WebhookDeliveryState::Delivered))
    })
    .await;
    // Anything sent twice would arrive now.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let listed: BTreeSet<String> = delivered.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(listed.len(), events, "one webhook-id per event");
    let accepted = receiver.accepted();
    assert_eq!(
        accepted.keys().cloned().collect::<BTreeSet<_>>(),
        listed,
        "the ids accepted are the events' ids"
    );
    assert!(
        accepted.values().all(|n| *n == 1),
        "an id accepted twice: {accepted:?}"
    );
    let before: BTreeSet<String> = before_up.iter().map(|d| d.event_id.clone()).collect();
    assert_eq!(before, listed, "ids kept across retries");
    for d in &delivered {
        let codes: Vec<u32> = d.attempts.iter().map(|a| a.status_code).collect();
        assert!(codes.iter().filter(|c| **c == 500).count() >= 2, "{d:?}");
        assert!(codes.contains(&0), "{d:?}");
        assert_eq!(codes.last(), Some(&200), "{d:?}");
        assert_eq!(
            codes.iter().filter(|c| **c == 200).count(),
            1,
            "delivered once: {d:?}"
        );
        assert!(d.next_attempt_at.is_none(), "{d:?}");
    }
    // Every attempt, failed or not, carried the same id and body and a
    // signature the oracle accepts.
    for r in receiver.requests() {
        r.verify(&secret)
            .unwrap_or_else(|e| panic!("{}: {e}", r.text()));
        let d = delivered
            .iter()
            .find(|d| d.event_id == r.id())
            .unwrap_or_else(|| panic!("unknown webhook-id {}", r.id()));
        assert_eq!(d.body.as_bytes(), r.body.as_slice());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gone_disables_the_endpoint() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &default_config());
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(410));
    let mut hooks = hooks(&daemon).await;
    let (endpoint, _) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    credential(&daemon, "gone", "first").await;

    receiver
        .wait_until(LIMIT, "the first event", |seen| !seen.is_empty())
        .await;
    let started = std::time::Instant::now();
    let disabled = loop {
        let e = get_hook(&mut hooks, &endpoint.id).await;
        if !e.enabled {
            break e;
        }
        assert!(
            started.elapsed() < LIMIT,
            "still enabled after a 410: {e:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(disabled.disabled_reason, "gone");
    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "failed", |list| {
        list.len() == 1 && in_state(&list[0], pb::WebhookDeliveryState::Failed)
    })
    .await;
    assert_eq!(list[0].attempts.len(), 1, "{list:?}");
    assert_eq!(list[0].attempts[0].status_code, 410);
    assert!(list[0].next_attempt_at.is_none());

    // Later events are not sent, and the failed one is not retried.
    let (later, _) = credential(&daemon, "gone", "second").await;
    revoke(&daemon, &later).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.count(), 1, "{:?}", receiver.summary());
    assert_eq!(deliveries(&mut hooks, &endpoint.id).await.len(), 1);
    assert!(!get_hook(&mut hooks, &endpoint.id).await.enabled);

    // A disabled endpoint cannot be redelivered to.
    let refused = hooks
        .redeliver_webhook(pb::RedeliverWebhookRequest {
            id: endpoint.id.clone(),
            event_seq: list[0].event_seq,
        })
        .await;
    support::expect_code(
        refused,
        tonic::Code::FailedPrecondition,
        "redeliver to a disabled endpoint",
    );

    // Enabled again (the reason cleared), it receives what happens next.
    let enabled = hooks
        .update_webhook(pb::UpdateWebhookRequest {
            id: endpoint.id.clone(),
            enabled: Some(true),
            ..Default::default()
        })
        .await
        .expect("enable")
        .into_inner()
        .webhook
        .expect("endpoint");
    assert!(enabled.enabled && enabled.disabled_reason.is_empty());
    receiver.always(Reply::status(200));
    let (third, _) = credential(&daemon, "gone", "third").await;
    let r = receiver
        .wait_for(LIMIT, "the event after re-enabling", |r| {
            r.json()["data"]["credential_id"] == third.as_str()
        })
        .await;
    assert_eq!(r.event_type(), "credential.created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_after_holds_the_next_attempt_back() {
    let dir = support::temp_dir();
    // The schedule would retry after 1 s; the receiver asks for more.
    let daemon = support::start(
        dir.path(),
        &webhooks_config(&["0s", "1s", "1s", "1s"], "24h"),
    );
    let receiver = Receiver::start().await;
    receiver.then(1, Reply::retry_after(429, 3));
    receiver.then(1, Reply::retry_after(503, 2));
    let mut hooks = hooks(&daemon).await;
    let (endpoint, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    credential(&daemon, "busy", "one").await;

    let seen = receiver
        .wait_until(LIMIT, "three attempts", |seen| seen.len() >= 3)
        .await;
    let answers: Vec<u16> = seen.iter().map(|r| r.answered).collect();
    assert_eq!(answers, [429, 503, 200]);
    assert!(
        seen.iter().all(|r| r.id() == seen[0].id()),
        "one webhook-id"
    );
    for r in &seen {
        r.verify(&secret).expect("oracle");
    }
    let first_wait = seen[1].at - seen[0].at;
    let second_wait = seen[2].at - seen[1].at;
    assert!(
        first_wait >= Duration::from_secs(3),
        "429 with Retry-After: 3, retried after {first_wait:?}"
    );
    assert!(
        second_wait >= Duration::from_secs(2),
        "503 with Retry-After: 2, retried after {second_wait:?}"
    );
    assert!(
        first_wait < Duration::from_secs(6) && second_wait < Duration::from_secs(5),
        "not retried soon after Retry-After: {first_wait:?}, {second_wait:?}"
    );
    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "delivered", |list| {
        list.len() == 1 && in_state(&list[0], pb::WebhookDeliveryState::Delivered)
    })
    .await;
    let codes: Vec<u32> = list[0].attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [429, 503, 200]);
}
