//! The `users` tree ((account, 0, username) -> user) and its audited
//! commit. Sessions are in `sessions`.

use prost::Message;
use sled::transaction::ConflictableTransactionError;

use super::audit::append_audit_rows;
use super::codec::{self, micros, time};
use super::{AuditEntry, Commit, Error, Store};
use crate::lifecycle::{UserRecord, UserRole, UserStatus};

#[derive(Clone, PartialEq, prost::Message)]
struct StoredUser {
    #[prost(string, tag = "1")]
    account_id: String,
    #[prost(string, tag = "2")]
    username: String,
    /// 1 API user, 2 admin, 3 member.
    #[prost(int32, tag = "3")]
    role: i32,
    #[prost(string, tag = "4")]
    email: String,
    /// 1 active, 2 disabled.
    #[prost(int32, tag = "5")]
    status: i32,
    #[prost(string, optional, tag = "6")]
    password_hash: Option<String>,
    #[prost(string, optional, tag = "7")]
    passcode_id: Option<String>,
    #[prost(int64, tag = "8")]
    created_at_us: i64,
    #[prost(int64, tag = "9")]
    updated_at_us: i64,
}

fn user_key(account_id: &str, username: &str) -> Vec<u8> {
    codec::account_key(account_id, username)
}

fn encode_user(user: &UserRecord) -> Vec<u8> {
    StoredUser {
        account_id: user.account_id.clone(),
        username: user.username.clone(),
        role: match user.role {
            UserRole::ApiUser => 1,
            UserRole::Admin => 2,
            UserRole::Member => 3,
        },
        email: user.email.clone(),
        status: match user.status {
            UserStatus::Active => 1,
            UserStatus::Disabled => 2,
        },
        password_hash: user.password_hash.clone(),
        passcode_id: user.passcode_id.clone(),
        created_at_us: micros(user.created_at),
        updated_at_us: micros(user.updated_at),
    }
    .encode_to_vec()
}

pub(super) fn decode_user(bytes: &[u8]) -> Result<UserRecord, Error> {
    let s = StoredUser::decode(bytes).map_err(|_| Error::Corrupt("user"))?;
    Ok(UserRecord {
        role: match s.role {
            1 => UserRole::ApiUser,
            2 => UserRole::Admin,
            3 => UserRole::Member,
            _ => return Err(Error::Corrupt("unknown user role")),
        },
        status: match s.status {
            1 => UserStatus::Active,
            2 => UserStatus::Disabled,
            _ => return Err(Error::Corrupt("unknown user status")),
        },
        created_at: time(s.created_at_us)?,
        updated_at: time(s.updated_at_us)?,
        account_id: s.account_id,
        username: s.username,
        email: s.email,
        password_hash: s.password_hash,
        passcode_id: s.passcode_id,
    })
}

/// A transaction that gave up (`Err(())`) as [`Commit::Conflict`].
pub(super) fn abort_to_commit(result: Result<(), ()>) -> Commit {
    match result {
        Ok(()) => Commit::Done,
        Err(()) => Commit::Conflict,
    }
}

impl Store {
    /// Reads one user.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_user(&self, account_id: &str, username: &str) -> Result<Option<UserRecord>, Error> {
        self.users
            .get(user_key(account_id, username))?
            .map(|raw| decode_user(&raw))
            .transpose()
    }

    /// An account's users in username order after `after`.
    pub fn scan_users<'a>(
        &'a self,
        account_id: &str,
        after: Option<&str>,
    ) -> impl Iterator<Item = Result<UserRecord, Error>> + 'a {
        let mut end = account_id.as_bytes().to_vec();
        end.push(1);
        let start = match after {
            Some(name) => std::ops::Bound::Excluded(user_key(account_id, name)),
            None => std::ops::Bound::Included(user_key(account_id, "")),
        };
        self.users
            .range::<Vec<u8>, _>((start, std::ops::Bound::Excluded(end)))
            .map(|item| item.map_err(Error::from).and_then(|(_, v)| decode_user(&v)))
    }

    /// Replaces `expected` (None: must not exist) by `new` (None: delete),
    /// with `audit`, in one transaction.
    ///
    /// # Errors
    /// sled errors.
    pub fn commit_user(
        &self,
        account_id: &str,
        username: &str,
        expected: Option<&UserRecord>,
        new: Option<&UserRecord>,
        audit: &AuditEntry,
    ) -> Result<Commit, Error> {
        let key = user_key(account_id, username);
        let expected_bytes = expected.map(encode_user);
        let new_bytes = new.map(encode_user);
        let audit_row = codec::encode_audit(audit);
        let result = self.transact([&self.users, &self.audit], |[users, audit_tree]| {
            if users.get(&key)?.as_deref() != expected_bytes.as_deref() {
                return Err(ConflictableTransactionError::Abort(()));
            }
            match &new_bytes {
                Some(bytes) => users.insert(&key, bytes)?,
                None => users.remove(&key)?,
            };
            append_audit_rows(*audit_tree, std::slice::from_ref(&audit_row))
        })?;
        let commit = abort_to_commit(result);
        if commit == Commit::Done {
            self.journal_lines(super::journal::user_restrictions(expected, new))?;
        }
        Ok(commit)
    }
}
