//! ImportCredentials on the wire: each `ImportRow` becomes the engine's
//! [`ImportRow`] (a row that cannot even be read, an unknown enum value or
//! a bad time, fails alone with the reason), and each result its
//! `ImportResult` with the row's index. The secret moves into zeroed
//! memory; nothing here logs a row.

use tonic::Status;
use zeroize::Zeroizing;

use super::convert;
use super::pb;
use crate::engine::{ImportKey, ImportOutcome, ImportResult, ImportRow};
use crate::lifecycle::{Environment, Kind};

/// The engine's rows of a request.
pub(super) fn rows_from_pb(rows: Vec<pb::ImportRow>) -> Vec<Result<ImportRow, String>> {
    rows.into_iter().map(row_from_pb).collect()
}

fn time(
    field: &str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    t.map(|t| convert::from_timestamp(field, t).map_err(|s: Status| s.message().to_string()))
        .transpose()
}

fn row_from_pb(row: pb::ImportRow) -> Result<ImportRow, String> {
    let kind = match pb::Kind::try_from(row.kind) {
        Ok(pb::Kind::Unspecified | pb::Kind::ApiKey) => Kind::ApiKey,
        Ok(pb::Kind::Passcode) => Kind::Passcode,
        Ok(pb::Kind::AdminKey) => Kind::AdminKey,
        Ok(pb::Kind::Session) => Kind::Session,
        Ok(pb::Kind::CustomerKey) => Kind::CustomerKey,
        Err(_) => return Err(format!("kind {} is not a kind", row.kind)),
    };
    let environment = match pb::Environment::try_from(row.environment) {
        Ok(pb::Environment::Unspecified | pb::Environment::Live) => Environment::Live,
        Ok(pb::Environment::Test) => Environment::Test,
        Err(_) => {
            return Err(format!(
                "environment {} is not an environment",
                row.environment
            ));
        }
    };
    let key = match row.key {
        Some(pb::import_row::Key::Secret(secret)) => ImportKey::Secret(Zeroizing::new(secret)),
        Some(pb::import_row::Key::Sha256Hex(hex)) => ImportKey::Sha256Hex(hex),
        Some(pb::import_row::Key::Sha256Base64(b64)) => ImportKey::Sha256Base64(b64),
        None => ImportKey::Missing,
    };
    Ok(ImportRow {
        expires_at: time("expires_at", row.expires_at.as_ref())?,
        created_at: time("created_at", row.created_at.as_ref())?,
        last_used_at: time("last_used_at", row.last_used_at.as_ref())?,
        account_id: row.account_id,
        kind,
        environment,
        name: row.name,
        description: row.description,
        scopes: row.scopes,
        notify_emails: row.notify_emails,
        metadata: Some(row.metadata).filter(|m| !m.is_empty()),
        external_id: row.external_id,
        key,
    })
}

/// The answer to a request.
pub(super) fn response(results: Vec<ImportResult>) -> pb::ImportCredentialsResponse {
    pb::ImportCredentialsResponse {
        results: results
            .into_iter()
            .enumerate()
            .map(|(index, r)| pb::ImportResult {
                index: u32::try_from(index).unwrap_or(u32::MAX),
                outcome: match r.outcome {
                    ImportOutcome::Imported => pb::ImportOutcome::Imported,
                    ImportOutcome::Unchanged => pb::ImportOutcome::Unchanged,
                    ImportOutcome::Failed => pb::ImportOutcome::Failed,
                } as i32,
                credential_id: r.credential_id.unwrap_or_default(),
                reason: r.reason,
                status: r
                    .status
                    .map_or(pb::Status::Unspecified, convert::status_to_pb)
                    as i32,
            })
            .collect(),
    }
}
