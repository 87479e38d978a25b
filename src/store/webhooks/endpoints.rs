//! The `webhooks` tree: endpoints, written with their audit event in one
//! transaction; deleting one also removes its deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::super::audit::append_audit_rows;
use super::super::{AuditEntry, Error, Store, codec};
use super::{decode, encode};

/// One signing secret's salt (the secret itself is derived with the
/// pepper, never stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretSalt {
    /// 16 random bytes, hex.
    pub salt: String,
    /// When this secret was made.
    pub created_at: DateTime<Utc>,
    /// After a rotation, when the old secret stops signing; `None` for
    /// the current one.
    #[serde(default)]
    pub retires_at: Option<DateTime<Utc>>,
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    /// `wh_` + ULID.
    pub id: String,
    /// The account whose events it receives; `None`: every account's.
    #[serde(default)]
    pub account_id: Option<String>,
    /// Where events are POSTed.
    pub url: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Event types or `prefix.*`; empty: every event.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Disabled endpoints receive nothing (their pending deliveries wait).
    pub enabled: bool,
    /// Why it is disabled: `admin`, `gone` (410), `failing` (the retry
    /// schedule ran out); empty while enabled.
    #[serde(default)]
    pub disabled_reason: String,
    /// The current secret first, then any still inside their overlap.
    pub secrets: Vec<SecretSalt>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// The salts that sign at `now`: the current one and any whose
    /// overlap has not ended.
    pub fn signing_salts(&self, now: DateTime<Utc>) -> impl Iterator<Item = &SecretSalt> {
        self.secrets
            .iter()
            .filter(move |s| s.retires_at.is_none_or(|end| end > now))
    }
}

impl Store {
    /// Writes `endpoint` (new or changed) with its audit event. Durable at
    /// the next flush.
    ///
    /// # Errors
    /// sled and cluster errors.
    pub fn put_webhook(&self, endpoint: &WebhookEndpoint, audit: &AuditEntry) -> Result<(), Error> {
        let row = encode(endpoint);
        let audit_row = codec::encode_audit(audit);
        self.transact(
            [&self.webhooks.endpoints, &self.audit],
            |[tree, audit_tree]| {
                tree.insert(endpoint.id.as_bytes(), &row)?;
                append_audit_rows::<()>(*audit_tree, std::slice::from_ref(&audit_row))
            },
        )?
        .map_err(|()| Error::Corrupt("aborted webhook write"))
    }

    /// The endpoint `id`.
    ///
    /// # Errors
    /// sled errors and undecodable rows.
    pub fn webhook(&self, id: &str) -> Result<Option<WebhookEndpoint>, Error> {
        self.webhooks
            .endpoints
            .get(id.as_bytes())?
            .map(|v| decode(&v, "webhook endpoint"))
            .transpose()
    }

    /// Every endpoint, in id order (creation order).
    ///
    /// # Errors
    /// sled errors and undecodable rows.
    pub fn webhooks(&self) -> Result<Vec<WebhookEndpoint>, Error> {
        self.webhooks
            .endpoints
            .iter()
            .values()
            .map(|v| decode(&v?, "webhook endpoint"))
            .collect()
    }

    /// Removes the endpoint `id` with its audit event, then its deliveries
    /// (in transactions of 50: a delivery left by a crash in between is
    /// dropped by the worker, which finds no endpoint).
    ///
    /// # Errors
    /// sled and cluster errors.
    pub fn delete_webhook(&self, id: &str, audit: &AuditEntry) -> Result<(), Error> {
        let audit_row = codec::encode_audit(audit);
        self.transact(
            [&self.webhooks.endpoints, &self.audit],
            |[tree, audit_tree]| {
                tree.remove(id.as_bytes())?;
                append_audit_rows::<()>(*audit_tree, std::slice::from_ref(&audit_row))
            },
        )?
        .map_err(|()| Error::Corrupt("aborted webhook delete"))?;
        loop {
            let page = self.deliveries_of(id, None, 50)?;
            if page.is_empty() {
                break;
            }
            for delivery in &page {
                self.drop_delivery(delivery)?;
            }
        }
        Ok(())
    }
}
