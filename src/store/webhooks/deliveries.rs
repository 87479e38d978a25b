//! The `webhook_deliveries` and `webhook_due` trees: one event for one
//! endpoint with every attempt made, and the index of pending deliveries
//! by their next attempt (so the worker reads only what is due).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::audit::append_audit_rows;
use super::super::{AuditEntry, Error, OutboxNotice, Store, codec};
use super::endpoints::WebhookEndpoint;
use super::{decode, encode, time_key};

/// An endpoint written with a delivery's update: the endpoint, its audit
/// event, and the notice that tells its contacts (when it was disabled).
#[derive(Debug, Clone, Copy)]
pub struct EndpointChange<'a> {
    /// The endpoint as it now is.
    pub endpoint: &'a WebhookEndpoint,
    /// Its audit event.
    pub audit: &'a AuditEntry,
    /// The e-mail notice to queue.
    pub notice: Option<&'a OutboxNotice>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Given up: the schedule ran out, the endpoint answered 410 or is gone.
    Failed,
}

/// One attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// How long until the answer (or the failure).
    pub latency_ms: u64,
    /// The HTTP status, if one came.
    #[serde(default)]
    pub status: Option<u16>,
    /// Why it failed without a status (timeout, refused, forbidden address).
    #[serde(default)]
    pub error: String,
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    /// The endpoint.
    pub endpoint_id: String,
    /// The event's audit seq.
    pub seq: u64,
    /// The `webhook-id` (the event's, the same for every attempt).
    pub event_id: String,
    /// e.g. `credential.revoked`.
    pub event_type: String,
    /// The JSON body, fixed at the fan-out so every attempt sends the same.
    pub body: String,
    /// When the fan-out made it.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: DeliveryState,
    /// The next attempt, while pending.
    #[serde(default)]
    pub next_at: Option<DateTime<Utc>>,
    /// Every attempt, oldest first.
    #[serde(default)]
    pub attempts: Vec<Attempt>,
}

impl WebhookDelivery {
    /// Its key: (endpoint, 0, seq).
    pub(super) fn key(&self) -> Vec<u8> {
        delivery_key(&self.endpoint_id, self.seq)
    }

    /// Its `webhook_due` key while pending.
    pub(super) fn due_key(&self) -> Option<Vec<u8>> {
        let next = self
            .next_at
            .filter(|_| self.state == DeliveryState::Pending)?;
        let mut key = time_key(next).to_vec();
        key.extend_from_slice(&self.key());
        Some(key)
    }
}

