//! Partners and delegation grants: whitelisting an account as a partner,
//! granting it the right to act for a client account, revoking that right
//! (with the customer key issued alongside), and the in-memory directory
//! Verify asks "may this partner act for that account now?". This file
//! holds the partner registry and the helpers the partner use cases share;
//! `directory` the in-memory directory, `grants` the grants, `notices` the
//! notices about grants, `client_ids` the client ids, `consents` the consent
//! flow.

use chrono::{DateTime, Duration, Utc};
use tracing::info;

use super::{Engine, Error, MAX_ATTEMPTS, audit_entry, validate};
use crate::engine::access::{Actor, Scope};
use crate::lifecycle::{
    self, CredentialRecord, GrantOrigin, GrantRecord, GrantStatus, PartnerRecord, Status,
};
use crate::store::{self, AuditEntry, Commit, PartnerChange, Replace};

mod client_ids;
mod consents;
mod directory;
mod grants;
mod notices;

pub use client_ids::NewClientId;
pub(super) use client_ids::client_id_arg;
pub(super) use consents::DEFAULT_CONSENT_TTL;
pub use consents::{Approval, NewConsent};
pub(super) use directory::{Delegation, PartnerDirectory};
pub use grants::{GrantQuery, NewGrant};
pub(super) use grants::{grant_audit, new_grant_id};

/// Fields of a partner to change; None leaves one as it is.
#[derive(Debug, Clone, Default)]
pub struct PartnerUpdate {
    /// New display name.
    pub display_name: Option<String>,
    /// New redirect prefixes (replacing).
    pub redirect_prefixes: Option<Vec<String>>,
    /// New mTLS client identities (replacing; empty: none required).
    pub mtls_identities: Option<Vec<String>>,
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
/// At most 16 identities, each 1 to 512 printable ASCII characters.
fn mtls_identities(values: &[String]) -> Result<(), Error> {
    if values.len() > 16 {
        return Err(Error::InvalidArgument(
            "mtls_identities holds more than 16 entries".to_string(),
        ));
    }
    let bad = values.iter().any(|v| {
        v.is_empty() || v.len() > 512 || !v.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
    });
    if bad {
        return Err(Error::InvalidArgument(
            "each of mtls_identities must be 1 to 512 printable ASCII characters".to_string(),
        ));
    }
    Ok(())
}

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
            mtls_identities: Vec::new(),
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
        if let Some(identities) = &update.mtls_identities {
            mtls_identities(identities)?;
        }
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
            if let Some(identities) = &update.mtls_identities {
                new.mtls_identities = identities.clone();
                changed.push("mtls_identities");
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
