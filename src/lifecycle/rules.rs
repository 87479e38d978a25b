//! The rules themselves: effective status, the Verify decision, rotation
//! windows, inactivity, and which deadlines a record has.

use chrono::{DateTime, Utc};

use super::{
    AccountStatus, CredentialRecord, Deadline, DeadlineEvent, DisabledReason, Kind, Policy,
    SecretVersion, Status,
};

/// The status to show and enforce at `now`: an ACTIVE or DISABLED credential
/// past its `expires_at` is EXPIRED whether or not a sweep has recorded it.
pub fn effective_status(record: &CredentialRecord, now: DateTime<Utc>) -> Status {
    match record.status {
        Status::Active | Status::Disabled if now >= record.expires_at => Status::Expired,
        status => status,
    }
}

/// Whether the credential counts against its account's quota at `now`.
pub fn is_live(status: Status, expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    matches!(status, Status::Active | Status::Disabled) && now < expires_at
}

/// Whether credentials of `kind` count against their account's quota: the
/// quota is about what the account hands out (API keys, passcodes, customer
/// keys), not about admin keys that manage it or login sessions.
pub fn counts_toward_quota(kind: Kind) -> bool {
    match kind {
        Kind::ApiKey | Kind::Passcode | Kind::CustomerKey => true,
        Kind::AdminKey | Kind::Session => false,
    }
}

/// The latest of creation, last successful use and reactivation.
pub fn inactive_since(record: &CredentialRecord) -> DateTime<Utc> {
    [
        Some(record.created_at),
        record.last_used_at,
        record.reactivated_at,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(record.created_at)
}

/// Where a credential stands with respect to rotation at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationState {
    /// One secret.
    None,
    /// Two secrets; the older one works until `retires_at`.
    Open {
        /// The older secret's version.
        older_version: u32,
        /// When it stops working.
        retires_at: DateTime<Utc>,
    },
    /// Two secrets, but the older one's window has ended and the index has
    /// not been tidied yet. The older secret no longer verifies.
    Lapsed {
        /// The older secret's version, to be dropped.
        older_version: u32,
    },
}

/// Whether a rotation window is open, lapsed or absent at `now`.
pub fn rotation_state(record: &CredentialRecord, now: DateTime<Utc>) -> RotationState {
    let older = record
        .versions
        .iter()
        .filter_map(|v| v.retires_at.map(|t| (v.version, t)))
        .min_by_key(|(_, t)| *t);
    match older {
        None => RotationState::None,
        Some((older_version, retires_at)) if now < retires_at => RotationState::Open {
            older_version,
            retires_at,
        },
        Some((older_version, _)) => RotationState::Lapsed { older_version },
    }
}

/// The answer to a Verify whose secret matched `version` of `record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Good. `retires_at` is set when the secret is the older one of an open
    /// rotation window.
    Valid {
        /// When a superseded secret stops working.
        retires_at: Option<DateTime<Utc>>,
    },
    /// Unknown secret, or an older secret whose window has ended.
    NotFound,
    /// Past `expires_at`.
    Expired,
    /// Disabled, and why.
    Disabled(DisabledReason),
    /// Revoked.
    Revoked,
    /// Presented with another account's id.
    AccountMismatch,
    /// Lacks a required scope.
    InsufficientScope,
    /// The account used up its request budget; room again after `retry_after`.
    RateLimited {
        /// How long until the account's bucket has room.
        retry_after: std::time::Duration,
    },
    /// A partner's key, with no live grant for the account it acts for.
    NotDelegated,
    /// A key acting for another account whose own account is not a
    /// registered partner.
    PartnerNotWhitelisted,
}

/// What a suspended account makes of a Verify answer: a credential that
/// would verify, or be refused for scope or an admin disable, is DISABLED
/// with reason ACCOUNT_SUSPENDED; final states (expired, revoked) and
/// unknown or foreign secrets keep their answer.
pub fn apply_account_status(outcome: VerifyOutcome, status: AccountStatus) -> VerifyOutcome {
    match (status, outcome) {
        (
            AccountStatus::Suspended,
            VerifyOutcome::Valid { .. }
            | VerifyOutcome::InsufficientScope
            | VerifyOutcome::Disabled(_),
        ) => VerifyOutcome::Disabled(DisabledReason::AccountSuspended),
        (_, outcome) => outcome,
    }
}

/// Decides a Verify. Account first, so a caller with the wrong account learns
/// nothing about the credential's state; then state; then scopes.
pub fn decide_verify(
    record: &CredentialRecord,
    version: &SecretVersion,
    presented_account: Option<&str>,
    required_scopes: &[String],
    now: DateTime<Utc>,
) -> VerifyOutcome {
    if version.retires_at.is_some_and(|t| now >= t) {
        return VerifyOutcome::NotFound;
    }
    if presented_account.is_some_and(|a| a != record.account_id) {
        return VerifyOutcome::AccountMismatch;
    }
    match effective_status(record, now) {
        Status::Revoked => return VerifyOutcome::Revoked,
        Status::Expired => return VerifyOutcome::Expired,
        Status::Disabled => {
            return VerifyOutcome::Disabled(
                record.disabled_reason.unwrap_or(DisabledReason::Admin),
            );
        }
        Status::Active => {}
    }
    if !required_scopes.iter().all(|s| record.scopes.contains(s)) {
        return VerifyOutcome::InsufficientScope;
    }
    VerifyOutcome::Valid {
        retires_at: version.retires_at,
    }
}

/// Every lifecycle deadline `record` has under `policy`, earliest first.
/// A record that is already final and past its deletion has only that.
pub fn next_deadlines(record: &CredentialRecord, policy: &Policy) -> Vec<Deadline> {
    let mut deadlines = Vec::new();
    let inactive_from = inactive_since(record);
    match record.status {
        Status::Active | Status::Disabled => {
            let warn_at = policy.expiry_warning_before.before(record.expires_at);
            if record.expiry_warned_for != Some(record.expires_at) {
                deadlines.push(Deadline {
                    at: warn_at,
                    event: DeadlineEvent::ExpiryWarning,
                });
            }
            deadlines.push(Deadline {
                at: record.expires_at,
                event: DeadlineEvent::Expire,
            });
        }
        Status::Expired | Status::Revoked => {}
    }
    if record.status == Status::Active {
        // An unused admin key is a break-glass key, not an abandoned one: it
        // stays usable until it expires or is revoked.
        if record.kind != Kind::AdminKey {
            deadlines.push(Deadline {
                at: policy.inactivity_disable_after.after(inactive_from),
                event: DeadlineEvent::InactivityDisable,
            });
        }
    } else {
        deadlines.push(Deadline {
            at: policy.inactivity_delete_after.after(inactive_from),
            event: DeadlineEvent::InactivityDelete,
        });
    }
    if let RotationState::Open { retires_at, .. } = rotation_state(record, DateTime::<Utc>::MIN_UTC)
    {
        deadlines.push(Deadline {
            at: retires_at,
            event: DeadlineEvent::RotationEnd,
        });
    }
    deadlines.sort_by_key(|d| (d.at, d.event));
    deadlines
}

#[cfg(test)]
mod tests;
