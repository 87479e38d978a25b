//! The use cases: create, verify, rotate, revoke, disable, reactivate,
//! update, delete, get, list, admin keys, the audit log, and draining usage.
//! The engine checks that the actor may do what it asks (`access`), validates
//! input, asks `lifecycle` what a change means, and has `store` write it
//! atomically with its audit event, flushing before it answers. It knows
//! neither tonic nor sled.

pub mod access;
mod accounts;
mod admin_keys;
mod audit_log;
mod client_ids;
mod consents;
mod delegated;
mod offload;
mod partners;
mod sweep;
mod usage;
mod users;
pub mod validate;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::lifecycle::{
    self, CredentialRecord, DisabledReason, Environment, Kind, Policy, RotationState,
    SecretVersion, Status, VerifyOutcome,
};
use crate::secret::{self, Pepper, Secret};
use crate::store::{self, AuditEntry, Commit, NoticeKey, OutboxNotice, Store};

pub use access::{Actor, Denied, Scope};
pub use accounts::{AccountPage, AccountUpdate, NewAccount};
pub use admin_keys::{AdminKeyQuery, AuthFailure, NewAdminKey};
pub use audit_log::AuditQuery;
pub use client_ids::NewClientId;
pub use consents::{Approval, NewConsent};
pub use delegated::{HttpVerdict, PairVerdict};
pub use partners::{GrantQuery, NewGrant, PartnerUpdate};
pub use sweep::{SWEEP_BATCH, SweepReport};
pub use usage::UsageLog;
pub use users::{NewUser, PasscodeValidity, UserSettings, UserUpdate};

/// How many times a change is recomputed when the record changed underneath.
const MAX_ATTEMPTS: usize = 32;
/// Lock stripes that serialise quota checks per account.
const ACCOUNT_STRIPES: usize = 64;

/// What went wrong, in domain terms. `api::status` maps each to a gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- CLIENT ERRORS ----
    /// The request is malformed; the message says which field and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// No credential has this id.
    #[error("credential {id} not found")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// No account has this id.
    #[error("account {id} not found; create it with CreateAccount")]
    AccountNotFound {
        /// The id asked for.
        id: String,
    },
    /// The thing to create exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// No such user in the account.
    #[error("user {username} not found in account {account_id}")]
    UserNotFound {
        /// The account.
        account_id: String,
        /// The username asked for.
        username: String,
    },
    /// No client id, partner, grant or consent request by that id; the
    /// message names which.
    #[error("{0}")]
    NoSuch(String),
    /// A login failed; the message is the same whatever was wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed logins; try again later.
    #[error("too many failed logins; retry in {}s", retry_after.as_secs().max(1))]
    Throttled {
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// The credential is not in a state that allows this.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller's admin key lacks a scope or is confined to another account.
    #[error("{0}")]
    PermissionDenied(String),
    /// The account holds its maximum of live credentials.
    #[error(
        "account {account_id} already has {limit} live credentials, the most it may hold; revoke or delete one first"
    )]
    QuotaExceeded {
        /// The full account.
        account_id: String,
        /// Its limit.
        limit: u32,
    },

    // ---- SERVER ERRORS ----
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] store::Error),
    /// The OS could not supply randomness for a new secret.
    #[error("no randomness for a new secret: {0}")]
    Random(getrandom::Error),
    /// The record kept changing underneath; the caller may retry.
    #[error("{id} is being changed concurrently; retry")]
    Contention {
        /// The contended credential.
        id: String,
    },
}

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
    /// Page size as sent (0 means 100).
    pub page_size: i64,
    /// Token of the previous page.
    pub page_token: Option<String>,
}

/// One page of [`Engine::list`].
#[derive(Debug, Clone)]
pub struct Page {
    /// The matching credentials, in id order.
    pub credentials: Vec<CredentialView>,
    /// Where the next page starts; None on the last page.
    pub next_page_token: Option<String>,
}

/// What Verify is asked. `Debug` is not derived: it holds the secret.
#[derive(Clone, Copy, Default)]
pub struct VerifyQuery<'a> {
    /// The presented secret.
    pub secret: &'a str,
    /// The account id presented with it.
    pub account_id: Option<&'a str>,
    /// The client id presented with it.
    pub client_id: Option<&'a str>,
    /// The account a partner's key acts for.
    pub on_behalf_of: Option<&'a str>,
    /// Scopes the credential (and a grant) must allow.
    pub required_scopes: &'a [String],
}

