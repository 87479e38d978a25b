//! Admin keys: credentials of kind `AdminKey` that authenticate callers of
//! the admin services. Issuing, listing and revoking them, and turning a
//! presented key into an [`Actor`]. They are stored, hashed, rotated and
//! expired like any credential; global keys have an empty account id, and
//! account-scoped management keys carry the account they are confined to.

use chrono::{DateTime, Duration, Utc};
use tracing::{debug, info};

use super::{Access, Actor, CredentialView, Engine, Error, NewCredential, Page, Scope, validate};
use crate::lifecycle::{self, Environment, Kind, VerifyOutcome};
use crate::secret::{self, Secret};

/// Default and longest lifetime of an admin key (ten years). Independent of
/// the credential policy, so a short test policy cannot expire the
/// operator's own key.
pub const MAX_LIFETIME: &str = "3650d";

fn max_lifetime() -> Duration {
    Duration::days(3650)
}

/// A new admin key's fields.
#[derive(Debug, Clone, Default)]
pub struct NewAdminKey {
    /// None: a global key; Some: a management key for that account only.
    pub account_id: Option<String>,
    /// Short human name.
    pub name: String,
    /// Purpose.
    pub description: String,
    /// Scope names (see [`Scope`]).
    pub scopes: Vec<String>,
    /// None: ten years.
    pub lifetime: Option<Duration>,
    /// Who hears about its expiry.
    pub notify_emails: Vec<String>,
}

/// Which admin keys to list.
#[derive(Debug, Clone, Default)]
pub struct AdminKeyQuery {
    /// None: the global keys; Some: that account's management keys.
    pub account_id: Option<String>,
    /// Page size as sent (0 means 100).
    pub page_size: i64,
    /// Token of the previous page.
    pub page_token: Option<String>,
}

/// Why a presented admin key was not accepted. Never carries the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// Not an admin key, a bad checksum, or a key credd does not know.
    #[error("unknown admin key")]
    Unknown,
    /// A known admin key that is revoked, expired, disabled or retired.
    #[error("admin key is not active")]
    Inactive,
}

impl Engine {
    /// Issues an admin key; the secret is returned here and never again.
    ///
    /// # Errors
    /// `PermissionDenied` unless the actor is a global key with
    /// `admin:manage`; `InvalidArgument` for unknown scopes or scopes an
    /// account-scoped key may not hold; storage failures.
    pub async fn create_admin_key(
        &self,
        actor: &Actor,
        request: NewAdminKey,
    ) -> Result<(CredentialView, Secret), Error> {
        let account_id = request.account_id.unwrap_or_default();
        if !account_id.is_empty() {
            validate::account_id("account_id", &account_id)?;
        }
        self.authorize(
            actor,
            "admin_key.create",
            "",
            &account_id,
            actor.allows_key_management(),
        )?;
        let scopes = admin_scopes(&request.scopes, !account_id.is_empty())?;
        let now = self.clock.now();
        let max_expiry = now + max_lifetime();
        let new = NewCredential {
            account_id,
            kind: Kind::AdminKey,
            environment: Environment::Live,
            name: request.name,
            description: request.description,
            scopes,
            lifetime: request.lifetime,
            notify_emails: request.notify_emails,
            client_id: None,
            metadata: None,
            credits: None,
            rate_limits: Vec::new(),
        };
        let scopes = new.scopes.clone();
        self.issue(actor, new, scopes, (max_expiry, max_expiry), now, None)
            .await
    }

