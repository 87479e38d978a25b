//! On-disk encodings: prost messages for values (so fields can be added
//! without a migration: old readers skip unknown tags, new readers see
//! defaults), and big-endian byte keys so sled's order is the order we want.

use chrono::{DateTime, Utc};

use super::{AuditEntry, AuditEvent, Error, OutboxNotice};
use crate::lifecycle::{
    CredentialRecord, Deadline, DeadlineEvent, DisabledReason, Environment, Kind, NoticeKind,
    RateLimitRule, SecretVersion, Status,
};

/// A credential record as stored in the `credentials` tree.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredCredential {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub account_id: String,
    #[prost(int32, tag = "3")]
    pub kind: i32,
    #[prost(int32, tag = "4")]
    pub environment: i32,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(string, tag = "6")]
    pub description: String,
    #[prost(string, repeated, tag = "7")]
    pub scopes: Vec<String>,
    #[prost(int32, tag = "8")]
    pub status: i32,
    #[prost(int32, tag = "9")]
    pub disabled_reason: i32,
    #[prost(string, tag = "10")]
    pub status_reason: String,
    #[prost(int64, tag = "11")]
    pub created_at_us: i64,
    #[prost(int64, tag = "12")]
    pub updated_at_us: i64,
    #[prost(int64, tag = "13")]
    pub expires_at_us: i64,
    #[prost(int64, optional, tag = "14")]
    pub last_used_at_us: Option<i64>,
    #[prost(int64, optional, tag = "15")]
    pub reactivated_at_us: Option<i64>,
    #[prost(string, repeated, tag = "16")]
    pub notify_emails: Vec<String>,
    #[prost(message, repeated, tag = "17")]
    pub versions: Vec<StoredVersion>,
    #[prost(int64, optional, tag = "18")]
    pub expiry_warned_for_us: Option<i64>,
    #[prost(message, repeated, tag = "19")]
    pub scheduled: Vec<StoredDeadline>,
    #[prost(string, optional, tag = "20")]
    pub user: Option<String>,
    #[prost(string, optional, tag = "21")]
    pub client_id: Option<String>,
    #[prost(string, optional, tag = "22")]
    pub grant_id: Option<String>,
    /// Compact JSON object text; absent in records written before metadata
    /// existed, which decode as having none.
    #[prost(string, optional, tag = "23")]
    pub metadata: Option<String>,
    /// Absent: unlimited (and in records written before credits existed).
    #[prost(message, optional, tag = "30")]
    pub credits: Option<super::credits::StoredCredits>,
    /// Named rate limits; absent in records written before they existed.
    #[prost(message, repeated, tag = "26")]
    pub rate_limits: Vec<StoredRateLimit>,
}

/// One named rate limit of a credential or an account.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredRateLimit {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(uint32, tag = "2")]
    pub limit: u32,
    #[prost(uint64, tag = "3")]
    pub duration_ms: u64,
}

/// Rules as stored.
pub(crate) fn encode_rate_limits(rules: &[RateLimitRule]) -> Vec<StoredRateLimit> {
    rules
        .iter()
        .map(|r| StoredRateLimit {
            name: r.name.clone(),
            limit: r.limit,
            duration_ms: u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX),
        })
        .collect()
}

/// Rules from their stored form.
pub(crate) fn decode_rate_limits(stored: Vec<StoredRateLimit>) -> Vec<RateLimitRule> {
    stored
        .into_iter()
        .map(|r| RateLimitRule {
            name: r.name,
            limit: r.limit,
            duration: std::time::Duration::from_millis(r.duration_ms),
        })
        .collect()
}

/// One secret version inside a stored record: its HMAC, never the secret.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredVersion {
    #[prost(uint32, tag = "1")]
    pub version: u32,
    #[prost(bytes = "vec", tag = "2")]
    pub hash: Vec<u8>,
    #[prost(string, tag = "3")]
    pub hint: String,
    #[prost(int64, tag = "4")]
    pub created_at_us: i64,
    #[prost(int64, optional, tag = "5")]
    pub retires_at_us: Option<i64>,
}