/// What Verify found out about the credential behind a secret.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The answer.
    pub outcome: VerifyOutcome,
    /// The credential, except for NOT_FOUND and ACCOUNT_MISMATCH.
    pub credential: Option<VerifiedCredential>,
    /// With `on_behalf_of` and a VALID answer: the account acted for.
    pub acting_for: Option<ActingFor>,
}

/// The account a VALID partner key acts for, and the grant that allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingFor {
    /// The account acted for.
    pub account_id: String,
    /// The grant; None when a key acts for its own account.
    pub grant_id: Option<String>,
}

/// Refuses an empty or over-long presented secret.
fn check_presented(field: &str, presented: &str) -> Result<(), Error> {
    if presented.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} is required")));
    }
    if presented.len() > secret::MAX_SECRET_LEN {
        return Err(Error::InvalidArgument(format!(
            "{field} is longer than {} characters",
            secret::MAX_SECRET_LEN
        )));
    }
    Ok(())
}

/// The facts a verifying service needs.
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// Credential id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// API key or passcode.
    pub kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// What it may do.
    pub scopes: Vec<String>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// For a user passcode or a session: the user and its role.
    pub user: Option<(String, lifecycle::UserRole)>,
    /// The client id an API key is bound to.
    pub client_id: Option<String>,
    /// For a customer key: its grant.
    pub grant_id: Option<String>,
}

/// What a modification decided.
enum Change {
    /// Nothing to write (the transition was already applied).
    Unchanged,
    /// Write this record, with an audit detail.
    Update(Box<CredentialRecord>, String),
    /// Remove the record and its indexes.
    Delete,
}

/// The use cases, over one store, one pepper and one clock.
pub struct Engine {
    /// Where records live.
    store: Store,
    /// The HMAC key for secrets.
    pepper: Pepper,
    /// Where "now" comes from.
    clock: Arc<dyn Clock>,
    /// The rules.
    policy: Policy,
    /// First part of every issued secret.
    key_prefix: String,
    /// Uses not yet written.
    usage: UsageLog,
    /// Serialises count-then-insert per account, so two concurrent creates
    /// cannot both take the last quota slot.
    account_locks: Vec<tokio::sync::Mutex<()>>,
    /// Every account, for Verify's status and rate-limit checks.
    accounts: accounts::AccountDirectory,
    /// argon2 cost, session lifetimes, login throttle settings.
    user_settings: UserSettings,
    /// Failed logins per user and per peer.
    login_throttle: users::LoginThrottle,
    /// Session uses not yet written (token hash -> latest use).
    session_touches: std::sync::Mutex<std::collections::HashMap<[u8; 32], DateTime<Utc>>>,
    /// Whitelisted partners and delegation grants, for Verify.
    partners: partners::PartnerDirectory,
    /// How long a consent request waits for its answer.
    consent_ttl: Duration,
    /// Serialises partner and grant changes (check, commit, directory
    /// update), so no grant is created for a partner being removed and the
    /// directory follows the store in commit order.
    partner_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("policy", &self.policy)
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Builds an engine and loads the account directory.
    ///
    /// # Errors
    /// Storage failures reading the accounts.
    pub fn new(
        store: Store,
        pepper: Pepper,
        clock: Arc<dyn Clock>,
        policy: Policy,
        key_prefix: String,
    ) -> Result<Self, Error> {
        Ok(Self {
            accounts: accounts::AccountDirectory::load(&store)?,
            user_settings: UserSettings::default(),
            login_throttle: users::LoginThrottle::default(),
            session_touches: std::sync::Mutex::default(),
            partners: partners::PartnerDirectory::load(&store)?,
            consent_ttl: consents::DEFAULT_CONSENT_TTL,
            partner_lock: tokio::sync::Mutex::new(()),
            store,
            pepper,
            clock,
            policy,
            key_prefix,
            usage: UsageLog::default(),
            account_locks: (0..ACCOUNT_STRIPES)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
        })
    }

