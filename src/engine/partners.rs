//! Partners and delegation grants: whitelisting an account as a partner,
//! granting it the right to act for a client account, revoking that right
//! (with the customer key issued alongside), and the in-memory directory
//! Verify asks "may this partner act for that account now?".

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Duration, Utc};
use tracing::info;

use super::{Engine, Error, MAX_ATTEMPTS, audit_entry, validate};
use crate::engine::access::{Actor, Scope};
use crate::lifecycle::{
    self, CredentialRecord, GrantOrigin, GrantRecord, GrantStatus, PartnerRecord, Status,
};
use crate::store::{self, AuditEntry, Commit, PartnerChange, Replace};

/// Partners and grants, mirrored from the store after every commit, so the
/// hot path reads no disk for them.
#[derive(Debug, Default)]
pub(super) struct PartnerDirectory {
    inner: RwLock<Directory>,
}

#[derive(Debug, Default)]
struct Directory {
    partners: HashMap<String, PartnerRecord>,
    grants: HashMap<String, GrantRecord>,
    /// (partner, client) -> latest unrevoked grant id.
    pairs: HashMap<(String, String), String>,
}

/// Whether a partner may act for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Delegation {
    /// The acting account is not a registered partner.
    NotPartner,
    /// A partner, with no live grant for the account.
    NoGrant,
    /// This live grant allows it.
    Granted(Box<GrantRecord>),
}

impl PartnerDirectory {
    pub(super) fn load(store: &store::Store) -> Result<Self, Error> {
        let directory = PartnerDirectory::default();
        for partner in store.all_partners()? {
            directory.put_partner(partner);
        }
        for grant in store.all_grants()? {
            directory.put_grant(grant);
        }
        Ok(directory)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Directory> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn partner(&self, account_id: &str) -> Option<PartnerRecord> {
        self.read().partners.get(account_id).cloned()
    }

    pub(super) fn is_partner(&self, account_id: &str) -> bool {
        self.read().partners.contains_key(account_id)
    }

    pub(super) fn put_partner(&self, partner: PartnerRecord) {
        self.write()
            .partners
            .insert(partner.account_id.clone(), partner);
    }

    fn remove_partner(&self, account_id: &str) {
        self.write().partners.remove(account_id);
    }

    pub(super) fn grant(&self, id: &str) -> Option<GrantRecord> {
        self.read().grants.get(id).cloned()
    }

    pub(super) fn put_grant(&self, grant: GrantRecord) {
        let mut dir = self.write();
        let pair = (
            grant.partner_account_id.clone(),
            grant.client_account_id.clone(),
        );
        match grant.status {
            GrantStatus::Revoked => {
                if dir.pairs.get(&pair) == Some(&grant.id) {
                    dir.pairs.remove(&pair);
                }
            }
            GrantStatus::Active | GrantStatus::Expired => {
                // Ids are ULIDs: the newest grant of a pair wins.
                let newer = dir
                    .pairs
                    .get(&pair)
                    .is_none_or(|current| *current <= grant.id);
                if newer {
                    dir.pairs.insert(pair, grant.id.clone());
                }
            }
        }
        dir.grants.insert(grant.id.clone(), grant);
    }

    /// The pair's live grant at `now`, if any.
    pub(super) fn live_grant(
        &self,
        partner: &str,
        client: &str,
        now: DateTime<Utc>,
    ) -> Option<GrantRecord> {
        let dir = self.read();
        dir.pairs
            .get(&(partner.to_string(), client.to_string()))
            .and_then(|id| dir.grants.get(id))
            .filter(|g| g.is_live(now))
            .cloned()
    }

    /// May `partner` act for `client` at `now`?
    pub(super) fn delegation(&self, partner: &str, client: &str, now: DateTime<Utc>) -> Delegation {
        if !self.is_partner(partner) {
            return Delegation::NotPartner;
        }
        match self.live_grant(partner, client, now) {
            Some(grant) => Delegation::Granted(Box::new(grant)),
            None => Delegation::NoGrant,
        }
    }

    /// Grants matching the filters, in id order.
    fn grants_matching(
        &self,
        partner: Option<&str>,
        client: Option<&str>,
        include_ended: bool,
        now: DateTime<Utc>,
    ) -> Vec<GrantRecord> {
        let dir = self.read();
        let mut grants: Vec<GrantRecord> = dir
            .grants
            .values()
            .filter(|g| partner.is_none_or(|p| g.partner_account_id == p))
            .filter(|g| client.is_none_or(|c| g.client_account_id == c))
            .filter(|g| include_ended || g.is_live(now))
            .cloned()
            .collect();
        grants.sort_by(|a, b| a.id.cmp(&b.id));
        grants
    }

    /// Every partner, in account order.
    fn partners_sorted(&self) -> Vec<PartnerRecord> {
        let mut partners: Vec<PartnerRecord> = self.read().partners.values().cloned().collect();
        partners.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        partners
    }
}

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

/// Fields of a partner to change; None leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct PartnerUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New redirect prefixes (replacing).
    pub redirect_prefixes: Option<Vec<String>>,
}

