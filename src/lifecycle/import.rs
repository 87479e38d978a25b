//! What an imported credential is at `now`, from the times it brings from
//! the system it leaves: its creation, last use and expiry. The inactivity
//! rules run from those times as if credd had issued it then, so a key
//! unused for longer than `inactivity_disable_after` arrives DISABLED
//! (INACTIVITY) with its deletion deadline set. A key that would already
//! be EXPIRED or deleted is refused instead: it could never verify, and
//! importing it would only add a record for the sweep to remove.

use chrono::{DateTime, Utc};

use super::{CredentialRecord, DisabledReason, Policy, Status, inactive_since, next_deadlines};

/// Why an imported row's times are refused. Each message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportRefusal {
    /// `created_at` lies after `now`.
    #[error("created_at is in the future")]
    CreatedInFuture,
    /// `last_used_at` lies after `now`.
    #[error("last_used_at is in the future")]
    UsedInFuture,
    /// `last_used_at` lies before `created_at`.
    #[error("last_used_at is before created_at")]
    UsedBeforeCreated,
    /// `expires_at` is not after `created_at`.
    #[error("expires_at is not after created_at")]
    ExpiresBeforeCreated,
    /// `expires_at` has passed: it would be EXPIRED.
    #[error("expires_at is in the past: an expired key is not imported")]
    Expired,
    /// `expires_at` lies further ahead than the policy's `max_lifetime`.
    #[error("expires_at is later than the maximum lifetime ({0}) from now")]
    BeyondMaxLifetime(String),
    /// Unused for longer than `inactivity_delete_after`: it would be deleted.
    #[error("unused since {0}, longer than the inactivity deletion period: not imported")]
    Abandoned(String),
}

/// Checks an imported record's times at `now` and settles its state: ACTIVE,
/// or DISABLED (INACTIVITY) when it has been unused for longer than
/// `inactivity_disable_after`; then its deadlines, as `next_deadlines` has
/// them (a deadline already due, the expiry warning of a key expiring
/// within the warning window say, is the sweep's next work).
///
/// # Errors
/// [`ImportRefusal`] for inconsistent times, a key that would be EXPIRED,
/// one past the maximum lifetime, or one that would already be deleted.
pub fn settle_imported(
    record: &mut CredentialRecord,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(), ImportRefusal> {
    if record.created_at > now {
        return Err(ImportRefusal::CreatedInFuture);
    }
    if let Some(used) = record.last_used_at {
        if used > now {
            return Err(ImportRefusal::UsedInFuture);
        }
        if used < record.created_at {
            return Err(ImportRefusal::UsedBeforeCreated);
        }
    }
    if record.expires_at <= record.created_at {
        return Err(ImportRefusal::ExpiresBeforeCreated);
    }
    if record.expires_at <= now {
        return Err(ImportRefusal::Expired);
    }
    if record.expires_at > policy.max_lifetime.after(now) {
        return Err(ImportRefusal::BeyondMaxLifetime(
            policy.max_lifetime.to_string(),
        ));
    }
    let inactive_from = inactive_since(record);
    if policy.inactivity_delete_after.after(inactive_from) <= now {
        return Err(ImportRefusal::Abandoned(inactive_from.to_rfc3339()));
    }
    record.status = Status::Active;
    record.disabled_reason = None;
    if policy.inactivity_disable_after.after(inactive_from) <= now {
        record.status = Status::Disabled;
        record.disabled_reason = Some(DisabledReason::Inactivity);
        record.status_reason = "unused since before the import".to_string();
    }
    record.scheduled = next_deadlines(record, policy);
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::lifecycle::{DeadlineEvent, Environment, Kind, SecretVersion};

    fn record(created: DateTime<Utc>, used: Option<DateTime<Utc>>) -> CredentialRecord {
        let version = SecretVersion {
            version: 1,
            hash: [7; 32],
            hint: "x...abcd".to_string(),
            created_at: created,
            retires_at: None,
        };
        CredentialRecord {
            last_used_at: used,
            ..CredentialRecord::issued(
                "cred_1".to_string(),
                "acme".to_string(),
                Kind::ApiKey,
                Environment::Live,
                version,
                created + Duration::days(700),
            )
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
    }

    #[test]
    fn recently_used_is_active_with_its_disable_deadline_from_the_last_use() {
        let used = now() - Duration::days(10);
        let mut r = record(now() - Duration::days(300), Some(used));
        settle_imported(&mut r, &Policy::standard(), now()).unwrap();
        assert_eq!(r.status, Status::Active);
        let disable = r
            .scheduled
            .iter()
            .find(|d| d.event == DeadlineEvent::InactivityDisable)
            .unwrap();
        assert_eq!(
            disable.at,
            Policy::standard().inactivity_disable_after.after(used)
        );
    }

    #[test]
    fn unused_for_three_months_is_disabled_with_its_deletion_deadline() {
        let used = now() - Duration::days(92);
        let mut r = record(now() - Duration::days(300), Some(used));
        settle_imported(&mut r, &Policy::standard(), now()).unwrap();
        assert_eq!(r.status, Status::Disabled);
        assert_eq!(r.disabled_reason, Some(DisabledReason::Inactivity));
        let delete = r
            .scheduled
            .iter()
            .find(|d| d.event == DeadlineEvent::InactivityDelete)
            .unwrap();
        assert_eq!(
            delete.at,
            Policy::standard().inactivity_delete_after.after(used)
        );
    }

    #[test]
    fn refusals() {
        let p = Policy::standard();
        let mut r = record(now() + Duration::days(1), None);
        assert_eq!(
            settle_imported(&mut r, &p, now()),
            Err(ImportRefusal::CreatedInFuture)
        );
        let mut r = record(now() - Duration::days(10), Some(now() - Duration::days(20)));
        assert_eq!(
            settle_imported(&mut r, &p, now()),
            Err(ImportRefusal::UsedBeforeCreated)
        );
        let mut r = record(now() - Duration::days(10), None);
        r.expires_at = now() - Duration::days(1);
        assert_eq!(
            settle_imported(&mut r, &p, now()),
            Err(ImportRefusal::Expired)
        );
        let mut r = record(now() - Duration::days(400), None);
        assert!(matches!(
            settle_imported(&mut r, &p, now()),
            Err(ImportRefusal::Abandoned(_))
        ));
    }
}
