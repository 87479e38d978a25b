//! The partner trees and their one transaction.
//!
//! Trees: `client_ids` (id -> client id), `client_ids_by_account` (account,
//! id -> ()), `partners` (account -> partner), `grants` (id -> grant),
//! `grant_pairs` (partner, client -> id of the pair's latest unrevoked
//! grant), `consents` (id -> consent request) and `consent_expiry` (expiry,
//! id -> () for pending requests). [`Store::commit_partners`] writes any
//! mix of them together with credential records (a consent's customer key, a
//! grant's revoked key) and audit events, all or nothing.

use chrono::Duration;
use prost::Message;
use sled::transaction::ConflictableTransactionError;

use super::audit::append_audit_rows;
use super::backend::Backend;
use super::codec::{self, micros, time};
use super::credentials::{Abort, CredentialTrees, CredentialWrite, settle};
use super::txn::{TxResult, TxTree};
use super::{AuditEntry, Commit, Error, Store};
use crate::lifecycle::{
    ClientIdRecord, ClientIdStatus, ConsentRecord, ConsentStatus, CredentialRecord, Environment,
    GrantOrigin, GrantRecord, GrantStatus, PartnerRecord,
};

#[derive(Clone, PartialEq, prost::Message)]
struct StoredClientId {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    account_id: String,
    /// 1 live, 2 test.
    #[prost(int32, tag = "3")]
    environment: i32,
    #[prost(string, tag = "4")]
    name: String,
    #[prost(string, tag = "5")]
    description: String,
    /// 1 active, 2 revoked.
    #[prost(int32, tag = "6")]
    status: i32,
    #[prost(string, tag = "7")]
    status_reason: String,
    #[prost(int64, tag = "8")]
    created_at_us: i64,
    #[prost(int64, optional, tag = "9")]
    revoked_at_us: Option<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StoredPartner {
    #[prost(string, tag = "1")]
    account_id: String,
    #[prost(string, tag = "2")]
    display_name: String,
    #[prost(string, repeated, tag = "3")]
    redirect_prefixes: Vec<String>,
    #[prost(string, repeated, tag = "6")]
    mtls_identities: Vec<String>,
    #[prost(int64, tag = "4")]
    created_at_us: i64,
    #[prost(int64, tag = "5")]
    updated_at_us: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StoredGrant {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    partner_account_id: String,
    #[prost(string, tag = "3")]
    client_account_id: String,
    #[prost(string, repeated, tag = "4")]
    scopes: Vec<String>,
    /// 1 active, 3 revoked (expiry is computed, never stored).
    #[prost(int32, tag = "5")]
    status: i32,
    /// 1 admin, 2 consent.
    #[prost(int32, tag = "6")]
    origin: i32,
    #[prost(string, optional, tag = "7")]
    consent_id: Option<String>,
    #[prost(string, optional, tag = "8")]
    customer_key_id: Option<String>,
    #[prost(int64, tag = "9")]
    created_at_us: i64,
    #[prost(int64, optional, tag = "10")]
    expires_at_us: Option<i64>,
    #[prost(int64, optional, tag = "11")]
    revoked_at_us: Option<i64>,
    #[prost(string, tag = "12")]
    status_reason: String,
}

#[derive(Clone, PartialEq, prost::Message)]
struct StoredConsent {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    partner_account_id: String,
    #[prost(string, tag = "3")]
    customer_account_id: String,
    #[prost(string, tag = "4")]
    redirect_url: String,
    #[prost(string, repeated, tag = "5")]
    scopes: Vec<String>,
    #[prost(int64, optional, tag = "6")]
    lifetime_s: Option<i64>,
    /// 1 live, 2 test.
    #[prost(int32, tag = "7")]
    environment: i32,
    /// 1 pending, 2 approved, 3 denied, 4 expired.
    #[prost(int32, tag = "8")]
    status: i32,
    #[prost(int64, tag = "9")]
    created_at_us: i64,
    #[prost(int64, tag = "10")]
    expires_at_us: i64,
    #[prost(int64, optional, tag = "11")]
    answered_at_us: Option<i64>,
    #[prost(string, optional, tag = "12")]
    grant_id: Option<String>,
    #[prost(string, tag = "13")]
    status_reason: String,
}

fn env_code(environment: Environment) -> i32 {
    match environment {
        Environment::Live => 1,
        Environment::Test => 2,
    }
}

fn env_from(code: i32) -> Result<Environment, Error> {
    match code {
        1 => Ok(Environment::Live),
        2 => Ok(Environment::Test),
        _ => Err(Error::Corrupt("unknown environment")),
    }
}

fn encode_client_id(c: &ClientIdRecord) -> Vec<u8> {
    StoredClientId {
        id: c.id.clone(),
        account_id: c.account_id.clone(),
        environment: env_code(c.environment),
        name: c.name.clone(),
        description: c.description.clone(),
        status: match c.status {
            ClientIdStatus::Active => 1,
            ClientIdStatus::Revoked => 2,
        },
        status_reason: c.status_reason.clone(),
        created_at_us: micros(c.created_at),
        revoked_at_us: c.revoked_at.map(micros),
    }
    .encode_to_vec()
}

fn decode_client_id(bytes: &[u8]) -> Result<ClientIdRecord, Error> {
    let s = StoredClientId::decode(bytes).map_err(|_| Error::Corrupt("client id"))?;
    Ok(ClientIdRecord {
        environment: env_from(s.environment)?,
        status: match s.status {
            1 => ClientIdStatus::Active,
            2 => ClientIdStatus::Revoked,
            _ => return Err(Error::Corrupt("unknown client id status")),
        },
        created_at: time(s.created_at_us)?,
        revoked_at: s.revoked_at_us.map(time).transpose()?,
        id: s.id,
        account_id: s.account_id,
        name: s.name,
        description: s.description,
        status_reason: s.status_reason,
    })
}

fn encode_partner(p: &PartnerRecord) -> Vec<u8> {
    StoredPartner {
        account_id: p.account_id.clone(),
        display_name: p.display_name.clone(),
        redirect_prefixes: p.redirect_prefixes.clone(),
        mtls_identities: p.mtls_identities.clone(),
        created_at_us: micros(p.created_at),
        updated_at_us: micros(p.updated_at),
    }
    .encode_to_vec()
}

fn decode_partner(bytes: &[u8]) -> Result<PartnerRecord, Error> {
    let s = StoredPartner::decode(bytes).map_err(|_| Error::Corrupt("partner"))?;
    Ok(PartnerRecord {
        created_at: time(s.created_at_us)?,
        updated_at: time(s.updated_at_us)?,
        account_id: s.account_id,
        display_name: s.display_name,
        redirect_prefixes: s.redirect_prefixes,
        mtls_identities: s.mtls_identities,
    })
}

fn encode_grant(g: &GrantRecord) -> Vec<u8> {
    StoredGrant {
        id: g.id.clone(),
        partner_account_id: g.partner_account_id.clone(),
        client_account_id: g.client_account_id.clone(),
        scopes: g.scopes.clone(),
        status: match g.status {
            GrantStatus::Active | GrantStatus::Expired => 1,
            GrantStatus::Revoked => 3,
        },
        origin: match g.origin {
            GrantOrigin::Admin => 1,
            GrantOrigin::Consent => 2,
        },
        consent_id: g.consent_id.clone(),
        customer_key_id: g.customer_key_id.clone(),
        created_at_us: micros(g.created_at),
        expires_at_us: g.expires_at.map(micros),
        revoked_at_us: g.revoked_at.map(micros),
        status_reason: g.status_reason.clone(),
    }
    .encode_to_vec()
}

fn decode_grant(bytes: &[u8]) -> Result<GrantRecord, Error> {
    let s = StoredGrant::decode(bytes).map_err(|_| Error::Corrupt("grant"))?;
    Ok(GrantRecord {
        status: match s.status {
            1 => GrantStatus::Active,
            3 => GrantStatus::Revoked,
            _ => return Err(Error::Corrupt("unknown grant status")),
        },
        origin: match s.origin {
            1 => GrantOrigin::Admin,
            2 => GrantOrigin::Consent,
            _ => return Err(Error::Corrupt("unknown grant origin")),
        },
        created_at: time(s.created_at_us)?,
        expires_at: s.expires_at_us.map(time).transpose()?,
        revoked_at: s.revoked_at_us.map(time).transpose()?,
        id: s.id,
        partner_account_id: s.partner_account_id,
        client_account_id: s.client_account_id,
        scopes: s.scopes,
        consent_id: s.consent_id,
        customer_key_id: s.customer_key_id,
        status_reason: s.status_reason,
    })
}

fn encode_consent(c: &ConsentRecord) -> Vec<u8> {
    StoredConsent {
        id: c.id.clone(),
        partner_account_id: c.partner_account_id.clone(),
        customer_account_id: c.customer_account_id.clone(),
        redirect_url: c.redirect_url.clone(),
        scopes: c.scopes.clone(),
        lifetime_s: c.lifetime.map(|d| d.num_seconds()),
        environment: env_code(c.environment),
        status: match c.status {
            ConsentStatus::Pending => 1,
            ConsentStatus::Approved => 2,
            ConsentStatus::Denied => 3,
            ConsentStatus::Expired => 4,
        },
        created_at_us: micros(c.created_at),
        expires_at_us: micros(c.expires_at),
        answered_at_us: c.answered_at.map(micros),
        grant_id: c.grant_id.clone(),
        status_reason: c.status_reason.clone(),
    }
    .encode_to_vec()
}

fn decode_consent(bytes: &[u8]) -> Result<ConsentRecord, Error> {
    let s = StoredConsent::decode(bytes).map_err(|_| Error::Corrupt("consent"))?;
    Ok(ConsentRecord {
        lifetime: s
            .lifetime_s
            .map(|secs| Duration::try_seconds(secs).ok_or(Error::Corrupt("consent lifetime")))
            .transpose()?,
        environment: env_from(s.environment)?,
        status: match s.status {
            1 => ConsentStatus::Pending,
            2 => ConsentStatus::Approved,
            3 => ConsentStatus::Denied,
            4 => ConsentStatus::Expired,
            _ => return Err(Error::Corrupt("unknown consent status")),
        },
        created_at: time(s.created_at_us)?,
        expires_at: time(s.expires_at_us)?,
        answered_at: s.answered_at_us.map(time).transpose()?,
        id: s.id,
        partner_account_id: s.partner_account_id,
        customer_account_id: s.customer_account_id,
        redirect_url: s.redirect_url,
        scopes: s.scopes,
        grant_id: s.grant_id,
        status_reason: s.status_reason,
    })
}

/// The stored bytes a replacement expects and writes.
fn encoded<T>(r: &Replace<'_, T>, enc: fn(&T) -> Vec<u8>) -> (Option<Vec<u8>>, Vec<u8>) {
    (r.expected.map(enc), enc(r.new))
}

fn pair_key(partner: &str, client: &str) -> Vec<u8> {
    codec::account_key(partner, client)
}

fn expiry_key(consent: &ConsentRecord) -> Vec<u8> {
    let mut key = codec::time_key(consent.expires_at).to_vec();
    key.extend_from_slice(consent.id.as_bytes());
    key
}

/// A replacement of one stored thing: what the change was computed from
/// (None: it must not exist yet) and what to store.
pub struct Replace<'a, T> {
    /// The stored value the change was computed from.
    pub expected: Option<&'a T>,
    /// The value to store.
    pub new: &'a T,
}

/// Everything one partner operation writes, in one transaction.
#[derive(Default)]
pub struct PartnerChange<'a> {
    /// A client id created or revoked.
    pub client_id: Option<Replace<'a, ClientIdRecord>>,
    /// A partner registered or updated; `removed_partner` deletes one.
    pub partner: Option<Replace<'a, PartnerRecord>>,
    /// A partner taken off the whitelist (the stored record expected).
    pub removed_partner: Option<&'a PartnerRecord>,
    /// Grants created or revoked.
    pub grants: Vec<Replace<'a, GrantRecord>>,
    /// A consent request created or answered.
    pub consent: Option<Replace<'a, ConsentRecord>>,
    /// Credential records created or changed (expected, new).
    pub credentials: Vec<(Option<&'a CredentialRecord>, &'a CredentialRecord)>,
    /// The audit events of the change.
    pub audits: Vec<AuditEntry>,
    /// An account's quota guard as read before its live credentials were
    /// counted (for a customer key the change creates): moved on, and the
    /// change a conflict if it moved meanwhile (see `Store::create`).
    pub quota_guard: Option<(&'a str, u64)>,
}

/// Fails the transaction unless `tree[key]` holds `expected`.
fn expect(tree: &dyn TxTree, key: &[u8], expected: Option<&[u8]>) -> TxResult<(), Abort> {
    if tree.get(key)?.as_deref() == expected {
        Ok(())
    } else {
        Err(ConflictableTransactionError::Abort(Abort::Conflict))
    }
}

impl Store {
    /// Writes `change` in one transaction. [`Commit::Conflict`] (and nothing
    /// written) if any stored value is not the one the change expected.
    ///
    /// Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled errors; [`Error::DuplicateSecret`] for a colliding key hash.
    pub fn commit_partners(&self, change: &PartnerChange<'_>) -> Result<Commit, Error> {
        let client_id = change
            .client_id
            .as_ref()
            .map(|r| encoded(r, encode_client_id));
        let partner = change.partner.as_ref().map(|r| encoded(r, encode_partner));
        let removed_partner = change.removed_partner.map(encode_partner);
        let grants: Vec<_> = change
            .grants
            .iter()
            .map(|r| encoded(r, encode_grant))
            .collect();
        let consent = change.consent.as_ref().map(|r| encoded(r, encode_consent));
        let credentials: Vec<CredentialWrite<'_>> = change
            .credentials
            .iter()
            .filter_map(|(expected, new)| CredentialWrite::prepare(*expected, Some(new)))
            .collect();
        let audit_rows: Vec<Vec<u8>> = change.audits.iter().map(codec::encode_audit).collect();
        let trees = [
            &self.credentials,
            &self.secret_index,
            &self.by_account,
            &self.deadlines,
            &self.audit,
            &self.client_ids,
            &self.client_ids_by_account,
            &self.partners,
            &self.grants,
            &self.grant_pairs,
            &self.consents,
            &self.consent_expiry,
            &self.quota_guards,
        ];
        let result = self.transact(trees, |t| {
            let [
                credentials_t,
                secret_index,
                by_account,
                deadlines,
                audit,
                client_ids,
                client_ids_by_account,
                partners,
                grants_t,
                grant_pairs,
                consents,
                consent_expiry,
                guards,
            ] = *t;
            if let Some((account, expected)) = change.quota_guard {
                super::credentials::move_guard(guards, account.as_bytes(), expected)?;
            }
            if let (Some(r), Some((old, new))) = (&change.client_id, &client_id) {
                let id = r.new.id.as_bytes();
                expect(client_ids, id, old.as_deref())?;
                client_ids.insert(id, new)?;
                client_ids_by_account
                    .insert(&codec::account_key(&r.new.account_id, &r.new.id), &[])?;
            }
            if let (Some(r), Some((old, new))) = (&change.partner, &partner) {
                let id = r.new.account_id.as_bytes();
                expect(partners, id, old.as_deref())?;
                partners.insert(id, new)?;
            }
            if let (Some(p), Some(old)) = (change.removed_partner, &removed_partner) {
                let id = p.account_id.as_bytes();
                expect(partners, id, Some(old))?;
                partners.remove(id)?;
            }
            for (r, (old, new)) in change.grants.iter().zip(&grants) {
                let id = r.new.id.as_bytes();
                expect(grants_t, id, old.as_deref())?;
                grants_t.insert(id, new)?;
                let pair = pair_key(&r.new.partner_account_id, &r.new.client_account_id);
                match r.new.status {
                    GrantStatus::Active | GrantStatus::Expired => {
                        grant_pairs.insert(&pair, id)?;
                    }
                    GrantStatus::Revoked => {
                        if grant_pairs.get(&pair)?.as_deref() == Some(id) {
                            grant_pairs.remove(&pair)?;
                        }
                    }
                }
            }
            if let (Some(r), Some((old, new))) = (&change.consent, &consent) {
                let id = r.new.id.as_bytes();
                expect(consents, id, old.as_deref())?;
                consents.insert(id, new)?;
                if let Some(previous) = r.expected {
                    consent_expiry.remove(&expiry_key(previous))?;
                }
                if r.new.status == ConsentStatus::Pending {
                    consent_expiry.insert(&expiry_key(r.new), &[])?;
                }
            }
            let credential_trees = CredentialTrees {
                credentials: credentials_t,
                secret_index,
                by_account,
                deadlines,
            };
            for write in &credentials {
                write.apply(&credential_trees)?;
            }
            append_audit_rows(audit, &audit_rows)?;
            Ok(())
        });
        self.verify_cache
            .invalidate(credentials.iter().flat_map(CredentialWrite::touched));
        let commit = settle(result?)?;
        if commit == Commit::Done {
            for (expected, new) in &change.credentials {
                self.journal_change(*expected, Some(new))?;
            }
        }
        Ok(commit)
    }