/// `grant_` and a ULID.
pub(super) fn new_grant_id() -> String {
    format!("grant_{}", ulid::Ulid::new())
}

/// Checks an id of the form `<prefix><ULID>`.
pub(super) fn ulid_id(field: &str, prefix: &str, value: &str) -> Result<(), Error> {
    let ok = value
        .strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == 26 && ulid::Ulid::from_string(rest).is_ok());
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "{field} {} is not a {prefix}... id",
            validate::shown_id(value)
        )))
    }
}

fn display_name(value: &str) -> Result<(), Error> {
    if value.chars().count() > validate::MAX_NAME || value.chars().any(char::is_control) {
        return Err(Error::InvalidArgument(format!(
            "display_name must be at most {} printable characters",
            validate::MAX_NAME
        )));
    }
    Ok(())
}

/// Checks and normalises redirect prefixes (each an acceptable redirect URL).
fn redirect_prefixes(values: &[String]) -> Result<Vec<String>, Error> {
    if values.len() > 32 {
        return Err(Error::InvalidArgument(
            "redirect_prefixes holds more than 32 entries".to_string(),
        ));
    }
    values
        .iter()
        .map(|p| lifecycle::check_redirect_url("redirect_prefixes", p, &[]))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::InvalidArgument)
}

/// A page of a sorted listing after the token's position.
pub(super) fn page_of<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    tag: &str,
    page_size: i64,
    page_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let size = validate::page_size(page_size)?;
    let after = page_after(page_token, tag)?;
    let rest = items
        .into_iter()
        .filter(|item| after.as_deref().is_none_or(|a| key(item) > a))
        .map(Ok);
    first_page(rest, &key, tag, size)
}

/// The position a page token (made by [`first_page`] with `tag`) starts after.
pub(super) fn page_after(page_token: Option<&str>, tag: &str) -> Result<Option<String>, Error> {
    page_token
        .map(|t| validate::decode_page_token(t, tag))
        .transpose()
}

/// The first `size` of `items` (which start past the previous page), and
/// the token of the next page when more follow.
pub(super) fn first_page<T>(
    items: impl Iterator<Item = Result<T, Error>>,
    key: impl Fn(&T) -> &str,
    tag: &str,
    size: usize,
) -> Result<(Vec<T>, Option<String>), Error> {
    let mut page = items.take(size + 1).collect::<Result<Vec<T>, Error>>()?;
    let next = if page.len() > size {
        page.truncate(size);
        page.last()
            .map(|last| validate::page_token(&format!("{tag}{}", key(last))))
    } else {
        None
    };
    Ok((page, next))
}

impl Engine {
    /// Whitelists an account as a partner (a global key with `partners:write`).
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `AlreadyExists`, or a storage failure.
    pub async fn register_partner(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        prefixes: &[String],
    ) -> Result<PartnerRecord, Error> {
        validate::account_id("account_id", account_id)?;
        self.authorize_global(actor, "partner.register", account_id)?;
        display_name(name)?;
        let redirect_prefixes = redirect_prefixes(prefixes)?;
        let now = self.clock.now();
        self.ensure_account(actor, account_id, now).await?;
        let partner = PartnerRecord {
            account_id: account_id.to_string(),
            display_name: if name.is_empty() {
                account_id.to_string()
            } else {
                name.to_string()
            },
            redirect_prefixes,
            created_at: now,
            updated_at: now,
        };
        let change = PartnerChange {
            partner: Some(Replace {
                expected: None,
                new: &partner,
            }),
            audits: vec![audit_entry(
                actor,
                now,
                "partner.register",
                "",
                account_id,
                String::new(),
            )],
            ..Default::default()
        };
        {
            let _partners = self.partner_lock.lock().await;
            if self.store.commit_partners(&change)? == Commit::Conflict {
                if let Some(stored) = self.store.get_partner(account_id)? {
                    self.partners.put_partner(stored);
                }
                return Err(Error::AlreadyExists(format!(
                    "account {account_id} is already a registered partner"
                )));
            }
            self.partners.put_partner(partner.clone());
        }
        self.store.flush().await?;
        info!(account_id, actor = %actor.id, request_id = %actor.request_id, "partner registered");
        Ok(partner)
    }

