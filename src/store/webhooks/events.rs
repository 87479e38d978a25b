//! The `webhook_events` tree: what a committed change announces, written
//! by [`Announcing`] in the change's own transaction, until the fan-out
//! has made one delivery per endpoint that wants it.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::IVec;
use sled::transaction::UnabortableTransactionError;

use super::super::txn::TxTree;
use super::super::{Error, Store, codec};
use super::deliveries::WebhookDelivery;
use super::{decode, encode};
use crate::lifecycle::CredentialRecord;
use crate::lifecycle::webhook::event_type;

/// An event no endpoint has been given yet. Holds only what the audit
/// row holds: ids, the actor, the detail; never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEvent {
    /// The audit row's seq (the key).
    #[serde(skip)]
    pub seq: u64,
    /// `msg_` + ULID: the `webhook-id` every endpoint sees, on every
    /// attempt.
    pub id: String,
    /// e.g. `credential.revoked`.
    pub event_type: String,
    /// When the change happened.
    pub at: DateTime<Utc>,
    /// Its account (may be empty).
    pub account_id: String,
    /// Its credential (empty for account, user and session events).
    pub credential_id: String,
    /// Who did it.
    pub actor: String,
    /// The audit detail (reasons; never a secret).
    pub detail: String,
    /// The credential as the change left it (as it was before, for a
    /// deletion), read in the change's own transaction.
    #[serde(default)]
    pub credential: Option<CredentialSnapshot>,
}

/// What an event body says about its credential, fixed when the event is
/// written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSnapshot {
    /// `api_key`, `passcode`, ...
    pub kind: String,
    /// Its name.
    pub name: String,
    /// `live` or `test`.
    pub environment: String,
    /// Its stored status, upper case (`ACTIVE`, `REVOKED`, ...).
    pub status: String,
    /// Its expiry.
    pub expires_at: DateTime<Utc>,
    /// Its creation.
    pub created_at: DateTime<Utc>,
}

impl CredentialSnapshot {
    fn of(record: &CredentialRecord) -> Self {
        CredentialSnapshot {
            kind: record.kind.snake_name().to_string(),
            name: record.name.clone(),
            environment: format!("{:?}", record.environment).to_lowercase(),
            status: format!("{:?}", record.status).to_uppercase(),
            expires_at: record.expires_at,
            created_at: record.created_at,
        }
    }
}

/// The audit tree of a transaction: each row it appends whose action
/// announces an event also writes that event into `webhook_events`, with
/// the credential as the transaction leaves it or, when the transaction
/// removed it (a deletion), as it was before (see [`Remembering`]). Nothing
/// outside the transaction is read: sled's transactions hold its global
/// lock, which a plain read would wait for.
pub(in crate::store) struct Announcing<'a> {
    audit: &'a dyn TxTree,
    events: &'a dyn TxTree,
    credentials: Option<&'a Remembering<'a>>,
}

impl<'a> Announcing<'a> {
    /// Wraps `audit`, writing events into `events`; `credentials` is the
    /// transaction's view of that tree, when it has one.
    pub(in crate::store) fn new(
        audit: &'a dyn TxTree,
        events: &'a dyn TxTree,
        credentials: Option<&'a Remembering<'a>>,
    ) -> Self {
        Announcing {
            audit,
            events,
            credentials,
        }
    }

    /// The credential `id` as this transaction leaves it, else as it was
    /// before the transaction removed it.
    fn snapshot(
        &self,
        id: &str,
    ) -> Result<Option<CredentialSnapshot>, UnabortableTransactionError> {
        let Some(view) = self.credentials.filter(|_| !id.is_empty()) else {
            return Ok(None);
        };
        let bytes = match view.get(id.as_bytes())? {
            Some(bytes) => Some(bytes),
            None => view.removed(id.as_bytes()),
        };
        Ok(bytes
            .and_then(|b| codec::decode_record(&b).ok())
            .map(|r| CredentialSnapshot::of(&r)))
    }
}

/// A transaction's view of the `credentials` tree that remembers what each
/// removal took away, so the event of a deletion can describe the
/// credential (one transaction at a time: made afresh for every run).
pub(in crate::store) struct Remembering<'a> {
    tree: &'a dyn TxTree,
    removed: RefCell<HashMap<Vec<u8>, IVec>>,
}

