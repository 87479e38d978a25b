//! "Expiring soon" and the List filters over time: how long a credential
//! has left, whether it is inside the policy's expiry warning window
//! (`expiry_warning_before`, the window whose start is also the warning
//! e-mail's deadline), whether it expires within a span, and whether it
//! has gone unused for a span. Pure: every function takes `now`.

use chrono::{DateTime, Duration, Utc};

use super::{CredentialRecord, Kind, Policy, Status, inactive_since_with, is_live};

/// What a credential's expiry looks like at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryOutlook {
    /// Time left until `expires_at`; None once past, and for a revoked or
    /// expired credential, which has nothing left to count down.
    pub expires_in: Option<Duration>,
    /// Inside the warning window and not yet expired.
    pub expiring_soon: bool,
}

impl ExpiryOutlook {
    /// Nothing left: past its expiry, or final.
    const NONE: ExpiryOutlook = ExpiryOutlook {
        expires_in: None,
        expiring_soon: false,
    };
}

/// The outlook of a credential of `kind` whose stored status is `status`
/// and which expires at `expires_at`. The window is
/// `[expires_at - policy.expiry_warning_before, expires_at)`: its start
/// counts as expiring soon, the expiry itself no longer does. Sessions get
/// the time they have left but are never "expiring soon": they are meant
/// to be short-lived, and no warning is sent for them.
pub fn expiry_outlook(
    kind: Kind,
    status: Status,
    expires_at: DateTime<Utc>,
    policy: &Policy,
    now: DateTime<Utc>,
) -> ExpiryOutlook {
    if !is_live(status, expires_at, now) {
        return ExpiryOutlook::NONE;
    }
    let window_start = policy.expiry_warning_before.before(expires_at);
    ExpiryOutlook {
        expires_in: Some(expires_at - now),
        expiring_soon: kind != Kind::Session && now >= window_start,
    }
}

/// [`expiry_outlook`] of a stored credential.
pub fn record_outlook(
    record: &CredentialRecord,
    policy: &Policy,
    now: DateTime<Utc>,
) -> ExpiryOutlook {
    expiry_outlook(record.kind, record.status, record.expires_at, policy, now)
}

/// List's `expiring_within`: not yet expired (nor revoked), and
/// `expires_at` at most `span` after `now`.
pub fn expires_within(record: &CredentialRecord, span: Duration, now: DateTime<Utc>) -> bool {
    is_live(record.status, record.expires_at, now)
        && now
            .checked_add_signed(span)
            .is_none_or(|end| record.expires_at <= end)
}

/// List's `inactive_for`: the latest of creation, `last_used_at` (the
/// caller's merged view of the last use) and reactivation is at least
/// `span` before `now`.
pub fn inactive_for(
    record: &CredentialRecord,
    last_used_at: Option<DateTime<Utc>>,
    span: Duration,
    now: DateTime<Utc>,
) -> bool {
    let since = inactive_since_with(record, last_used_at);
    now.checked_sub_signed(span)
        .is_some_and(|cutoff| since <= cutoff)
}

/// When an active credential that stays unused from now on is disabled
/// for inactivity (`inactivity_disable_after` after its latest activity);
/// `None` for one that is not active, and for admin keys, which are never
/// disabled for inactivity.
pub fn inactivity_disable_at(
    record: &CredentialRecord,
    status: Status,
    last_used_at: Option<DateTime<Utc>>,
    policy: &Policy,
) -> Option<DateTime<Utc>> {
    if status != Status::Active || record.kind == Kind::AdminKey {
        return None;
    }
    let since = inactive_since_with(record, last_used_at);
    Some(policy.inactivity_disable_after.after(since))
}

#[cfg(test)]
mod tests;