/// A deadline the record has in the `deadlines` index.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredDeadline {
    #[prost(int64, tag = "1")]
    pub at_us: i64,
    #[prost(int32, tag = "2")]
    pub event: i32,
}

/// Value of the `secret_index` tree.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredIndexEntry {
    #[prost(string, tag = "1")]
    pub credential_id: String,
    #[prost(uint32, tag = "2")]
    pub version: u32,
    /// The slim record Verify needs ([`verify_view`]), so Verify reads one
    /// small value instead of the index and the whole record. Absent in
    /// entries written before it existed; Verify then reads the record.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub view: Option<Vec<u8>>,
}

/// What Verify reads of a record, for one secret version: the
/// `secret_index` entry's view. The hash is the entry's key and is not
/// repeated; names, texts, contacts, usage, times other than the expiry and
/// the schedule are left out, so a usage flush does not rewrite the index.
/// The metadata is in (Verify returns it): the stored JSON text as it is,
/// never parsed on the way out.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredVerifyView {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub account_id: String,
    #[prost(int32, tag = "3")]
    pub kind: i32,
    #[prost(int32, tag = "4")]
    pub environment: i32,
    #[prost(string, repeated, tag = "5")]
    pub scopes: Vec<String>,
    #[prost(int32, tag = "6")]
    pub status: i32,
    #[prost(int32, tag = "7")]
    pub disabled_reason: i32,
    #[prost(int64, tag = "8")]
    pub expires_at_us: i64,
    /// The presented version's end, during a rotation window.
    #[prost(int64, optional, tag = "9")]
    pub retires_at_us: Option<i64>,
    #[prost(string, optional, tag = "10")]
    pub user: Option<String>,
    #[prost(string, optional, tag = "11")]
    pub client_id: Option<String>,
    #[prost(string, optional, tag = "12")]
    pub grant_id: Option<String>,
    /// Absent in views written before metadata existed (none then).
    #[prost(string, optional, tag = "13")]
    pub metadata: Option<String>,
    /// Absent: unlimited (Verify spends nothing).
    #[prost(message, optional, tag = "20")]
    pub credits: Option<super::credits::StoredCredits>,
    /// The credential's named rate limits (Verify applies them); absent in
    /// views written before they existed (none then).
    #[prost(message, repeated, tag = "21")]
    pub rate_limits: Vec<StoredRateLimit>,
}

/// The view of `record` for its secret `version`.
pub(crate) fn verify_view(record: &CredentialRecord, version: u32) -> Vec<u8> {
    use prost::Message;
    StoredVerifyView {
        id: record.id.clone(),
        account_id: record.account_id.clone(),
        kind: kind_code(record.kind),
        environment: environment_code(record.environment),
        scopes: record.scopes.clone(),
        status: i32::from(status_code(record.status)),
        disabled_reason: disabled_reason_code(record.disabled_reason),
        expires_at_us: micros(record.expires_at),
        retires_at_us: record
            .versions
            .iter()
            .find(|v| v.version == version)
            .and_then(|v| v.retires_at)
            .map(micros),
        user: record.user.clone(),
        client_id: record.client_id.clone(),
        grant_id: record.grant_id.clone(),
        metadata: record.metadata.clone(),
        credits: record.credits.as_ref().map(super::credits::encode_credits),
        rate_limits: encode_rate_limits(&record.rate_limits),
    }
    .encode_to_vec()
}

/// A record holding what a view holds (and the presented version with its
/// hash); every other field is empty. Enough for Verify, nothing else.
pub(crate) fn decode_view(
    bytes: &[u8],
    hash: &[u8; 32],
    version: u32,
) -> Result<CredentialRecord, Error> {
    use prost::Message;
    let s = StoredVerifyView::decode(bytes).map_err(|_| Error::Corrupt("secret index view"))?;
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    Ok(CredentialRecord {
        kind: kind_from(s.kind)?,
        environment: environment_from(s.environment)?,
        status: status_from(i64::from(s.status))?,
        disabled_reason: disabled_reason_from(s.disabled_reason)?,
        expires_at: time(s.expires_at_us)?,
        versions: vec![crate::lifecycle::SecretVersion {
            version,
            hash: *hash,
            hint: String::new(),
            created_at: epoch,
            retires_at: s.retires_at_us.map(time).transpose()?,
        }],
        id: s.id,
        account_id: s.account_id,
        name: String::new(),
        description: String::new(),
        scopes: s.scopes,
        status_reason: String::new(),
        created_at: epoch,
        updated_at: epoch,
        last_used_at: None,
        reactivated_at: None,
        notify_emails: Vec::new(),
        expiry_warned_for: None,
        scheduled: Vec::new(),
        user: s.user,
        client_id: s.client_id,
        grant_id: s.grant_id,
        metadata: s.metadata,
        credits: s.credits.map(super::credits::decode_credits).transpose()?,
        rate_limits: decode_rate_limits(s.rate_limits),
    })
}