impl<'a> Remembering<'a> {
    /// Wraps `tree`.
    pub(in crate::store) fn new(tree: &'a dyn TxTree) -> Self {
        Remembering {
            tree,
            removed: RefCell::default(),
        }
    }

    /// What the removal of `key` took away, if this transaction removed it.
    fn removed(&self, key: &[u8]) -> Option<IVec> {
        self.removed.borrow().get(key).cloned()
    }
}

impl TxTree for Remembering<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, UnabortableTransactionError> {
        self.tree.get(key)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.tree.insert(key, value)
    }

    fn remove(&self, key: &[u8]) -> Result<(), UnabortableTransactionError> {
        if let Some(old) = self.tree.get(key)? {
            self.removed.borrow_mut().insert(key.to_vec(), old);
        }
        self.tree.remove(key)
    }

    fn generate_id(&self) -> Result<u64, UnabortableTransactionError> {
        self.tree.generate_id()
    }
}

impl TxTree for Announcing<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, UnabortableTransactionError> {
        self.audit.get(key)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.audit.insert(key, value)?;
        let Ok(seq) = <[u8; 8]>::try_from(key).map(u64::from_be_bytes) else {
            return Ok(());
        };
        let Ok(row) = codec::decode_audit(seq, value) else {
            return Ok(());
        };
        let Some(kind) = event_type(&row.action, &row.outcome) else {
            return Ok(());
        };
        let credential = self.snapshot(&row.credential_id)?;
        let event = WebhookEvent {
            credential,
            seq,
            id: format!("msg_{}", ulid::Ulid::new()),
            event_type: kind.to_string(),
            at: row.at,
            account_id: row.account_id,
            credential_id: row.credential_id,
            actor: row.actor,
            detail: row.detail,
        };
        self.events.insert(key, &encode(&event))
    }

    fn remove(&self, key: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.audit.remove(key)
    }

    fn generate_id(&self) -> Result<u64, UnabortableTransactionError> {
        self.audit.generate_id()
    }
}

impl Store {
    /// Up to `limit` events waiting for the fan-out, oldest first.
    ///
    /// # Errors
    /// sled errors and undecodable rows.
    pub fn pending_webhook_events(&self, limit: usize) -> Result<Vec<WebhookEvent>, Error> {
        self.webhooks
            .events
            .iter()
            .take(limit)
            .map(|row| {
                let (key, value) = row?;
                let mut event: WebhookEvent = decode(&value, "webhook event")?;
                event.seq = key_seq(&key)?;
                Ok(event)
            })
            .collect()
    }

    /// Takes `event` out of `webhook_events` and writes its `deliveries`
    /// (each due at its `next_at`), one transaction.
    ///
    /// # Errors
    /// sled and cluster errors.
    pub fn fan_out_webhook(
        &self,
        event: &WebhookEvent,
        deliveries: &[WebhookDelivery],
    ) -> Result<(), Error> {
        let rows: Vec<DeliveryRows> = deliveries
            .iter()
            .map(|d| (d.key(), encode(d), d.due_key()))
            .collect();
        let seq = event.seq.to_be_bytes();
        let trees = &self.webhooks;
        self.transact(
            [&trees.events, &trees.deliveries, &trees.due],
            |[events, deliveries, due]| {
                if events.get(&seq)?.is_none() {
                    return Ok(()); // fanned out already (another node or round)
                }
                events.remove(&seq)?;
                for (key, row, due_key) in &rows {
                    deliveries.insert(key, row)?;
                    if let Some(due_key) = due_key {
                        due.insert(due_key, &[])?;
                    }
                }
                Ok::<(), sled::transaction::ConflictableTransactionError<()>>(())
            },
        )?
        .map_err(|()| Error::Corrupt("aborted webhook fan-out"))
    }
}

/// A delivery's key, its row and its `webhook_due` key.
type DeliveryRows = (Vec<u8>, Vec<u8>, Option<Vec<u8>>);

/// The seq of an 8-byte big-endian key.
pub(super) fn key_seq(key: &[u8]) -> Result<u64, Error> {
    <[u8; 8]>::try_from(key)
        .map(u64::from_be_bytes)
        .map_err(|_| Error::Corrupt("webhook event key"))
}
