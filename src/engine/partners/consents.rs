//! The consent flow (KlickTipp's developer key + customer key): a partner
//! asks to act for a customer, the customer's admin approves (creating the
//! grant and a customer key, shown once inside the redirect URL) or denies,
//! and unanswered requests expire.

use chrono::{DateTime, Duration, Utc};
use tracing::info;

use super::{grant_audit, ulid_id};
use crate::engine::access::{Actor, Scope};
use crate::engine::{CredentialView, Engine, Error, MAX_ATTEMPTS, audit_entry, validate};
use crate::lifecycle::{
    self, ConsentRecord, ConsentStatus, CredentialRecord, Environment, GrantOrigin, GrantRecord,
    GrantStatus, Kind, SecretVersion,
};
use crate::secret::Secret;
use crate::store::{Commit, PartnerChange, Replace};

/// How long a consent request waits for its answer unless configured.
pub const DEFAULT_CONSENT_TTL: Duration = Duration::hours(1);

/// A partner's request to act for a customer.
#[derive(Debug, Clone)]
pub struct NewConsent {
    /// Who asks.
    pub partner_account_id: String,
    /// Who is asked.
    pub customer_account_id: String,
    /// Where the customer goes back to.
    pub redirect_url: String,
    /// Scopes the grant will carry.
    pub scopes: Vec<String>,
    /// Lifetime of the grant and the customer key.
    pub lifetime: Option<Duration>,
    /// Environment of the customer key.
    pub environment: Environment,
}

/// What an approval made. The redirect URL carries the customer key, so
/// `Debug` shows only ids and the key's hint.
pub struct Approval {
    /// The answered request.
    pub consent: ConsentRecord,
    /// The new grant.
    pub grant: GrantRecord,
    /// The customer key credential.
    pub customer_key: CredentialView,
    /// The customer key itself, shown once.
    pub secret: Secret,
    /// The redirect URL with `customerkey=<key>` appended.
    pub redirect_url: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approval")
            .field("consent", &self.consent.id)
            .field("grant", &self.grant.id)
            .field("customer_key", &self.secret)
            .finish_non_exhaustive()
    }
}

fn new_consent_id() -> String {
    format!("consent_{}", ulid::Ulid::new())
}

fn status_word(status: ConsentStatus) -> &'static str {
    match status {
        ConsentStatus::Pending => "pending",
        ConsentStatus::Approved => "already approved",
        ConsentStatus::Denied => "already denied",
        ConsentStatus::Expired => "expired",
    }
}

impl Engine {
    /// Sets how long consent requests wait (the daemon applies `[partners]`).
    pub fn set_consent_ttl(&mut self, ttl: Duration) {
        self.consent_ttl = ttl;
    }

