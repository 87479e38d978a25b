//! The `accounts` tree: account id -> account record (a prost message), and
//! its compare-and-swap commit with the audit event that records the change.

use prost::Message;
use sled::transaction::ConflictableTransactionError;

use super::audit::append_audit_rows;
use super::codec::{self, micros, time};
use super::users::abort_to_commit;
use super::{AuditEntry, Commit, Error, Store};
use crate::lifecycle::{AccountRecord, AccountStatus, RateLimit};

/// An account as stored.
#[derive(Clone, PartialEq, prost::Message)]
struct StoredAccount {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    display_name: String,
    #[prost(string, repeated, tag = "3")]
    contact_emails: Vec<String>,
    #[prost(uint32, optional, tag = "4")]
    max_live_credentials: Option<u32>,
    #[prost(uint32, optional, tag = "5")]
    rate_per_second: Option<u32>,
    #[prost(uint32, tag = "6")]
    rate_burst: u32,
    /// 1 active, 2 suspended.
    #[prost(int32, tag = "7")]
    status: i32,
    #[prost(string, tag = "8")]
    status_reason: String,
    #[prost(int64, tag = "9")]
    created_at_us: i64,
    #[prost(int64, tag = "10")]
    updated_at_us: i64,
    /// Named rate limits; absent in accounts written before they existed.
    #[prost(message, repeated, tag = "11")]
    rate_limits: Vec<codec::StoredRateLimit>,
}

fn encode(account: &AccountRecord) -> Vec<u8> {
    StoredAccount {
        id: account.id.clone(),
        display_name: account.display_name.clone(),
        contact_emails: account.contact_emails.clone(),
        max_live_credentials: account.max_live_credentials,
        rate_per_second: account.rate_limit.map(|r| r.per_second),
        rate_burst: account.rate_limit.map_or(0, |r| r.burst),
        status: match account.status {
            AccountStatus::Active => 1,
            AccountStatus::Suspended => 2,
        },
        status_reason: account.status_reason.clone(),
        created_at_us: micros(account.created_at),
        updated_at_us: micros(account.updated_at),
        rate_limits: codec::encode_rate_limits(&account.rate_limits),
    }
    .encode_to_vec()
}

pub(super) fn decode(bytes: &[u8]) -> Result<AccountRecord, Error> {
    let s = StoredAccount::decode(bytes).map_err(|_| Error::Corrupt("account"))?;
    Ok(AccountRecord {
        status: match s.status {
            1 => AccountStatus::Active,
            2 => AccountStatus::Suspended,
            _ => return Err(Error::Corrupt("unknown account status")),
        },
        rate_limit: s.rate_per_second.map(|per_second| RateLimit {
            per_second,
            burst: s.rate_burst,
        }),
        created_at: time(s.created_at_us)?,
        updated_at: time(s.updated_at_us)?,
        rate_limits: codec::decode_rate_limits(s.rate_limits),
        id: s.id,
        display_name: s.display_name,
        contact_emails: s.contact_emails,
        max_live_credentials: s.max_live_credentials,
        status_reason: s.status_reason,
    })
}

impl Store {
    /// Reads one account.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_account(&self, id: &str) -> Result<Option<AccountRecord>, Error> {
        self.accounts
            .get(id.as_bytes())?
            .map(|raw| decode(&raw))
            .transpose()
    }

    /// Accounts in id order after `after_id`; lazy, so a page can stop early.
    pub fn scan_accounts<'a>(
        &'a self,
        after_id: Option<&str>,
    ) -> impl Iterator<Item = Result<AccountRecord, Error>> + 'a {
        let start = match after_id {
            Some(id) => std::ops::Bound::Excluded(id.as_bytes().to_vec()),
            None => std::ops::Bound::Unbounded,
        };
        self.accounts
            .range::<Vec<u8>, _>((start, std::ops::Bound::Unbounded))
            .map(|item| item.map_err(Error::from).and_then(|(_, v)| decode(&v)))
    }

    /// Replaces `expected` (None: the account must not exist) by `new`, with
    /// `audit`, in one transaction. [`Commit::Conflict`] if the stored
    /// account is not `expected`.
    ///
    /// # Errors
    /// sled errors.
    pub fn commit_account(
        &self,
        expected: Option<&AccountRecord>,
        new: &AccountRecord,
        audit: &AuditEntry,
    ) -> Result<Commit, Error> {
        let expected_bytes = expected.map(encode);
        let new_bytes = encode(new);
        let audit_row = codec::encode_audit(audit);
        let result = self.transact([&self.accounts, &self.audit], |[accounts, audit_tree]| {
            let current = accounts.get(new.id.as_bytes())?;
            if current.as_deref() != expected_bytes.as_deref() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            accounts.insert(new.id.as_bytes(), &new_bytes)?;
            append_audit_rows(*audit_tree, std::slice::from_ref(&audit_row))
        })?;
        let commit = abort_to_commit(result);
        if commit == Commit::Done {
            self.journal_lines(super::journal::account_restrictions(expected, Some(new)))?;
        }
        Ok(commit)
    }
}