    /// Only a global key with `partners:write` may whitelist and grant.
    fn authorize_global(
        &self,
        actor: &Actor,
        action: &'static str,
        account: &str,
    ) -> Result<(), Error> {
        let decision = match actor.account() {
            Some(own) => Err(crate::engine::access::Denied(format!(
                "admin key {} is scoped to account {own}; {action} needs a global key",
                actor.id
            ))),
            None => actor.allows(Scope::PartnersWrite, None),
        };
        self.authorize(actor, action, "", account, decision)
    }

    /// Reads one partner.
    ///
    /// # Errors
    /// `InvalidArgument`, `PermissionDenied`, or `NoSuch` when the account is not a partner.
    pub fn get_partner(&self, actor: &Actor, account_id: &str) -> Result<PartnerRecord, Error> {
        validate::account_id("account_id", account_id)?;
        self.authorize(
            actor,
            "partner.get",
            "",
            account_id,
            actor.allows(Scope::PartnersRead, Some(account_id)),
        )?;
        self.partners
            .partner(account_id)
            .ok_or_else(|| not_a_partner(account_id))
    }

    /// Lists partners in account order (an account-scoped key: its own).
    ///
    /// # Errors
    /// `PermissionDenied` or `InvalidArgument` for a bad page.
    pub fn list_partners(
        &self,
        actor: &Actor,
        page_size: i64,
        page_token: Option<&str>,
    ) -> Result<(Vec<PartnerRecord>, Option<String>), Error> {
        self.authorize(
            actor,
            "partner.list",
            "",
            actor.account().unwrap_or_default(),
            actor.allows(Scope::PartnersRead, actor.account()),
        )?;
        let partners: Vec<PartnerRecord> = self
            .partners
            .partners_sorted()
            .into_iter()
            .filter(|p| actor.account().is_none_or(|own| p.account_id == own))
            .collect();
        page_of(
            partners,
            |p| p.account_id.as_str(),
            "partner:",
            page_size,
            page_token,
        )
    }

