//! Protobuf <-> domain conversions. Unknown enum numbers and out-of-range
//! timestamps are refused here with INVALID_ARGUMENT.

use chrono::{DateTime, Utc};
use tonic::Status;

use super::pb;
use crate::engine::CredentialView;
use crate::lifecycle::{DisabledReason, Environment, Kind, Status as CredStatus};

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

pub(crate) fn from_timestamp(
    field: &str,
    t: &prost_types::Timestamp,
) -> Result<DateTime<Utc>, Status> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .map(crate::clock::truncate_to_micros)
        .ok_or_else(|| Status::invalid_argument(format!("{field} is not a valid timestamp")))
}

pub(crate) fn from_duration(
    field: &str,
    d: &prost_types::Duration,
) -> Result<chrono::Duration, Status> {
    let bad = || Status::invalid_argument(format!("{field} is not a valid duration"));
    if d.nanos.abs() >= 1_000_000_000
        || (d.seconds > 0 && d.nanos < 0)
        || (d.seconds < 0 && d.nanos > 0)
    {
        return Err(bad());
    }
    chrono::Duration::try_seconds(d.seconds)
        .and_then(|s| s.checked_add(&chrono::Duration::nanoseconds(i64::from(d.nanos))))
        .ok_or_else(bad)
}

/// A non-negative span as a proto Duration (saturating at its range).
pub(crate) fn duration(d: chrono::Duration) -> prost_types::Duration {
    let seconds = d.num_seconds();
    let nanos = (d - chrono::Duration::seconds(seconds))
        .num_nanoseconds()
        .and_then(|n| i32::try_from(n).ok())
        .unwrap_or(0);
    prost_types::Duration { seconds, nanos }
}

/// An optional span from the wire (a List filter).
pub(crate) fn optional_duration(
    field: &str,
    d: Option<&prost_types::Duration>,
) -> Result<Option<chrono::Duration>, Status> {
    d.map(|d| from_duration(field, d)).transpose()
}

pub(crate) fn kind_to_pb(kind: Kind) -> pb::Kind {
    match kind {
        Kind::ApiKey => pb::Kind::ApiKey,
        Kind::Passcode => pb::Kind::Passcode,
        Kind::AdminKey => pb::Kind::AdminKey,
        Kind::Session => pb::Kind::Session,
        Kind::CustomerKey => pb::Kind::CustomerKey,
    }
}

pub(crate) fn environment_to_pb(environment: Environment) -> pb::Environment {
    match environment {
        Environment::Live => pb::Environment::Live,
        Environment::Test => pb::Environment::Test,
    }
}

pub(crate) fn disabled_reason_to_pb(reason: Option<DisabledReason>) -> pb::DisabledReason {
    match reason {
        None => pb::DisabledReason::Unspecified,
        Some(DisabledReason::Admin) => pb::DisabledReason::Admin,
        Some(DisabledReason::Inactivity) => pb::DisabledReason::Inactivity,
        Some(DisabledReason::AccountSuspended) => pb::DisabledReason::AccountSuspended,
        Some(DisabledReason::UserDisabled) => pb::DisabledReason::UserDisabled,
        Some(DisabledReason::ClientRevoked) => pb::DisabledReason::ClientRevoked,
    }
}

pub(crate) fn status_to_pb(status: CredStatus) -> pb::Status {
    match status {
        CredStatus::Active => pb::Status::Active,
        CredStatus::Disabled => pb::Status::Disabled,
        CredStatus::Expired => pb::Status::Expired,
        CredStatus::Revoked => pb::Status::Revoked,
    }
}

fn unknown(field: &str, value: i32) -> Status {
    Status::invalid_argument(format!("{field} has unknown value {value}"))
}

/// Required kind: UNSPECIFIED is refused.
pub(crate) fn kind_required(value: i32) -> Result<Kind, Status> {
    kind_filter(value)?
        .ok_or_else(|| Status::invalid_argument("kind is required (API_KEY or PASSCODE)"))
}

/// Required environment: UNSPECIFIED is refused.
pub(crate) fn environment_required(value: i32) -> Result<Environment, Status> {
    environment_filter(value)?
        .ok_or_else(|| Status::invalid_argument("environment is required (LIVE or TEST)"))
}

/// Kind filter: UNSPECIFIED means any.
pub(crate) fn kind_filter(value: i32) -> Result<Option<Kind>, Status> {
    match pb::Kind::try_from(value) {
        Ok(pb::Kind::Unspecified) => Ok(None),
        Ok(pb::Kind::ApiKey) => Ok(Some(Kind::ApiKey)),
        Ok(pb::Kind::Passcode) => Ok(Some(Kind::Passcode)),
        Ok(pb::Kind::AdminKey) => Ok(Some(Kind::AdminKey)),
        Ok(pb::Kind::Session) => Ok(Some(Kind::Session)),
        Ok(pb::Kind::CustomerKey) => Ok(Some(Kind::CustomerKey)),
        Err(_) => Err(unknown("kind", value)),
    }
}

/// Environment filter: UNSPECIFIED means any.
pub(crate) fn environment_filter(value: i32) -> Result<Option<Environment>, Status> {
    match pb::Environment::try_from(value) {
        Ok(pb::Environment::Unspecified) => Ok(None),
        Ok(pb::Environment::Live) => Ok(Some(Environment::Live)),
        Ok(pb::Environment::Test) => Ok(Some(Environment::Test)),
        Err(_) => Err(unknown("environment", value)),
    }
}