fn disabled_reason_code(reason: Option<DisabledReason>) -> i32 {
    match reason {
        None => 0,
        Some(DisabledReason::Admin) => 1,
        Some(DisabledReason::Inactivity) => 2,
        Some(DisabledReason::AccountSuspended) => 3,
        Some(DisabledReason::UserDisabled) => 4,
        Some(DisabledReason::ClientRevoked) => 5,
    }
}

fn disabled_reason_from(code: i32) -> Result<Option<DisabledReason>, Error> {
    match code {
        0 => Ok(None),
        1 => Ok(Some(DisabledReason::Admin)),
        2 => Ok(Some(DisabledReason::Inactivity)),
        3 => Ok(Some(DisabledReason::AccountSuspended)),
        4 => Ok(Some(DisabledReason::UserDisabled)),
        5 => Ok(Some(DisabledReason::ClientRevoked)),
        _ => Err(Error::Corrupt("unknown disabled reason")),
    }
}

/// The `secret_index` value for `record`'s secret `version`.
pub(crate) fn index_value(record: &CredentialRecord, version: u32) -> Vec<u8> {
    use prost::Message;
    StoredIndexEntry {
        credential_id: record.id.clone(),
        version,
        view: Some(verify_view(record, version)),
    }
    .encode_to_vec()
}

/// Value of the `audit` tree.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredAuditEvent {
    #[prost(int64, tag = "1")]
    pub at_us: i64,
    #[prost(string, tag = "2")]
    pub actor: String,
    #[prost(string, tag = "3")]
    pub action: String,
    #[prost(string, tag = "4")]
    pub credential_id: String,
    #[prost(string, tag = "5")]
    pub account_id: String,
    #[prost(string, tag = "6")]
    pub outcome: String,
    #[prost(string, tag = "7")]
    pub detail: String,
    #[prost(string, tag = "8")]
    pub request_id: String,
}

pub(crate) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub(crate) fn time(us: i64) -> Result<DateTime<Utc>, Error> {
    DateTime::from_timestamp_micros(us).ok_or(Error::Corrupt("timestamp out of range"))
}

fn kind_code(kind: Kind) -> i32 {
    match kind {
        Kind::ApiKey => 1,
        Kind::Passcode => 2,
        Kind::AdminKey => 3,
        Kind::Session => 4,
        Kind::CustomerKey => 5,
    }
}

fn environment_code(environment: Environment) -> i32 {
    match environment {
        Environment::Live => 1,
        Environment::Test => 2,
    }
}

fn kind_from(code: i32) -> Result<Kind, Error> {
    match code {
        1 => Ok(Kind::ApiKey),
        2 => Ok(Kind::Passcode),
        3 => Ok(Kind::AdminKey),
        4 => Ok(Kind::Session),
        5 => Ok(Kind::CustomerKey),
        _ => Err(Error::Corrupt("unknown kind")),
    }
}

fn environment_from(code: i32) -> Result<Environment, Error> {
    match code {
        1 => Ok(Environment::Live),
        2 => Ok(Environment::Test),
        _ => Err(Error::Corrupt("unknown environment")),
    }
}

pub(crate) fn status_code(status: Status) -> u8 {
    match status {
        Status::Active => 1,
        Status::Disabled => 2,
        Status::Expired => 3,
        Status::Revoked => 4,
    }
}

