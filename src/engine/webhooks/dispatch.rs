//! Webhook delivery's bookkeeping: the fan-out (each event written by a
//! change becomes one delivery per endpoint that wants it, with its body
//! fixed), what is due, what an attempt's answer does (delivered, retried
//! on the schedule, the endpoint disabled on a 410 or when the schedule
//! runs out), a test event, and a redelivery. The HTTP side is
//! `notify::webhooks`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::super::access::{Actor, Scope};
use super::super::{Engine, Error, audit_entry};
use crate::config::WebhooksConfig;
use crate::lifecycle::webhook::{
    Answer, Subscriber, TEST_EVENT, answer, next_attempt, status_after, subscribed,
};
use crate::lifecycle::{Environment, Kind, NoticeKind};
use crate::store::{
    Attempt, AuditEntry, DeliveryState, EndpointChange, OutboxNotice, WebhookDelivery,
    WebhookEndpoint, WebhookEvent,
};

/// Events fanned out per round.
const FAN_OUT_BATCH: usize = 200;

/// A delivery to attempt now, with its endpoint.
#[derive(Debug, Clone)]
pub struct DueWebhook {
    /// The delivery.
    pub delivery: WebhookDelivery,
    /// Its endpoint as it is now.
    pub endpoint: WebhookEndpoint,
}

/// What one attempt met.
#[derive(Debug, Clone, Default)]
pub struct AttemptOutcome {
    /// When it started.
    pub at: DateTime<Utc>,
    /// Until the answer or the failure, in milliseconds.
    pub latency_ms: u64,
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// `Retry-After`, if the answer had one.
    pub retry_after: Option<String>,
    /// Why there was no answer (never a secret).
    pub error: String,
}

impl Engine {
    /// Turns waiting events into deliveries; returns how many events.
    ///
    /// # Errors
    /// Storage errors (what is left waits for the next round).
    pub fn fan_out_webhooks(&self) -> Result<usize, Error> {
        let events = self.store.pending_webhook_events(FAN_OUT_BATCH)?;
        if events.is_empty() {
            return Ok(0);
        }
        let endpoints = self.store.webhooks()?;
        let now = self.clock.now();
        for event in &events {
            let body = Self::event_body(event);
            let deliveries: Vec<WebhookDelivery> = endpoints
                .iter()
                .filter(|e| {
                    subscribed(
                        subscriber(e),
                        &event.event_type,
                        &event.account_id,
                        event.at,
                    )
                })
                .map(|e| new_delivery(e, event.seq, &event.id, &event.event_type, &body, now))
                .collect();
            self.store.fan_out_webhook(event, &deliveries)?;
            tracing::debug!(event_id = %event.id, event_type = %event.event_type, endpoints = deliveries.len(), "webhook event fanned out");
        }
        Ok(events.len())
    }

    /// The thin JSON body of `event`: `{type, timestamp, data}` with ids,
    /// account, and the credential's kind, name, status and dates as the
    /// change left them; never a secret or a hash.
    fn event_body(event: &WebhookEvent) -> String {
        let mut data = json!({
            "account_id": event.account_id,
            "actor": event.actor,
            "detail": event.detail,
        });
        if !event.credential_id.is_empty() {
            data["credential_id"] = json!(event.credential_id);
            if let Some(c) = &event.credential {
                data["kind"] = json!(c.kind);
                data["name"] = json!(c.name);
                data["environment"] = json!(c.environment);
                data["status"] = json!(c.status);
                data["expires_at"] = json!(rfc3339(c.expires_at));
                data["created_at"] = json!(rfc3339(c.created_at));
            }
            if let Some(status) = status_after(&event.event_type) {
                data["status"] = json!(status);
            }
        }
        body(&event.event_type, event.at, data)
    }

