//! Accounts: creating, reading, listing, updating, suspending and resuming
//! them, and the in-memory directory Verify consults on every call (status
//! and a token bucket per account). Every account change goes through the
//! engine, so the directory is updated right after each commit and is never
//! stale. Rate-limit counters live in memory on this node only.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tracing::{info, warn};

use super::{Actor, Engine, Error, MAX_ATTEMPTS, Scope, audit_entry, rate_limits, validate};
use crate::lifecycle::rate_limits::node_share;
use crate::lifecycle::{
    self, AccountGate, AccountRecord, AccountStatus, Kind, RateLimit, RateLimitRule,
};
use crate::store::{Commit, Store};

/// One account as Verify sees it.
#[derive(Debug)]
pub(crate) struct AccountState {
    /// The record.
    pub record: AccountRecord,
    /// Its token bucket, when it has a rate limit.
    limiter: Option<DefaultDirectRateLimiter>,
}

impl AccountState {
    /// The account with its token bucket, the share of its rate limit one
    /// of `nodes` cluster nodes enforces (all of it on one node).
    fn new(record: AccountRecord, nodes: u32) -> Self {
        let limiter = record.rate_limit.and_then(|limit| {
            let rate = NonZeroU32::new(node_share(limit.per_second, nodes))?;
            let burst = NonZeroU32::new(node_share(limit.burst, nodes)).unwrap_or(rate);
            Some(RateLimiter::direct(
                Quota::per_second(rate).allow_burst(burst),
            ))
        });
        AccountState { record, limiter }
    }

    /// The account's gate for one Verify: counts one request against its
    /// budget (the only place that does) and says whether it fits; the rule
    /// that applies the answer is [`AccountGate::apply`].
    pub fn gate(&self) -> AccountGate {
        let spent = self.limiter.as_ref().and_then(|limiter| {
            limiter
                .check()
                .err()
                .map(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
        });
        match spent {
            Some(retry_after) => AccountGate::Limited(retry_after),
            None => AccountGate::Open(self.record.status),
        }
    }
}

/// Every account, in memory, keyed by id.
#[derive(Debug, Default)]
pub(crate) struct AccountDirectory {
    accounts: RwLock<HashMap<String, Arc<AccountState>>>,
    /// Live cluster nodes sharing each rate limit (1 off a cluster).
    nodes: std::sync::atomic::AtomicU32,
}

impl AccountDirectory {
    /// Loads every account from the store.
    pub fn load(store: &Store) -> Result<Self, Error> {
        let mut accounts = HashMap::new();
        for account in store.scan_accounts(None) {
            let account = account?;
            accounts.insert(account.id.clone(), Arc::new(AccountState::new(account, 1)));
        }
        Ok(AccountDirectory {
            accounts: RwLock::new(accounts),
            nodes: std::sync::atomic::AtomicU32::new(1),
        })
    }

    /// The account, if it exists.
    pub fn get(&self, id: &str) -> Option<Arc<AccountState>> {
        self.accounts
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned()
    }

    /// Reads one account again from the store (another node changed it):
    /// a record equal to the one held keeps its token bucket.
    #[cfg(feature = "etcd")]
    pub(super) fn refresh(&self, store: &Store, id: &str) -> Result<(), Error> {
        match store.get_account(id)? {
            Some(record) => {
                if self.get(id).is_none_or(|held| held.record != record) {
                    self.put(record);
                }
            }
            None => {
                self.accounts
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(id);
            }
        }
        Ok(())
    }

    /// Reads every account again (the replica was read in full), keeping
    /// the token buckets of accounts that did not change.
    #[cfg(feature = "etcd")]
    pub(super) fn reload(&self, store: &Store) -> Result<(), Error> {
        let fresh = AccountDirectory::load(store)?;
        let mut fresh = fresh
            .accounts
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut accounts = self.accounts.write().unwrap_or_else(|e| e.into_inner());
        for (id, state) in fresh.iter_mut() {
            if let Some(held) = accounts.get(id).filter(|held| held.record == state.record) {
                *state = held.clone();
            }
        }
        *accounts = fresh;
        Ok(())
    }

