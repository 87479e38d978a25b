//! Receivers that misbehave: one that fails every attempt until the
//! schedule runs out (the endpoint is disabled as "failing" and the
//! account's contacts are told by e-mail), one that redirects (never
//! followed: a failure, the target sees nothing), one that times out (a
//! failure, retried), and one that is slow, which must not hold back
//! another endpoint's deliveries.

use std::time::{Duration, Instant};

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;

use super::receiver::{Receiver, Reply};
use super::*;

const CONTACT: &str = "hook-owner@acme.example";

/// The `.eml` files the daemon wrote (file transport), as text.
fn mails(daemon: &Daemon) -> Vec<String> {
    support::all_files(&daemon.data_dir.join("mail"))
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "eml"))
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_schedule_disables_the_endpoint_and_mails_the_account() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &webhooks_config(&["0s", "1s"], "24h"));
    let key = daemon.admin_key();
    AccountAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(&key)))
        .create_account(pb::CreateAccountRequest {
            id: "acme".into(),
            display_name: "Acme".into(),
            contact_emails: vec![CONTACT.into()],
            ..Default::default()
        })
        .await
        .expect("create account");
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let mut hooks = hooks(&daemon).await;
    let (endpoint, _) = create_hook(&mut hooks, &receiver.url(), "acme", &[]).await;
    credential(&daemon, "acme", "a").await;

    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "given up", |list| {
        list.len() == 1 && in_state(&list[0], pb::WebhookDeliveryState::Failed)
    })
    .await;
    let codes: Vec<u32> = list[0].attempts.iter().map(|a| a.status_code).collect();
    assert_eq!(codes, [500, 500], "one attempt per entry of the schedule");
    let shown = get_hook(&mut hooks, &endpoint.id).await;
    assert!(!shown.enabled, "{shown:?}");
    assert_eq!(shown.disabled_reason, "failing");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 2, "{:?}", receiver.summary());

    // The account's contacts hear of it.
    let started = Instant::now();
    loop {
        let told = mails(&daemon)
            .into_iter()
            .any(|m| m.contains(CONTACT) && m.contains(&endpoint.id));
        if told {
            break;
        }
        assert!(
            started.elapsed() < LIMIT,
            "no e-mail to {CONTACT} naming {} after the schedule ran out; mails: {:#?}",
            endpoint.id,
            mails(&daemon)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_failures_and_not_followed() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &default_config());
    let target = Receiver::start().await;
    let redirecting = Receiver::start().await;
    redirecting.always(Reply::with_header(302, "location", &target.url()));
    let mut hooks = hooks(&daemon).await;
    let (endpoint, _) = create_hook(&mut hooks, &redirecting.url(), "", &[]).await;
    credential(&daemon, "redir", "a").await;

    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "two attempts", |list| {
        list.len() == 1 && list[0].attempts.len() >= 2
    })
    .await;
    assert!(
        !in_state(&list[0], pb::WebhookDeliveryState::Delivered),
        "{list:?}"
    );
    assert!(list[0].attempts.iter().all(|a| a.status_code == 302));
    assert_eq!(target.count(), 0, "the redirect was followed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_is_a_failure_and_is_retried() {
    let dir = support::temp_dir();
    let config = webhooks_config(&["0s", "1s", "1s", "1s"], "24h")
        .replace("timeout = \"3s\"", "timeout = \"1s\"");
    let daemon = support::start(dir.path(), &config);
    let receiver = Receiver::start().await;
    receiver.then(1, Reply::slow(Duration::from_secs(4)));
    let mut hooks = hooks(&daemon).await;
    let (endpoint, secret) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    credential(&daemon, "slow", "a").await;

    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "delivered", |list| {
        list.len() == 1 && in_state(&list[0], pb::WebhookDeliveryState::Delivered)
    })
    .await;
    let attempts = &list[0].attempts;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].status_code, 0, "{attempts:?}");
    assert!(!attempts[0].error.is_empty());
    assert_eq!(attempts[1].status_code, 200);
    let seen = receiver.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].id(), seen[1].id());
    seen[1].verify(&secret).expect("oracle");
}

/// One endpoint that takes 8 s to answer must not delay another's
/// deliveries: with a round every second, the fast endpoint gets an event
/// within a few seconds of the change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_endpoint_does_not_hold_back_the_others() {
    let dir = support::temp_dir();
    let config = default_config().replace("timeout = \"3s\"", "timeout = \"15s\"");
    let daemon = support::start(dir.path(), &config);
    let slow = Receiver::start().await;
    slow.always(Reply::slow(Duration::from_secs(8)));
    let fast = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;
    create_hook(&mut hooks, &slow.url(), "", &[]).await;
    create_hook(&mut hooks, &fast.url(), "", &[]).await;

    credential(&daemon, "hol", "first").await;
    fast.wait_until(LIMIT, "the first event", |seen| seen.len() == 1)
        .await;
    slow.wait_until(LIMIT, "the slow one busy", |seen| seen.len() == 1)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let changed = Instant::now();
    credential(&daemon, "hol", "second").await;
    fast.wait_until(LIMIT, "the second event", |seen| seen.len() == 2)
        .await;
    let took = fast.requests()[1].at - changed;
    assert!(
        took < Duration::from_secs(4),
        "the fast endpoint got the second event {took:?} after the change: \
         held back by the slow endpoint's attempt"
    );
}
