//! Webhook endpoints as use cases: create (the signing secret shown once),
//! list, get, change, delete, rotate the secret (the old one keeps signing
//! for `[webhooks] rotation_overlap`), send a test event, list deliveries
//! and redeliver. Scopes `webhooks:read` and `webhooks:write`; an
//! account-scoped key manages only its account's endpoints. The fan-out
//! and each attempt's bookkeeping are in `dispatch`.

mod dispatch;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

pub use dispatch::{AttemptOutcome, DueWebhook};

use super::access::{Actor, Scope};
use super::{Engine, Error, audit_entry};
use crate::config::WebhooksConfig;
use crate::lifecycle::webhook::check_filter;
use crate::secret::webhook::{SigningSecret, new_salt};
use crate::store::{SecretSalt, WebhookDelivery, WebhookEndpoint};

/// Longest endpoint URL.
const MAX_URL: usize = 2048;
/// Longest description.
const MAX_DESCRIPTION: usize = 512;
/// Most entries in an event filter.
const MAX_FILTER: usize = 64;

/// A new endpoint as asked for.
#[derive(Debug, Clone, Default)]
pub struct NewWebhook {
    /// Where events go.
    pub url: String,
    /// Its account; `None`: every account's events (global keys only).
    pub account_id: Option<String>,
    /// Free text.
    pub description: String,
    /// Event types or `prefix.*`; empty: all.
    pub event_types: Vec<String>,
}

/// What an update changes (`None`: kept).
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    /// A new URL.
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new filter (empty: all events).
    pub event_types: Option<Vec<String>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret, the one time it is shown.
pub struct RevealedWebhook {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// `whsec_...`.
    pub secret: Zeroizing<String>,
}

