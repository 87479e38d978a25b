//! The credential record and its vocabulary, as the rules see it: plain data
//! with chrono times. How it is encoded on disk is the store's business.

use chrono::{DateTime, Utc};

use super::RateLimitRule;

/// What a secret is presented as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Presented alone.
    ApiKey,
    /// Presented with its account id, always.
    Passcode,
    /// Authenticates callers of the admin API (`authorization: Bearer`); its
    /// scopes say what it may do. Never accepted by Verify.
    AdminKey,
    /// A login session token (`SessionAuth.Login`); lives in the `sessions`
    /// tree, never as a credential record.
    Session,
    /// A customer key issued when a customer approves a partner's consent
    /// request; verified only together with the partner's developer key.
    CustomerKey,
}

impl Kind {
    /// The snake-case name proxies (`x-credd-kind`) and webhook bodies
    /// carry.
    pub fn snake_name(self) -> &'static str {
        match self {
            Kind::ApiKey => "api_key",
            Kind::Passcode => "passcode",
            Kind::AdminKey => "admin_key",
            Kind::Session => "session",
            Kind::CustomerKey => "customer_key",
        }
    }
}

/// Every credential belongs to one environment, visible in the key itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Production traffic.
    Live,
    /// Sandboxes and integration tests.
    Test,
}

/// A credential's lifecycle state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// Verifies (while not past `expires_at`).
    Active,
    /// Refused until reactivated.
    Disabled,
    /// Past `expires_at`; final.
    Expired,
    /// Revoked by an administrator; final.
    Revoked,
}

/// Why a credential is disabled; a reactivation clears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisabledReason {
    /// An administrator disabled it.
    Admin,
    /// It was unused for the policy's `inactivity_disable_after`.
    Inactivity,
    /// Its account is suspended (never stored on a credential: Verify
    /// reports it while the account is suspended).
    AccountSuspended,
    /// The user a passcode or session belongs to is disabled (never stored
    /// on a credential either).
    UserDisabled,
    /// The client id an API key is bound to is revoked (reported by Verify,
    /// never stored on a credential).
    ClientRevoked,
}

/// One secret of a credential. A credential holds one, or two during a
/// rotation window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    /// Increases by one on every rotation; the secret index points at it.
    pub version: u32,
    /// `HMAC-SHA256(pepper, secret)`: the only trace of the secret that is kept.
    pub hash: [u8; 32],
    /// Prefix and last four characters, for recognising the key in a list.
    pub hint: String,
    /// When this secret was issued.
    pub created_at: DateTime<Utc>,
    /// Set on the older secret of a rotation: it stops verifying at this time.
    pub retires_at: Option<DateTime<Utc>>,
}

/// Lifecycle events that fall due at a time, one entry each in the
/// `deadlines` index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeadlineEvent {
    /// `expiry_warning_before` ahead of `expires_at`: queue "expiring soon".
    ExpiryWarning,
    /// `expires_at`: record EXPIRED.
    Expire,
    /// Inactive for `inactivity_disable_after`: DISABLED (INACTIVITY).
    InactivityDisable,
    /// Inactive for `inactivity_delete_after` in a non-active state: delete.
    InactivityDelete,
    /// The older secret's rotation window ends: drop it.
    RotationEnd,
}

/// A lifecycle event and when it falls due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Deadline {
    /// When the event is due.
    pub at: DateTime<Utc>,
    /// What happens then.
    pub event: DeadlineEvent,
}