    /// Issues a global key holding every scope, as `actor` (bootstrap and
    /// the offline recovery command).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn issue_root_admin_key(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<(CredentialView, Secret), Error> {
        let request = NewAdminKey {
            name: name.to_string(),
            description: "holds every scope; issued by credd itself".to_string(),
            scopes: Scope::ALL.iter().map(|s| s.name().to_string()).collect(),
            ..NewAdminKey::default()
        };
        self.create_admin_key(actor, request).await
    }

    /// Lists the global admin keys, or one account's management keys.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument` for a bad account, size or
    /// token, storage failures.
    pub fn list_admin_keys(&self, actor: &Actor, query: &AdminKeyQuery) -> Result<Page, Error> {
        let account = query.account_id.clone().unwrap_or_default();
        if !account.is_empty() {
            validate::account_id("account_id", &account)?;
        }
        self.authorize(
            actor,
            "admin_key.list",
            "",
            &account,
            actor.allows_key_management(),
        )?;
        let page_size = validate::page_size(query.page_size)?;
        let after = query
            .page_token
            .as_deref()
            .map(validate::parse_page_token)
            .transpose()?;
        let now = self.clock.now();
        let mut credentials = Vec::with_capacity(page_size);
        let mut next_page_token = None;
        for item in self.store.scan(Some(&account), after.as_deref()) {
            let record = item?;
            if record.kind != Kind::AdminKey {
                continue;
            }
            if credentials.len() == page_size {
                next_page_token = credentials
                    .last()
                    .map(|last: &CredentialView| validate::page_token(&last.record.id));
                break;
            }
            credentials.push(self.view(record, now));
        }
        Ok(Page {
            credentials,
            next_page_token,
        })
    }

    /// Reads one admin key.
    ///
    /// # Errors
    /// `NotFound` (also for an id that is not an admin key),
    /// `PermissionDenied`, storage failures.
    pub fn get_admin_key(&self, actor: &Actor, id: &str) -> Result<CredentialView, Error> {
        validate::credential_id(id)?;
        self.authorize(
            actor,
            "admin_key.get",
            id,
            "",
            actor.allows_key_management(),
        )?;
        let record = self
            .store
            .get(id)?
            .filter(|r| r.kind == Kind::AdminKey)
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        self.authorize_on(actor, "admin_key.get", &record, Access::Read)?;
        Ok(self.view(record, self.clock.now()))
    }

    /// Revokes an admin key: the next call made with it is refused.
    ///
    /// # Errors
    /// As [`Engine::get_admin_key`], and `InvalidArgument` for a long reason.
    pub async fn revoke_admin_key(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<CredentialView, Error> {
        self.get_admin_key(actor, id)?;
        self.revoke(actor, id, reason).await
    }

    /// Whether `actor` may call Verify when the verifier requires a token.
    ///
    /// # Errors
    /// `PermissionDenied` without the `verify` scope.
    pub fn allow_verify(&self, actor: &Actor) -> Result<(), Error> {
        self.authorize(
            actor,
            "verify",
            "",
            actor.account().unwrap_or_default(),
            actor.allows(Scope::Verify, actor.account()),
        )
    }

    /// Turns a presented admin key into the actor it authenticates. The use
    /// is recorded like a Verify's.
    ///
    /// `Ok(Err(failure))` when the key is not accepted.
    ///
    /// # Errors
    /// Storage failures.
    pub fn authenticate(
        &self,
        presented: &str,
        request_id: String,
    ) -> Result<Result<Actor, AuthFailure>, Error> {
        let Ok(shape) = secret::parse(presented) else {
            return Ok(Err(AuthFailure::Unknown));
        };
        if shape.kind != Kind::AdminKey {
            return Ok(Err(AuthFailure::Unknown));
        }
        let hash = self.pepper.hash(presented);
        let Some((credential_id, version_no)) = self.store.lookup_secret(&hash.0)? else {
            return Ok(Err(AuthFailure::Unknown));
        };
        let Some(record) = self.store.get(&credential_id)? else {
            return Ok(Err(AuthFailure::Unknown));
        };
        let Some(version) = record
            .versions
            .iter()
            .find(|v| v.version == version_no && hash.ct_eq(&v.hash))
        else {
            return Ok(Err(AuthFailure::Unknown));
        };
        if record.kind != Kind::AdminKey {
            return Ok(Err(AuthFailure::Unknown));
        }
        let now: DateTime<Utc> = self.clock.now();
        match lifecycle::decide_verify(&record, version, None, &[], now) {
            VerifyOutcome::Valid { .. } => {}
            outcome => {
                info!(admin_key = %record.id, result = ?outcome, "inactive admin key presented");
                return Ok(Err(AuthFailure::Inactive));
            }
        }
        self.usage.record(&record.id, now);
        let account = Some(record.account_id.clone()).filter(|a| !a.is_empty());
        debug!(admin_key = %record.id, "admin key authenticated");
        Ok(Ok(Actor::admin_key(
            &record.id,
            record.scopes.iter().filter_map(|s| Scope::parse(s)),
            account,
            request_id,
        )))
    }
}

/// Checks and normalises the scopes of a new admin key.
fn admin_scopes(names: &[String], account_scoped: bool) -> Result<Vec<String>, Error> {
    let names = validate::scopes("scopes", names)?;
    if names.is_empty() {
        return Err(Error::InvalidArgument(
            "scopes is required for an admin key (e.g. credentials:read)".to_string(),
        ));
    }
    let allowed: &[Scope] = if account_scoped {
        &Scope::ACCOUNT
    } else {
        &Scope::ALL
    };
    for name in &names {
        match Scope::parse(name) {
            Some(scope) if allowed.contains(&scope) => {}
            Some(scope) => {
                return Err(Error::InvalidArgument(format!(
                    "scope {scope} cannot be given to a key scoped to one account"
                )));
            }
            None => {
                let known: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
                return Err(Error::InvalidArgument(format!(
                    "scope {name:?} is not an admin scope; use one of {}",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(names)
}
