//! Webhook delivery (Standard Webhooks 1.0): each round, on the node that
//! leads, fans waiting events out into deliveries and attempts every
//! delivery that is due, at most `[webhooks] concurrency` at once. Each
//! attempt POSTs the delivery's fixed body with `webhook-id` (the event's,
//! the same on every attempt), `webhook-timestamp` (this attempt's) and
//! `webhook-signature` (one `v1,` signature per live secret), then the
//! engine records the answer. A crash after a receiver accepted but
//! before the answer was recorded sends that attempt again with the same
//! id; nothing else is sent twice, and nothing is lost.

mod client;

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::config::WebhooksConfig;
use crate::engine::webhooks::{AttemptOutcome, DueWebhook};
use crate::engine::{Engine, Error};
use crate::secret::webhook::signature_header;

/// Deliveries read per round.
const DUE_BATCH: usize = 512;
/// How often finished deliveries past `keep_days` are removed.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
/// Deliveries removed per pruning.
const PRUNE_BATCH: usize = 10_000;

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookRound {
    /// Events turned into deliveries.
    pub fanned_out: usize,
    /// Attempts answered 2xx.
    pub delivered: usize,
    /// Attempts that failed (to be retried, or given up).
    pub failed: usize,
}

/// Delivers webhook events.
pub struct WebhookWorker {
    engine: Arc<Engine>,
    rules: Arc<WebhooksConfig>,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    /// When finished deliveries were last pruned.
    pruned_at: std::sync::Mutex<Option<Instant>>,
}

impl WebhookWorker {
    /// A worker with its HTTP client.
    ///
    /// # Errors
    /// The client could not be built (TLS setup).
    pub fn new(engine: Arc<Engine>, rules: Arc<WebhooksConfig>) -> Result<Self, String> {
        Ok(WebhookWorker {
            client: client::build(rules.clone())?,
            slots: Arc::new(Semaphore::new(rules.concurrency)),
            pruned_at: std::sync::Mutex::new(None),
            engine,
            rules,
        })
    }

    /// One round: fan out, then attempt what is due. Does nothing on a
    /// cluster node that does not lead.
    ///
    /// # Errors
    /// Storage errors (the round is simply run again later).
    pub async fn round(self: &Arc<Self>) -> Result<WebhookRound, Error> {
        if !*self.engine.store().leading().borrow() {
            return Ok(WebhookRound::default());
        }
        self.prune();
        let engine = self.engine.clone();
        let (fanned_out, due) = crate::offload::blocking(|| {
            let fanned = engine.fan_out_webhooks()?;
            let due = engine.due_webhooks(DUE_BATCH)?;
            if !due.is_empty() {
                // A deposed leader that has not heard yet must not send
                // while its successor does: prove the lease (sled: no-op).
                engine.store().confirm_leadership()?;
            }
            Ok::<_, Error>((fanned, due))
        })?;
        let mut round = WebhookRound {
            fanned_out,
            ..WebhookRound::default()
        };
        let mut attempts = JoinSet::new();
        for due in due {
            let Ok(slot) = self.slots.clone().acquire_owned().await else {
                break;
            };
            let worker = self.clone();
            attempts.spawn(async move {
                let delivered = worker.attempt(due).await;
                drop(slot);
                delivered
            });
        }
        while let Some(result) = attempts.join_next().await {
            match result {
                Ok(Ok(true)) => round.delivered += 1,
                Ok(Ok(false)) => round.failed += 1,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "webhook attempt not recorded; it will be made again")
                }
                Err(e) => tracing::error!(error = %e, "webhook attempt task failed"),
            }
        }
        Ok(round)
    }

    /// Removes old finished deliveries, at most once per [`PRUNE_EVERY`].
    fn prune(&self) {
        let mut last = self.pruned_at.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|at| at.elapsed() < PRUNE_EVERY) {
            return;
        }
        *last = Some(Instant::now());
        let pruned = crate::offload::blocking(|| {
            self.engine
                .prune_webhook_deliveries(&self.rules, PRUNE_BATCH)
        });
        if let Err(e) = pruned {
            tracing::warn!(error = %e, "old webhook deliveries not removed; will retry");
        }
    }

    /// Sends `due` once and records the answer; true when delivered.
    async fn attempt(&self, due: DueWebhook) -> Result<bool, Error> {
        let outcome = self.send(&due).await;
        let status = outcome.status;
        tracing::debug!(
            webhook_id = %due.endpoint.id,
            event_id = %due.delivery.event_id,
            status = ?status,
            latency_ms = outcome.latency_ms,
            error = %outcome.error,
            "webhook attempt"
        );
        let engine = self.engine.clone();
        let rules = self.rules.clone();
        let recorded =
            crate::offload::blocking(move || engine.record_webhook_attempt(&rules, &due, outcome))?;
        Ok(recorded.state == crate::store::DeliveryState::Delivered)
    }

    /// One POST; never fails, the outcome says what happened.
    async fn send(&self, due: &DueWebhook) -> AttemptOutcome {
        let now = self.engine.now();
        let started = Instant::now();
        let mut outcome = AttemptOutcome {
            at: now,
            ..AttemptOutcome::default()
        };
        let url = match reqwest::Url::parse(&due.endpoint.url) {
            Ok(url) => url,
            Err(e) => {
                outcome.error = format!("bad url: {e}");
                return outcome;
            }
        };
        if let Err(e) = client::check_literal_host(&url, &self.rules) {
            outcome.error = e;
            return outcome;
        }
        let timestamp = now.timestamp();
        let body = due.delivery.body.clone().into_bytes();
        let signers = self.engine.webhook_signers(&due.endpoint, now);
        let signature = signature_header(&signers, &due.delivery.event_id, timestamp, &body);
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &due.delivery.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        outcome.latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match sent {
            Ok(response) => {
                outcome.status = Some(response.status().as_u16());
                outcome.retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
            }
            Err(e) => outcome.error = error_chain(&e),
        }
        outcome
    }
}

/// An error with its causes (reqwest's own message is often only "error
/// sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