impl std::fmt::Debug for RevealedWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevealedWebhook")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Creates an endpoint and returns its signing secret (shown once).
    ///
    /// # Errors
    /// `InvalidArgument` for a bad URL (scheme, forbidden address), filter
    /// or description; `AccountNotFound`; `PermissionDenied`.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        rules: &WebhooksConfig,
        new: NewWebhook,
    ) -> Result<RevealedWebhook, Error> {
        let account = new.account_id.as_deref().filter(|a| !a.is_empty());
        self.authorize(
            actor,
            "webhook.create",
            "",
            account.unwrap_or(""),
            actor.allows(Scope::WebhooksWrite, account),
        )?;
        check_url(&new.url, rules)?;
        check_details(&new.description, &new.event_types)?;
        if let Some(account) = account {
            if self.store.get_account(account)?.is_none() {
                return Err(Error::AccountNotFound {
                    id: account.to_string(),
                });
            }
        }
        let now = self.clock.now();
        let salt = new_salt().map_err(Error::Random)?;
        let endpoint = WebhookEndpoint {
            id: format!("wh_{}", ulid::Ulid::new()),
            account_id: account.map(str::to_string),
            url: new.url,
            description: new.description,
            event_types: new.event_types,
            enabled: true,
            disabled_reason: String::new(),
            secrets: vec![SecretSalt {
                salt: crate::secret::hex(&salt),
                created_at: now,
                retires_at: None,
            }],
            created_at: now,
            updated_at: now,
        };
        self.write_webhook(
            actor,
            "webhook.create",
            &endpoint,
            format!("url {}", endpoint.url),
        )
        .await?;
        tracing::info!(actor = %actor.id, webhook_id = %endpoint.id, url = %endpoint.url, "webhook endpoint created");
        let secret = SigningSecret::derive(&self.pepper, &salt).reveal();
        Ok(RevealedWebhook { endpoint, secret })
    }

    /// Endpoints the actor may see: an account's (`Some`) or all of them
    /// (global keys only; an account-scoped key sees its account's).
    ///
    /// # Errors
    /// `PermissionDenied`; storage errors.
    pub fn list_webhooks(
        &self,
        actor: &Actor,
        account: Option<&str>,
    ) -> Result<Vec<WebhookEndpoint>, Error> {
        let account = account.filter(|a| !a.is_empty()).or(actor.account());
        self.authorize(
            actor,
            "webhook.list",
            "",
            account.unwrap_or(""),
            actor.allows(Scope::WebhooksRead, account),
        )?;
        Ok(self
            .store
            .webhooks()?
            .into_iter()
            .filter(|e| account.is_none_or(|a| e.account_id.as_deref() == Some(a)))
            .collect())
    }

    /// The endpoint `id`, if the actor may act on it with `scope`.
    ///
    /// # Errors
    /// `NoSuch` (also for an endpoint of an account the actor may not see),
    /// `PermissionDenied`.
    pub fn get_webhook(&self, actor: &Actor, id: &str) -> Result<WebhookEndpoint, Error> {
        self.webhook_for(actor, "webhook.get", id, Scope::WebhooksRead)
    }

    fn webhook_for(
        &self,
        actor: &Actor,
        action: &'static str,
        id: &str,
        scope: Scope,
    ) -> Result<WebhookEndpoint, Error> {
        let missing = || Error::NoSuch(format!("webhook endpoint {id} not found"));
        let endpoint = self.store.webhook(id)?.ok_or_else(missing)?;
        let account = endpoint.account_id.as_deref();
        if actor.account().is_some() && actor.account() != account {
            return Err(missing());
        }
        self.authorize(
            actor,
            action,
            "",
            account.unwrap_or(""),
            actor.allows(scope, account),
        )?;
        Ok(endpoint)
    }

    /// Changes an endpoint's URL, description, filter or state. Enabling
    /// clears the reason it was disabled.
    ///
    /// # Errors
    /// As [`Engine::create_webhook`], and `NoSuch`.
    pub async fn update_webhook(
        &self,
        actor: &Actor,
        rules: &WebhooksConfig,
        id: &str,
        change: WebhookChange,
    ) -> Result<WebhookEndpoint, Error> {
        let mut endpoint = self.webhook_for(actor, "webhook.update", id, Scope::WebhooksWrite)?;
        let mut changed = Vec::new();
        if let Some(url) = change.url {
            check_url(&url, rules)?;
            endpoint.url = url;
            changed.push("url");
        }
        if let Some(description) = change.description {
            endpoint.description = description;
            changed.push("description");
        }
        if let Some(filter) = change.event_types {
            endpoint.event_types = filter;
            changed.push("event_types");
        }
        check_details(&endpoint.description, &endpoint.event_types)?;
        if let Some(enabled) = change.enabled {
            endpoint.enabled = enabled;
            endpoint.disabled_reason = if enabled {
                String::new()
            } else {
                "admin".to_string()
            };
            changed.push(if enabled { "enabled" } else { "disabled" });
        }
        endpoint.updated_at = self.clock.now();
        self.write_webhook(actor, "webhook.update", &endpoint, changed.join(", "))
            .await?;
        tracing::info!(actor = %actor.id, webhook_id = %id, changed = %changed.join(","), "webhook endpoint updated");
        Ok(endpoint)
    }

    /// Deletes an endpoint and its deliveries.
    ///
    /// # Errors
    /// `NoSuch`, `PermissionDenied`, storage errors.
    pub async fn delete_webhook(&self, actor: &Actor, id: &str) -> Result<(), Error> {
        let endpoint = self.webhook_for(actor, "webhook.delete", id, Scope::WebhooksWrite)?;
        let audit = audit_entry(
            actor,
            self.clock.now(),
            "webhook.delete",
            "",
            endpoint.account_id.as_deref().unwrap_or(""),
            format!("webhook {id}"),
        );
        crate::offload::blocking(|| self.store.delete_webhook(id, &audit))?;
        self.store.flush().await?;
        tracing::info!(actor = %actor.id, webhook_id = %id, "webhook endpoint deleted");
        Ok(())
    }

    /// A new signing secret (shown once); the previous one keeps signing
    /// beside it for `rules.rotation_overlap`, then stops.
    ///
    /// # Errors
    /// `NoSuch`, `PermissionDenied`, storage errors.
    pub async fn rotate_webhook_secret(
        &self,
        actor: &Actor,
        rules: &WebhooksConfig,
        id: &str,
    ) -> Result<RevealedWebhook, Error> {
        let mut endpoint =
            self.webhook_for(actor, "webhook.rotate_secret", id, Scope::WebhooksWrite)?;
        let now = self.clock.now();
        let overlap =
            chrono::Duration::from_std(rules.rotation_overlap).unwrap_or(chrono::Duration::MAX);
        let salt = new_salt().map_err(Error::Random)?;
        let mut secrets: Vec<SecretSalt> = endpoint.signing_salts(now).cloned().collect();
        for old in &mut secrets {
            old.retires_at = Some(old.retires_at.unwrap_or(now + overlap).min(now + overlap));
        }
        secrets.insert(
            0,
            SecretSalt {
                salt: crate::secret::hex(&salt),
                created_at: now,
                retires_at: None,
            },
        );
        endpoint.secrets = secrets;
        endpoint.updated_at = now;
        self.write_webhook(
            actor,
            "webhook.rotate_secret",
            &endpoint,
            format!("old secret signs until {}", now + overlap),
        )
        .await?;
        tracing::info!(actor = %actor.id, webhook_id = %id, "webhook signing secret rotated");
        let secret = SigningSecret::derive(&self.pepper, &salt).reveal();
        Ok(RevealedWebhook { endpoint, secret })
    }

    /// The secrets that sign a delivery to `endpoint` at `now`, current first.
    pub fn webhook_signers(
        &self,
        endpoint: &WebhookEndpoint,
        now: DateTime<Utc>,
    ) -> Vec<SigningSecret> {
        endpoint
            .signing_salts(now)
            .filter_map(|s| crate::secret::unhex(&s.salt))
            .map(|salt| SigningSecret::derive(&self.pepper, &salt))
            .collect()
    }

    /// Deliveries to endpoint `id`, newest first, before event `before`.
    ///
    /// # Errors
    /// `NoSuch`, `PermissionDenied`, storage errors.
    pub fn list_webhook_deliveries(
        &self,
        actor: &Actor,
        id: &str,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<WebhookDelivery>, Error> {
        self.webhook_for(actor, "webhook.deliveries", id, Scope::WebhooksRead)?;
        Ok(self.store.deliveries_of(id, before, limit.clamp(1, 1000))?)
    }

    async fn write_webhook(
        &self,
        actor: &Actor,
        action: &'static str,
        endpoint: &WebhookEndpoint,
        detail: String,
    ) -> Result<(), Error> {
        let audit = audit_entry(
            actor,
            self.clock.now(),
            action,
            "",
            endpoint.account_id.as_deref().unwrap_or(""),
            format!("webhook {}: {detail}", endpoint.id),
        );
        crate::offload::blocking(|| self.store.put_webhook(endpoint, &audit))?;
        self.store.flush().await?;
        Ok(())
    }
}