/// Everything credd keeps about one credential. Holds no plaintext secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// `cred_` followed by a ULID: unique, and sorts by creation time.
    pub id: String,
    /// The account the credential acts for.
    pub account_id: String,
    /// API key or passcode.
    pub kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// Short human name.
    pub name: String,
    /// What the credential is for.
    pub description: String,
    /// What the credential may do; Verify can require some.
    pub scopes: Vec<String>,
    /// Stored state; see [`crate::lifecycle::effective_status`] for what to show.
    pub status: Status,
    /// Set while DISABLED.
    pub disabled_reason: Option<DisabledReason>,
    /// Free-text reason given with the last revoke or disable.
    pub status_reason: String,
    /// When it was created; the inactivity clock starts here.
    pub created_at: DateTime<Utc>,
    /// When any field last changed through the admin API or the sweep.
    pub updated_at: DateTime<Utc>,
    /// When it stops verifying.
    pub expires_at: DateTime<Utc>,
    /// Last successful Verify that has been flushed to disk.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Last reactivation; restarts the inactivity clock.
    pub reactivated_at: Option<DateTime<Utc>>,
    /// Who hears about this credential's expiry and retirement.
    pub notify_emails: Vec<String>,
    /// One or two secrets, oldest first.
    pub versions: Vec<SecretVersion>,
    /// The `expires_at` for which the "expiring soon" notice was queued, so
    /// that it is queued once per expiry date.
    pub expiry_warned_for: Option<DateTime<Utc>>,
    /// The deadlines this record currently has in the `deadlines` index, so a
    /// change can remove exactly those even if the policy changed since.
    pub scheduled: Vec<Deadline>,
    /// For a user passcode: the user (within the account) it belongs to.
    pub user: Option<String>,
    /// For an API key bound to a client id: that client id.
    pub client_id: Option<String>,
    /// For a customer key: the delegation grant it was issued with.
    pub grant_id: Option<String>,
    /// Free-form metadata: a JSON object as compact JSON text (validated
    /// and normalised by the engine before it is stored); None when the
    /// credential has none. Handed back by Verify, never interpreted by
    /// the rules.
    pub metadata: Option<String>,
    /// Named rate limits of this credential (`rate_limits`), at most 16.
    pub rate_limits: Vec<RateLimitRule>,
    /// Uses left and their refill, when the credential has credits (None:
    /// unlimited). The state here is the one an admin last set; spends are
    /// counted in memory and flushed to the store's `credits` tree.
    pub credits: Option<CreditsConfig>,
}

/// A credential's credits as an admin set them: the state then, its
/// refill, and a generation that grows with every admin change, so a
/// flushed state of an older generation is known to be stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditsConfig {
    /// Grows by one with every admin change of the credits.
    pub generation: u64,
    /// The uses left when the admin set them.
    pub state: super::credits::CreditState,
    /// The refill, if any.
    pub refill: Option<super::credits::Refill>,
}

impl CredentialRecord {
    /// A new ACTIVE credential whose only secret is `version`, issued when
    /// that secret was made: never used, no deadlines yet (the engine plans
    /// them), empty name, description and scopes, no contacts, user, client
    /// id, grant or metadata. Callers fill in the rest with struct update syntax.
    pub fn issued(
        id: String,
        account_id: String,
        kind: Kind,
        environment: Environment,
        version: SecretVersion,
        expires_at: DateTime<Utc>,
    ) -> Self {
        let now = version.created_at;
        CredentialRecord {
            id,
            account_id,
            kind,
            environment,
            name: String::new(),
            description: String::new(),
            scopes: Vec::new(),
            status: Status::Active,
            disabled_reason: None,
            status_reason: String::new(),
            created_at: now,
            updated_at: now,
            expires_at,
            last_used_at: None,
            reactivated_at: None,
            notify_emails: Vec::new(),
            versions: vec![version],
            expiry_warned_for: None,
            scheduled: Vec::new(),
            user: None,
            client_id: None,
            grant_id: None,
            metadata: None,
            credits: None,
            rate_limits: Vec::new(),
        }
    }

    /// The newest secret version (the one a rotation issued last).
    pub fn current_version(&self) -> Option<&SecretVersion> {
        self.versions.iter().max_by_key(|v| v.version)
    }
}

/// A message the lifecycle owes a credential's contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoticeKind {
    /// `expiry_warning_before` ahead of `expires_at`.
    ExpiringSoon,
    /// `expires_at` has passed.
    Expired,
    /// Disabled for inactivity; says when it will be deleted.
    DisabledInactivity,
    /// Deleted for inactivity.
    DeletedInactivity,
    /// A delegation grant expires within `expiry_warning_before`.
    GrantExpiringSoon,
    /// A delegation grant has expired.
    GrantExpired,
    /// A leak report named the credential (it was revoked, disabled or
    /// flagged, as `[leaks] action` says).
    Leaked,
    /// A webhook endpoint was disabled: it answered 410 Gone, or every
    /// attempt of the retry schedule failed.
    WebhookDisabled,
}

impl NoticeKind {
    /// Whether the notice is about a delegation grant, not a credential.
    pub fn is_grant(self) -> bool {
        matches!(
            self,
            NoticeKind::GrantExpiringSoon | NoticeKind::GrantExpired
        )
    }

    /// Whether the notice is about a credential (grants and webhook
    /// endpoints have no environment or key).
    pub fn is_credential(self) -> bool {
        !self.is_grant() && self != NoticeKind::WebhookDisabled
    }
}