    /// A partner asks to act for a customer (`partners:write` on the partner).
    ///
    /// # Errors
    /// `InvalidArgument` (ids, scopes, lifetime, redirect URL),
    /// `PermissionDenied`, `FailedPrecondition` (not a partner), or a
    /// storage failure.
    pub async fn create_consent(
        &self,
        actor: &Actor,
        request: NewConsent,
    ) -> Result<ConsentRecord, Error> {
        validate::account_id("partner_account_id", &request.partner_account_id)?;
        validate::account_id("customer_account_id", &request.customer_account_id)?;
        self.authorize(
            actor,
            "consent.create",
            "",
            &request.partner_account_id,
            actor.allows(Scope::PartnersWrite, Some(&request.partner_account_id)),
        )?;
        let scopes = validate::scopes("scopes", &request.scopes)?;
        let now = self.clock.now();
        self.grant_expiry(request.lifetime, now)?;
        if request.partner_account_id == request.customer_account_id {
            return Err(Error::InvalidArgument(
                "a partner cannot ask for consent to its own account".to_string(),
            ));
        }
        let partner = self
            .partners
            .partner(&request.partner_account_id)
            .ok_or_else(|| {
                Error::FailedPrecondition(format!(
                    "account {} is not a registered partner; RegisterPartner it first",
                    request.partner_account_id
                ))
            })?;
        let redirect_url = lifecycle::check_redirect_url(
            "redirect_url",
            &request.redirect_url,
            &partner.redirect_prefixes,
        )
        .map_err(Error::InvalidArgument)?;
        if actor.account().is_some() && self.accounts.get(&request.customer_account_id).is_none() {
            // An account-scoped key may not bring another account into being.
            return Err(Error::AccountNotFound {
                id: request.customer_account_id,
            });
        }
        self.ensure_account(actor, &request.customer_account_id, now)
            .await?;
        let consent = ConsentRecord {
            id: new_consent_id(),
            partner_account_id: request.partner_account_id,
            customer_account_id: request.customer_account_id,
            redirect_url,
            scopes,
            lifetime: request.lifetime,
            environment: request.environment,
            status: ConsentStatus::Pending,
            created_at: now,
            expires_at: now + self.consent_ttl,
            answered_at: None,
            grant_id: None,
            status_reason: String::new(),
        };
        let change = PartnerChange {
            consent: Some(Replace {
                expected: None,
                new: &consent,
            }),
            audits: vec![consent_audit(
                actor,
                now,
                "consent.create",
                &consent,
                String::new(),
            )],
            ..Default::default()
        };
        if self.store.commit_partners(&change)? == Commit::Conflict {
            return Err(Error::Contention { id: consent.id });
        }
        self.store.flush().await?;
        info!(consent_id = %consent.id, partner = %consent.partner_account_id, customer = %consent.customer_account_id, actor = %actor.id, request_id = %actor.request_id, "consent requested");
        Ok(consent)
    }

    /// Reads a consent request (`partners:read` on either party), with its
    /// state at the current time.
    ///
    /// # Errors
    /// `InvalidArgument`, `NoSuch`, `PermissionDenied`, or a storage failure.
    pub fn get_consent(&self, actor: &Actor, id: &str) -> Result<ConsentRecord, Error> {
        let consent = self.load_consent(id)?;
        self.authorize(
            actor,
            "consent.get",
            id,
            &consent.customer_account_id,
            actor.allows_either(
                Scope::PartnersRead,
                &consent.customer_account_id,
                &consent.partner_account_id,
            ),
        )?;
        Ok(self.consent_now(consent))
    }

    fn load_consent(&self, id: &str) -> Result<ConsentRecord, Error> {
        ulid_id("id", "consent_", id)?;
        self.store
            .get_consent(id)?
            .ok_or_else(|| Error::NoSuch(format!("consent request {id} not found")))
    }

    /// The consent with its status as of now.
    fn consent_now(&self, mut consent: ConsentRecord) -> ConsentRecord {
        consent.status = consent.status_at(self.clock.now());
        consent
    }

    /// Loads a consent for an answer by the customer's admin and checks it
    /// is still waiting for one.
    fn pending_consent(
        &self,
        actor: &Actor,
        id: &str,
        action: &'static str,
        now: DateTime<Utc>,
    ) -> Result<ConsentRecord, Error> {
        let consent = self.load_consent(id)?;
        self.authorize(
            actor,
            action,
            id,
            &consent.customer_account_id,
            actor.allows(Scope::PartnersWrite, Some(&consent.customer_account_id)),
        )?;
        match consent.status_at(now) {
            ConsentStatus::Pending => Ok(consent),
            other => Err(Error::FailedPrecondition(format!(
                "consent request {id} is {}; ask the partner for a new one",
                status_word(other)
            ))),
        }
    }

