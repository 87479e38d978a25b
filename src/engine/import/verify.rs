//! Verify of imported keys, off the path of credd's own: a presented value
//! that is not credd-shaped (no prefix and checksum) is looked up by its
//! HMAC only when the store holds such imported secrets, and its kind then
//! comes from the record; a miss while keys imported by a legacy SHA-256
//! are left is looked up by that digest. A legacy key's first VALID answer
//! re-hashes it: one transaction writes the pepper's HMAC of the presented
//! value into its version and the secret index and drops the legacy entry
//! (lazy migration); the plaintext is written nowhere.

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::super::verify::{VerifiedCredential, VerifyQuery};
use super::super::{Actor, Engine, Error, audit_entry};
use super::row::{legacy_placeholder, sha256};
use crate::lifecycle::{CredentialRecord, Kind, VerifyOutcome};
use crate::secret::{self, SecretHash};
use crate::store::Commit;

type Answer = (VerifyOutcome, Option<VerifiedCredential>);

impl Engine {
    /// Verify of a value that is not a credd key (or fails its checksum).
    pub(in crate::engine) fn verify_imported(
        &self,
        presented: &str,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<Answer, Error> {
        let foreign = self.store.has_foreign_secrets();
        if !foreign && !self.store.has_legacy() {
            debug!(result = "not_found", why = "malformed", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        }
        let hash = self.pepper.hash(presented);
        if foreign {
            if let Some((id, version_no, view)) = self.store.lookup_secret_view(&hash.0)? {
                let kind = view
                    .as_ref()
                    .map(|v| v.kind)
                    .or_else(|| self.store.get(&id).ok().flatten().map(|r| r.kind));
                if let Some(refused) = refuse_kind(kind, query)? {
                    return Ok(refused);
                }
                return self.decide_found(hash, id, version_no, view, query, now);
            }
        }
        if self.store.has_legacy() {
            return self.verify_legacy(presented, &hash, query, now);
        }
        debug!(result = "not_found", why = "unknown", "verify");
        Ok((VerifyOutcome::NotFound, None))
    }

    /// Verify by a legacy SHA-256 digest, after the HMAC missed; re-hashes
    /// the key on a VALID answer.
    pub(in crate::engine) fn verify_legacy(
        &self,
        presented: &str,
        hash: &SecretHash,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<Answer, Error> {
        let Some((record, at, digest)) = self.legacy_record(presented)? else {
            debug!(result = "not_found", why = "unknown", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        };
        if let Some(refused) = refuse_kind(Some(record.kind), query)? {
            return Ok(refused);
        }
        let expected = record.clone();
        let answer = self.decide_record(record, at, query, now)?;
        if matches!(answer.0, VerifyOutcome::Valid { .. }) {
            let mut rehashed = expected.clone();
            if let Some(version) = rehashed.versions.get_mut(at) {
                version.hash = hash.0;
                version.hint = secret::hint_of(presented);
            }
            let foreign = secret::parse(presented).is_err();
            self.rehash(&expected, &rehashed, &digest, foreign, now);
        }
        Ok(answer)
    }

    /// The record a legacy SHA-256 digest of `presented` leads to, the
    /// position of the version imported under it, and the digest.
    pub(in crate::engine) fn legacy_record(
        &self,
        presented: &str,
    ) -> Result<Option<(CredentialRecord, usize, [u8; 32])>, Error> {
        let digest = sha256(presented);
        let Some(id) = self.store.lookup_legacy(&digest)? else {
            return Ok(None);
        };
        let Some(record) = self.store.get(&id)? else {
            debug!(why = "dangling legacy entry", "verify");
            return Ok(None);
        };
        let placeholder = legacy_placeholder(&self.pepper, &digest);
        let at = record
            .versions
            .iter()
            .position(|v| placeholder.ct_eq(&v.hash));
        Ok(at.map(|at| (record, at, digest)))
    }

    /// Writes the re-hash of a legacy key; a failure is logged, and the
    /// next VALID Verify tries again.
    fn rehash(
        &self,
        expected: &CredentialRecord,
        rehashed: &CredentialRecord,
        digest: &[u8; 32],
        foreign: bool,
        now: DateTime<Utc>,
    ) {
        let audit = audit_entry(
            &Actor::system(),
            now,
            "credential.rehash",
            &rehashed.id,
            &rehashed.account_id,
            "legacy sha256 replaced by the keyed hash at its first valid verify".to_string(),
        );
        match self
            .store
            .rehash_legacy(expected, rehashed, digest, foreign, &audit)
        {
            Ok(Commit::Done) => info!(credential_id = %rehashed.id, "legacy hash replaced"),
            Ok(Commit::Conflict) => {
                debug!(credential_id = %rehashed.id, "legacy re-hash raced a change; next time");
            }
            Err(e) => warn!(credential_id = %rehashed.id, error = %e, "legacy re-hash failed"),
        }
    }
}

/// The refusals of the kind an imported record has (found by a value
/// whose shape said nothing): customer and admin keys are never verified
/// alone, a passcode needs its account id.
fn refuse_kind(kind: Option<Kind>, query: &VerifyQuery<'_>) -> Result<Option<Answer>, Error> {
    match kind {
        Some(Kind::ApiKey) | None => Ok(None),
        Some(Kind::Passcode) if query.account_id.is_none() => Err(Error::InvalidArgument(
            "account_id is required to verify a passcode".to_string(),
        )),
        Some(Kind::Passcode) => Ok(None),
        Some(Kind::AdminKey | Kind::CustomerKey | Kind::Session) => {
            debug!(
                result = "not_found",
                why = "kind not verifiable alone",
                "verify"
            );
            Ok(Some((VerifyOutcome::NotFound, None)))
        }
    }
}
