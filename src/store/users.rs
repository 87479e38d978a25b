//! The `users` tree ((account, 0, username) -> user) and the `sessions` tree
//! (HMAC of the session token -> session), with their audited commits. A
//! session token itself is never stored.

use prost::Message;
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::backend::Backend;
use super::codec::{self, micros, time};
use super::{AuditEntry, Commit, Error, Store};
use crate::lifecycle::{SessionRecord, UserRecord, UserRole, UserStatus};

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

#[derive(Clone, PartialEq, prost::Message)]
struct StoredSession {
    #[prost(string, tag = "1")]
    id: String,
    #[prost(string, tag = "2")]
    account_id: String,
    #[prost(string, tag = "3")]
    username: String,
    #[prost(int64, tag = "4")]
    created_at_us: i64,
    #[prost(int64, tag = "5")]
    last_seen_at_us: i64,
    #[prost(int64, tag = "6")]
    expires_at_us: i64,
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

fn decode_user(bytes: &[u8]) -> Result<UserRecord, Error> {
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

fn encode_session(session: &SessionRecord) -> Vec<u8> {
    StoredSession {
        id: session.id.clone(),
        account_id: session.account_id.clone(),
        username: session.username.clone(),
        created_at_us: micros(session.created_at),
        last_seen_at_us: micros(session.last_seen_at),
        expires_at_us: micros(session.expires_at),
    }
    .encode_to_vec()
}

fn decode_session(bytes: &[u8]) -> Result<SessionRecord, Error> {
    let s = StoredSession::decode(bytes).map_err(|_| Error::Corrupt("session"))?;
    Ok(SessionRecord {
        created_at: time(s.created_at_us)?,
        last_seen_at: time(s.last_seen_at_us)?,
        expires_at: time(s.expires_at_us)?,
        id: s.id,
        account_id: s.account_id,
        username: s.username,
    })
}

fn abort_to_commit(result: Result<(), TransactionError<()>>) -> Result<Commit, Error> {
    match result {
        Ok(()) => Ok(Commit::Done),
        Err(TransactionError::Abort(())) => Ok(Commit::Conflict),
        Err(TransactionError::Storage(e)) => Err(Error::Sled(e)),
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
        let result = match self.backend {
            Backend::Sled => (&self.users, &self.audit).transaction(|(users, audit_tree)| {
                if users.get(&key)?.as_deref() != expected_bytes.as_deref() {
                    return Err(ConflictableTransactionError::Abort(()));
                }
                match &new_bytes {
                    Some(bytes) => users.insert(key.as_slice(), bytes.as_slice())?,
                    None => users.remove(key.as_slice())?,
                };
                let seq = audit_tree.generate_id()?;
                audit_tree.insert(&seq.to_be_bytes()[..], audit_row.as_slice())?;
                Ok(())
            }),
        };
        self.watched(abort_to_commit(result))
    }

    /// Reads the session a token hash belongs to.
    ///
    /// # Errors
    /// sled errors and undecodable records.
    pub fn get_session(&self, hash: &[u8; 32]) -> Result<Option<SessionRecord>, Error> {
        self.sessions
            .get(hash)?
            .map(|raw| decode_session(&raw))
            .transpose()
    }

    /// Stores a new session with its audit event.
    ///
    /// # Errors
    /// sled errors; [`Error::DuplicateSecret`] if the hash is taken.
    pub fn insert_session(
        &self,
        hash: &[u8; 32],
        session: &SessionRecord,
        audit: &AuditEntry,
    ) -> Result<(), Error> {
        let bytes = encode_session(session);
        let audit_row = codec::encode_audit(audit);
        let result = match self.backend {
            Backend::Sled => (&self.sessions, &self.audit).transaction(|(sessions, audit_tree)| {
                if sessions.get(hash)?.is_some() {
                    return Err(ConflictableTransactionError::Abort(()));
                }
                sessions.insert(&hash[..], bytes.as_slice())?;
                let seq = audit_tree.generate_id()?;
                audit_tree.insert(&seq.to_be_bytes()[..], audit_row.as_slice())?;
                Ok(())
            }),
        };
        match self.watched(abort_to_commit(result))? {
            Commit::Done => Ok(()),
            Commit::Conflict => Err(Error::DuplicateSecret),
        }
    }

    /// Removes a session, with an audit event when given. Returns whether
    /// it existed.
    ///
    /// # Errors
    /// sled errors.
    pub fn remove_session(
        &self,
        hash: &[u8; 32],
        audit: Option<&AuditEntry>,
    ) -> Result<bool, Error> {
        let audit_row = audit.map(codec::encode_audit);
        match self.backend {
            Backend::Sled => (&self.sessions, &self.audit)
                .transaction(|(sessions, audit_tree)| {
                    let existed = sessions.remove(&hash[..])?.is_some();
                    if let (true, Some(row)) = (existed, &audit_row) {
                        let seq = audit_tree.generate_id()?;
                        audit_tree.insert(&seq.to_be_bytes()[..], row.as_slice())?;
                    }
                    Ok::<bool, ConflictableTransactionError<()>>(existed)
                })
                .map_err(|e| match e {
                    TransactionError::Storage(e) => self.noted(Error::Sled(e)),
                    TransactionError::Abort(()) => Error::Corrupt("aborted session removal"),
                }),
        }
    }

    /// Moves a session's `last_seen_at` forward (never back); a session
    /// removed meanwhile stays removed.
    ///
    /// # Errors
    /// sled errors.
    pub fn touch_session(
        &self,
        hash: &[u8; 32],
        seen: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), Error> {
        loop {
            let Some(raw) = self.sessions.get(hash)? else {
                return Ok(());
            };
            let mut session = decode_session(&raw)?;
            if session.last_seen_at >= seen {
                return Ok(());
            }
            session.last_seen_at = seen;
            let swapped = match self.backend {
                Backend::Sled => self.watched(
                    self.sessions
                        .compare_and_swap(hash, Some(raw), Some(encode_session(&session)))
                        .map_err(Error::from),
                )?,
            };
            if swapped.is_ok() {
                return Ok(());
            }
        }
    }

    /// Every session with its token hash (for the sweep).
    pub fn scan_sessions(
        &self,
    ) -> impl Iterator<Item = Result<([u8; 32], SessionRecord), Error>> + '_ {
        self.sessions.iter().map(|item| {
            let (key, value) = item?;
            let hash =
                <[u8; 32]>::try_from(key.as_ref()).map_err(|_| Error::Corrupt("session key"))?;
            Ok((hash, decode_session(&value)?))
        })
    }
}