    /// Up to `limit` deliveries due now, with their endpoints. A delivery
    /// whose endpoint is gone is dropped; one whose endpoint is disabled
    /// fails (RedeliverWebhook sends it again).
    ///
    /// # Errors
    /// Storage errors.
    pub fn due_webhooks(&self, limit: usize) -> Result<Vec<DueWebhook>, Error> {
        let now = self.clock.now();
        let mut due = Vec::new();
        for delivery in self.store.due_webhook_deliveries(now, limit)? {
            match self.store.webhook(&delivery.endpoint_id)? {
                None => self.store.drop_delivery(&delivery)?,
                Some(endpoint) if !endpoint.enabled => {
                    let mut failed = delivery.clone();
                    failed.state = DeliveryState::Failed;
                    failed.next_at = None;
                    self.store
                        .update_webhook_delivery(&delivery, &failed, None)?;
                }
                Some(endpoint) => due.push(DueWebhook { delivery, endpoint }),
            }
        }
        Ok(due)
    }

    /// Records an attempt of `due` and what follows from its answer.
    /// Returns the delivery as it now stands.
    ///
    /// # Errors
    /// Storage errors (the attempt is then made again: a receiver may see
    /// the same `webhook-id` twice, which it deduplicates).
    pub fn record_webhook_attempt(
        &self,
        rules: &WebhooksConfig,
        due: &DueWebhook,
        outcome: AttemptOutcome,
    ) -> Result<WebhookDelivery, Error> {
        let now = self.clock.now();
        let old = &due.delivery;
        let mut new = old.clone();
        new.attempts.push(Attempt {
            at: outcome.at,
            latency_ms: outcome.latency_ms,
            status: outcome.status,
            error: outcome.error,
        });
        let mut disable = None;
        match answer(outcome.status, outcome.retry_after.as_deref(), now) {
            Answer::Delivered => {
                new.state = DeliveryState::Delivered;
                new.next_at = None;
            }
            Answer::Gone => {
                new.state = DeliveryState::Failed;
                new.next_at = None;
                disable = Some(("gone", "the endpoint answered 410 Gone"));
            }
            Answer::Failed { retry_after } => {
                let jitter = f64::from(rand_u16()) / f64::from(u16::MAX);
                new.next_at = next_attempt(
                    &rules.retry_schedule,
                    new.attempts.len(),
                    retry_after,
                    jitter,
                    now,
                );
                if new.next_at.is_none() {
                    new.state = DeliveryState::Failed;
                    disable = Some(("failing", "every attempt of the retry schedule failed"));
                }
            }
        }
        let disabled = disable.map(|(reason, why)| {
            let mut endpoint = due.endpoint.clone();
            endpoint.enabled = false;
            endpoint.disabled_reason = reason.to_string();
            endpoint.updated_at = now;
            let audit = AuditEntry {
                at: now,
                actor: "system".to_string(),
                action: "webhook.disable",
                credential_id: String::new(),
                account_id: endpoint.account_id.clone().unwrap_or_default(),
                detail: format!("webhook {}: {why}", endpoint.id),
                outcome: "ok",
                request_id: String::new(),
            };
            tracing::warn!(webhook_id = %endpoint.id, url = %endpoint.url, reason, "webhook endpoint disabled");
            let notice = self.disabled_notice(&endpoint, now);
            (endpoint, audit, notice)
        });
        let change = disabled
            .as_ref()
            .map(|(endpoint, audit, notice)| EndpointChange {
                endpoint,
                audit,
                notice: Some(notice),
            });
        self.store.update_webhook_delivery(old, &new, change)?;
        Ok(new)
    }

    /// The e-mail telling an endpoint's account contacts (the admin
    /// contacts for a global endpoint) that it was disabled.
    fn disabled_notice(&self, endpoint: &WebhookEndpoint, now: DateTime<Utc>) -> OutboxNotice {
        let account = endpoint.account_id.clone().unwrap_or_default();
        OutboxNotice {
            kind: NoticeKind::WebhookDisabled,
            deadline: now,
            credential_id: endpoint.id.clone(),
            recipients: if account.is_empty() {
                Vec::new()
            } else {
                self.contacts_of(&[&account])
            },
            account_id: account,
            name: endpoint.url.clone(),
            credential_kind: Kind::ApiKey,
            environment: Environment::Live,
            secret_hint: "-".to_string(),
            expires_at: now,
            delete_at: None,
            queued_at: now,
        }
    }

