//! Verify: "is this secret good, for whom, with which scopes?". Reads only;
//! checks the presented secret's shape and checksum, finds it by its HMAC
//! (through the verify cache; a value that is not credd-shaped, or a miss
//! while keys imported by a legacy hash are left, goes to `import::verify`),
//! lets `lifecycle` decide, then applies what
//! the engine knows beyond the record (client ids, the account's status and
//! rate limit, the passcode's user, delegation), then the named rate limits
//! the request names (`rate_limits`, only on an answer that is still VALID),
//! and notes a successful use.

use chrono::{DateTime, Utc};
use tracing::debug;

use super::{Engine, Error, partners, rate_limits, validate};
use crate::lifecycle::credits::Spend;
use crate::lifecycle::scope_expr::ScopeExpr;
use crate::lifecycle::{
    self, AccountGate, ClientIdRecord, DisabledReason, Environment, Kind, LimitRequest, LimitState,
    Presented, RateLimitRule, UserRecord, UserStatus, VerifyFacts, VerifyOutcome,
};
use crate::secret::{self};

/// What Verify is asked. `Debug` is not derived: it holds the secret.
#[derive(Clone, Copy, Default)]
pub struct VerifyQuery<'a> {
    /// The presented secret.
    pub secret: &'a str,
    /// The account id presented with it.
    pub account_id: Option<&'a str>,
    /// The client id presented with it.
    pub client_id: Option<&'a str>,
    /// The account a partner's key acts for.
    pub on_behalf_of: Option<&'a str>,
    /// Scopes the credential (and a grant) must allow.
    pub required_scopes: &'a [String],
    /// An expression the credential's (and a grant's) scopes must satisfy
    /// as well, parsed by [`validate::scope_query`] before Verify.
    pub scope_query: Option<&'a ScopeExpr>,
    /// Credits a VALID answer spends (None: 1; 0 checks without spending).
    pub cost: Option<u64>,
    /// Named rate limits to apply when the answer would be VALID.
    pub rate_limits: &'a [LimitRequest],
}

/// What Verify found out about the credential behind a secret.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The answer.
    pub outcome: VerifyOutcome,
    /// The credential, except for NOT_FOUND and ACCOUNT_MISMATCH.
    pub credential: Option<VerifiedCredential>,
    /// With `on_behalf_of` and a VALID answer: the account acted for.
    pub acting_for: Option<ActingFor>,
    /// The named rate limits applied, after this request.
    pub rate_limits: Vec<LimitState>,
}

/// The account a VALID partner key acts for, and the grant that allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingFor {
    /// The account acted for.
    pub account_id: String,
    /// The grant; None when a key acts for its own account.
    pub grant_id: Option<String>,
}

/// Refuses an empty or over-long presented secret.
pub(super) fn check_presented(field: &str, presented: &str) -> Result<(), Error> {
    if presented.is_empty() {
        return Err(Error::InvalidArgument(format!("{field} is required")));
    }
    if presented.len() > secret::MAX_SECRET_LEN {
        return Err(Error::InvalidArgument(format!(
            "{field} is longer than {} characters",
            secret::MAX_SECRET_LEN
        )));
    }
    Ok(())
}

/// The facts a verifying service needs.
#[derive(Debug, Clone)]
pub struct VerifiedCredential {
    /// Credential id.
    pub id: String,
    /// Owner.
    pub account_id: String,
    /// API key or passcode.
    pub kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// What it may do.
    pub scopes: Vec<String>,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
    /// For a user passcode or a session: the user and its role.
    pub user: Option<(String, lifecycle::UserRole)>,
    /// The client id an API key is bound to.
    pub client_id: Option<String>,
    /// For a customer key: its grant.
    pub grant_id: Option<String>,
    /// The credential's metadata, compact JSON object text as stored.
    pub metadata: Option<String>,
    /// Its credits configuration, if it has credits.
    pub credits: Option<lifecycle::CreditsConfig>,
    /// With credits: the uses left after this answer.
    pub remaining: Option<u64>,
    /// Time left and "expiring soon" at the time of the answer.
    pub expiry: lifecycle::ExpiryOutlook,
    /// The credential's own named rate limits.
    pub rate_limits: Vec<RateLimitRule>,
}