pub(crate) fn status_from(code: i64) -> Result<Status, Error> {
    match code {
        1 => Ok(Status::Active),
        2 => Ok(Status::Disabled),
        3 => Ok(Status::Expired),
        4 => Ok(Status::Revoked),
        _ => Err(Error::Corrupt("unknown status")),
    }
}

pub(crate) fn event_code(event: DeadlineEvent) -> u8 {
    match event {
        DeadlineEvent::ExpiryWarning => 1,
        DeadlineEvent::Expire => 2,
        DeadlineEvent::InactivityDisable => 3,
        DeadlineEvent::InactivityDelete => 4,
        DeadlineEvent::RotationEnd => 5,
    }
}

pub(crate) fn event_from(code: i64) -> Result<DeadlineEvent, Error> {
    match code {
        1 => Ok(DeadlineEvent::ExpiryWarning),
        2 => Ok(DeadlineEvent::Expire),
        3 => Ok(DeadlineEvent::InactivityDisable),
        4 => Ok(DeadlineEvent::InactivityDelete),
        5 => Ok(DeadlineEvent::RotationEnd),
        _ => Err(Error::Corrupt("unknown deadline event")),
    }
}

pub(crate) fn encode_record(record: &CredentialRecord) -> Vec<u8> {
    use prost::Message;
    StoredCredential {
        id: record.id.clone(),
        account_id: record.account_id.clone(),
        kind: kind_code(record.kind),
        environment: environment_code(record.environment),
        name: record.name.clone(),
        description: record.description.clone(),
        scopes: record.scopes.clone(),
        status: i32::from(status_code(record.status)),
        disabled_reason: disabled_reason_code(record.disabled_reason),
        user: record.user.clone(),
        client_id: record.client_id.clone(),
        grant_id: record.grant_id.clone(),
        metadata: record.metadata.clone(),
        credits: record.credits.as_ref().map(super::credits::encode_credits),
        rate_limits: encode_rate_limits(&record.rate_limits),
        status_reason: record.status_reason.clone(),
        created_at_us: micros(record.created_at),
        updated_at_us: micros(record.updated_at),
        expires_at_us: micros(record.expires_at),
        last_used_at_us: record.last_used_at.map(micros),
        reactivated_at_us: record.reactivated_at.map(micros),
        notify_emails: record.notify_emails.clone(),
        versions: record
            .versions
            .iter()
            .map(|v| StoredVersion {
                version: v.version,
                hash: v.hash.to_vec(),
                hint: v.hint.clone(),
                created_at_us: micros(v.created_at),
                retires_at_us: v.retires_at.map(micros),
            })
            .collect(),
        expiry_warned_for_us: record.expiry_warned_for.map(micros),
        scheduled: record
            .scheduled
            .iter()
            .map(|d| StoredDeadline {
                at_us: micros(d.at),
                event: i32::from(event_code(d.event)),
            })
            .collect(),
    }
    .encode_to_vec()
}

pub(crate) fn decode_record(bytes: &[u8]) -> Result<CredentialRecord, Error> {
    use prost::Message;
    let s = StoredCredential::decode(bytes).map_err(|_| Error::Corrupt("credential record"))?;
    let opt = |v: Option<i64>| v.map(time).transpose();
    Ok(CredentialRecord {
        kind: kind_from(s.kind)?,
        environment: environment_from(s.environment)?,
        status: status_from(i64::from(s.status))?,
        disabled_reason: disabled_reason_from(s.disabled_reason)?,
        created_at: time(s.created_at_us)?,
        updated_at: time(s.updated_at_us)?,
        expires_at: time(s.expires_at_us)?,
        last_used_at: opt(s.last_used_at_us)?,
        reactivated_at: opt(s.reactivated_at_us)?,
        expiry_warned_for: opt(s.expiry_warned_for_us)?,
        versions: s
            .versions
            .into_iter()
            .map(|v| {
                Ok(SecretVersion {
                    version: v.version,
                    hash: <[u8; 32]>::try_from(v.hash.as_slice())
                        .map_err(|_| Error::Corrupt("secret hash length"))?,
                    hint: v.hint,
                    created_at: time(v.created_at_us)?,
                    retires_at: opt(v.retires_at_us)?,
                })
            })
            .collect::<Result<_, Error>>()?,
        scheduled: s
            .scheduled
            .into_iter()
            .map(|d| {
                Ok(Deadline {
                    at: time(d.at_us)?,
                    event: event_from(i64::from(d.event))?,
                })
            })
            .collect::<Result<_, Error>>()?,
        id: s.id,
        account_id: s.account_id,
        name: s.name,
        description: s.description,
        scopes: s.scopes,
        status_reason: s.status_reason,
        notify_emails: s.notify_emails,
        user: s.user,
        client_id: s.client_id,
        grant_id: s.grant_id,
        metadata: s.metadata,
        credits: s.credits.map(super::credits::decode_credits).transpose()?,
        rate_limits: decode_rate_limits(s.rate_limits),
    })
}

