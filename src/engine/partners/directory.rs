//! The in-memory directory of partners and grants, mirrored from the store
//! after every commit, so Verify asks "may this partner act for that account
//! now?" without reading disk.

use std::collections::HashMap;
use std::sync::RwLock;

use super::*;

/// Partners and grants, mirrored from the store after every commit, so the
/// hot path reads no disk for them.
#[derive(Debug, Default)]
pub(in crate::engine) struct PartnerDirectory {
    inner: RwLock<Directory>,
}

#[derive(Debug, Default)]
pub(in crate::engine) struct Directory {
    pub(in crate::engine) partners: HashMap<String, PartnerRecord>,
    pub(in crate::engine) grants: HashMap<String, GrantRecord>,
    /// (partner, client) -> latest unrevoked grant id.
    pub(in crate::engine) pairs: HashMap<(String, String), String>,
}

/// Whether a partner may act for an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::engine) enum Delegation {
    /// The acting account is not a registered partner.
    NotPartner,
    /// A partner, with no live grant for the account.
    NoGrant,
    /// This live grant allows it.
    Granted(Box<GrantRecord>),
}

impl PartnerDirectory {
    pub(in crate::engine) fn load(store: &store::Store) -> Result<Self, Error> {
        let directory = PartnerDirectory::default();
        for partner in store.all_partners()? {
            directory.put_partner(partner);
        }
        for grant in store.all_grants()? {
            directory.put_grant(grant);
        }
        Ok(directory)
    }

    /// Reads every partner and grant again (another node changed some).
    #[cfg(feature = "etcd")]
    pub(in crate::engine) fn reload(&self, store: &store::Store) -> Result<(), Error> {
        let fresh = PartnerDirectory::load(store)?;
        let fresh = fresh
            .inner
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *self.write() = fresh;
        Ok(())
    }

    pub(in crate::engine) fn read(&self) -> std::sync::RwLockReadGuard<'_, Directory> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(in crate::engine) fn write(&self) -> std::sync::RwLockWriteGuard<'_, Directory> {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(in crate::engine) fn partner(&self, account_id: &str) -> Option<PartnerRecord> {
        self.read().partners.get(account_id).cloned()
    }

    pub(in crate::engine) fn is_partner(&self, account_id: &str) -> bool {
        self.read().partners.contains_key(account_id)
    }

    pub(in crate::engine) fn put_partner(&self, partner: PartnerRecord) {
        self.write()
            .partners
            .insert(partner.account_id.clone(), partner);
    }

    pub(in crate::engine) fn remove_partner(&self, account_id: &str) {
        self.write().partners.remove(account_id);
    }

    pub(in crate::engine) fn grant(&self, id: &str) -> Option<GrantRecord> {
        self.read().grants.get(id).cloned()
    }

    pub(in crate::engine) fn put_grant(&self, grant: GrantRecord) {
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
                // The newest grant of a pair wins: by creation time, then
                // id (two ULIDs made in the same millisecond sort at random).
                let newer = dir
                    .pairs
                    .get(&pair)
                    .and_then(|current| dir.grants.get(current))
                    .is_none_or(|current| {
                        (current.created_at, &current.id) <= (grant.created_at, &grant.id)
                    });
                if newer {
                    dir.pairs.insert(pair, grant.id.clone());
                }
            }
        }
        dir.grants.insert(grant.id.clone(), grant);
    }

    /// The pair's live grant at `now`, if any.
    pub(in crate::engine) fn live_grant(
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
    pub(in crate::engine) fn delegation(
        &self,
        partner: &str,
        client: &str,
        now: DateTime<Utc>,
    ) -> Delegation {
        if !self.is_partner(partner) {
            return Delegation::NotPartner;
        }
        match self.live_grant(partner, client, now) {
            Some(grant) => Delegation::Granted(Box::new(grant)),
            None => Delegation::NoGrant,
        }
    }

    /// Grants matching the filters, in id order.
    pub(in crate::engine) fn grants_matching(
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
    pub(in crate::engine) fn partners_sorted(&self) -> Vec<PartnerRecord> {
        let mut partners: Vec<PartnerRecord> = self.read().partners.values().cloned().collect();
        partners.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        partners
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn grant(id: &str, minute: u32) -> GrantRecord {
        GrantRecord {
            id: id.to_string(),
            partner_account_id: "MYPRODUCT".to_string(),
            client_account_id: "LAGERMAN".to_string(),
            scopes: Vec::new(),
            status: GrantStatus::Active,
            origin: GrantOrigin::Admin,
            consent_id: None,
            customer_key_id: None,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, minute, 0).unwrap(),
            expires_at: None,
            revoked_at: None,
            status_reason: String::new(),
        }
    }

    /// The pair follows the grant made last, whatever order the ids of two
    /// grants made in one millisecond sort in, and whichever is put first.
    #[test]
    fn the_newest_grant_of_a_pair_wins_by_creation_time() {
        for order in [[0, 1], [1, 0]] {
            let grants = [grant("grant_B", 0), grant("grant_A", 5)];
            let directory = PartnerDirectory::default();
            for i in order {
                directory.put_grant(grants[i].clone());
            }
            let pair = ("MYPRODUCT".to_string(), "LAGERMAN".to_string());
            assert_eq!(
                directory.read().pairs.get(&pair).map(String::as_str),
                Some("grant_A"),
                "put in order {order:?}"
            );
        }
    }
}