    /// Replaces an account after its change was committed. A changed rate
    /// limit starts with a full bucket.
    fn put(&self, record: AccountRecord) {
        let state = AccountState::new(record, self.nodes());
        let mut accounts = self.accounts.write().unwrap_or_else(|e| e.into_inner());
        accounts.insert(state.record.id.clone(), Arc::new(state));
    }

    /// Live cluster nodes sharing each limit.
    pub(super) fn nodes(&self) -> u32 {
        self.nodes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A cluster node joined or left: every token bucket is rebuilt with
    /// the new share (full).
    #[cfg(feature = "etcd")]
    pub(super) fn set_nodes(&self, nodes: u32) {
        let nodes = nodes.max(1);
        if self.nodes.swap(nodes, std::sync::atomic::Ordering::Relaxed) == nodes {
            return;
        }
        let mut accounts = self.accounts.write().unwrap_or_else(|e| e.into_inner());
        for state in accounts.values_mut() {
            *state = Arc::new(AccountState::new(state.record.clone(), nodes));
        }
    }
}

/// A new account's fields.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    /// The id credentials will carry.
    pub id: String,
    /// Human name.
    pub display_name: String,
    /// Receive the account's notices.
    pub contact_emails: Vec<String>,
    /// Quota override; None: the policy's.
    pub max_live_credentials: Option<u32>,
    /// Verify budget; None: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Named rate limits (at most 16).
    pub rate_limits: Vec<RateLimitRule>,
}

/// Fields to change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountUpdate {
    /// New name.
    pub display_name: Option<String>,
    /// New contacts (replacing).
    pub contact_emails: Option<Vec<String>>,
    /// New quota override; `Some(None)` returns to the policy's.
    pub max_live_credentials: Option<Option<u32>>,
    /// New rate limit; `Some(None)` removes it.
    pub rate_limit: Option<Option<RateLimit>>,
    /// New named rate limits (replacing); empty clears them.
    pub rate_limits: Option<Vec<RateLimitRule>>,
}

/// One page of accounts.
#[derive(Debug, Clone)]
pub struct AccountPage {
    /// Accounts in id order.
    pub accounts: Vec<AccountRecord>,
    /// Where the next page starts; None on the last page.
    pub next_page_token: Option<String>,
}

fn check_fields(
    display_name: Option<&str>,
    max_live: Option<Option<u32>>,
    rate_limit: Option<Option<RateLimit>>,
) -> Result<(), Error> {
    if let Some(name) = display_name.filter(|n| !n.is_empty()) {
        validate::name(name)?;
    }
    if let Some(Some(n)) = max_live.filter(|n| !n.is_some_and(|n| (1..=1_000_000).contains(&n))) {
        return Err(Error::InvalidArgument(format!(
            "max_live_credentials must be between 1 and 1000000, got {n}"
        )));
    }
    if let Some(Some(limit)) = rate_limit {
        limit.check().map_err(Error::InvalidArgument)?;
    }
    Ok(())
}

impl Engine {
    /// The quota rule, the one place it is applied: a new credential of
    /// `kind` fits if its kind does not count (`lifecycle::counts_toward_quota`)
    /// or the account holds fewer live credentials that count than its quota
    /// (`AccountRecord::quota`: its own or the policy's). Callers hold the
    /// account's lock across this check and their commit.
    ///
    /// # Errors
    /// `QuotaExceeded`, or a storage failure.
    pub(super) fn check_quota(
        &self,
        account_id: &str,
        kind: Kind,
        now: DateTime<Utc>,
    ) -> Result<(), Error> {
        if !lifecycle::counts_toward_quota(kind) {
            return Ok(());
        }
        let limit = self.quota_limit(account_id);
        if self.store.count_live(account_id, now)? >= limit {
            return Err(Error::QuotaExceeded {
                account_id: account_id.to_string(),
                limit,
            });
        }
        Ok(())
    }

    /// How many live credentials the quota allows the account: its own
    /// quota, or the policy's.
    pub(super) fn quota_limit(&self, account_id: &str) -> u32 {
        self.accounts
            .get(account_id)
            .map_or(self.policy.max_credentials_per_account, |a| {
                a.record.quota(&self.policy)
            })
    }