/// Big-endian, sign-flipped microseconds: sorts in time order, negatives first.
pub(crate) fn time_key(t: DateTime<Utc>) -> [u8; 8] {
    ((micros(t) as u64) ^ (1 << 63)).to_be_bytes()
}

pub(crate) fn time_from_key(bytes: &[u8]) -> Result<DateTime<Utc>, Error> {
    let array = <[u8; 8]>::try_from(bytes).map_err(|_| Error::Corrupt("time key"))?;
    time((u64::from_be_bytes(array) ^ (1 << 63)) as i64)
}

/// `deadlines` key: (due time, credential id, event).
pub(crate) fn deadline_key(id: &str, deadline: &Deadline) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + id.len() + 1);
    key.extend_from_slice(&time_key(deadline.at));
    key.extend_from_slice(id.as_bytes());
    key.push(event_code(deadline.event));
    key
}

/// `by_account` key: account id, a 0 byte (never in an account id), credential id.
pub(crate) fn account_key(account_id: &str, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(account_id.len() + 1 + id.len());
    key.extend_from_slice(account_id.as_bytes());
    key.push(0);
    key.extend_from_slice(id.as_bytes());
    key
}

/// Length of a `by_account` value since schema 3 (schema 2's had no kind).
pub(crate) const ACCOUNT_VALUE_LEN: usize = 10;

/// `by_account` value: stored status, expiry and kind, so quotas need no
/// record reads.
pub(crate) fn account_value(record: &CredentialRecord) -> [u8; ACCOUNT_VALUE_LEN] {
    let mut value = [0u8; ACCOUNT_VALUE_LEN];
    value[0] = status_code(record.status);
    value[1..9].copy_from_slice(&time_key(record.expires_at));
    value[9] = u8::try_from(kind_code(record.kind)).unwrap_or(u8::MAX);
    value
}

/// The status, expiry and kind of a `by_account` value.
pub(crate) fn decode_account_value(value: &[u8]) -> Result<(Status, DateTime<Utc>, Kind), Error> {
    if value.len() != ACCOUNT_VALUE_LEN {
        return Err(Error::Corrupt("account index value"));
    }
    Ok((
        status_from(i64::from(value[0]))?,
        time_from_key(&value[1..9])?,
        kind_from(i32::from(value[9]))?,
    ))
}

/// Value of the `outbox` tree: everything a mail needs, so it can still be
/// written after the credential is gone. Never a secret or its hash.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct StoredNotice {
    #[prost(int32, tag = "1")]
    pub kind: i32,
    #[prost(int64, tag = "2")]
    pub deadline_us: i64,
    #[prost(string, tag = "3")]
    pub credential_id: String,
    #[prost(string, tag = "4")]
    pub account_id: String,
    #[prost(string, tag = "5")]
    pub name: String,
    #[prost(int32, tag = "6")]
    pub credential_kind: i32,
    #[prost(int32, tag = "7")]
    pub environment: i32,
    #[prost(string, tag = "8")]
    pub secret_hint: String,
    #[prost(int64, tag = "9")]
    pub expires_at_us: i64,
    #[prost(int64, optional, tag = "10")]
    pub delete_at_us: Option<i64>,
    #[prost(string, repeated, tag = "11")]
    pub recipients: Vec<String>,
    #[prost(int64, tag = "12")]
    pub queued_at_us: i64,
}