    /// Changes a partner's display name or redirect prefixes.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `NotFound`, or a storage failure.
    pub async fn update_partner(
        &self,
        actor: &Actor,
        account_id: &str,
        update: PartnerUpdate,
    ) -> Result<PartnerRecord, Error> {
        validate::account_id("account_id", account_id)?;
        self.authorize_global(actor, "partner.update", account_id)?;
        if let Some(name) = &update.display_name {
            display_name(name)?;
        }
        let prefixes = update
            .redirect_prefixes
            .as_deref()
            .map(redirect_prefixes)
            .transpose()?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self.stored_partner(account_id)?;
            let now = self.clock.now();
            let mut new = current.clone();
            let mut changed = Vec::new();
            if let Some(name) = &update.display_name {
                new.display_name = name.clone();
                changed.push("display_name");
            }
            if let Some(prefixes) = &prefixes {
                new.redirect_prefixes = prefixes.clone();
                changed.push("redirect_prefixes");
            }
            new.updated_at = now;
            let change = PartnerChange {
                partner: Some(Replace {
                    expected: Some(&current),
                    new: &new,
                }),
                audits: vec![audit_entry(
                    actor,
                    now,
                    "partner.update",
                    "",
                    account_id,
                    format!("changed: {}", changed.join(" ")),
                )],
                ..Default::default()
            };
            let done = {
                let _partners = self.partner_lock.lock().await;
                let done = self.store.commit_partners(&change)? == Commit::Done;
                if done {
                    self.partners.put_partner(new.clone());
                }
                done
            };
            if done {
                self.store.flush().await?;
                info!(account_id, actor = %actor.id, request_id = %actor.request_id, "partner updated");
                return Ok(new);
            }
        }
        Err(Error::Contention {
            id: account_id.to_string(),
        })
    }

    /// Takes a partner off the whitelist and revokes all its grants (and
    /// their customer keys) in the same transaction. Returns how many grants
    /// were revoked.
    ///
    /// # Errors
    /// `PermissionDenied`, `NotFound`, or a storage failure.
    pub async fn remove_partner(
        &self,
        actor: &Actor,
        account_id: &str,
        reason: &str,
    ) -> Result<u32, Error> {
        validate::account_id("account_id", account_id)?;
        validate::reason(reason)?;
        self.authorize_global(actor, "partner.remove", account_id)?;
        // Under the partner lock no grant of this partner can be created
        // between listing its grants and removing it.
        let _partners = self.partner_lock.lock().await;
        for _ in 0..MAX_ATTEMPTS {
            let current = match self.stored_partner(account_id) {
                Ok(current) => current,
                Err(e) => {
                    // A removal whose flush failed is committed: make the
                    // directory agree before answering.
                    self.partners.remove_partner(account_id);
                    return Err(e);
                }
            };
            let now = self.clock.now();
            let grants: Vec<GrantRecord> = self
                .partners
                .grants_matching(Some(account_id), None, true, now)
                .into_iter()
                .filter(|g| g.status != GrantStatus::Revoked)
                .collect();
            let why = if reason.is_empty() {
                "partner removed"
            } else {
                reason
            };
            let revocation = self.revocations(actor, &grants, why, now)?;
            let mut change = revocation.change();
            change.removed_partner = Some(&current);
            change.audits.push(audit_entry(
                actor,
                now,
                "partner.remove",
                "",
                account_id,
                format!("{} grants revoked; {reason}", grants.len()),
            ));
            if self.store.commit_partners(&change)? == Commit::Done {
                self.partners.remove_partner(account_id);
                for grant in revocation.grants {
                    self.partners.put_grant(grant);
                }
                self.store.flush().await?;
                info!(account_id, grants = grants.len(), actor = %actor.id, request_id = %actor.request_id, "partner removed");
                return Ok(u32::try_from(grants.len()).unwrap_or(u32::MAX));
            }
        }
        Err(Error::Contention {
            id: account_id.to_string(),
        })
    }

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
    pub(super) fn grant_expiry(
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
    pub(super) fn check_pair(
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
    fn revocations(
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

/// Grants and customer keys to revoke together.
#[derive(Default)]
struct Revocation {
    expected: Vec<GrantRecord>,
    grants: Vec<GrantRecord>,
    keys: Vec<(CredentialRecord, CredentialRecord)>,
    audits: Vec<AuditEntry>,
}

impl Revocation {
    fn change(&self) -> PartnerChange<'_> {
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
pub(super) fn grant_audit(
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
    /// The stored partner record, or `NoSuch`.
    fn stored_partner(&self, account_id: &str) -> Result<PartnerRecord, Error> {
        self.store
            .get_partner(account_id)?
            .ok_or_else(|| not_a_partner(account_id))
    }
}

fn not_a_partner(account_id: &str) -> Error {
    Error::NoSuch(format!("account {account_id} is not a registered partner"))
}

impl Engine {
    /// A partner's display name, for the consent dialog.
    pub fn partner_display_name(&self, account_id: &str) -> Option<String> {
        self.partners.partner(account_id).map(|p| p.display_name)
    }
}

impl Engine {
    /// Queues the "expires soon" and "expired" notices of expiring grants
    /// that fell due, once each (the outbox drops a notice it has seen), to
    /// the contacts of both accounts. The sweep calls this; its cost grows
    /// with the number of grants that have an expiry, which are few.
    ///
    /// # Errors
    /// A storage failure; what was queued stays queued.
    pub async fn queue_grant_notices(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let warning = self.policy.expiry_warning_before;
        let actor = Actor::system();
        let expiring: Vec<GrantRecord> = self
            .partners
            .read()
            .grants
            .values()
            .filter(|g| g.status == GrantStatus::Active)
            .filter(|g| g.expires_at.is_some_and(|t| now >= warning.before(t)))
            .cloned()
            .collect();
        let mut queued = 0;
        for grant in expiring {
            let Some(expires_at) = grant.expires_at else {
                continue;
            };
            let mut due = vec![(
                lifecycle::NoticeKind::GrantExpiringSoon,
                warning.before(expires_at),
                "lifecycle.grant_expiry_warning",
            )];
            if now >= expires_at {
                due.push((
                    lifecycle::NoticeKind::GrantExpired,
                    expires_at,
                    "lifecycle.grant_expire",
                ));
            }
            let recipients =
                self.contacts_of(&[&grant.client_account_id, &grant.partner_account_id]);
            for (kind, deadline, action) in due {
                let notice = store::OutboxNotice {
                    kind,
                    deadline,
                    credential_id: grant.id.clone(),
                    account_id: grant.client_account_id.clone(),
                    name: format!(
                        "{} acts for {}",
                        grant.partner_account_id, grant.client_account_id
                    ),
                    credential_kind: lifecycle::Kind::ApiKey,
                    environment: lifecycle::Environment::Live,
                    secret_hint: "-".to_string(),
                    expires_at,
                    delete_at: None,
                    recipients: recipients.clone(),
                    queued_at: now,
                };
                let audit = grant_audit(&actor, now, action, &grant, String::new());
                if self.store.offer_notice(&notice, &audit)? {
                    queued += 1;
                    info!(grant_id = %grant.id, partner = %grant.partner_account_id, client = %grant.client_account_id, notice = ?kind, "grant notice queued");
                }
            }
        }
        if queued > 0 {
            self.store.flush().await?;
        }
        Ok(queued)
    }

    /// The contact addresses of some accounts, each once.
    fn contacts_of(&self, accounts: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for account in accounts {
            let Some(state) = self.accounts.get(account) else {
                continue;
            };
            for contact in &state.record.contact_emails {
                if !out.iter().any(|c| c.eq_ignore_ascii_case(contact)) {
                    out.push(contact.clone());
                }
            }
        }
        out
    }
}
