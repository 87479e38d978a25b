//! Webhooks (Standard Webhooks 1.0) through the real daemon and a real
//! HTTP receiver in the test (`receiver.rs`), whose signatures are checked
//! with the `standardwebhooks` crate as an independent oracle:
//!
//! - `events.rs`: an event for every lifecycle transition, driven with a
//!   policy in seconds; body shape, no secret or hash in any body.
//! - `retries.rs`: a receiver that fails or is down, then up: everything
//!   delivered, each `webhook-id` accepted once; `410` disables;
//!   `Retry-After` is honoured.
//! - `failures.rs`: the schedule running out (disabled, the account
//!   mailed), redirects, timeouts, a slow endpoint beside a fast one.
//! - `crash.rs`: `kill -9` between the change and its delivery.
//! - `rotation.rs`: two signatures during a secret rotation, one after.
//! - `ssrf.rs`: forbidden addresses refused at create and at connect time.
//! - `admin.rs`: scopes, accounts, bad input, test events, redelivery,
//!   the signing secret never in logs or data files.
//! - `credctl.rs`: `credctl webhook ...` through the binary.

mod admin;
mod crash;
mod credctl;
mod events;
mod failures;
mod receiver;
mod retries;
mod rotation;
mod ssrf;

use std::time::{Duration, Instant};

use credd::api::pb;
use credd::api::pb::webhook_admin_client::WebhookAdminClient;

use crate::support::{self, Authed, Bearer, Daemon};

/// `WebhookAdmin` with an admin key.
pub type Hooks = WebhookAdminClient<Authed>;

/// How long any wait for a delivery may take.
pub const LIMIT: Duration = Duration::from_secs(20);

/// `[webhooks]` for the tests: http and loopback allowed, a round every
/// 200 ms, a short retry schedule (`schedule`: the waits, quoted) and a
/// rotated secret's overlap of `overlap`.
pub fn webhooks_config(schedule: &[&str], overlap: &str) -> String {
    let schedule: Vec<String> = schedule.iter().map(|s| format!("{s:?}")).collect();
    format!(
        "[webhooks]\nallow_http = true\nallowed_networks = [\"127.0.0.0/8\"]\n\
         poll_interval = \"200ms\"\ntimeout = \"3s\"\n\
         retry_schedule = [{}]\nrotation_overlap = {overlap:?}\n",
        schedule.join(", ")
    )
}

/// The usual test config: retries after 1, 1 and 2 s; a day's overlap.
pub fn default_config() -> String {
    webhooks_config(&["0s", "1s", "1s", "2s"], "24h")
}

/// A schedule that keeps retrying every second for 20 attempts.
pub fn patient_config() -> String {
    let mut waits = vec!["0s"];
    waits.extend(["1s"; 19]);
    webhooks_config(&waits, "24h")
}

/// A `WebhookAdmin` client presenting `key`.
pub async fn hooks_as(daemon: &Daemon, key: &str) -> Hooks {
    WebhookAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(key)))
}

/// A `WebhookAdmin` client presenting the bootstrap admin key.
pub async fn hooks(daemon: &Daemon) -> Hooks {
    hooks_as(daemon, &daemon.admin_key()).await
}

/// Creates an endpoint at `url` for `account` ("" for all) receiving
/// `events` (empty: all); returns it and its signing secret.
pub async fn create_hook(
    hooks: &mut Hooks,
    url: &str,
    account: &str,
    events: &[&str],
) -> (pb::WebhookEndpoint, String) {
    let created = hooks
        .create_webhook(pb::CreateWebhookRequest {
            url: url.to_string(),
            account_id: account.to_string(),
            description: "test receiver".to_string(),
            event_types: events.iter().map(|e| e.to_string()).collect(),
        })
        .await
        .expect("create webhook")
        .into_inner();
    let endpoint = created.webhook.expect("endpoint in response");
    assert!(
        created.signing_secret.starts_with("whsec_"),
        "{}",
        created.signing_secret.len()
    );
    (endpoint, created.signing_secret)
}

/// The endpoint as it is now.
pub async fn get_hook(hooks: &mut Hooks, id: &str) -> pb::WebhookEndpoint {
    hooks
        .get_webhook(pb::GetWebhookRequest { id: id.to_string() })
        .await
        .expect("get webhook")
        .into_inner()
        .webhook
        .expect("endpoint in response")
}

/// Every delivery of endpoint `id`, newest first.
pub async fn deliveries(hooks: &mut Hooks, id: &str) -> Vec<pb::WebhookDelivery> {
    hooks
        .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
            id: id.to_string(),
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .expect("list deliveries")
        .into_inner()
        .deliveries
}

/// Polls the deliveries of `id` until `done` holds, for at most `limit`.
pub async fn wait_deliveries(
    hooks: &mut Hooks,
    id: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&[pb::WebhookDelivery]) -> bool,
) -> Vec<pb::WebhookDelivery> {
    let started = Instant::now();
    loop {
        let list = deliveries(hooks, id).await;
        if done(&list) {
            return list;
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}; deliveries: {list:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a delivery is in `state`.
pub fn in_state(d: &pb::WebhookDelivery, state: pb::WebhookDeliveryState) -> bool {
    d.state == i32::from(state)
}

/// Creates an admin key with `scopes` for `account` ("" for global).
pub async fn admin_key(daemon: &Daemon, account: &str, scopes: &[&str]) -> String {
    daemon
        .admin_keys_as(Some(&daemon.admin_key()))
        .await
        .create_admin_key(pb::CreateAdminKeyRequest {
            name: format!("{account} {scopes:?}"),
            account_id: account.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
        .expect("create admin key")
        .into_inner()
        .secret
}

/// Creates a credential for `account`; returns its id and secret.
pub async fn credential(daemon: &Daemon, account: &str, name: &str) -> (String, String) {
    let mut admin = daemon.admin().await;
    let (c, secret) = support::create(&mut admin, support::api_key(account, name)).await;
    (c.id, secret)
}

/// Revokes credential `id`.
pub async fn revoke(daemon: &Daemon, id: &str) {
    daemon
        .admin()
        .await
        .revoke_credential(pb::RevokeCredentialRequest {
            id: id.to_string(),
            reason: "webhook test".to_string(),
        })
        .await
        .expect("revoke");
}

/// Asserts that a call failed with INVALID_ARGUMENT whose message
/// contains `needle`.
pub fn expect_invalid<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    needle: &str,
    what: &str,
) {
    let status = support::expect_code(result, tonic::Code::InvalidArgument, what);
    assert!(
        status.message().contains(needle),
        "{what}: the message {:?} does not say {needle:?}",
        status.message()
    );
}