pub(crate) fn notice_code(kind: NoticeKind) -> u8 {
    match kind {
        NoticeKind::ExpiringSoon => 1,
        NoticeKind::Expired => 2,
        NoticeKind::DisabledInactivity => 3,
        NoticeKind::DeletedInactivity => 4,
        NoticeKind::GrantExpiringSoon => 5,
        NoticeKind::GrantExpired => 6,
        NoticeKind::Leaked => 7,
        NoticeKind::WebhookDisabled => 8,
    }
}

pub(crate) fn notice_from(code: i64) -> Result<NoticeKind, Error> {
    match code {
        1 => Ok(NoticeKind::ExpiringSoon),
        2 => Ok(NoticeKind::Expired),
        3 => Ok(NoticeKind::DisabledInactivity),
        4 => Ok(NoticeKind::DeletedInactivity),
        5 => Ok(NoticeKind::GrantExpiringSoon),
        6 => Ok(NoticeKind::GrantExpired),
        7 => Ok(NoticeKind::Leaked),
        8 => Ok(NoticeKind::WebhookDisabled),
        _ => Err(Error::Corrupt("unknown notice kind")),
    }
}

/// `outbox` and `notices_sent` key: (credential id, 0, notice kind, deadline).
pub(crate) fn notice_key(
    credential_id: &str,
    kind: NoticeKind,
    deadline: DateTime<Utc>,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(credential_id.len() + 10);
    key.extend_from_slice(credential_id.as_bytes());
    key.push(0);
    key.push(notice_code(kind));
    key.extend_from_slice(&time_key(deadline));
    key
}

pub(crate) fn encode_notice(notice: &OutboxNotice) -> Vec<u8> {
    use prost::Message;
    StoredNotice {
        kind: i32::from(notice_code(notice.kind)),
        deadline_us: micros(notice.deadline),
        credential_id: notice.credential_id.clone(),
        account_id: notice.account_id.clone(),
        name: notice.name.clone(),
        credential_kind: kind_code(notice.credential_kind),
        environment: environment_code(notice.environment),
        secret_hint: notice.secret_hint.clone(),
        expires_at_us: micros(notice.expires_at),
        delete_at_us: notice.delete_at.map(micros),
        recipients: notice.recipients.clone(),
        queued_at_us: micros(notice.queued_at),
    }
    .encode_to_vec()
}

pub(crate) fn decode_notice(bytes: &[u8]) -> Result<OutboxNotice, Error> {
    use prost::Message;
    let s = StoredNotice::decode(bytes).map_err(|_| Error::Corrupt("outbox notice"))?;
    Ok(OutboxNotice {
        kind: notice_from(i64::from(s.kind))?,
        deadline: time(s.deadline_us)?,
        credential_kind: kind_from(s.credential_kind)?,
        environment: environment_from(s.environment)?,
        expires_at: time(s.expires_at_us)?,
        delete_at: s.delete_at_us.map(time).transpose()?,
        queued_at: time(s.queued_at_us)?,
        credential_id: s.credential_id,
        account_id: s.account_id,
        name: s.name,
        secret_hint: s.secret_hint,
        recipients: s.recipients,
    })
}

pub(crate) fn encode_audit(audit: &AuditEntry) -> Vec<u8> {
    use prost::Message;
    StoredAuditEvent {
        at_us: micros(audit.at),
        actor: audit.actor.clone(),
        action: audit.action.to_string(),
        credential_id: audit.credential_id.clone(),
        account_id: audit.account_id.clone(),
        outcome: audit.outcome.to_string(),
        detail: audit.detail.clone(),
        request_id: audit.request_id.clone(),
    }
    .encode_to_vec()
}

pub(crate) fn decode_audit(seq: u64, bytes: &[u8]) -> Result<AuditEvent, Error> {
    use prost::Message;
    let s = StoredAuditEvent::decode(bytes).map_err(|_| Error::Corrupt("audit event"))?;
    Ok(AuditEvent {
        seq,
        at: time(s.at_us)?,
        actor: s.actor,
        action: s.action,
        credential_id: s.credential_id,
        account_id: s.account_id,
        outcome: s.outcome,
        detail: s.detail,
        request_id: s.request_id,
    })
}