    /// The customer's admin approves: the grant, the customer key and the
    /// answered request are written in one transaction.
    ///
    /// # Errors
    /// `InvalidArgument`, `NoSuch`, `PermissionDenied`, `FailedPrecondition`
    /// (answered, expired, partner gone, or a live grant exists),
    /// `QuotaExceeded`, or a storage failure.
    pub async fn approve_consent(&self, actor: &Actor, id: &str) -> Result<Approval, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let consent = self.pending_consent(actor, id, "consent.approve", now)?;
            let partner = &consent.partner_account_id;
            let customer = &consent.customer_account_id;
            let partners_guard = self.partner_lock.lock().await;
            let _quota = self.account_lock(customer).lock().await;
            self.check_pair(partner, customer, now)
                .map_err(|e| match e {
                    Error::AlreadyExists(message) | Error::InvalidArgument(message) => {
                        Error::FailedPrecondition(message)
                    }
                    other => other,
                })?;
            // Read before counting: a create on another node that counted
            // the same credentials moves it, and this change conflicts.
            let guard = self.store.quota_guard(customer)?;
            self.check_quota(customer, Kind::CustomerKey, now)?;
            // The grant ends with its customer key: without a lifetime both
            // get the policy's default, so an expired key never leaves a
            // live grant that blocks a new consent.
            let expires_at = self
                .grant_expiry(consent.lifetime, now)?
                .unwrap_or_else(|| self.policy.default_lifetime.after(now));
            let (secret, version) =
                self.new_version(consent.environment, Kind::CustomerKey, 1, now)?;
            let (key, grant) = self.consent_key_and_grant(&consent, version, expires_at, now);
            let approved = ConsentRecord {
                status: ConsentStatus::Approved,
                answered_at: Some(now),
                grant_id: Some(grant.id.clone()),
                ..consent.clone()
            };
            let change = PartnerChange {
                consent: Some(Replace {
                    expected: Some(&consent),
                    new: &approved,
                }),
                grants: vec![Replace {
                    expected: None,
                    new: &grant,
                }],
                credentials: vec![(None, &key)],
                audits: vec![
                    consent_audit(actor, now, "consent.approve", &approved, String::new()),
                    grant_audit(actor, now, "grant.create", &grant, format!("consent {id}")),
                    audit_entry(
                        actor,
                        now,
                        "credential.create",
                        &key.id,
                        customer,
                        format!("customer key of grant {}", grant.id),
                    ),
                ],
                quota_guard: lifecycle::counts_toward_quota(Kind::CustomerKey)
                    .then_some((customer.as_str(), guard)),
                ..Default::default()
            };
            if self.store.commit_partners(&change)? == Commit::Conflict {
                continue;
            }
            self.partners.put_grant(grant.clone());
            drop(partners_guard);
            self.store.flush().await?;
            info!(consent_id = %id, grant_id = %grant.id, credential_id = %key.id, partner = %partner, customer = %customer, actor = %actor.id, request_id = %actor.request_id, "consent approved");
            let redirect_url = zeroize::Zeroizing::new(lifecycle::redirect_with(
                &approved.redirect_url,
                lifecycle::CUSTOMER_KEY_PARAM,
                secret.expose(),
            ));
            return Ok(Approval {
                customer_key: self.view(key, now),
                consent: approved,
                grant,
                secret,
                redirect_url,
            });
        }
        Err(Error::Contention { id: id.to_string() })
    }

    /// The customer key and the grant an approved consent creates, tied to
    /// each other: the key carries the grant's id and the grant names the
    /// key; both end at `expires_at`.
    fn consent_key_and_grant(
        &self,
        consent: &ConsentRecord,
        version: SecretVersion,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> (CredentialRecord, GrantRecord) {
        let partner = &consent.partner_account_id;
        let mut key = CredentialRecord {
            name: format!("customer key for partner {partner}"),
            description: format!("issued when consent request {} was approved", consent.id),
            scopes: consent.scopes.clone(),
            ..CredentialRecord::issued(
                validate::new_credential_id(),
                consent.customer_account_id.clone(),
                Kind::CustomerKey,
                consent.environment,
                version,
                expires_at,
            )
        };
        let grant = GrantRecord {
            id: super::new_grant_id(),
            partner_account_id: partner.clone(),
            client_account_id: consent.customer_account_id.clone(),
            scopes: consent.scopes.clone(),
            status: GrantStatus::Active,
            origin: GrantOrigin::Consent,
            consent_id: Some(consent.id.clone()),
            customer_key_id: Some(key.id.clone()),
            created_at: now,
            expires_at: Some(expires_at),
            revoked_at: None,
            status_reason: String::new(),
        };
        key.grant_id = Some(grant.id.clone());
        key.scheduled = lifecycle::next_deadlines(&key, &self.policy);
        (key, grant)
    }

    /// The customer's admin says no. Returns the answered request and the
    /// redirect URL with `error=access_denied`.
    ///
    /// # Errors
    /// `InvalidArgument`, `NoSuch`, `PermissionDenied`, `FailedPrecondition`
    /// (already answered or expired), or a storage failure.
    pub async fn deny_consent(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<(ConsentRecord, String), Error> {
        validate::reason(reason)?;
        for _ in 0..MAX_ATTEMPTS {
            let now = self.clock.now();
            let consent = self.pending_consent(actor, id, "consent.deny", now)?;
            let denied = ConsentRecord {
                status: ConsentStatus::Denied,
                answered_at: Some(now),
                status_reason: reason.to_string(),
                ..consent.clone()
            };
            let change = PartnerChange {
                consent: Some(Replace {
                    expected: Some(&consent),
                    new: &denied,
                }),
                audits: vec![consent_audit(
                    actor,
                    now,
                    "consent.deny",
                    &denied,
                    reason.to_string(),
                )],
                ..Default::default()
            };
            if self.store.commit_partners(&change)? == Commit::Done {
                self.store.flush().await?;
                info!(consent_id = %id, actor = %actor.id, request_id = %actor.request_id, "consent denied");
                let redirect =
                    lifecycle::redirect_with(&denied.redirect_url, "error", "access_denied");
                return Ok((denied, redirect));
            }
        }
        Err(Error::Contention { id: id.to_string() })
    }

    /// Records every pending request past its expiry as EXPIRED (the sweep
    /// calls this). Returns how many.
    ///
    /// # Errors
    /// A storage failure; what was written stays written.
    pub async fn expire_consents(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let actor = Actor::system();
        let mut expired = 0;
        loop {
            let due = self.store.due_consents(now, crate::engine::SWEEP_BATCH)?;
            if due.is_empty() {
                break;
            }
            let mut progressed = false;
            for consent in due {
                let ended = ConsentRecord {
                    status: if consent.status == ConsentStatus::Pending {
                        ConsentStatus::Expired
                    } else {
                        consent.status
                    },
                    answered_at: consent.answered_at.or(Some(now)),
                    ..consent.clone()
                };
                let change = PartnerChange {
                    consent: Some(Replace {
                        expected: Some(&consent),
                        new: &ended,
                    }),
                    audits: vec![consent_audit(
                        &actor,
                        now,
                        "consent.expire",
                        &ended,
                        String::new(),
                    )],
                    ..Default::default()
                };
                if self.store.commit_partners(&change)? == Commit::Done {
                    expired += 1;
                    progressed = true;
                    info!(consent_id = %ended.id, partner = %ended.partner_account_id, customer = %ended.customer_account_id, "consent request expired unanswered");
                }
            }
            self.store.flush().await?;
            if !progressed {
                break;
            }
        }
        Ok(expired)
    }
}

/// The audit event of a consent change, filed under the customer account.
fn consent_audit(
    actor: &Actor,
    now: DateTime<Utc>,
    action: &'static str,
    consent: &ConsentRecord,
    detail: String,
) -> crate::store::AuditEntry {
    let detail = if detail.is_empty() {
        format!("partner {}", consent.partner_account_id)
    } else {
        format!("partner {}; {detail}", consent.partner_account_id)
    };
    audit_entry(
        actor,
        now,
        action,
        &consent.id,
        &consent.customer_account_id,
        detail,
    )
}