    /// Reads one client id.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_client_id(&self, id: &str) -> Result<Option<ClientIdRecord>, Error> {
        self.client_ids
            .get(id.as_bytes())?
            .map(|raw| decode_client_id(&raw))
            .transpose()
    }

    /// An account's client ids in id order after `after_id`; lazy.
    pub fn scan_client_ids<'a>(
        &'a self,
        account_id: &str,
        after_id: Option<&str>,
    ) -> impl Iterator<Item = Result<ClientIdRecord, Error>> + 'a {
        let prefix = codec::account_key(account_id, "");
        let start = match after_id {
            Some(id) => {
                let mut key = codec::account_key(account_id, id);
                key.push(0);
                key
            }
            None => prefix.clone(),
        };
        self.client_ids_by_account
            .range(start..)
            .take_while(move |item| item.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix)))
            .map(move |item| {
                let (key, _) = item?;
                let id = std::str::from_utf8(&key[prefix_len(&key)..])
                    .map_err(|_| Error::Corrupt("client id index key"))?;
                self.get_client_id(id)?
                    .ok_or(Error::Corrupt("client id index without its record"))
            })
    }

    /// Reads one partner.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_partner(&self, account_id: &str) -> Result<Option<PartnerRecord>, Error> {
        self.partners
            .get(account_id.as_bytes())?
            .map(|raw| decode_partner(&raw))
            .transpose()
    }

    /// Every partner, in account order.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn all_partners(&self) -> Result<Vec<PartnerRecord>, Error> {
        self.partners
            .iter()
            .map(|item| decode_partner(&item?.1))
            .collect()
    }

    /// Reads one grant.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_grant(&self, id: &str) -> Result<Option<GrantRecord>, Error> {
        self.grants
            .get(id.as_bytes())?
            .map(|raw| decode_grant(&raw))
            .transpose()
    }

    /// Every grant, in id order (the daemon keeps them in memory for Verify).
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn all_grants(&self) -> Result<Vec<GrantRecord>, Error> {
        self.grants
            .iter()
            .map(|item| decode_grant(&item?.1))
            .collect()
    }

    /// The pair's latest unrevoked grant id, from the `grant_pairs` index.
    ///
    /// # Errors
    /// sled errors.
    pub fn grant_for_pair(&self, partner: &str, client: &str) -> Result<Option<String>, Error> {
        self.grant_pairs
            .get(pair_key(partner, client))?
            .map(|raw| {
                String::from_utf8(raw.to_vec()).map_err(|_| Error::Corrupt("grant pair index"))
            })
            .transpose()
    }

    /// Reads one consent request.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_consent(&self, id: &str) -> Result<Option<ConsentRecord>, Error> {
        self.consents
            .get(id.as_bytes())?
            .map(|raw| decode_consent(&raw))
            .transpose()
    }

    /// Pending consent requests whose expiry is at or before `now`, at most `limit`.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn due_consents(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<ConsentRecord>, Error> {
        let end = codec::time_key(now + Duration::microseconds(1));
        let mut due = Vec::new();
        for item in self.consent_expiry.range(..end.to_vec()).take(limit) {
            let (key, _) = item?;
            let id = std::str::from_utf8(key.get(8..).ok_or(Error::Corrupt("consent expiry key"))?)
                .map_err(|_| Error::Corrupt("consent expiry key"))?;
            match self.get_consent(id)? {
                Some(consent) => due.push(consent),
                None => {
                    self.remove_stale_consent_expiry(&key)?;
                }
            }
        }
        Ok(due)
    }
}

impl Store {
    /// Removes a `consent_expiry` entry whose consent is gone.
    fn remove_stale_consent_expiry(&self, key: &[u8]) -> Result<(), Error> {
        match &self.backend {
            Backend::Sled => {
                self.hold.note(&self.consent_expiry.name(), key);
                self.watched(self.consent_expiry.remove(key).map_err(Error::from))?;
            }
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => {
                self.transact([&self.consent_expiry], |[index]| Ok(index.remove(key)?))?
                    .map_err(|()| Error::Corrupt("aborted consent write"))?;
            }
        }
        Ok(())
    }
}

/// Length of the `(account, 0)` prefix of an index key.
fn prefix_len(key: &[u8]) -> usize {
    key.iter()
        .position(|b| *b == 0)
        .map_or(key.len(), |i| i + 1)
}
