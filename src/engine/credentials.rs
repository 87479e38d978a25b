//! The credential use cases: create, get, list, update, rotate, complete a
//! rotation, revoke, disable, reactivate and delete. Each checks the actor,
//! validates, asks `lifecycle` what the change means now, and commits the
//! record with its audit event in one transaction, flushed before it answers.

use chrono::{DateTime, Duration, Utc};
use tracing::{info, warn};

use super::access::{Access, Actor, Scope};
use super::credits::NewCredits;
use super::{
    Engine, Error, MAX_ATTEMPTS, admin_keys, audit_entry, partners, rate_limits, status_word,
    validate,
};
use crate::lifecycle::CreditsConfig;
use crate::lifecycle::credits::CreditState;
use crate::lifecycle::{
    self, CredentialRecord, DisabledReason, Environment, Kind, RateLimitRule, RotationRefusal,
    SecretVersion, Status,
};
use crate::secret::Secret;
use crate::store::Commit;

/// A credential as shown to callers: the record plus what `now` makes of it.
#[derive(Debug, Clone)]
pub struct CredentialView {
    /// The stored record (no secret in it).
    pub record: CredentialRecord,
    /// Effective status at the time of the answer.
    pub status: Status,
    /// Latest successful use, including uses not yet flushed.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When the older secret of an open rotation stops working.
    pub rotation_retires_at: Option<DateTime<Utc>>,
    /// The uses left now (refills applied, spends not yet flushed
    /// included); None: unlimited.
    pub credits: Option<CreditState>,
    /// When the credits are next refilled, if they have a refill.
    pub next_refill_at: Option<DateTime<Utc>>,
    /// Time left until `expires_at` and whether it is inside the expiry
    /// warning window ([`lifecycle::record_outlook`]).
    pub expiry: lifecycle::ExpiryOutlook,
}

/// A new credential's fields, as the caller gave them.
#[derive(Debug, Clone)]
pub struct NewCredential {
    /// Owner.
    pub account_id: String,
    /// API key or passcode.
    pub kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// Short human name.
    pub name: String,
    /// Purpose.
    pub description: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// None: the policy's default lifetime.
    pub lifetime: Option<Duration>,
    /// Contacts.
    pub notify_emails: Vec<String>,
    /// For an API key: the client id to bind it to.
    pub client_id: Option<String>,
    /// Metadata as JSON text, as given (validated and normalised here);
    /// None or empty: none.
    pub metadata: Option<String>,
    /// Uses to start with and their refill; None: unlimited.
    pub credits: Option<NewCredits>,
    /// Named rate limits (at most 16).
    pub rate_limits: Vec<RateLimitRule>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct CredentialUpdate {
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New scopes (replacing).
    pub scopes: Option<Vec<String>>,
    /// New expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// New contacts (replacing).
    pub notify_emails: Option<Vec<String>>,
    /// New metadata as JSON text (replacing); `""` or `{}` clears it.
    pub metadata: Option<String>,
    /// New named rate limits (replacing); empty clears them.
    pub rate_limits: Option<Vec<RateLimitRule>>,
}

/// Filters and paging for [`Engine::list`].
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// One account, or all.
    pub account_id: Option<String>,
    /// Effective status to match.
    pub status: Option<Status>,
    /// Kind to match.
    pub kind: Option<Kind>,
    /// Environment to match.
    pub environment: Option<Environment>,
    /// Only credentials that expire within this span from now (and have
    /// not expired).
    pub expiring_within: Option<Duration>,
    /// Only credentials whose latest activity (use, creation or
    /// reactivation) is at least this long ago.
    pub inactive_for: Option<Duration>,
    /// Page size as sent (0 means 100).
    pub page_size: i64,
    /// Token of the previous page.
    pub page_token: Option<String>,
}

impl ListQuery {
    /// Whether `view` passes every filter at `now` (admin keys never do).
    fn matches(&self, view: &CredentialView, now: DateTime<Utc>) -> bool {
        let record = &view.record;
        record.kind != Kind::AdminKey
            && self.status.is_none_or(|s| s == view.status)
            && self.kind.is_none_or(|k| k == record.kind)
            && self.environment.is_none_or(|e| e == record.environment)
            && self
                .expiring_within
                .is_none_or(|span| lifecycle::expires_within(record, span, now))
            && self
                .inactive_for
                .is_none_or(|span| lifecycle::inactive_for(record, view.last_used_at, span, now))
    }
}