impl Engine {
    /// Answers "is this secret good, for whom, with which scopes?". Reads only;
    /// a successful use is noted in memory.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long secret, a passcode without
    /// an account id, or malformed scopes; a storage failure.
    pub fn verify(
        &self,
        presented: &str,
        account_id: Option<&str>,
        required_scopes: &[String],
    ) -> Result<Verification, Error> {
        self.verify_query(&VerifyQuery {
            secret: presented,
            account_id,
            required_scopes,
            ..VerifyQuery::default()
        })
    }

    /// [`Engine::verify`] with every question Verify can ask: the account or
    /// client id presented with the secret, and the account a partner's key
    /// acts for.
    ///
    /// # Errors
    /// As [`Engine::verify`], and `InvalidArgument` for a malformed client id
    /// or `on_behalf_of`.
    pub fn verify_query(&self, query: &VerifyQuery<'_>) -> Result<Verification, Error> {
        let presented = query.secret;
        let not_found = Verification {
            outcome: VerifyOutcome::NotFound,
            credential: None,
            acting_for: None,
            rate_limits: Vec::new(),
        };
        check_presented("secret", presented)?;
        if let Some(account_id) = query.account_id {
            validate::account_id("account_id", account_id)?;
        }
        if let Some(client_id) = query.client_id {
            partners::client_id_arg("client_id", client_id)?;
        }
        if let Some(target) = query.on_behalf_of {
            validate::account_id("on_behalf_of", target)?;
        }
        validate::scopes("required_scopes", query.required_scopes)?;
        if let Some(cost) = query.cost {
            lifecycle::credits::check_amount("cost", cost)
                .map_err(|e| Error::InvalidArgument(e.0))?;
        }
        rate_limits::check_requests(query.rate_limits)?;
        let now = self.clock.now();
        let (mut outcome, mut credential) = match secret::peek_shape(presented) {
            // Not credd-shaped: an imported key, if the store holds any
            // (`import::verify`); else NOT_FOUND without a lookup.
            Err(_) => self.verify_imported(presented, query, now)?,
            Ok(shape) if matches!(shape.kind, Kind::AdminKey | Kind::CustomerKey) => {
                if secret::parse(presented).is_err() {
                    self.verify_imported(presented, query, now)?
                } else {
                    // Admin keys authenticate admin calls; customer keys
                    // work only beside their partner's developer key
                    // (VerifyPartnerPair).
                    debug!(
                        result = "not_found",
                        why = "kind not verifiable alone",
                        "verify"
                    );
                    return Ok(not_found);
                }
            }
            Ok(shape) if shape.kind == Kind::Passcode && query.account_id.is_none() => {
                return Err(Error::InvalidArgument(
                    "account_id is required to verify a passcode".to_string(),
                ));
            }
            Ok(shape) if shape.kind == Kind::Session => {
                self.verify_session_credential(presented, query, now)?
            }
            Ok(_) => self.verify_credential(presented, query, now)?,
        };
        let mut acting_for = None;
        if let (Some(target), Some(credential), VerifyOutcome::Valid { .. }) =
            (query.on_behalf_of, &credential, &outcome)
        {
            if target == credential.account_id {
                acting_for = Some(ActingFor {
                    account_id: target.to_string(),
                    grant_id: None,
                });
            } else if self
                .accounts
                .get(target)
                .is_some_and(|a| a.record.status == lifecycle::AccountStatus::Suspended)
            {
                // Nobody acts for a suspended account.
                outcome = VerifyOutcome::Disabled(DisabledReason::AccountSuspended);
            } else {
                match self
                    .partners
                    .delegation(&credential.account_id, target, now)
                {
                    partners::Delegation::NotPartner => {
                        outcome = VerifyOutcome::PartnerNotWhitelisted;
                    }
                    partners::Delegation::NoGrant => outcome = VerifyOutcome::NotDelegated,
                    partners::Delegation::Granted(grant) => {
                        if grant.allows_scopes(query.required_scopes, query.scope_query) {
                            acting_for = Some(ActingFor {
                                account_id: target.to_string(),
                                grant_id: Some(grant.id),
                            });
                        } else {
                            outcome = VerifyOutcome::InsufficientScope;
                        }
                    }
                }
            }
        }
        // With named limits, credits are checked before them (a request
        // without the uses it needs spends nothing on them) and spent after
        // them (a rate-limited request spends no credit); without, they are
        // spent at once.
        let named = !query.rate_limits.is_empty();
        if let (Some(c), VerifyOutcome::Valid { .. }, true) = (&mut credential, &outcome, named) {
            if let Some(config) = c.credits {
                let left = self.credits_left(&c.id, &config, now)?;
                if query.cost.unwrap_or(1) > left {
                    c.remaining = Some(left);
                    outcome = VerifyOutcome::UsageExceeded;
                }
            }
        }
        let mut limit_states = Vec::new();
        if let Some(credential) = &credential {
            (outcome, limit_states) =
                self.apply_rate_limits(credential, query.rate_limits, outcome, now)?;
        }
        if let (Some(c), VerifyOutcome::Valid { .. }) = (&mut credential, &outcome) {
            if let Some(config) = c.credits {
                let cost = query.cost.unwrap_or(1);
                match self.spend_credits(&c.id, &config, cost, now)? {
                    Spend::Spent(left) => c.remaining = Some(left),
                    Spend::Exceeded(left) => {
                        c.remaining = Some(left);
                        outcome = VerifyOutcome::UsageExceeded;
                    }
                }
            }
        }
        if let Some(credential) = &credential {
            self.count_verify(credential, &outcome, now);
        }
        Ok(Verification {
            outcome,
            credential,
            acting_for,
            rate_limits: limit_states,
        })
    }

