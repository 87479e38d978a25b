//! The SSRF guard: with the default `[webhooks]` (https only, no network
//! allowed) an endpoint at a loopback, private, link-local or metadata
//! address is refused at create; with http allowed but no network, a
//! host name that resolves to loopback is accepted at create (names are
//! not resolved then) and every delivery is refused before a connection
//! is made: the receiver sees nothing, and the attempts say why.

use std::time::Duration;

use credd::api::pb;

use super::receiver::Receiver;
use super::*;

fn create_request(url: &str) -> pb::CreateWebhookRequest {
    pb::CreateWebhookRequest {
        url: url.to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_addresses_are_refused_at_create_by_default() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;

    let plain = format!("http://127.0.0.1:{}/hook", receiver.port());
    expect_invalid(
        hooks.create_webhook(create_request(&plain)).await,
        "https",
        "http by default",
    );
    for url in [
        "https://10.0.0.1/x".to_string(),
        format!("https://127.0.0.1:{}/hook", receiver.port()),
        "https://169.254.169.254/latest/meta-data".to_string(),
        "https://192.168.1.20/x".to_string(),
        "https://[::1]/x".to_string(),
        "https://[::ffff:10.0.0.1]/x".to_string(),
        "https://[fd00::1]/x".to_string(),
        "https://0.0.0.0/x".to_string(),
    ] {
        expect_invalid(
            hooks.create_webhook(create_request(&url)).await,
            "forbidden address",
            &url,
        );
    }
    let listed = hooks
        .list_webhooks(pb::ListWebhooksRequest::default())
        .await
        .expect("list")
        .into_inner()
        .webhooks;
    assert!(listed.is_empty(), "{listed:?}");

    // A public address or a name is fine; changing it to a private
    // address is refused like creating one.
    let (endpoint, _) = create_hook(&mut hooks, "https://hooks.example.com/in", "", &[]).await;
    let moved = hooks
        .update_webhook(pb::UpdateWebhookRequest {
            id: endpoint.id.clone(),
            url: Some("https://10.1.2.3/in".to_string()),
            ..Default::default()
        })
        .await;
    expect_invalid(moved, "forbidden address", "update to a private address");
    assert_eq!(
        get_hook(&mut hooks, &endpoint.id).await.url,
        "https://hooks.example.com/in"
    );
    assert_eq!(receiver.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_name_resolving_to_loopback_is_refused_without_a_connection() {
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        "[webhooks]\nallow_http = true\npoll_interval = \"1s\"\n\
         retry_schedule = [\"0s\", \"1s\", \"1s\"]\n",
    );
    let receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;

    // The literal address is refused at create even with http allowed.
    let literal = format!("http://127.0.0.1:{}/hook", receiver.port());
    expect_invalid(
        hooks.create_webhook(create_request(&literal)).await,
        "forbidden address",
        "loopback literal",
    );
    // A name is accepted: it is resolved (and judged) at connect time.
    let url = format!("http://localhost:{}/hook", receiver.port());
    let (endpoint, _) = create_hook(&mut hooks, &url, "", &[]).await;
    credential(&daemon, "ssrf", "a").await;

    let list = wait_deliveries(&mut hooks, &endpoint.id, LIMIT, "tried", |list| {
        list.len() == 1 && list[0].attempts.len() >= 2
    })
    .await;
    for attempt in &list[0].attempts {
        assert_eq!(attempt.status_code, 0, "{attempt:?}");
        assert!(
            attempt.error.contains("forbidden address"),
            "the attempt's error does not name the forbidden address: {:?}",
            attempt.error
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 0, "a request reached the receiver");
    assert!(
        !in_state(&list[0], pb::WebhookDeliveryState::Delivered),
        "{list:?}"
    );
}
