//! Delegation grants: a partner's right to act for a client account,
//! created, read, listed and revoked (with the customer key issued
//! alongside, in one transaction).

use super::*;

/// A new grant's fields as the caller gave them.
#[derive(Debug, Clone)]
pub struct NewGrant {
    /// Who acts.
    pub partner_account_id: String,
    /// For whom.
    pub client_account_id: String,
    /// What it may do (empty: whatever the partner's key may).
    pub scopes: Vec<String>,
    /// None: no expiry.
    pub lifetime: Option<Duration>,
}

/// Filters and paging for [`Engine::list_grants`].
#[derive(Debug, Clone, Default)]
pub struct GrantQuery {
    /// One partner, or any.
    pub partner_account_id: Option<String>,
    /// One client, or any.
    pub client_account_id: Option<String>,
    /// Also revoked and expired grants.
    pub include_ended: bool,
    /// Page size as sent (0 means 100).
    pub page_size: i64,
    /// Token of the previous page.
    pub page_token: Option<String>,
}

/// `grant_` and a ULID.
pub(in crate::engine) fn new_grant_id() -> String {
    format!("grant_{}", ulid::Ulid::new())
}

/// Grants and customer keys to revoke together.
#[derive(Default)]
pub(in crate::engine) struct Revocation {
    pub(in crate::engine) expected: Vec<GrantRecord>,
    pub(in crate::engine) grants: Vec<GrantRecord>,
    pub(in crate::engine) keys: Vec<(CredentialRecord, CredentialRecord)>,
    pub(in crate::engine) audits: Vec<AuditEntry>,
}

impl Revocation {
    pub(in crate::engine) fn change(&self) -> PartnerChange<'_> {
        PartnerChange {
            grants: self
                .expected
                .iter()
                .zip(&self.grants)
                .map(|(expected, new)| Replace {
                    expected: Some(expected),
                    new,
                })
                .collect(),
            credentials: self
                .keys
                .iter()
                .map(|(old, new)| (Some(old), new))
                .collect(),
            audits: self.audits.clone(),
            ..Default::default()
        }
    }
}

/// The audit event of a grant change, filed under the client account.
pub(in crate::engine) fn grant_audit(
    actor: &Actor,
    now: DateTime<Utc>,
    action: &'static str,
    grant: &GrantRecord,
    detail: String,
) -> AuditEntry {
    let detail = if detail.is_empty() {
        format!("partner {}", grant.partner_account_id)
    } else {
        format!("partner {}; {detail}", grant.partner_account_id)
    };
    audit_entry(
        actor,
        now,
        action,
        &grant.id,
        &grant.client_account_id,
        detail,
    )
}

