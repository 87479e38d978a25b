//! The engine: the [`Engine`] struct, its construction and accessors, and
//! the helpers its use cases share. The use cases live in the submodules:
//! credentials (`credentials`), Verify (`verify`), importing existing
//! keys and verifying them (`import`), lookup by secret (`lookup`), usage (`usage`), who may
//! do what (`access`), errors (`error`), admin keys, the audit log,
//! accounts, users and sessions, client ids, partners and consents, the
//! gateway checks and the sweep. Each checks that the actor may do what it
//! asks, validates input, asks `lifecycle` what a change means, and has
//! `store` write it atomically with its audit event, flushing before it
//! answers. The engine knows neither tonic nor sled.

pub mod access;
mod accounts;
mod admin_keys;
mod audit_log;
mod audit_retention;
mod backup;
mod console;
mod credentials;
mod credits;
mod delegated;
mod error;
mod gateway;
mod import;
mod integrity;
mod leaks;
mod lookup;
mod overview;
use crate::offload;
mod partners;
mod rate_limits;
#[cfg(feature = "etcd")]
mod replica;
mod sweep;
mod usage;
mod users;
pub mod validate;
mod verify;
pub mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::Clock;
use crate::lifecycle::{self, CredentialRecord, Policy, RotationState, Status};
use crate::secret::Pepper;
use crate::store::{AuditEntry, NoticeKey, OutboxNotice, Store};

use access::Access;
pub use access::{Actor, Denied, Scope};
pub use accounts::{AccountPage, AccountUpdate, NewAccount};
pub use admin_keys::{AdminKeyQuery, AuthFailure, NewAdminKey};
pub use audit_log::{AuditQuery, HISTORY_SCANNED};
pub use audit_retention::DEFAULT_AUDIT_RETENTION_DAYS;
pub use backup::ReapplyReport;
pub use console::ConsolePrincipal;
pub use credentials::{CredentialUpdate, CredentialView, ListQuery, NewCredential, Page};
pub use credits::{CreditsUpdate, NewCredits};
pub use delegated::{HttpVerdict, PairVerdict};
pub use error::Error;
pub use gateway::{Allowed, GatewayAnswer, GatewayRequest, HeaderValue, read_headers};
pub use import::{
    ImportKey, ImportOutcome, ImportResult, ImportRow, MAX_EXTERNAL_ID_LEN, MAX_IMPORT_ROWS,
    MIN_SECRET_LEN,
};
pub use integrity::IntegrityReport;
pub use leaks::{LEAKED_ACTION, LeakOutcome, LeakReport, LeakResult};
pub use overview::{OVERVIEW_HORIZON_DAYS, Overview, Upcoming, status_index};
pub use partners::{Approval, NewClientId, NewConsent};
pub use partners::{GrantQuery, NewGrant, PartnerUpdate};
pub use sweep::{SWEEP_BATCH, SweepReport};
pub use usage::{DEFAULT_USAGE_RETENTION_DAYS, MAX_REPORT_DAYS, UsageDay, UsageLog, UsageQuery};
pub use users::{NewUser, PasscodeValidity, UserSettings, UserUpdate};
pub use verify::{ActingFor, Verification, VerifiedCredential, VerifyQuery};

/// How many times a change is recomputed when the record changed underneath.
const MAX_ATTEMPTS: usize = 32;
/// Lock stripes that serialise quota checks per account.
const ACCOUNT_STRIPES: usize = 64;

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
    /// Credit states Verify spends from (see `credits`).
    credits: credits::CreditLedger,
    /// Serialises count-then-insert per account, so two concurrent creates
    /// cannot both take the last quota slot.
    account_locks: Vec<tokio::sync::Mutex<()>>,
    /// Every account, for Verify's status and rate-limit checks.
    accounts: accounts::AccountDirectory,
    /// Named rate limits' windows, for Verify.
    limits: rate_limits::LimitCounters,
    /// argon2 cost, session lifetimes, login throttle settings.
    user_settings: UserSettings,
    /// Days of daily usage kept (`[schedule] usage_retention_days`).
    usage_retention_days: u32,
    /// The day this node last removed its local usage rows past the
    /// retention outside the sweep (a cluster node that does not lead).
    usage_swept_on: std::sync::atomic::AtomicI32,
    /// Days of audit events kept (`[audit] retention_days`; 0: for ever).
    audit_retention_days: u32,
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
    /// Console overviews computed recently.
    overview_cache: overview::OverviewCache,
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
            limits: rate_limits::LimitCounters::default(),
            user_settings: UserSettings::default(),
            usage_retention_days: DEFAULT_USAGE_RETENTION_DAYS,
            usage_swept_on: std::sync::atomic::AtomicI32::new(i32::MIN),
            audit_retention_days: DEFAULT_AUDIT_RETENTION_DAYS,
            login_throttle: users::LoginThrottle::default(),
            session_touches: std::sync::Mutex::default(),
            partners: partners::PartnerDirectory::load(&store)?,
            consent_ttl: partners::DEFAULT_CONSENT_TTL,
            partner_lock: tokio::sync::Mutex::new(()),
            overview_cache: overview::OverviewCache::default(),
            store,
            pepper,
            clock,
            policy,
            key_prefix,
            usage: UsageLog::default(),
            credits: credits::CreditLedger::default(),
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
        // A failed read of the flushed use shows the record's and the
        // pending one: display only, nothing is decided from it.
        let last_used_at = self.last_use(&record).unwrap_or_else(|e| {
            tracing::warn!(credential_id = %record.id, error = %e, "last use unreadable");
            record.last_used_at.max(self.usage.pending_for(&record.id))
        });
        let rotation_retires_at = match lifecycle::rotation_state(&record, now) {
            RotationState::Open { retires_at, .. } => Some(retires_at),
            RotationState::None | RotationState::Lapsed { .. } => None,
        };
        let credits = self.shown_credits(&record, now);
        let next_refill_at = record
            .credits
            .and_then(|c| c.refill)
            .zip(credits)
            .map(|(refill, state)| lifecycle::credits::next_refill(&refill, state.as_of));
        CredentialView {
            status: lifecycle::effective_status(&record, now),
            expiry: lifecycle::record_outlook(&record, &self.policy, now),
            last_used_at,
            rotation_retires_at,
            credits,
            next_refill_at,
            record,
        }
    }

    fn account_lock(&self, account_id: &str) -> &tokio::sync::Mutex<()> {
        let stripe = crc32fast::hash(account_id.as_bytes()) as usize % ACCOUNT_STRIPES;
        &self.account_locks[stripe]
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
