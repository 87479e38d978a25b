//! The webhook trees: `webhooks` (endpoint id -> endpoint), `webhook_events`
//! (audit seq -> an event no endpoint has been given yet), `webhook_deliveries`
//! ((endpoint, 0, seq) -> one event for one endpoint with its attempts) and
//! `webhook_due` ((next attempt, endpoint, 0, seq) -> ()). Rows are JSON
//! (serde, unknown fields kept out, missing ones defaulted), never a secret:
//! an endpoint holds only the salts its signing secrets are derived from
//! with the pepper (`secret::webhook`).
//!
//! Every event is written in the transaction of the change that caused it:
//! [`Store::transact`](super::Store) wraps the audit tree of any body that
//! writes one in [`Announcing`], which writes the event beside the audit
//! row. The fan-out later turns each event into one delivery per endpoint
//! that wants it (one transaction per event), so a crash anywhere between
//! the change and the delivery loses nothing and sends nothing twice but
//! an attempt whose answer was lost.

mod deliveries;
mod endpoints;
mod events;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use deliveries::{Attempt, DeliveryState, EndpointChange, WebhookDelivery};
pub use endpoints::{SecretSalt, WebhookEndpoint};
pub(super) use events::{Announcing, Remembering};
pub use events::{CredentialSnapshot, WebhookEvent};

use super::Error;

/// The four webhook trees.
#[derive(Debug, Clone)]
pub(super) struct WebhookTrees {
    endpoints: sled::Tree,
    events: sled::Tree,
    deliveries: sled::Tree,
    due: sled::Tree,
}

impl WebhookTrees {
    /// Opens (or creates) the trees in `db`.
    pub(super) fn open(db: &sled::Db) -> Result<Self, sled::Error> {
        Ok(WebhookTrees {
            endpoints: db.open_tree("webhooks")?,
            events: db.open_tree("webhook_events")?,
            deliveries: db.open_tree("webhook_deliveries")?,
            due: db.open_tree("webhook_due")?,
        })
    }

    /// The tree every audited transaction writes its events into.
    pub(super) fn events(&self) -> &sled::Tree {
        &self.events
    }
}

/// Milliseconds since the epoch as sortable key bytes.
fn time_key(at: DateTime<Utc>) -> [u8; 8] {
    // Offset so negative times still sort before positive ones.
    (at.timestamp_millis() as u64 ^ (1 << 63)).to_be_bytes()
}

/// A row's JSON.
fn encode<T: Serialize>(row: &T) -> Vec<u8> {
    // Serialising plain structs of strings, numbers and times cannot fail.
    serde_json::to_vec(row).unwrap_or_default()
}

/// A row from its JSON.
fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &'static str) -> Result<T, Error> {
    serde_json::from_slice(bytes).map_err(|_| Error::Corrupt(what))
}

impl super::Store {
    /// How many events wait for the fan-out and how many deliveries are
    /// pending (for metrics and the bench).
    ///
    /// # Errors
    /// sled errors.
    pub fn webhook_backlog(&self) -> Result<(usize, usize), Error> {
        Ok((self.webhooks.events.len(), self.webhooks.due.len()))
    }
}