    /// The account a credential belongs to; creates it when the policy
    /// allows, else `AccountNotFound`.
    pub(crate) async fn ensure_account(
        &self,
        actor: &Actor,
        account_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<AccountState>, Error> {
        if let Some(account) = self.accounts.get(account_id) {
            return Ok(account);
        }
        if !self.policy.auto_create_accounts {
            return Err(Error::AccountNotFound {
                id: account_id.to_string(),
            });
        }
        let record = AccountRecord::new(account_id, now);
        let audit = audit_entry(
            actor,
            now,
            "account.create",
            "",
            account_id,
            "created with its first credential".to_string(),
        );
        if self.store.commit_account(None, &record, &audit)? == Commit::Done {
            info!(account_id, actor = %actor.id, "account created with its first credential");
            self.accounts.put(record);
        } else if let Some(stored) = self.store.get_account(account_id)? {
            self.accounts.put(stored);
        }
        self.accounts
            .get(account_id)
            .ok_or_else(|| Error::AccountNotFound {
                id: account_id.to_string(),
            })
    }

    /// Creates an account.
    ///
    /// # Errors
    /// `PermissionDenied` without a global `accounts:write`; `InvalidArgument`;
    /// `AlreadyExists`; storage failures.
    pub async fn create_account(
        &self,
        actor: &Actor,
        new: NewAccount,
    ) -> Result<AccountRecord, Error> {
        validate::account_id("id", &new.id)?;
        self.authorize(
            actor,
            "account.create",
            "",
            &new.id,
            actor.allows(Scope::AccountsWrite, None),
        )?;
        check_fields(
            Some(&new.display_name),
            Some(new.max_live_credentials),
            Some(new.rate_limit),
        )?;
        rate_limits::check_rules("rate_limits", &new.rate_limits)?;
        let contact_emails = validate::emails(&new.contact_emails)?;
        let now = self.clock.now();
        let record = AccountRecord {
            display_name: new.display_name,
            contact_emails,
            max_live_credentials: new.max_live_credentials,
            rate_limit: new.rate_limit,
            rate_limits: new.rate_limits,
            ..AccountRecord::new(&new.id, now)
        };
        let audit = audit_entry(actor, now, "account.create", "", &record.id, String::new());
        if self.store.commit_account(None, &record, &audit)? == Commit::Conflict {
            return Err(Error::AlreadyExists(format!(
                "account {} already exists",
                record.id
            )));
        }
        self.store.flush().await?;
        self.accounts.put(record.clone());
        info!(account_id = %record.id, actor = %actor.id, request_id = %actor.request_id, "account created");
        Ok(record)
    }

    /// Reads an account; a key confined to an account may read its own.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `AccountNotFound`.
    pub fn get_account(&self, actor: &Actor, id: &str) -> Result<AccountRecord, Error> {
        validate::account_id("id", id)?;
        self.authorize(
            actor,
            "account.get",
            "",
            id,
            actor.allows(Scope::AccountsRead, Some(id)),
        )?;
        self.accounts
            .get(id)
            .map(|a| a.record.clone())
            .ok_or_else(|| Error::AccountNotFound { id: id.to_string() })
    }

    /// Lists accounts in id order.
    ///
    /// # Errors
    /// `PermissionDenied` without a global `accounts:read`, bad sizes or
    /// tokens, storage failures.
    pub fn list_accounts(
        &self,
        actor: &Actor,
        page_size: i64,
        page_token: Option<&str>,
    ) -> Result<AccountPage, Error> {
        self.authorize(
            actor,
            "account.list",
            "",
            "",
            actor.allows(Scope::AccountsRead, None),
        )?;
        let page_size = validate::page_size(page_size)?;
        let after = page_token.map(parse_account_token).transpose()?;
        let mut accounts = Vec::with_capacity(page_size);
        let mut next_page_token = None;
        for account in self.store.scan_accounts(after.as_deref()) {
            let account = account?;
            if accounts.len() == page_size {
                next_page_token = accounts
                    .last()
                    .map(|last: &AccountRecord| account_token(&last.id));
                break;
            }
            accounts.push(account);
        }
        Ok(AccountPage {
            accounts,
            next_page_token,
        })
    }

    /// Changes the fields that are set.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `AccountNotFound`, storage.
    pub async fn update_account(
        &self,
        actor: &Actor,
        id: &str,
        update: AccountUpdate,
    ) -> Result<AccountRecord, Error> {
        check_fields(
            update.display_name.as_deref(),
            update.max_live_credentials,
            update.rate_limit,
        )?;
        if let Some(rules) = &update.rate_limits {
            rate_limits::check_rules("rate_limits", rules)?;
        }
        let emails = update
            .contact_emails
            .as_deref()
            .map(validate::emails)
            .transpose()?;
        self.modify_account(actor, id, "account.update", |current| {
            let mut new = current.clone();
            let mut changed = Vec::new();
            if let Some(name) = &update.display_name {
                new.display_name.clone_from(name);
                changed.push("display_name");
            }
            if let Some(emails) = &emails {
                new.contact_emails.clone_from(emails);
                changed.push("contact_emails");
            }
            if let Some(max) = update.max_live_credentials {
                new.max_live_credentials = max;
                changed.push("max_live_credentials");
            }
            if let Some(limit) = update.rate_limit {
                new.rate_limit = limit;
                changed.push("rate_limit");
            }
            if let Some(rules) = &update.rate_limits {
                new.rate_limits.clone_from(rules);
                changed.push("rate_limits");
            }
            Ok((new, format!("changed {}", changed.join(", "))))
        })
        .await
    }

    /// Suspends an account: its credentials verify as DISABLED until it is
    /// resumed. Suspending a suspended account changes nothing.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `AccountNotFound`, storage.
    pub async fn suspend_account(
        &self,
        actor: &Actor,
        id: &str,
        reason: &str,
    ) -> Result<AccountRecord, Error> {
        validate::reason(reason)?;
        self.modify_account(actor, id, "account.suspend", |current| {
            let mut new = current.clone();
            new.status = AccountStatus::Suspended;
            new.status_reason = reason.to_string();
            Ok((new, format!("reason: {reason}")))
        })
        .await
    }

    /// Resumes a suspended account.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `AccountNotFound`, storage.
    pub async fn resume_account(&self, actor: &Actor, id: &str) -> Result<AccountRecord, Error> {
        self.modify_account(actor, id, "account.resume", |current| {
            let mut new = current.clone();
            new.status = AccountStatus::Active;
            new.status_reason = String::new();
            Ok((new, String::new()))
        })
        .await
    }

    /// Reads, changes and writes one account with its audit event, retrying
    /// when it changed underneath; flushes; updates the directory.
    async fn modify_account(
        &self,
        actor: &Actor,
        id: &str,
        action: &'static str,
        change: impl Fn(&AccountRecord) -> Result<(AccountRecord, String), Error>,
    ) -> Result<AccountRecord, Error> {
        validate::account_id("id", id)?;
        self.authorize(
            actor,
            action,
            "",
            id,
            actor.allows(Scope::AccountsWrite, None),
        )?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .store
                .get_account(id)?
                .ok_or_else(|| Error::AccountNotFound { id: id.to_string() })?;
            let now = self.clock.now();
            let (mut new, detail) = change(&current)?;
            if new == current {
                self.store.flush().await?;
                return Ok(current);
            }
            new.updated_at = now;
            let audit = audit_entry(actor, now, action, "", id, detail.clone());
            if self.store.commit_account(Some(&current), &new, &audit)? == Commit::Conflict {
                continue;
            }
            self.store.flush().await?;
            self.accounts.put(new.clone());
            info!(account_id = %id, action, detail = %detail, actor = %actor.id, request_id = %actor.request_id, "account changed");
            return Ok(new);
        }
        warn!(account_id = %id, action, "gave up after repeated concurrent changes");
        Err(Error::Contention { id: id.to_string() })
    }
}

fn account_token(last_id: &str) -> String {
    validate::page_token(&format!("account:{last_id}"))
}

fn parse_account_token(token: &str) -> Result<String, Error> {
    let id = validate::decode_page_token(token, "account:")?;
    validate::account_id("page_token", &id).map_err(|_| validate::bad_page_token())?;
    Ok(id)
}
