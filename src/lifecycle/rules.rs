//! The rules themselves: effective status, quota membership, inactivity,
//! and which deadlines a record has. (Verify is `verify.rs`, rotation
//! `rotation.rs`.)

use chrono::{DateTime, Utc};

use super::{
    CredentialRecord, Deadline, DeadlineEvent, Kind, Policy, RotationState, Status, rotation_state,
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
    inactive_since_with(record, record.last_used_at)
}

/// [`inactive_since`] with the last use given by the caller (the record's
/// merged with the ones kept outside it).
pub fn inactive_since_with(
    record: &CredentialRecord,
    last_used_at: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    [Some(record.created_at), last_used_at, record.reactivated_at]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(record.created_at)
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