/// An endpoint URL: absolute, `https` (or `http` when allowed), a host, no
/// user or password, not too long, and not an address the guard forbids.
fn check_url(url: &str, rules: &WebhooksConfig) -> Result<(), Error> {
    let invalid = |why: &str| Error::InvalidArgument(format!("url: {why}"));
    if url.len() > MAX_URL {
        return Err(invalid(&format!("longer than {MAX_URL} characters")));
    }
    let parsed = url::Url::parse(url).map_err(|e| invalid(&format!("{e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if rules.allow_http => {}
        "http" => return Err(invalid("must be https ([webhooks] allow_http is off)")),
        other => return Err(invalid(&format!("scheme {other} is not https"))),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid("must not carry a user or password"));
    }
    let ip = match parsed.host() {
        None => return Err(invalid("has no host")),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = ip.filter(|ip| !rules.may_reach(*ip)) {
        return Err(invalid(&format!(
            "{ip} is a loopback, private, link-local or otherwise forbidden address (allow it in [webhooks] allowed_networks)"
        )));
    }
    Ok(())
}

fn check_details(description: &str, filter: &[String]) -> Result<(), Error> {
    if description.len() > MAX_DESCRIPTION {
        return Err(Error::InvalidArgument(format!(
            "description: longer than {MAX_DESCRIPTION} bytes"
        )));
    }
    if filter.len() > MAX_FILTER {
        return Err(Error::InvalidArgument(format!(
            "event_types: more than {MAX_FILTER} entries"
        )));
    }
    check_filter(filter).map_err(|e| Error::InvalidArgument(format!("event_types: {e}")))
}