fn delivery_key(endpoint: &str, seq: u64) -> Vec<u8> {
    let mut key = endpoint.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

impl Store {
    /// Up to `limit` pending deliveries due at `now`, earliest first.
    ///
    /// # Errors
    /// sled errors and undecodable rows.
    pub fn due_webhook_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, Error> {
        let end = time_key(now + chrono::Duration::milliseconds(1));
        let mut due = Vec::new();
        for row in self.webhooks.due.range(..end.to_vec()) {
            let (key, _) = row?;
            let delivery = match self.webhooks.deliveries.get(&key[8..])? {
                Some(v) => decode::<WebhookDelivery>(&v, "webhook delivery")?,
                None => continue,
            };
            // The index is read without isolation: an attempt recorded
            // since this key was read has moved or removed it.
            if delivery.due_key().as_deref() != Some(&key[..]) {
                continue;
            }
            due.push(delivery);
            if due.len() == limit {
                break;
            }
        }
        Ok(due)
    }

    /// The delivery of event `seq` to `endpoint`.
    ///
    /// # Errors
    /// sled errors and undecodable rows.
    pub fn webhook_delivery(
        &self,
        endpoint: &str,
        seq: u64,
    ) -> Result<Option<WebhookDelivery>, Error> {
        self.webhooks
            .deliveries
            .get(delivery_key(endpoint, seq))?
            .map(|v| decode(&v, "webhook delivery"))
            .transpose()
    }

    /// Up to `limit` deliveries of `endpoint`, newest first, older than
    /// the event `before` when given (paging).
    ///
    /// # Errors
    /// sled errors and undecodable rows.
    pub fn deliveries_of(
        &self,
        endpoint: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, Error> {
        let start = delivery_key(endpoint, 0);
        let end = match before {
            Some(seq) => delivery_key(endpoint, seq),
            None => {
                let mut end = endpoint.as_bytes().to_vec();
                end.push(1);
                end
            }
        };
        self.webhooks
            .deliveries
            .range(start..end)
            .rev()
            .take(limit)
            .map(|row| decode(&row?.1, "webhook delivery"))
            .collect()
    }

    /// Replaces `old` by `new` (an attempt recorded, or a redelivery
    /// asked for) and moves its place in `webhook_due`; with `endpoint`,
    /// writes that endpoint and its audit event too (disabled after a 410
    /// or a spent schedule) and queues its notice, if any. One transaction.
    ///
    /// # Errors
    /// sled and cluster errors.
    pub fn update_webhook_delivery(
        &self,
        old: &WebhookDelivery,
        new: &WebhookDelivery,
        endpoint: Option<EndpointChange<'_>>,
    ) -> Result<(), Error> {
        let row = encode(new);
        let (old_due, new_due) = (old.due_key(), new.due_key());
        let endpoint_rows = endpoint.as_ref().map(|c| {
            (
                c.endpoint.id.clone(),
                encode(c.endpoint),
                codec::encode_audit(c.audit),
            )
        });
        let notice = endpoint.and_then(|c| c.notice).map(|n| {
            let key = codec::notice_key(&n.credential_id, n.kind, n.deadline);
            (key, codec::encode_notice(n))
        });
        let trees = &self.webhooks;
        self.transact(
            [
                &trees.deliveries,
                &trees.due,
                &trees.endpoints,
                &self.audit,
                &self.outbox,
            ],
            |[deliveries, due, endpoints, audit, outbox]| {
                if let Some(key) = &old_due {
                    due.remove(key)?;
                }
                deliveries.insert(&new.key(), &row)?;
                if let Some(key) = &new_due {
                    due.insert(key, &[])?;
                }
                if let Some((id, row, audit_row)) = &endpoint_rows {
                    endpoints.insert(id.as_bytes(), row)?;
                    append_audit_rows::<()>(*audit, std::slice::from_ref(audit_row))?;
                }
                if let Some((key, value)) = &notice {
                    outbox.insert(key, value)?;
                }
                Ok(())
            },
        )?
        .map_err(|()| Error::Corrupt("aborted webhook delivery update"))
    }

    /// Removes `delivery` and its place in `webhook_due`.
    ///
    /// # Errors
    /// sled and cluster errors.
    pub fn drop_delivery(&self, delivery: &WebhookDelivery) -> Result<(), Error> {
        let due_key = delivery.due_key();
        let trees = &self.webhooks;
        self.transact([&trees.deliveries, &trees.due], |[deliveries, due]| {
            deliveries.remove(&delivery.key())?;
            if let Some(key) = &due_key {
                due.remove(key)?;
            }
            Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
        })?
        .map_err(|()| Error::Corrupt("aborted webhook delivery removal"))
    }
}

impl Store {
    /// Writes a delivery made outside the fan-out (a test event) with its
    /// audit event: `make` receives the audit row's seq, which the
    /// delivery takes as its event's. One transaction.
    ///
    /// # Errors
    /// sled and cluster errors.
    pub fn add_webhook_delivery(
        &self,
        audit: &AuditEntry,
        make: impl Fn(u64) -> WebhookDelivery,
    ) -> Result<WebhookDelivery, Error> {
        let audit_row = codec::encode_audit(audit);
        let trees = &self.webhooks;
        self.transact(
            [&trees.deliveries, &trees.due, &self.audit],
            |[deliveries, due, audit_tree]| {
                let seq = audit_tree.generate_id()?;
                audit_tree.insert(&seq.to_be_bytes(), &audit_row)?;
                let delivery = make(seq);
                deliveries.insert(&delivery.key(), &encode(&delivery))?;
                if let Some(key) = delivery.due_key() {
                    due.insert(&key, &[])?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(delivery)
            },
        )?
        .map_err(|()| Error::Corrupt("aborted webhook test"))
    }
}

impl Store {
    /// Removes up to `limit` finished deliveries (delivered or failed)
    /// made before `cutoff`; returns how many. Pending ones stay, however
    /// old. Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled and cluster errors, undecodable rows.
    pub fn prune_webhook_deliveries(
        &self,
        cutoff: DateTime<Utc>,
        limit: usize,
    ) -> Result<usize, Error> {
        let mut old = Vec::new();
        for row in self.webhooks.deliveries.iter() {
            let (_, value) = row?;
            let delivery: WebhookDelivery = decode(&value, "webhook delivery")?;
            if delivery.state != DeliveryState::Pending && delivery.created_at < cutoff {
                old.push(delivery);
                if old.len() == limit {
                    break;
                }
            }
        }
        for delivery in &old {
            self.drop_delivery(delivery)?;
        }
        Ok(old.len())
    }
}
