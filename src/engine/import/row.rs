//! One import row: its fields as the caller gave them ([`ImportRow`],
//! [`ImportKey`]), their checks (the rules of create, plus the key's), and
//! the record, fingerprint and legacy digest they make ([`Prepared`]). A
//! row's failure is a message for its caller, never an error of the call.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::super::{Engine, Error, validate};
use crate::lifecycle::{self, CredentialRecord, Environment, Kind, SecretVersion};
use crate::secret::{self, Pepper, hex};

/// Shortest plaintext secret accepted: shorter ones are too easy to guess.
pub const MIN_SECRET_LEN: usize = 16;
/// Longest external id.
pub const MAX_EXTERNAL_ID_LEN: usize = 256;

/// How an imported credential's key is given: its plaintext (hashed on
/// arrival and dropped) or the SHA-256 of its plaintext as the system it
/// comes from kept it. `Debug` prints which, never the value.
pub enum ImportKey {
    /// The plaintext secret.
    Secret(Zeroizing<String>),
    /// SHA-256 of the plaintext, 64 hex digits.
    Sha256Hex(String),
    /// SHA-256 of the plaintext, base64 (standard or URL-safe, padded or not).
    Sha256Base64(String),
    /// None was given.
    Missing,
}

impl std::fmt::Debug for ImportKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ImportKey::Secret(_) => "Secret(..)",
            ImportKey::Sha256Hex(_) => "Sha256Hex(..)",
            ImportKey::Sha256Base64(_) => "Sha256Base64(..)",
            ImportKey::Missing => "Missing",
        })
    }
}

impl ImportKey {
    /// The SHA-256 digest a `sha256_*` key gives.
    fn legacy_digest(&self) -> Result<[u8; 32], String> {
        match self {
            ImportKey::Sha256Hex(text) => digest_from_hex(text),
            ImportKey::Sha256Base64(text) => digest_from_base64(text),
            ImportKey::Secret(_) | ImportKey::Missing => Err("not a legacy hash".to_string()),
        }
    }
}

/// One credential to import, as the caller gave it.
#[derive(Debug)]
pub struct ImportRow {
    /// Owner.
    pub account_id: String,
    /// API key or passcode (other kinds are refused).
    pub kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// Short human name.
    pub name: String,
    /// Purpose.
    pub description: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// Contacts.
    pub notify_emails: Vec<String>,
    /// None: the policy's default lifetime from now.
    pub expires_at: Option<DateTime<Utc>>,
    /// None: now.
    pub created_at: Option<DateTime<Utc>>,
    /// Its last use in the system it comes from.
    pub last_used_at: Option<DateTime<Utc>>,
    /// A JSON object, as for create; None or empty: none.
    pub metadata: Option<String>,
    /// The caller's id for the row, unique within the account: importing it
    /// again is UNCHANGED.
    pub external_id: String,
    /// The key.
    pub key: ImportKey,
}

/// A row checked and turned into what the store writes.
#[derive(Debug)]
pub(super) struct Prepared {
    pub(super) record: CredentialRecord,
    pub(super) external_id: String,
    pub(super) fingerprint: [u8; 32],
    pub(super) legacy: Option<[u8; 32]>,
    pub(super) foreign: bool,
}

/// The stand-in hash of a version imported by its legacy digest: the
/// pepper's HMAC of a text longer than any secret Verify accepts, so no
/// presented value can match it; the first VALID Verify replaces it.
pub(super) fn legacy_placeholder(pepper: &Pepper, digest: &[u8; 32]) -> secret::SecretHash {
    let hex = hex(digest);
    pepper.hash(&format!("credd-legacy-sha256/{hex}/{hex}"))
}

/// The SHA-256 digest of a presented value.
pub(super) fn sha256(presented: &str) -> [u8; 32] {
    Sha256::digest(presented.as_bytes()).into()
}

fn digest_from_hex(text: &str) -> Result<[u8; 32], String> {
    crate::secret::unhex(text.trim())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| "sha256_hex must be 64 hexadecimal digits".to_string())
}

fn digest_from_base64(text: &str) -> Result<[u8; 32], String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let text = text.trim();
    let decoded = [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .ok_or_else(|| "sha256_base64 is not base64".to_string())?;
    <[u8; 32]>::try_from(decoded.as_slice())
        .map_err(|_| format!("sha256_base64 decodes to {} bytes, not 32", decoded.len()))
}

/// The message of a validation error.
fn text(e: Error) -> String {
    e.to_string()
}