impl Engine {
    /// An administrator's grant: `partner` may act for `client` (a global
    /// key with `partners:write`).
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `FailedPrecondition` (not a
    /// partner), `AlreadyExists` (a live grant), or a storage failure.
    pub async fn create_grant(
        &self,
        actor: &Actor,
        request: NewGrant,
    ) -> Result<GrantRecord, Error> {
        validate::account_id("partner_account_id", &request.partner_account_id)?;
        validate::account_id("client_account_id", &request.client_account_id)?;
        self.authorize_global(actor, "grant.create", &request.client_account_id)?;
        let scopes = validate::scopes("scopes", &request.scopes)?;
        let now = self.clock.now();
        let expires_at = self.grant_expiry(request.lifetime, now)?;
        self.check_pair(&request.partner_account_id, &request.client_account_id, now)?;
        self.ensure_account(actor, &request.client_account_id, now)
            .await?;
        let grant = GrantRecord {
            id: new_grant_id(),
            partner_account_id: request.partner_account_id,
            client_account_id: request.client_account_id,
            scopes,
            status: GrantStatus::Active,
            origin: GrantOrigin::Admin,
            consent_id: None,
            customer_key_id: None,
            created_at: now,
            expires_at,
            revoked_at: None,
            status_reason: String::new(),
        };
        let partners_guard = self.partner_lock.lock().await;
        self.check_pair(&grant.partner_account_id, &grant.client_account_id, now)?;
        let change = PartnerChange {
            grants: vec![Replace {
                expected: None,
                new: &grant,
            }],
            audits: vec![grant_audit(
                actor,
                now,
                "grant.create",
                &grant,
                String::new(),
            )],
            ..Default::default()
        };
        if self.store.commit_partners(&change)? == Commit::Conflict {
            return Err(Error::Contention { id: grant.id });
        }
        self.partners.put_grant(grant.clone());
        drop(partners_guard);
        self.store.flush().await?;
        info!(grant_id = %grant.id, partner = %grant.partner_account_id, client = %grant.client_account_id, actor = %actor.id, request_id = %actor.request_id, "grant created");
        Ok(grant)
    }

    /// The expiry of a grant with `lifetime` (None: never), within the policy's maximum.
    pub(in crate::engine) fn grant_expiry(
        &self,
        lifetime: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, Error> {
        lifetime
            .map(|lifetime| {
                if lifetime <= Duration::zero() {
                    return Err(Error::InvalidArgument(
                        "lifetime must be positive".to_string(),
                    ));
                }
                now.checked_add_signed(lifetime)
                    .filter(|t| *t <= self.max_expiry(now))
                    .ok_or_else(|| {
                        Error::InvalidArgument(format!(
                            "lifetime exceeds the maximum of {}",
                            self.policy.max_lifetime
                        ))
                    })
            })
            .transpose()
    }

    /// A grant for the pair may be made: the partner is whitelisted, the
    /// accounts differ, and no live grant exists.
    pub(in crate::engine) fn check_pair(
        &self,
        partner: &str,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if partner == client {
            return Err(Error::InvalidArgument(
                "a partner cannot be granted access to its own account".to_string(),
            ));
        }
        if !self.partners.is_partner(partner) {
            return Err(Error::FailedPrecondition(format!(
                "account {partner} is not a registered partner; RegisterPartner it first"
            )));
        }
        // The `grant_pairs` index names the pair's latest unrevoked grant.
        let live = self
            .store
            .grant_for_pair(partner, client)?
            .map(|id| self.store.get_grant(&id))
            .transpose()?
            .flatten()
            .filter(|g| g.is_live(now));
        if let Some(live) = live {
            return Err(Error::AlreadyExists(format!(
                "partner {partner} already holds the live grant {} for account {client}; revoke it first",
                live.id
            )));
        }
        Ok(())
    }

    /// Reads one grant (`partners:read` on either party).
    ///
    /// # Errors
    /// `InvalidArgument`, `PermissionDenied`, `NotFound`.
    pub fn get_grant(&self, actor: &Actor, id: &str) -> Result<GrantRecord, Error> {
        ulid_id("id", "grant_", id)?;
        let grant = self
            .partners
            .grant(id)
            .ok_or_else(|| Error::NoSuch(format!("grant {id} not found")))?;
        self.authorize(
            actor,
            "grant.get",
            id,
            &grant.client_account_id,
            actor.allows_either(
                Scope::PartnersRead,
                &grant.client_account_id,
                &grant.partner_account_id,
            ),
        )?;
        Ok(grant)
    }

    /// Lists grants in id order. An account-scoped key sees only grants its
    /// account is party to.
    ///
    /// # Errors
    /// `InvalidArgument`, `PermissionDenied`.
    pub fn list_grants(
        &self,
        actor: &Actor,
        query: &GrantQuery,
    ) -> Result<(Vec<GrantRecord>, Option<String>), Error> {
        for (field, value) in [
            ("partner_account_id", &query.partner_account_id),
            ("client_account_id", &query.client_account_id),
        ] {
            if let Some(v) = value {
                validate::account_id(field, v)?;
            }
        }
        let target = actor
            .account()
            .or(query.client_account_id.as_deref())
            .or(query.partner_account_id.as_deref());
        self.authorize(
            actor,
            "grant.list",
            "",
            target.unwrap_or_default(),
            actor.allows(Scope::PartnersRead, actor.account()),
        )?;
        let now = self.clock.now();
        let grants: Vec<GrantRecord> = self
            .partners
            .grants_matching(
                query.partner_account_id.as_deref(),
                query.client_account_id.as_deref(),
                query.include_ended,
                now,
            )
            .into_iter()
            .filter(|g| {
                actor
                    .account()
                    .is_none_or(|own| g.partner_account_id == own || g.client_account_id == own)
            })
            .collect();
        page_of(
            grants,
            |g| g.id.as_str(),
            "grant:",
            query.page_size,
            query.page_token.as_deref(),
        )
    }

    /// Revokes a grant at once, with its customer key, in one transaction.
    /// Revoking a revoked grant changes nothing.
    ///
    /// # Errors
    /// `InvalidArgument`, `PermissionDenied`, `NotFound`, or a storage failure.
    pub async fn revoke_grant(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<GrantRecord, Error> {
        ulid_id("id", "grant_", id)?;
        validate::reason(reason)?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .store
                .get_grant(id)?
                .ok_or_else(|| Error::NoSuch(format!("grant {id} not found")))?;
            self.authorize(
                actor,
                "grant.revoke",
                id,
                &current.client_account_id,
                actor.allows_either(
                    Scope::PartnersWrite,
                    &current.client_account_id,
                    &current.partner_account_id,
                ),
            )?;
            let partners_guard = self.partner_lock.lock().await;
            if current.status == GrantStatus::Revoked {
                // A revocation whose flush failed is committed: make the
                // directory agree, then make it durable.
                self.partners.put_grant(current.clone());
                drop(partners_guard);
                self.store.flush().await?;
                return Ok(current);
            }
            let now = self.clock.now();
            let revocation =
                self.revocations(actor, std::slice::from_ref(&current), reason, now)?;
            if self.store.commit_partners(&revocation.change())? == Commit::Done {
                let revoked = revocation.grants[0].clone();
                self.partners.put_grant(revoked.clone());
                drop(partners_guard);
                self.store.flush().await?;
                info!(grant_id = %id, partner = %revoked.partner_account_id, client = %revoked.client_account_id, actor = %actor.id, request_id = %actor.request_id, "grant revoked");
                return Ok(revoked);
            }
        }
        Err(Error::Contention { id: id.to_string() })
    }

    /// The revoked versions of `grants` and of their live customer keys,
    /// with audit events, ready to commit.
    pub(in crate::engine) fn revocations(
        &self,
        actor: &Actor,
        grants: &[GrantRecord],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Revocation, Error> {
        let mut out = Revocation {
            expected: grants.to_vec(),
            ..Default::default()
        };
        for grant in grants {
            let revoked = GrantRecord {
                status: GrantStatus::Revoked,
                revoked_at: Some(now),
                status_reason: reason.to_string(),
                ..grant.clone()
            };
            out.audits.push(grant_audit(
                actor,
                now,
                "grant.revoke",
                &revoked,
                reason.to_string(),
            ));
            out.grants.push(revoked);
            let Some(key_id) = &grant.customer_key_id else {
                continue;
            };
            let Some(key) = self.store.get(key_id)? else {
                continue;
            };
            if lifecycle::is_live(key.status, key.expires_at, now) {
                let mut new = key.clone();
                new.status = Status::Revoked;
                new.disabled_reason = None;
                new.status_reason = format!("grant {} revoked", grant.id);
                new.updated_at = now;
                new.scheduled = lifecycle::next_deadlines(&new, &self.policy);
                out.audits.push(audit_entry(
                    actor,
                    now,
                    "credential.revoke",
                    &key.id,
                    &key.account_id,
                    new.status_reason.clone(),
                ));
                out.keys.push((key, new));
            }
        }
        Ok(out)
    }
}