    /// The session path of Verify.
    pub(super) fn verify_session_credential(
        &self,
        presented: &str,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<(VerifyOutcome, Option<VerifiedCredential>), Error> {
        if secret::parse(presented).is_err() {
            return self.verify_imported(presented, query, now);
        }
        let (mut outcome, session, user) = self.verify_session(presented, query)?;
        // A client id presented with a session must be one of its account's
        // active client ids, as for an unbound API key.
        if let (Some(client_id), Some(session)) = (query.client_id, &session) {
            match self.store.get_client_id(client_id)? {
                Some(client)
                    if client.account_id == session.account_id
                        && client.status == lifecycle::ClientIdStatus::Revoked
                        && outcome.refusable() =>
                {
                    outcome = VerifyOutcome::Disabled(DisabledReason::ClientRevoked);
                }
                Some(client) if client.account_id == session.account_id => {}
                _ if outcome != VerifyOutcome::NotFound => {
                    outcome = VerifyOutcome::AccountMismatch;
                }
                _ => {}
            }
        }
        // A session over by its idle timeout has nothing left either.
        let status = if outcome == VerifyOutcome::Expired {
            lifecycle::Status::Expired
        } else {
            lifecycle::Status::Active
        };
        let credential = session
            .filter(|_| outcome.reveals())
            .map(|session| VerifiedCredential {
                expiry: lifecycle::expiry_outlook(
                    Kind::Session,
                    status,
                    session.expires_at,
                    &self.policy,
                    now,
                ),
                id: session.id,
                account_id: session.account_id,
                kind: Kind::Session,
                environment: Environment::Live,
                scopes: Vec::new(),
                expires_at: session.expires_at,
                user: user.map(|u| (u.username, u.role)),
                client_id: None,
                grant_id: None,
                metadata: None,
                credits: None,
                remaining: None,
                rate_limits: Vec::new(),
            });
        debug!(result = ?outcome, "verify session");
        Ok((outcome, credential))
    }

    /// Looks a credential secret up and decides it: its own state, the
    /// account or client id it came with, its account's status and budget,
    /// its user and its client id. Counting the answer is the caller's.
    pub(super) fn verify_credential(
        &self,
        presented: &str,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<(VerifyOutcome, Option<VerifiedCredential>), Error> {
        if secret::parse(presented).is_err() {
            return self.verify_imported(presented, query, now);
        }
        let hash = self.pepper.hash(presented);
        let Some((credential_id, version_no, view)) = self.store.lookup_secret_view(&hash.0)?
        else {
            // A key imported by its legacy hash is found by that (only
            // while some are left, so a plain miss costs one check more).
            if self.store.has_legacy() {
                return self.verify_legacy(presented, &hash, query, now);
            }
            debug!(result = "not_found", why = "unknown", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        };
        self.decide_found(hash, credential_id, version_no, view, query, now)
    }

    /// The rest of Verify once the secret's hash was found in the index:
    /// the record (the entry's view, or read), the version the hash
    /// belongs to, and the decision.
    pub(super) fn decide_found(
        &self,
        hash: secret::SecretHash,
        credential_id: String,
        version_no: u32,
        view: Option<lifecycle::CredentialRecord>,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<(VerifyOutcome, Option<VerifiedCredential>), Error> {
        // The index entry carries what Verify needs; entries written before
        // it did send Verify to the record. A view's version holds the hash
        // it was found under, so the constant-time comparison below is
        // meaningful only for the record path; the view is kept in step by
        // every commit (schema 2 keeps older credd versions out).
        let record = match view {
            Some(view) => view,
            None => match self.store.get(&credential_id)? {
                Some(record) => record,
                None => {
                    debug!(result = "not_found", why = "dangling index", "verify");
                    return Ok((VerifyOutcome::NotFound, None));
                }
            },
        };
        if record.kind == Kind::AdminKey {
            debug!(result = "not_found", why = "admin key", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        }
        let Some(at) = record
            .versions
            .iter()
            .position(|v| v.version == version_no && hash.ct_eq(&v.hash))
        else {
            debug!(result = "not_found", why = "retired version", "verify");
            return Ok((VerifyOutcome::NotFound, None));
        };
        self.decide_record(record, at, query, now)
    }

    /// Decides a credential whose secret matched its version at `at`.
    pub(super) fn decide_record(
        &self,
        record: lifecycle::CredentialRecord,
        at: usize,
        query: &VerifyQuery<'_>,
        now: DateTime<Utc>,
    ) -> Result<(VerifyOutcome, Option<VerifiedCredential>), Error> {
        let Some(version) = record.versions.get(at) else {
            return Ok((VerifyOutcome::NotFound, None));
        };
        self.check_limit_names(&record, version, query, now)?;
        let mut facts = Facts {
            engine: self,
            account_id: &record.account_id,
            user: None,
        };
        let presented = Presented {
            account_id: query.account_id,
            client_id: query.client_id,
            required_scopes: query.required_scopes,
            scope_query: query.scope_query,
        };
        let outcome = lifecycle::verify::decide(&record, version, &presented, now, &mut facts)?;
        let user = facts.user.map(|u| (u.username, u.role));
        debug!(credential_id = %record.id, result = ?outcome, "verify");
        let credential = outcome.reveals().then(|| VerifiedCredential {
            expiry: lifecycle::record_outlook(&record, &self.policy, now),
            id: record.id,
            account_id: record.account_id,
            kind: record.kind,
            environment: record.environment,
            scopes: record.scopes,
            expires_at: record.expires_at,
            user,
            client_id: record.client_id,
            grant_id: record.grant_id,
            metadata: record.metadata,
            credits: record.credits,
            remaining: None,
            rate_limits: record.rate_limits,
        });
        Ok((outcome, credential))
    }
}

/// What Verify looks up beyond the record, for [`lifecycle::verify::decide`];
/// keeps the user it found for the answer.
struct Facts<'e> {
    engine: &'e Engine,
    account_id: &'e str,
    user: Option<UserRecord>,
}

impl VerifyFacts for Facts<'_> {
    type Error = Error;

    fn client(&mut self, id: &str) -> Result<Option<ClientIdRecord>, Error> {
        Ok(self.engine.store.get_client_id(id)?)
    }

    fn account_gate(&mut self) -> Option<AccountGate> {
        Some(self.engine.accounts.get(self.account_id)?.gate())
    }

    fn user(&mut self, username: &str) -> Result<Option<UserStatus>, Error> {
        self.user = self.engine.passcode_user(self.account_id, username)?;
        Ok(self.user.as_ref().map(|u| u.status))
    }
}