impl Engine {
    /// Checks one row at `now` and makes its record. The message of an
    /// `Err` is the row's reason.
    pub(super) fn prepare_row(
        &self,
        row: ImportRow,
        now: DateTime<Utc>,
    ) -> Result<Prepared, String> {
        match row.kind {
            Kind::ApiKey | Kind::Passcode => {}
            Kind::AdminKey => {
                return Err(
                    "kind admin_key cannot be imported: admin keys are made with CreateAdminKey"
                        .to_string(),
                );
            }
            Kind::Session => {
                return Err("kind session cannot be imported: sessions come from Login".to_string());
            }
            Kind::CustomerKey => {
                return Err(
                    "kind customer_key cannot be imported: customer keys come from ApproveConsent"
                        .to_string(),
                );
            }
        }
        validate::account_id("account_id", &row.account_id).map_err(text)?;
        let external_id = row.external_id.trim().to_string();
        if external_id.is_empty() {
            return Err("external_id is required".to_string());
        }
        if external_id.len() > MAX_EXTERNAL_ID_LEN || external_id.chars().any(char::is_control) {
            return Err(format!(
                "external_id must be at most {MAX_EXTERNAL_ID_LEN} bytes without control characters"
            ));
        }
        validate::name(&row.name).map_err(text)?;
        validate::description(&row.description).map_err(text)?;
        let scopes = validate::scopes("scopes", &row.scopes).map_err(text)?;
        let notify_emails = validate::emails(&row.notify_emails).map_err(text)?;
        let metadata = match row.metadata.as_deref() {
            Some(m) if !m.trim().is_empty() => validate::metadata(m).map_err(text)?,
            _ => None,
        };
        let (hash, hint, legacy, foreign, key_id) = match &row.key {
            ImportKey::Secret(plain) => {
                let (foreign, hint) = self.check_secret(plain, row.kind, row.environment)?;
                let hash = self.pepper.hash(plain);
                (hash, hint, None, foreign, format!("hmac:{}", hex(&hash.0)))
            }
            ImportKey::Sha256Hex(_) | ImportKey::Sha256Base64(_) => {
                let digest = row.key.legacy_digest()?;
                let hash = legacy_placeholder(&self.pepper, &digest);
                (
                    hash,
                    "(legacy sha256)".to_string(),
                    Some(digest),
                    false,
                    format!("sha256:{}", hex(&digest)),
                )
            }
            ImportKey::Missing => {
                return Err("one of secret, sha256_hex or sha256_base64 is required".to_string());
            }
        };
        // What makes a re-import of this row UNCHANGED: every field as
        // given (the times too, not what they default to) and the key,
        // keyed with the pepper so no unkeyed hash of the key is kept.
        let canonical = serde_json::json!([
            row.account_id,
            format!("{:?}", row.kind),
            format!("{:?}", row.environment),
            row.name,
            row.description,
            scopes,
            notify_emails,
            row.expires_at.map(|t| t.timestamp_micros()),
            row.created_at.map(|t| t.timestamp_micros()),
            row.last_used_at.map(|t| t.timestamp_micros()),
            metadata,
            external_id,
            key_id,
        ]);
        let fingerprint = self.pepper.hash(&canonical.to_string()).0;
        let created_at = row.created_at.unwrap_or(now);
        let expires_at = row
            .expires_at
            .unwrap_or_else(|| self.policy.default_lifetime.after(now));
        let version = SecretVersion {
            version: 1,
            hash: hash.0,
            hint,
            created_at,
            retires_at: None,
        };
        let mut record = CredentialRecord {
            name: row.name,
            description: row.description,
            scopes,
            notify_emails,
            metadata,
            last_used_at: row.last_used_at,
            updated_at: now,
            ..CredentialRecord::issued(
                validate::new_credential_id(),
                row.account_id,
                row.kind,
                row.environment,
                version,
                expires_at,
            )
        };
        lifecycle::import::settle_imported(&mut record, &self.policy, now)
            .map_err(|e| e.to_string())?;
        Ok(Prepared {
            record,
            external_id,
            fingerprint,
            legacy,
            foreign,
        })
    }

    /// Checks a plaintext secret: Verify must be able to accept it, and a
    /// credd-shaped one must agree with the row. Returns whether it is
    /// foreign (not credd-shaped) and its hint.
    fn check_secret(
        &self,
        plain: &str,
        kind: Kind,
        environment: Environment,
    ) -> Result<(bool, String), String> {
        if plain.len() < MIN_SECRET_LEN {
            return Err(format!(
                "secret is shorter than {MIN_SECRET_LEN} characters: too easy to guess"
            ));
        }
        if plain.len() > secret::MAX_SECRET_LEN {
            return Err(format!(
                "secret is longer than {} characters, which Verify refuses",
                secret::MAX_SECRET_LEN
            ));
        }
        if plain.trim() != plain || plain.chars().any(char::is_control) {
            return Err(
                "secret has leading or trailing white space or control characters".to_string(),
            );
        }
        match secret::parse(plain) {
            Ok(shape) if shape.kind != kind => Err(format!(
                "secret is a credd key of kind {:?}, but the row's kind is {kind:?}",
                shape.kind
            )),
            Ok(shape) if shape.environment != environment => Err(format!(
                "secret is a credd key of environment {:?}, but the row's is {environment:?}",
                shape.environment
            )),
            Ok(_) => Ok((false, secret::hint_of(plain))),
            Err(_) => Ok((true, secret::hint_of(plain))),
        }
    }
}
