//! Shared test fixtures of the lifecycle rules' tests: a standard record,
//! rotated records, secret versions and times.

use chrono::{DateTime, Duration, Utc};

use crate::lifecycle::*;

pub const ACCOUNT: &str = "acct_1";

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

pub fn micro() -> Duration {
    Duration::microseconds(1)
}

pub fn secret_version(version: u32, retires_at: Option<DateTime<Utc>>) -> SecretVersion {
    SecretVersion {
        version,
        hash: [u8::try_from(version).unwrap(); 32],
        hint: format!("credd_live_api_...{version:04}"),
        created_at: at("2026-01-01T00:00:00Z"),
        retires_at,
    }
}

/// An ACTIVE API key of `ACCOUNT` with scopes `read` and `write`, one secret,
/// created at `created` and expiring at `expires_at`.
pub fn record(created: &str, expires_at: &str) -> CredentialRecord {
    CredentialRecord {
        id: "cred_01TEST".to_string(),
        account_id: ACCOUNT.to_string(),
        kind: Kind::ApiKey,
        environment: Environment::Live,
        name: "test key".to_string(),
        description: "for unit tests".to_string(),
        scopes: vec!["read".to_string(), "write".to_string()],
        status: Status::Active,
        disabled_reason: None,
        status_reason: String::new(),
        created_at: at(created),
        updated_at: at(created),
        expires_at: at(expires_at),
        last_used_at: None,
        reactivated_at: None,
        notify_emails: vec!["ops@example.com".to_string()],
        versions: vec![secret_version(1, None)],
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

/// A record with an open rotation: version 1 retires at `retires_at`,
/// version 2 is current.
pub fn rotated(created: &str, expires_at: &str, retires_at: &str) -> CredentialRecord {
    let mut r = record(created, expires_at);
    r.versions = vec![
        secret_version(1, Some(at(retires_at))),
        secret_version(2, None),
    ];
    r
}

pub fn scopes(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

pub fn deadline(when: &str, event: DeadlineEvent) -> Deadline {
    Deadline {
        at: at(when),
        event,
    }
}