    /// The store, for the daemon's shutdown flush and for tests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The current time by this engine's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn view(&self, record: CredentialRecord, now: DateTime<Utc>) -> CredentialView {
        let pending = self.usage.pending_for(&record.id);
        let rotation_retires_at = match lifecycle::rotation_state(&record, now) {
            RotationState::Open { retires_at, .. } => Some(retires_at),
            RotationState::None | RotationState::Lapsed { .. } => None,
        };
        CredentialView {
            status: lifecycle::effective_status(&record, now),
            last_used_at: record.last_used_at.max(pending),
            rotation_retires_at,
            record,
        }
    }

    fn account_lock(&self, account_id: &str) -> &tokio::sync::Mutex<()> {
        let stripe = crc32fast::hash(account_id.as_bytes()) as usize % ACCOUNT_STRIPES;
        &self.account_locks[stripe]
    }

    fn max_expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        self.policy.max_lifetime.after(now)
    }

    fn new_version(
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
            client_ids::client_id_arg("client_id", client_id)?;
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
    async fn issue(
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
            id: validate::new_credential_id(),
            account_id: request.account_id,
            kind: request.kind,
            environment: request.environment,
            name: request.name,
            description: request.description,
            scopes,
            status: Status::Active,
            disabled_reason: None,
            status_reason: String::new(),
            created_at: now,
            updated_at: now,
            expires_at,
            last_used_at: None,
            reactivated_at: None,
            notify_emails,
            versions: vec![version],
            expiry_warned_for: None,
            scheduled: Vec::new(),
            user,
            client_id: request.client_id,
            grant_id: None,
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
            let limit = self
                .accounts
                .get(&record.account_id)
                .map_or(self.policy.max_credentials_per_account, |a| {
                    a.record.quota(&self.policy)
                });
            if lifecycle::counts_toward_quota(record.kind)
                && self.store.count_live(&record.account_id, now)? >= limit
            {
                return Err(Error::QuotaExceeded {
                    account_id: record.account_id,
                    limit,
                });
            }
            let writing = self.store.writing().await;
            if self.store.commit(None, Some(&record), Some(&audit))? == Commit::Conflict {
                return Err(Error::Contention { id: record.id });
            }
            drop(writing);
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
            let matches = view.record.kind != Kind::AdminKey
                && query.status.is_none_or(|s| s == view.status)
                && query.kind.is_none_or(|k| k == view.record.kind)
                && query
                    .environment
                    .is_none_or(|e| e == view.record.environment);
            if !matches {
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

    /// Answers "is this secret good, for whom, with which scopes?". Reads only;
    /// a successful use is noted in memory.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long secret, a passcode without
    /// an account id, or malformed scopes; a storage failure.
    pub fn verify(
        &self,
        presented: &str,
        account_id: Option<&str>,
        required_scopes: &[String],
    ) -> Result<Verification, Error> {
        self.verify_query(&VerifyQuery {
            secret: presented,
            account_id,
            required_scopes,
            ..VerifyQuery::default()
        })
    }

    /// [`Engine::verify`] with every question Verify can ask: the account or
    /// client id presented with the secret, and the account a partner's key
    /// acts for.
    ///
    /// # Errors
    /// As [`Engine::verify`], and `InvalidArgument` for a malformed client id
    /// or `on_behalf_of`.
    pub fn verify_query(&self, query: &VerifyQuery<'_>) -> Result<Verification, Error> {
        let presented = query.secret;
        let not_found = Verification {
            outcome: VerifyOutcome::NotFound,
            credential: None,
            acting_for: None,
        };
        check_presented("secret", presented)?;
        if let Some(account_id) = query.account_id {
            validate::account_id("account_id", account_id)?;
        }
        if let Some(client_id) = query.client_id {
            client_ids::client_id_arg("client_id", client_id)?;
        }
        if let Some(target) = query.on_behalf_of {
            validate::account_id("on_behalf_of", target)?;
        }
        validate::scopes("required_scopes", query.required_scopes)?;
        let Ok(shape) = secret::peek_shape(presented) else {
            debug!(result = "not_found", why = "malformed", "verify");
            return Ok(not_found);
        };
        if matches!(shape.kind, Kind::AdminKey | Kind::CustomerKey) {
            // Admin keys authenticate admin calls; customer keys work only
            // beside their partner's developer key (VerifyPartnerPair).
            debug!(
                result = "not_found",
                why = "kind not verifiable alone",
                "verify"
            );
            return Ok(not_found);
        }
        if shape.kind == Kind::Passcode && query.account_id.is_none() {
            return Err(Error::InvalidArgument(
                "account_id is required to verify a passcode".to_string(),
            ));
        }
        let now = self.clock.now();
        let (mut outcome, credential) = if shape.kind == Kind::Session {
            self.verify_session_credential(presented, query)?
        } else {
            self.verify_credential(presented, query, now)?
        };
        let mut acting_for = None;
        if let (Some(target), Some(credential), VerifyOutcome::Valid { .. }) =
            (query.on_behalf_of, &credential, &outcome)
        {
            if target == credential.account_id {
                acting_for = Some(ActingFor {
                    account_id: target.to_string(),
                    grant_id: None,
                });
            } else if self
                .accounts
                .get(target)
                .is_some_and(|a| a.record.status == lifecycle::AccountStatus::Suspended)
            {
                // Nobody acts for a suspended account.
                outcome = VerifyOutcome::Disabled(DisabledReason::AccountSuspended);
            } else {
                match self
                    .partners
                    .delegation(&credential.account_id, target, now)
                {
                    partners::Delegation::NotPartner => {
                        outcome = VerifyOutcome::PartnerNotWhitelisted;
                    }
                    partners::Delegation::NoGrant => outcome = VerifyOutcome::NotDelegated,
                    partners::Delegation::Granted(grant) => {
                        if grant.allows_scopes(query.required_scopes) {
                            acting_for = Some(ActingFor {
                                account_id: target.to_string(),
                                grant_id: Some(grant.id),
                            });
                        } else {
                            outcome = VerifyOutcome::InsufficientScope;
                        }
                    }
                }
            }
        }
        Ok(Verification {
            outcome,
            credential,
            acting_for,
        })
    }

    /// The session path of Verify.
    fn verify_session_credential(
        &self,
        presented: &str,
        query: &VerifyQuery<'_>,
    ) -> Result<(VerifyOutcome, Option<VerifiedCredential>), Error> {
        if secret::parse(presented).is_err() {
            debug!(result = "not_found", why = "checksum", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        }
        let (mut outcome, session, user) =
            self.verify_session(presented, query.account_id, query.required_scopes)?;
        // A client id presented with a session must be one of its account's
        // active client ids, as for an unbound API key.
        if let (Some(client_id), Some(session)) = (query.client_id, &session) {
            match self.store.get_client_id(client_id)? {
                Some(client)
                    if client.account_id == session.account_id
                        && client.status == lifecycle::ClientIdStatus::Revoked
                        && matches!(
                            outcome,
                            VerifyOutcome::Valid { .. } | VerifyOutcome::InsufficientScope
                        ) =>
                {
                    outcome = VerifyOutcome::Disabled(DisabledReason::ClientRevoked);
                }
                Some(client) if client.account_id == session.account_id => {}
                _ if outcome != VerifyOutcome::NotFound => {
                    outcome = VerifyOutcome::AccountMismatch;
                }
                _ => {}
            }
        }
        let credential = session
            .filter(|_| {
                !matches!(
                    outcome,
                    VerifyOutcome::NotFound | VerifyOutcome::AccountMismatch
                )
            })
            .map(|session| VerifiedCredential {
                id: session.id,
                account_id: session.account_id,
                kind: Kind::Session,
                environment: Environment::Live,
                scopes: Vec::new(),
                expires_at: session.expires_at,
                user: user.map(|u| (u.username, u.role)),
                client_id: None,
                grant_id: None,
            });
        debug!(result = ?outcome, "verify session");
        Ok((outcome, credential))
    }

    /// Looks a credential secret up and decides it: its own state, the
    /// account or client id it came with, its account's status and budget,
    /// its user and its client id. Notes a successful use.
    pub(super) fn verify_credential(
        &self,
        presented: &str,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<(VerifyOutcome, Option<VerifiedCredential>), Error> {
        if secret::parse(presented).is_err() {
            debug!(result = "not_found", why = "checksum", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        }
        let hash = self.pepper.hash(presented);
        let Some((credential_id, version_no, view)) = self.store.lookup_secret_view(&hash.0)?
        else {
            debug!(result = "not_found", why = "unknown", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        };
        // The index entry carries what Verify needs; entries written before
        // it did send Verify to the record. A view's version holds the hash
        // it was found under, so the constant-time comparison below is
        // meaningful only for the record path; the view is kept in step by
        // every commit (schema 2 keeps older credd versions out).
        let record = match view {
            Some(view) => view,
            None => match self.store.get(&credential_id)? {
                Some(record) => record,
                None => {
                    debug!(result = "not_found", why = "dangling index", "verify");
                    return Ok((VerifyOutcome::NotFound, None));
                }
            },
        };
        if record.kind == Kind::AdminKey {
            debug!(result = "not_found", why = "admin key", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        }
        let Some(version) = record
            .versions
            .iter()
            .find(|v| v.version == version_no && hash.ct_eq(&v.hash))
        else {
            debug!(result = "not_found", why = "retired version", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        };
        let mut outcome = lifecycle::decide_verify(
            &record,
            version,
            query.account_id,
            query.required_scopes,
            now,
        );
        let shown = |outcome: &VerifyOutcome| {
            !matches!(
                outcome,
                VerifyOutcome::NotFound | VerifyOutcome::AccountMismatch
            )
        };
        // A client id must name the key's account and, for a bound key, its
        // client; a revoked one (presented or bound) disables the key.
        let mut client_revoked = false;
        if shown(&outcome) {
            if let Some(presented_client) = query.client_id {
                match self.store.get_client_id(presented_client)? {
                    Some(client)
                        if client.account_id == record.account_id
                            && record
                                .client_id
                                .as_deref()
                                .is_none_or(|bound| bound == presented_client) =>
                    {
                        client_revoked |= client.status == lifecycle::ClientIdStatus::Revoked;
                    }
                    _ => outcome = VerifyOutcome::AccountMismatch,
                }
            }
            if let Some(bound) = record.client_id.as_deref().filter(|_| shown(&outcome)) {
                client_revoked |= self
                    .store
                    .get_client_id(bound)?
                    .is_none_or(|c| c.status == lifecycle::ClientIdStatus::Revoked);
            }
        }
        // The account's status and budget apply once the caller has shown a
        // secret of this account: a foreign or unknown one learns nothing.
        if let Some(account) = self
            .accounts
            .get(&record.account_id)
            .filter(|_| shown(&outcome))
        {
            outcome = match account.take() {
                Some(retry_after) => VerifyOutcome::RateLimited { retry_after },
                None => lifecycle::apply_account_status(outcome, account.record.status),
            };
        }
        let refusable = |outcome: &VerifyOutcome| {
            matches!(
                outcome,
                VerifyOutcome::Valid { .. } | VerifyOutcome::InsufficientScope
            )
        };
        if client_revoked && refusable(&outcome) {
            outcome = VerifyOutcome::Disabled(DisabledReason::ClientRevoked);
        }
        // A user passcode answers for its user: gone (DeleteUser revokes the
        // passcode first), it is REVOKED; disabled, it is DISABLED.
        let mut user = None;
        if let Some(name) = record.user.as_deref().filter(|_| shown(&outcome)) {
            match self.passcode_user(&record.account_id, name)? {
                None => {
                    if refusable(&outcome) || matches!(outcome, VerifyOutcome::Disabled(_)) {
                        outcome = VerifyOutcome::Revoked;
                    }
                }
                Some(found) => {
                    if found.status == lifecycle::UserStatus::Disabled && refusable(&outcome) {
                        outcome = VerifyOutcome::Disabled(DisabledReason::UserDisabled);
                    }
                    user = Some((found.username, found.role));
                }
            }
        }
        debug!(credential_id = %record.id, result = ?outcome, "verify");
        if matches!(outcome, VerifyOutcome::Valid { .. }) {
            self.usage.record(&record.id, now);
        }
        let credential = shown(&outcome).then_some(VerifiedCredential {
            id: record.id,
            account_id: record.account_id,
            kind: record.kind,
            environment: record.environment,
            scopes: record.scopes,
            expires_at: record.expires_at,
            user,
            client_id: record.client_id,
            grant_id: record.grant_id,
        });
        Ok((outcome, credential))
    }

    /// Reads, decides and writes one credential, retrying when it changed
    /// underneath, then flushes. `decide` must be free of side effects.
    async fn modify(
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

    async fn modify_existing(
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
        let window_end = match window {
            None => self.policy.rotation_default_window.after(now),
            Some(w) if w <= Duration::zero() => {
                return Err(Error::InvalidArgument(
                    "window must be positive".to_string(),
                ));
            }
            Some(w) => now
                .checked_add_signed(w)
                .filter(|t| *t <= self.policy.rotation_max_window.after(now))
                .ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "window exceeds the maximum of {}",
                        self.policy.rotation_max_window
                    ))
                })?,
        };
        let current = self
            .store
            .get(id)?
            .ok_or_else(|| Error::NotFound { id: id.to_string() })?;
        let (secret, fresh) = self.new_version(current.environment, current.kind, 0, now)?;
        let view = self
            .modify_existing(actor, id, "credential.rotate", |current, now| {
                let status = lifecycle::effective_status(current, now);
                if status != Status::Active {
                    return Err(Error::FailedPrecondition(format!(
                        "credential {} is {}; only an active credential can be rotated",
                        current.id,
                        status_word(status)
                    )));
                }
                let mut new = current.clone();
                match lifecycle::rotation_state(current, now) {
                    RotationState::Open { retires_at, .. } => {
                        return Err(Error::FailedPrecondition(format!(
                            "credential {} already has a rotation open until {}; complete it first",
                            current.id,
                            retires_at.to_rfc3339()
                        )));
                    }
                    RotationState::Lapsed { older_version } => {
                        new.versions.retain(|v| v.version != older_version);
                    }
                    RotationState::None => {}
                }
                let newest = new.current_version().map_or(0, |v| v.version);
                for version in &mut new.versions {
                    version.retires_at = Some(window_end.max(now));
                }
                let mut fresh = fresh.clone();
                fresh.version = newest + 1;
                new.versions.push(fresh);
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
            let older = match lifecycle::rotation_state(current, now) {
                RotationState::None => {
                    return Err(Error::FailedPrecondition(format!(
                        "credential {} has no rotation in progress",
                        current.id
                    )));
                }
                RotationState::Open { older_version, .. }
                | RotationState::Lapsed { older_version } => older_version,
            };
            let mut new = current.clone();
            new.versions.retain(|v| v.version != older);
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
            .await
            .map(|_| ())
    }

    /// Up to `limit` notices waiting in the outbox.
    ///
    /// # Errors
    /// A storage failure.
    pub fn pending_notices(&self, limit: usize) -> Result<Vec<(NoticeKey, OutboxNotice)>, Error> {
        Ok(self.store.pending_notices(limit)?)
    }

    /// Records notices as handled (delivered, refused or dropped), with their
    /// audit entries, durably.
    ///
    /// # Errors
    /// A storage failure.
    pub async fn settle_notices(
        &self,
        keys: &[NoticeKey],
        audits: &[AuditEntry],
    ) -> Result<(), Error> {
        Ok(self
            .store
            .settle_notices(keys, self.clock.now(), audits)
            .await?)
    }

    /// How many credentials have uses not yet written.
    pub fn pending_usage(&self) -> usize {
        self.usage.len()
    }

    /// Writes pending uses to the store and flushes. Returns how many
    /// credentials were updated.
    ///
    /// # Errors
    /// A storage failure; the uses not written are kept for the next flush.
    pub async fn flush_usage(&self) -> Result<usize, Error> {
        let (n_touched, n_written) = offload::blocking(|| self.write_usage())?;
        if n_touched + n_written > 0 {
            self.store.flush().await?;
        }
        debug!(n_written, "usage flushed");
        Ok(n_written)
    }

    /// Writes session touches and pending uses (not yet durable); returns
    /// how many of each were written.
    fn write_usage(&self) -> Result<(usize, usize), Error> {
        let n_touched = self.flush_session_touches()?;
        let mut n_written = 0;
        let mut entries = self.usage.drain().into_iter();
        while let Some((id, used_at)) = entries.next() {
            match self.write_use(&id, used_at) {
                Ok(written) => n_written += usize::from(written),
                Err(e) => {
                    self.usage
                        .restore(std::iter::once((id, used_at)).chain(entries));
                    return Err(e);
                }
            }
        }
        Ok((n_touched, n_written))
    }

    fn write_use(&self, id: &str, used_at: DateTime<Utc>) -> Result<bool, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let Some(current) = self.store.get(id)? else {
                return Ok(false);
            };
            if current.last_used_at.is_some_and(|t| t >= used_at) {
                return Ok(false);
            }
            let mut new = current.clone();
            new.last_used_at = Some(used_at);
            let reactivate = Self::reactivated_by_use(&current, used_at);
            let audit = reactivate.then(|| {
                new.status = Status::Active;
                new.disabled_reason = None;
                new.status_reason = String::new();
                new.reactivated_at = Some(used_at);
                audit_entry(
                    &Actor::system(),
                    used_at,
                    "lifecycle.reactivate_on_use",
                    &current.id,
                    &current.account_id,
                    "used while being disabled for inactivity".to_string(),
                )
            });
            new.scheduled = lifecycle::next_deadlines(&new, &self.policy);
            if self
                .store
                .commit(Some(&current), Some(&new), audit.as_ref())?
                == Commit::Done
            {
                if reactivate {
                    info!(credential_id = %id, account_id = %current.account_id, from = "Disabled", to = "Active", reason = "used during the sweep that disabled it", "lifecycle transition");
                }
                return Ok(true);
            }
        }
        Err(Error::Contention { id: id.to_string() })
    }
}

/// Whether a use case reads or changes what it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

impl Engine {
    /// Turns a refusal into `PermissionDenied`, recording the attempt in the
    /// audit log (outcome `denied`) and in the log.
    fn authorize(
        &self,
        actor: &Actor,
        action: &'static str,
        credential_id: &str,
        account_id: &str,
        decision: Result<(), Denied>,
    ) -> Result<(), Error> {
        let Err(Denied(message)) = decision else {
            return Ok(());
        };
        let mut entry = audit_entry(
            actor,
            self.clock.now(),
            action,
            credential_id,
            account_id,
            message.clone(),
        );
        entry.outcome = "denied";
        if let Err(e) = self.store.append_audit(&entry) {
            warn!(error = %e, "could not record a denied attempt in the audit log");
        }
        warn!(actor = %actor.id, request_id = %actor.request_id, action, credential_id, account_id, reason = %message, "permission denied");
        Err(Error::PermissionDenied(message))
    }

    /// Refuses an actor that lacks `scope` altogether, before anything is
    /// read on its behalf; the audit event still names the account.
    fn deny_unscoped<T>(
        &self,
        actor: &Actor,
        action: &'static str,
        id: &str,
        scope: Scope,
    ) -> Result<T, Error> {
        let account = self
            .store
            .get(id)
            .ok()
            .flatten()
            .map(|r| r.account_id)
            .unwrap_or_default();
        self.authorize(actor, action, id, &account, actor.allows(scope, None))?;
        Err(Error::PermissionDenied(format!(
            "admin key {} lacks the scope {scope}",
            actor.id
        )))
    }

    /// Checks the actor against an existing record: admin keys need
    /// `admin:manage` from a global key; other credentials need
    /// `credentials:read` or `credentials:write` on their account.
    fn authorize_on(
        &self,
        actor: &Actor,
        action: &'static str,
        record: &CredentialRecord,
        access: Access,
    ) -> Result<(), Error> {
        let decision = match (record.kind, access) {
            (Kind::AdminKey, _) => actor.allows_key_management(),
            (Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey, Access::Read) => {
                actor.allows(Scope::CredentialsRead, Some(&record.account_id))
            }
            (Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey, Access::Write) => {
                actor.allows(Scope::CredentialsWrite, Some(&record.account_id))
            }
        };
        self.authorize(actor, action, &record.id, &record.account_id, decision)
    }
}

/// An audit entry for a change made by `actor`.
fn audit_entry(
    actor: &Actor,
    at: DateTime<Utc>,
    action: &'static str,
    credential_id: &str,
    account_id: &str,
    detail: String,
) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.id.clone(),
        action,
        credential_id: credential_id.to_string(),
        account_id: account_id.to_string(),
        detail,
        outcome: "ok",
        request_id: actor.request_id.clone(),
    }
}

/// Lowercase status word for messages.
fn status_word(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Disabled => "disabled",
        Status::Expired => "expired",
        Status::Revoked => "revoked",
    }
}

#[cfg(test)]
mod tests;
