//! Lookup by secret, for a support desk: which credential is this pasted
//! secret? Finds it the way Verify does (shape, checksum, HMAC, the secret
//! index; an imported key of another format or by its legacy hash as
//! `import::verify` does, without re-hashing it) but counts no use, touches neither last-used nor the daily
//! counters, and skips Verify's rate limit; it answers for revoked,
//! expired and disabled credentials too. Needs `credentials:read` on the
//! credential's account; every lookup lands in the audit log as
//! `credential.lookup`, never with the secret.

use tracing::{debug, info};

use super::access::{Access, Actor, Scope};
use super::verify::check_presented;
use super::{CredentialView, Engine, Error, audit_entry, validate};
use crate::lifecycle::{CredentialRecord, Kind};
use crate::secret;

/// The audit action of a lookup.
const ACTION: &str = "credential.lookup";

impl Engine {
    /// The credential behind `presented` (with `account_id`, required for a
    /// passcode, as Verify takes it).
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long secret, a malformed
    /// account id or a passcode without one; `PermissionDenied` without
    /// `credentials:read` on the credential's account; `NoSuch` (NOT_FOUND)
    /// when no credential has this secret, or only a retired version of it;
    /// a storage failure.
    pub fn lookup_by_secret(
        &self,
        actor: &Actor,
        presented: &str,
        account_id: Option<&str>,
    ) -> Result<CredentialView, Error> {
        let own = actor.account();
        self.authorize(
            actor,
            ACTION,
            "",
            account_id.or(own).unwrap_or_default(),
            actor.allows(Scope::CredentialsRead, own),
        )?;
        check_presented("secret", presented)?;
        if let Some(account_id) = account_id {
            validate::account_id("account_id", account_id)?;
        }
        let found = self.find_by_secret(presented, account_id)?;
        let Some(record) = found else {
            self.audit_lookup(actor, None, account_id.or(own).unwrap_or_default());
            return Err(Error::NoSuch(
                "no credential has that secret (or it is a retired rotation version)".to_string(),
            ));
        };
        self.authorize_on(actor, ACTION, &record, Access::Read)?;
        self.audit_lookup(actor, Some(&record.id), &record.account_id);
        info!(actor = %actor.id, request_id = %actor.request_id, credential_id = %record.id, "credential looked up by secret");
        let now = self.clock.now();
        Ok(self.view(record, now))
    }

    /// The record whose current (or still-working older) secret version is
    /// `presented`, an imported key of any format included; None for
    /// anything else, malformed or unknown.
    fn find_by_secret(
        &self,
        presented: &str,
        account_id: Option<&str>,
    ) -> Result<Option<CredentialRecord>, Error> {
        let shape = secret::parse(presented).ok();
        let legacy = self.store.has_legacy();
        if shape.is_none() && !legacy && !self.store.has_foreign_secrets() {
            debug!(why = "malformed", "lookup");
            return Ok(None);
        }
        let passcode_alone = |kind: Kind| {
            if kind == Kind::Passcode && account_id.is_none() {
                return Err(Error::InvalidArgument(
                    "account_id is required to look up a passcode".to_string(),
                ));
            }
            Ok(())
        };
        if let Some(shape) = shape {
            if shape.kind == Kind::Session {
                // Login sessions are not credentials; they have no record here.
                return Ok(None);
            }
            passcode_alone(shape.kind)?;
        }
        let hash = self.pepper.hash(presented);
        let record = match self.store.lookup_secret_view(&hash.0)? {
            Some((id, version_no, _)) => self.store.get(&id)?.filter(|record| {
                record
                    .versions
                    .iter()
                    .any(|v| v.version == version_no && hash.ct_eq(&v.hash))
            }),
            // A key imported by its legacy hash, not yet re-hashed (a
            // lookup is no use, so it does not re-hash it).
            None if legacy => self.legacy_record(presented)?.map(|(record, _, _)| record),
            None => None,
        };
        let Some(record) = record else {
            return Ok(None);
        };
        passcode_alone(record.kind)?;
        let same_account = account_id.is_none_or(|a| a == record.account_id);
        Ok(same_account.then_some(record))
    }

    /// Records a lookup that was allowed: found (`credential_id`) or not.
    /// A read, so the entry is appended without a flush of its own.
    fn audit_lookup(&self, actor: &Actor, credential_id: Option<&str>, account_id: &str) {
        let detail = match credential_id {
            Some(_) => "found by its secret",
            None => "no credential has the presented secret",
        };
        let entry = audit_entry(
            actor,
            self.clock.now(),
            ACTION,
            credential_id.unwrap_or_default(),
            account_id,
            detail.to_string(),
        );
        if let Err(e) = self.store.append_audit(&entry) {
            tracing::warn!(error = %e, "could not record a lookup in the audit log");
        }
    }
}