/// Status filter: UNSPECIFIED means any.
pub(crate) fn status_filter(value: i32) -> Result<Option<CredStatus>, Status> {
    match pb::Status::try_from(value) {
        Ok(pb::Status::Unspecified) => Ok(None),
        Ok(pb::Status::Active) => Ok(Some(CredStatus::Active)),
        Ok(pb::Status::Disabled) => Ok(Some(CredStatus::Disabled)),
        Ok(pb::Status::Expired) => Ok(Some(CredStatus::Expired)),
        Ok(pb::Status::Revoked) => Ok(Some(CredStatus::Revoked)),
        Err(_) => Err(unknown("status", value)),
    }
}

pub(crate) fn credential_to_pb(view: CredentialView) -> pb::Credential {
    let record = view.record;
    let previous_secret_hint = if view.rotation_retires_at.is_some() {
        record
            .versions
            .iter()
            .filter(|v| v.retires_at.is_some())
            .min_by_key(|v| v.version)
            .map(|v| v.hint.clone())
            .unwrap_or_default()
    } else {
        String::new()
    };
    pb::Credential {
        secret_hint: record
            .current_version()
            .map(|v| v.hint.clone())
            .unwrap_or_default(),
        previous_secret_hint,
        kind: kind_to_pb(record.kind).into(),
        environment: environment_to_pb(record.environment).into(),
        status: status_to_pb(view.status).into(),
        disabled_reason: if view.status == CredStatus::Disabled {
            disabled_reason_to_pb(record.disabled_reason).into()
        } else {
            pb::DisabledReason::Unspecified.into()
        },
        created_at: Some(timestamp(record.created_at)),
        expires_at: Some(timestamp(record.expires_at)),
        last_used_at: view.last_used_at.map(timestamp),
        updated_at: Some(timestamp(record.updated_at)),
        reactivated_at: record.reactivated_at.map(timestamp),
        rotation_retires_at: view.rotation_retires_at.map(timestamp),
        id: record.id,
        account_id: record.account_id,
        name: record.name,
        description: record.description,
        scopes: record.scopes,
        notify_emails: record.notify_emails,
        status_reason: record.status_reason,
        client_id: record.client_id.unwrap_or_default(),
        grant_id: record.grant_id.unwrap_or_default(),
        username: record.user.unwrap_or_default(),
        metadata: record.metadata.unwrap_or_default(),
        credits: super::credits::credits_to_pb(record.credits.as_ref(), view.credits),
        next_refill_at: view.next_refill_at.map(timestamp),
        expires_in: view.expiry.expires_in.map(duration),
        expiring_soon: view.expiry.expiring_soon,
        rate_limits: super::rate_limits::rules_to_pb(record.rate_limits),
    }
}

pub(crate) fn role_to_pb(role: crate::lifecycle::UserRole) -> pb::UserRole {
    use crate::lifecycle::UserRole;
    match role {
        UserRole::ApiUser => pb::UserRole::ApiUser,
        UserRole::Admin => pb::UserRole::Admin,
        UserRole::Member => pb::UserRole::Member,
    }
}

/// Required role: UNSPECIFIED is refused.
pub(crate) fn role_required(value: i32) -> Result<crate::lifecycle::UserRole, Status> {
    role_filter(value)?
        .ok_or_else(|| Status::invalid_argument("role is required (API_USER, ADMIN or MEMBER)"))
}

/// Optional role: UNSPECIFIED means unchanged.
pub(crate) fn role_filter(value: i32) -> Result<Option<crate::lifecycle::UserRole>, Status> {
    use crate::lifecycle::UserRole;
    match pb::UserRole::try_from(value) {
        Ok(pb::UserRole::Unspecified) => Ok(None),
        Ok(pb::UserRole::ApiUser) => Ok(Some(UserRole::ApiUser)),
        Ok(pb::UserRole::Admin) => Ok(Some(UserRole::Admin)),
        Ok(pb::UserRole::Member) => Ok(Some(UserRole::Member)),
        Err(_) => Err(unknown("role", value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unknown enum numbers are refused, UNSPECIFIED filters mean "any".
    #[test]
    fn enum_filters() {
        assert!(kind_filter(0).is_ok_and(|k| k.is_none()));
        assert_eq!(
            kind_filter(99).err().map(|s| s.code()),
            Some(tonic::Code::InvalidArgument)
        );
        assert_eq!(
            kind_required(0).err().map(|s| s.code()),
            Some(tonic::Code::InvalidArgument)
        );
        assert!(status_filter(4).is_ok_and(|s| s == Some(CredStatus::Revoked)));
        assert!(environment_filter(-1).is_err());
    }

    /// Durations with mixed signs or out-of-range nanos are refused.
    #[test]
    fn durations() {
        let d = |seconds, nanos| prost_types::Duration { seconds, nanos };
        assert_eq!(
            from_duration("w", &d(5, 0)).ok(),
            Some(chrono::Duration::seconds(5))
        );
        assert!(from_duration("w", &d(5, -1)).is_err());
        assert!(from_duration("w", &d(0, 1_000_000_000)).is_err());
        assert!(from_duration("w", &d(i64::MAX, 0)).is_err());
    }
}