    /// Removes finished deliveries older than `rules.keep_days` (at most
    /// `limit`); returns how many.
    ///
    /// # Errors
    /// Storage errors.
    pub fn prune_webhook_deliveries(
        &self,
        rules: &WebhooksConfig,
        limit: usize,
    ) -> Result<usize, Error> {
        let cutoff = self.clock.now() - chrono::Duration::days(i64::from(rules.keep_days));
        let removed = self.store.prune_webhook_deliveries(cutoff, limit)?;
        if removed > 0 {
            tracing::info!(
                removed,
                keep_days = rules.keep_days,
                "old webhook deliveries removed"
            );
        }
        Ok(removed)
    }

    /// Queues a `webhook.test` event for endpoint `id` alone, due now.
    ///
    /// # Errors
    /// `NoSuch`, `PermissionDenied`, storage errors.
    pub async fn send_test_webhook(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<WebhookDelivery, Error> {
        let endpoint = self.webhook_for(actor, "webhook.test", id, Scope::WebhooksWrite)?;
        let now = self.clock.now();
        let event_id = format!("msg_{}", ulid::Ulid::new());
        let body = body(
            TEST_EVENT,
            now,
            json!({"webhook_id": id, "account_id": endpoint.account_id.clone().unwrap_or_default()}),
        );
        let audit = audit_entry(
            actor,
            now,
            "webhook.test",
            "",
            endpoint.account_id.as_deref().unwrap_or(""),
            format!("webhook {id}: test event {event_id}"),
        );
        let delivery = crate::offload::blocking(|| {
            self.store.add_webhook_delivery(&audit, |seq| {
                new_delivery(&endpoint, seq, &event_id, TEST_EVENT, &body, now)
            })
        })?;
        self.store.flush().await?;
        Ok(delivery)
    }

    /// Sends delivery `seq` of endpoint `id` again, due now, with the same
    /// `webhook-id` and body.
    ///
    /// # Errors
    /// `NoSuch` (endpoint or delivery), `FailedPrecondition` for a disabled
    /// endpoint, `PermissionDenied`, storage errors.
    pub async fn redeliver_webhook(
        &self,
        actor: &Actor,
        id: &str,
        seq: u64,
    ) -> Result<WebhookDelivery, Error> {
        let endpoint = self.webhook_for(actor, "webhook.redeliver", id, Scope::WebhooksWrite)?;
        if !endpoint.enabled {
            return Err(Error::FailedPrecondition(format!(
                "webhook endpoint {id} is disabled; enable it first"
            )));
        }
        let old = self
            .store
            .webhook_delivery(id, seq)?
            .ok_or_else(|| Error::NoSuch(format!("webhook endpoint {id} has no delivery {seq}")))?;
        let mut new = old.clone();
        new.state = DeliveryState::Pending;
        new.next_at = Some(self.clock.now());
        let audit = audit_entry(
            actor,
            self.clock.now(),
            "webhook.redeliver",
            "",
            endpoint.account_id.as_deref().unwrap_or(""),
            format!("webhook {id}: event {}", old.event_id),
        );
        let change = EndpointChange {
            endpoint: &endpoint,
            audit: &audit,
            notice: None,
        };
        crate::offload::blocking(|| self.store.update_webhook_delivery(&old, &new, Some(change)))?;
        self.store.flush().await?;
        Ok(new)
    }
}

fn subscriber(endpoint: &WebhookEndpoint) -> Subscriber<'_> {
    Subscriber {
        account: endpoint.account_id.as_deref(),
        filter: &endpoint.event_types,
        enabled: endpoint.enabled,
        created_at: endpoint.created_at,
    }
}

fn new_delivery(
    endpoint: &WebhookEndpoint,
    seq: u64,
    event_id: &str,
    event_type: &str,
    body: &str,
    now: DateTime<Utc>,
) -> WebhookDelivery {
    WebhookDelivery {
        endpoint_id: endpoint.id.clone(),
        seq,
        event_id: event_id.to_string(),
        event_type: event_type.to_string(),
        body: body.to_string(),
        created_at: now,
        state: DeliveryState::Pending,
        next_at: Some(now),
        attempts: Vec::new(),
    }
}

fn body(event_type: &str, at: DateTime<Utc>, data: Value) -> String {
    json!({
        "type": event_type,
        "timestamp": rfc3339(at),
        "data": data,
    })
    .to_string()
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn rand_u16() -> u16 {
    let mut b = [0u8; 2];
    let _ = getrandom::fill(&mut b);
    u16::from_le_bytes(b)
}
