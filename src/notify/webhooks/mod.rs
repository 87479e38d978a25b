//! Webhook delivery (Standard Webhooks 1.0): each round, on the node that
//! leads, fans waiting events out into deliveries and starts the attempts
//! that are due, as long as fewer than `[webhooks] concurrency` are in
//! flight; a round never waits for an attempt, so a slow receiver holds
//! back only its own deliveries (the daemon runs a round on every tick and
//! whenever an attempt ends). Each
//! attempt POSTs the delivery's fixed body with `webhook-id` (the event's,
//! the same on every attempt), `webhook-timestamp` (this attempt's) and
//! `webhook-signature` (one `v1,` signature per live secret), then the
//! engine records the answer. A crash after a receiver accepted but
//! before the answer was recorded sends that attempt again with the same
//! id; nothing else is sent twice, and nothing is lost.

mod client;

use std::sync::Arc;
use std::time::Instant;

use std::collections::HashSet;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::config::WebhooksConfig;
use crate::engine::webhooks::{AttemptOutcome, DueWebhook};
use crate::engine::{Engine, Error};
use crate::secret::webhook::signature_header;
use crate::store::DeliveryState;

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
    /// Attempts started.
    pub started: usize,
}

/// Delivers webhook events.
pub struct WebhookWorker {
    engine: Arc<Engine>,
    rules: Arc<WebhooksConfig>,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
    /// When finished deliveries were last pruned.
    pruned_at: std::sync::Mutex<Option<Instant>>,
    /// Deliveries being attempted, (endpoint, seq): a round skips them.
    in_flight: std::sync::Mutex<HashSet<(String, u64)>>,
    /// Told whenever an attempt ends (a slot is free again).
    freed: Arc<Notify>,
    /// `[webhooks] max_per_second`, when set: each attempt waits for a
    /// token before it sends (holding its slot).
    pace: Option<governor::DefaultDirectRateLimiter>,
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
            in_flight: std::sync::Mutex::default(),
            freed: Arc::new(Notify::new()),
            pace: std::num::NonZeroU32::new(rules.max_per_second)
                .map(|n| governor::RateLimiter::direct(governor::Quota::per_second(n))),
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
        // Only as many as can start now, plus those in flight (which sort
        // among the earliest and are skipped).
        let free = self.slots.available_permits();
        let want = if free == 0 {
            0
        } else {
            (free + self.in_flight()).min(DUE_BATCH)
        };
        let (fanned_out, due) = crate::offload::blocking(|| {
            let fanned = engine.fan_out_webhooks()?;
            let due = if want == 0 {
                Vec::new()
            } else {
                engine.due_webhooks(want)?
            };
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
        for due in due {
            let key = (due.delivery.endpoint_id.clone(), due.delivery.seq);
            if self.flying().contains(&key) {
                continue;
            }
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                break;
            };
            self.flying().insert(key.clone());
            round.started += 1;
            let worker = self.clone();
            tokio::spawn(async move {
                if let Err(e) = worker.attempt(due).await {
                    tracing::error!(error = %e, "webhook attempt not recorded; it will be made again");
                }
                worker.flying().remove(&key);
                drop(slot);
                worker.freed.notify_one();
            });
        }
        Ok(round)
    }

    /// Notified whenever an attempt ends: a round may start another.
    pub fn freed(&self) -> Arc<Notify> {
        self.freed.clone()
    }

    /// Publishes the backlog (events not fanned out, deliveries pending).
    fn publish_backlog(&self) {
        if let Ok((events, due)) = self.engine.store().webhook_backlog() {
            crate::telemetry::webhook_backlog(events, due);
        }
    }

    /// Runs rounds on a thread of its own (a current-thread runtime), every
    /// `poll_interval` and whenever an attempt ends, until `stop` changes:
    /// signing, sending and recording take at most that one core, at a
    /// background priority, so a burst of deliveries never takes the CPU
    /// Verify needs.
    pub fn spawn(self: Arc<Self>, stop: tokio::sync::watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::task::spawn_blocking(move || {
            background_priority();
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("credd-webhooks")
                .build();
            match runtime {
                Ok(runtime) => runtime.block_on(self.run(stop)),
                Err(e) => {
                    tracing::error!(error = %e, "webhook delivery could not start its runtime")
                }
            }
        })
    }

    /// Rounds until `stop` changes.
    async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let freed = self.freed();
        let mut ticker = tokio::time::interval(self.rules.poll_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.publish_backlog(),
                () = freed.notified() => {}
                _ = stop.changed() => break,
            }
            match self.round().await {
                Ok(round) if round != WebhookRound::default() => {
                    tracing::debug!(?round, "webhook round");
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "webhook round failed; will retry"),
            }
        }
        tracing::info!(task = "webhook-delivery", "stopped");
    }

    /// Attempts in flight now.
    pub fn in_flight(&self) -> usize {
        self.flying().len()
    }

    fn flying(&self) -> std::sync::MutexGuard<'_, HashSet<(String, u64)>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
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
        // A round may have read this delivery just before an attempt in
        // flight recorded its answer: send only what is still as read.
        let (endpoint, seq) = (&due.delivery.endpoint_id, due.delivery.seq);
        let current =
            crate::offload::blocking(|| self.engine.store().webhook_delivery(endpoint, seq))?;
        if current.as_ref() != Some(&due.delivery) || due.delivery.state != DeliveryState::Pending {
            return Ok(false);
        }
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
        crate::telemetry::webhook_attempt(match (recorded.state, status) {
            (DeliveryState::Delivered, _) => "delivered",
            (_, Some(410)) => "gone",
            _ => "failed",
        });
        Ok(recorded.state == DeliveryState::Delivered)
    }

    /// One POST; never fails, the outcome says what happened.
    async fn send(&self, due: &DueWebhook) -> AttemptOutcome {
        let mut outcome = AttemptOutcome {
            at: self.engine.now(),
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
        if let Some(pace) = &self.pace {
            pace.until_ready().await;
        }
        let now = self.engine.now();
        outcome.at = now;
        let started = Instant::now();
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

/// Lowers the calling thread's scheduling priority to nice 10 (Linux
/// applies `setpriority` to one thread when given its id): when the CPU is
/// short, Verify's threads win; when it is idle, delivery takes all of it.
fn background_priority() {
    // SAFETY: plain syscalls on this thread's own id, no memory involved.
    let done = unsafe { libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, 10) };
    if done != 0 {
        tracing::debug!("webhook delivery runs at normal priority (setpriority refused)");
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