/// One page of [`Engine::list`].
#[derive(Debug, Clone)]
pub struct Page {
    /// The matching credentials, in id order.
    pub credentials: Vec<CredentialView>,
    /// Where the next page starts; None on the last page.
    pub next_page_token: Option<String>,
}

/// What a modification decided.
pub(super) enum Change {
    /// Nothing to write (the transition was already applied).
    Unchanged,
    /// Write this record, with an audit detail.
    Update(Box<CredentialRecord>, String),
    /// Remove the record and its indexes.
    Delete,
}

impl Engine {
    pub(super) fn max_expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.policy.max_lifetime.after(now)
    }

    pub(super) fn new_version(
        &self,
        environment: Environment,
        kind: Kind,
        version: u32,
        now: DateTime<Utc>,
    ) -> Result<(Secret, SecretVersion), Error> {
        let secret =
            Secret::generate(&self.key_prefix, environment, kind).map_err(Error::Random)?;
        let entry = SecretVersion {
            version,
            hash: self.pepper.hash(secret.expose()).0,
            hint: secret.hint(),
            created_at: now,
            retires_at: None,
        };
        Ok((secret, entry))
    }

    /// Issues a credential; the secret is returned here and never again.
    ///
    /// # Errors
    /// `InvalidArgument` for bad fields or a lifetime over the maximum,
    /// `QuotaExceeded`, or a storage failure.
    pub async fn create(
        &self,
        actor: &Actor,
        request: NewCredential,
    ) -> Result<(CredentialView, Secret), Error> {
        match request.kind {
            Kind::AdminKey => {
                return Err(Error::InvalidArgument(
                    "kind ADMIN_KEY is issued with CreateAdminKey, not CreateCredential"
                        .to_string(),
                ));
            }
            Kind::Session => {
                return Err(Error::InvalidArgument(
                    "kind SESSION is issued by Login, not CreateCredential".to_string(),
                ));
            }
            Kind::CustomerKey => {
                return Err(Error::InvalidArgument(
                    "kind CUSTOMER_KEY is issued by ApproveConsent, not CreateCredential"
                        .to_string(),
                ));
            }
            Kind::ApiKey | Kind::Passcode => {}
        }
        validate::account_id("account_id", &request.account_id)?;
        if let Some(client_id) = &request.client_id {
            if request.kind != Kind::ApiKey {
                return Err(Error::InvalidArgument(
                    "client_id binds API keys only; leave it empty for a passcode".to_string(),
                ));
            }
            partners::client_id_arg("client_id", client_id)?;
        }
        self.authorize(
            actor,
            "credential.create",
            "",
            &request.account_id,
            actor.allows(Scope::CredentialsWrite, Some(&request.account_id)),
        )?;
        let scopes = validate::scopes("scopes", &request.scopes)?;
        if let Some(client_id) = &request.client_id {
            self.check_binding(client_id, &request.account_id, request.environment)?;
        }
        let now = self.clock.now();
        let default_expiry = self.policy.default_lifetime.after(now);
        let max_expiry = self.max_expiry(now);
        self.issue(
            actor,
            request,
            scopes,
            (default_expiry, max_expiry),
            now,
            None,
        )
        .await
    }

    /// Writes a new credential of any kind once the caller is authorized and
    /// its scopes are checked.
    pub(super) async fn issue(
        &self,
        actor: &Actor,
        request: NewCredential,
        scopes: Vec<String>,
        (default_expiry, max_expiry): (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
        user: Option<String>,
    ) -> Result<(CredentialView, Secret), Error> {
        validate::name(&request.name)?;
        validate::description(&request.description)?;
        let notify_emails = validate::emails(&request.notify_emails)?;
        if let Some(credits) = &request.credits {
            super::credits::check_new(credits)?;
        }
        let metadata = match &request.metadata {
            Some(text) => validate::metadata(text)?,
            None => None,
        };
        rate_limits::check_rules("rate_limits", &request.rate_limits)?;
        let max_lifetime = match request.kind {
            Kind::AdminKey => admin_keys::MAX_LIFETIME.to_string(),
            Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey => {
                self.policy.max_lifetime.to_string()
            }
        };
        let expires_at = match request.lifetime {
            None => default_expiry,
            Some(lifetime) if lifetime <= Duration::zero() => {
                return Err(Error::InvalidArgument(
                    "lifetime must be positive".to_string(),
                ));
            }
            Some(lifetime) => now
                .checked_add_signed(lifetime)
                .filter(|t| *t <= max_expiry)
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "lifetime exceeds the maximum of {max_lifetime}"
                    ))
                })?,
        };
        if request.kind != Kind::AdminKey {
            self.ensure_account(actor, &request.account_id, now).await?;
        }
        let (secret, version) = self.new_version(request.environment, request.kind, 1, now)?;
        let mut record = CredentialRecord {
            name: request.name,
            description: request.description,
            scopes,
            notify_emails,
            user,
            client_id: request.client_id,
            metadata,
            credits: request.credits.map(|c| CreditsConfig {
                generation: 1,
                state: CreditState {
                    remaining: c.remaining,
                    as_of: now,
                },
                refill: c.refill,
            }),
            rate_limits: request.rate_limits,
            ..CredentialRecord::issued(
                validate::new_credential_id(),
                request.account_id,
                request.kind,
                request.environment,
                version,
                expires_at,
            )
        };
        record.scheduled = lifecycle::next_deadlines(&record, &self.policy);
        let action = match record.kind {
            Kind::AdminKey => "admin_key.create",
            Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey => {
                "credential.create"
            }
        };
        let detail = match record.kind {
            Kind::AdminKey => format!("scopes: {}", record.scopes.join(" ")),
            Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey => String::new(),
        };
        let audit = audit_entry(actor, now, action, &record.id, &record.account_id, detail);
        {
            let _quota_guard = self.account_lock(&record.account_id).lock().await;
            self.create_within_quota(&record, &audit, now).await?;
        }
        self.store.flush().await?;
        info!(
            credential_id = %record.id,
            account_id = %record.account_id,
            kind = ?record.kind,
            environment = ?record.environment,
            actor = %actor.id,
            request_id = %actor.request_id,
            "credential created"
        );
        Ok((self.view(record, now), secret))
    }

    /// Commits a new credential if its account has room: the account's
    /// quota guard is read before the live credentials are counted, and the
    /// create commits only while the guard is unchanged, so two creates
    /// that counted the same credentials (in a cluster, on two nodes)
    /// cannot both pass; the second counts again.
    async fn create_within_quota(
        &self,
        record: &CredentialRecord,
        audit: &crate::store::AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        for _ in 0..MAX_ATTEMPTS {
            let guard = self.store.quota_guard(&record.account_id)?;
            self.check_quota(&record.account_id, record.kind, now)?;
            let writing = self.store.writing().await;
            let done = if lifecycle::counts_toward_quota(record.kind) {
                self.store.create(record, audit, guard)?
            } else {
                self.store.commit(None, Some(record), Some(audit))?
            };
            drop(writing);
            if done == Commit::Done {
                return Ok(());
            }
        }
        Err(Error::Contention {
            id: record.id.clone(),
        })
    }

    /// Reads one credential.
    ///
    /// # Errors
    /// `InvalidArgument` for a malformed id, `NotFound`, or a storage failure.
    pub fn get(&self, actor: &Actor, id: &str) -> Result<CredentialView, Error> {
        validate::credential_id(id)?;
        if !actor.holds(Scope::CredentialsRead) {
            return self.deny_unscoped(actor, "credential.get", id, Scope::CredentialsRead);
        }
        let record = self
            .store
            .get(id)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        self.authorize_on(actor, "credential.get", &record, Access::Read)?;
        Ok(self.view(record, self.clock.now()))
    }

    /// Lists credentials in id order with filters and opaque page tokens.
    ///
    /// # Errors
    /// `InvalidArgument` for bad filters, sizes or tokens, or a storage failure.
    pub fn list(&self, actor: &Actor, query: &ListQuery) -> Result<Page, Error> {
        if let Some(account_id) = &query.account_id {
            validate::account_id("account_id", account_id)?;
        }
        if query.kind == Some(Kind::AdminKey) {
            return Err(Error::InvalidArgument(
                "admin keys are listed with ListAdminKeys, not ListCredentials".to_string(),
            ));
        }
        // A key confined to one account lists that account when none is named.
        let account = query.account_id.as_deref().or(actor.account());
        self.authorize(
            actor,
            "credential.list",
            "",
            account.unwrap_or_default(),
            actor.allows(Scope::CredentialsRead, account),
        )?;
        validate::list_span("expiring_within", query.expiring_within)?;
        validate::list_span("inactive_for", query.inactive_for)?;
        let page_size = validate::page_size(query.page_size)?;
        let after = query
            .page_token
            .as_deref()
            .map(validate::parse_page_token)
            .transpose()?;
        let now = self.clock.now();
        let mut credentials = Vec::with_capacity(page_size);
        let mut next_page_token = None;
        for item in self.store.scan(account, after.as_deref()) {
            let view = self.view(item?, now);
            if !query.matches(&view, now) {
                continue;
            }
            if credentials.len() == page_size {
                // One more match exists: the page is full and not the last.
                next_page_token = credentials
                    .last()
                    .map(|last: &CredentialView| validate::page_token(&last.record.id));
                break;
            }
            credentials.push(view);
        }
        Ok(Page {
            credentials,
            next_page_token,
        })
    }

    /// Reads, decides and writes one credential, retrying when it changed
    /// underneath, then flushes. `decide` must be free of side effects.
    pub(super) async fn modify(
        &self,
        actor: &Actor,
        id: &str,
        action: &'static str,
        decide: impl Fn(&CredentialRecord, DateTime<Utc>) -> Result<Change, Error>,
    ) -> Result<Option<CredentialView>, Error> {
        validate::credential_id(id)?;
        if !actor.holds(Scope::CredentialsWrite) && !actor.holds(Scope::AdminManage) {
            return self.deny_unscoped(actor, action, id, Scope::CredentialsWrite);
        }
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let current = self
                .store
                .get(id)?
                .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
            self.authorize_on(actor, action, &current, Access::Write)?;
            let (new, detail) = match decide(&current, now)? {
                Change::Unchanged => {
                    // What we read may be another caller's change that is
                    // committed but not yet flushed: answering OK before it
                    // is on disk would acknowledge something a crash can
                    // still undo.
                    self.store.flush().await?;
                    return Ok(Some(self.view(current, now)));
                }
                Change::Update(new, detail) => {
                    let mut new = *new;
                    new.updated_at = now;
                    new.scheduled = lifecycle::next_deadlines(&new, &self.policy);
                    (Some(new), detail)
                }
                Change::Delete => (None, String::new()),
            };
            let audit = audit_entry(
                actor,
                now,
                action,
                &current.id,
                &current.account_id,
                detail.clone(),
            );
            match self
                .store
                .commit(Some(&current), new.as_ref(), Some(&audit))?
            {
                Commit::Conflict => continue,
                Commit::Done => {}
            }
            self.store.flush().await?;
            let to = new.as_ref().map(|n| format!("{:?}", n.status));
            info!(
                credential_id = %current.id,
                account_id = %current.account_id,
                action,
                from = ?current.status,
                to = to.as_deref().unwrap_or("Deleted"),
                detail = %detail,
                actor = %actor.id,
                request_id = %actor.request_id,
                "credential changed"
            );
            return Ok(new.map(|n| self.view(n, now)));
        }
        warn!(credential_id = %id, action, "gave up after repeated concurrent changes");
        Err(Error::Contention { id: id.to_string() })
    }

    pub(super) async fn modify_existing(
        &self,
        actor: &Actor,
        id: &str,
        action: &'static str,
        decide: impl Fn(&CredentialRecord, DateTime<Utc>) -> Result<Change, Error>,
    ) -> Result<CredentialView, Error> {
        self.modify(actor, id, action, decide)
            .await?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })
    }

    /// Changes the fields that are set.
    ///
    /// # Errors
    /// `InvalidArgument` for bad fields or an expiry out of range,
    /// `FailedPrecondition` for a new expiry on an expired or revoked
    /// credential, `NotFound`, or a storage failure.
    pub async fn update(
        &self,
        actor: &Actor,
        id: &str,
        update: CredentialUpdate,
    ) -> Result<CredentialView, Error> {
        if let Some(name) = &update.name {
            validate::name(name)?;
        }
        if let Some(description) = &update.description {
            validate::description(description)?;
        }
        let scopes = update
            .scopes
            .as_deref()
            .map(|s| validate::scopes("scopes", s))
            .transpose()?;
        let emails = update
            .notify_emails
            .as_deref()
            .map(validate::emails)
            .transpose()?;
        let metadata = update
            .metadata
            .as_deref()
            .map(validate::metadata)
            .transpose()?;
        if let Some(rules) = &update.rate_limits {
            rate_limits::check_rules("rate_limits", rules)?;
        }
        self.modify_existing(actor, id, "credential.update", |current, now| {
            let mut new = current.clone();
            let mut changed = Vec::new();
            if let Some(name) = &update.name {
                new.name.clone_from(name);
                changed.push("name");
            }
            if let Some(description) = &update.description {
                new.description.clone_from(description);
                changed.push("description");
            }
            if let Some(scopes) = &scopes {
                new.scopes.clone_from(scopes);
                changed.push("scopes");
            }
            if let Some(emails) = &emails {
                new.notify_emails.clone_from(emails);
                changed.push("notify_emails");
            }
            if let Some(metadata) = &metadata {
                new.metadata.clone_from(metadata);
                changed.push("metadata");
            }
            if let Some(rules) = &update.rate_limits {
                new.rate_limits.clone_from(rules);
                changed.push("rate_limits");
            }
            if let Some(expires_at) = update.expires_at {
                let status = lifecycle::effective_status(current, now);
                if matches!(status, Status::Expired | Status::Revoked) {
                    return Err(Error::FailedPrecondition(format!(
                        "credential {} is {}; its expiry can no longer be changed",
                        current.id,
                        status_word(status)
                    )));
                }
                if expires_at <= now {
                    return Err(Error::InvalidArgument(
                        "expires_at must be in the future".to_string(),
                    ));
                }
                if expires_at > self.max_expiry(now) {
                    return Err(Error::InvalidArgument(format!(
                        "expires_at is further away than the maximum lifetime of {}",
                        self.policy.max_lifetime
                    )));
                }
                new.expires_at = expires_at;
                changed.push("expires_at");
            }
            if new == *current {
                return Ok(Change::Unchanged);
            }
            Ok(Change::Update(
                Box::new(new),
                format!("changed {}", changed.join(", ")),
            ))
        })
        .await
    }

    /// Issues a second secret; both verify until the window ends.
    ///
    /// # Errors
    /// `FailedPrecondition` if the credential is not ACTIVE or a window is
    /// already open, `InvalidArgument` for a bad window, `NotFound`, storage.
    pub async fn rotate(
        &self,
        actor: &Actor,
        id: &str,
        window: Option<Duration>,
    ) -> Result<(CredentialView, Secret), Error> {
        validate::credential_id(id)?;
        let now = self.clock.now();
        let window_end = lifecycle::rotation::window_end(&self.policy, window, now)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let current = self
            .store
            .get(id)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let (secret, fresh) = self.new_version(current.environment, current.kind, 0, now)?;
        let view = self
            .modify_existing(actor, id, "credential.rotate", |current, now| {
                let new = lifecycle::rotation::start(current, fresh.clone(), window_end, now)
                    .map_err(|refusal| rotation_refused(current, refusal))?;
                Ok(Change::Update(
                    Box::new(new),
                    format!("rotation window until {}", window_end.to_rfc3339()),
                ))
            })
            .await?;
        Ok((view, secret))
    }

    /// Retires the older secret of an open rotation at once.
    ///
    /// # Errors
    /// `FailedPrecondition` if no rotation is open, `NotFound`, storage.
    pub async fn complete_rotation(
        &self,
        actor: &Actor,
        id: &str,
    ) -> Result<CredentialView, Error> {
        self.modify_existing(actor, id, "credential.complete_rotation", |current, now| {
            let (new, older) = lifecycle::rotation::complete(current, now)
                .map_err(|refusal| rotation_refused(current, refusal))?;
            Ok(Change::Update(
                Box::new(new),
                format!("retired secret version {older}"),
            ))
        })
        .await
    }

    /// Revokes for good. Revoking a revoked credential changes nothing.
    ///
    /// # Errors
    /// `InvalidArgument` for an over-long reason, `NotFound`, storage.
    pub async fn revoke(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<CredentialView, Error> {
        validate::reason(reason)?;
        self.modify_existing(actor, id, "credential.revoke", |current, _now| {
            if current.status == Status::Revoked {
                return Ok(Change::Unchanged);
            }
            let mut new = current.clone();
            new.status = Status::Revoked;
            new.disabled_reason = None;
            new.status_reason = reason.to_string();
            Ok(Change::Update(Box::new(new), format!("reason: {reason}")))
        })
        .await
    }

    /// Disables (reason ADMIN) until reactivated.
    ///
    /// # Errors
    /// `FailedPrecondition` for an expired or revoked credential, `NotFound`, storage.
    pub async fn disable(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<CredentialView, Error> {
        validate::reason(reason)?;
        self.modify_existing(actor, id, "credential.disable", |current, now| {
            match lifecycle::effective_status(current, now) {
                Status::Disabled => Ok(Change::Unchanged),
                Status::Active => {
                    let mut new = current.clone();
                    new.status = Status::Disabled;
                    new.disabled_reason = Some(DisabledReason::Admin);
                    new.status_reason = reason.to_string();
                    Ok(Change::Update(Box::new(new), format!("reason: {reason}")))
                }
                status @ (Status::Expired | Status::Revoked) => {
                    Err(Error::FailedPrecondition(format!(
                        "credential {} is {}; only an active credential can be disabled",
                        current.id,
                        status_word(status)
                    )))
                }
            }
        })
        .await
    }

    /// Brings a DISABLED credential back and restarts its inactivity clock.
    ///
    /// # Errors
    /// `FailedPrecondition` for an expired or revoked credential, `NotFound`, storage.
    pub async fn reactivate(&self, actor: &Actor, id: &str) -> Result<CredentialView, Error> {
        self.modify_existing(actor, id, "credential.reactivate", |current, now| {
            match lifecycle::effective_status(current, now) {
                Status::Active => Ok(Change::Unchanged),
                Status::Disabled => {
                    let mut new = current.clone();
                    new.status = Status::Active;
                    new.disabled_reason = None;
                    new.status_reason = String::new();
                    new.reactivated_at = Some(now);
                    Ok(Change::Update(Box::new(new), String::new()))
                }
                Status::Expired => Err(Error::FailedPrecondition(format!(
                    "credential {} has expired and cannot be reactivated; create a new one",
                    current.id
                ))),
                Status::Revoked => Err(Error::FailedPrecondition(format!(
                    "credential {} was revoked and cannot be reactivated; create a new one",
                    current.id
                ))),
            }
        })
        .await
    }

    /// Deletes the record and its indexes; the audit log keeps an entry.
    ///
    /// # Errors
    /// `NotFound`, storage.
    pub async fn delete(&self, actor: &Actor, id: &str) -> Result<(), Error> {
        self.modify(actor, id, "credential.delete", |_, _| Ok(Change::Delete))
            .await?;
        // Its unflushed use and credits would only leave entries nobody
        // reads (the store drops the flushed ones with the record).
        self.usage.forget(id);
        self.credits.forget(id);
        Ok(())
    }
}

/// The caller's error for a refused rotation transition.
fn rotation_refused(current: &CredentialRecord, refusal: RotationRefusal) -> Error {
    Error::FailedPrecondition(match refusal {
        RotationRefusal::NotActive(status) => format!(
            "credential {} is {}; only an active credential can be rotated",
            current.id,
            status_word(status)
        ),
        RotationRefusal::AlreadyOpen(retires_at) => format!(
            "credential {} already has a rotation open until {}; complete it first",
            current.id,
            retires_at.to_rfc3339()
        ),
        RotationRefusal::NotInProgress => {
            format!("credential {} has no rotation in progress", current.id)
        }
    })
}
