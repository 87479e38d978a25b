//! Users of an account and their login sessions, as the rules see them:
//! roles, status, and when a session is over (idle timeout and absolute
//! lifetime). The password hash is opaque here; checking it is the engine's.

use chrono::{DateTime, Duration, Utc};

/// What a user is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserRole {
    /// A dedicated API user (KlickTipp's "API User" sub-account).
    ApiUser,
    /// An account administrator.
    Admin,
    /// An ordinary dashboard user.
    Member,
}

/// Whether a user may authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// Logs in; its passcode verifies.
    Active,
    /// Refused: its passcode verifies DISABLED, its sessions too, and it
    /// cannot log in.
    Disabled,
}

/// A user of an account. `Debug` leaves out the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// The account.
    pub account_id: String,
    /// Unique within the account.
    pub username: String,
    /// Role.
    pub role: UserRole,
    /// Where the user is told about its passcode.
    pub email: String,
    /// Active or disabled.
    pub status: UserStatus,
    /// argon2id PHC string; None: the user cannot log in with a password.
    pub password_hash: Option<String>,
    /// The credential id of the user's passcode, if one was granted.
    pub passcode_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("status", &self.status)
            .field("has_password", &self.password_hash.is_some())
            .field("passcode_id", &self.passcode_id)
            .finish_non_exhaustive()
    }
}

impl UserRecord {
    /// The login name shown to people: `account-username`, as KlickTipp
    /// names its sub-accounts.
    pub fn login_name(&self) -> String {
        format!("{}-{}", self.account_id, self.username)
    }
}

/// A login session. The token is never stored, only its HMAC (the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// `sess_` and a ULID, for logs and audit.
    pub id: String,
    /// The account.
    pub account_id: String,
    /// The user who logged in.
    pub username: String,
    /// Login time.
    pub created_at: DateTime<Utc>,
    /// Latest use (Login or a Verify).
    pub last_seen_at: DateTime<Utc>,
    /// Absolute end: `created_at` plus the lifetime in force at login.
    pub expires_at: DateTime<Utc>,
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Unused this long: over.
    pub idle_timeout: Duration,
    /// Over this long after login, used or not.
    pub max_lifetime: Duration,
}

impl SessionPolicy {
    /// Defaults: 30 minutes idle, 12 hours in all.
    pub fn standard() -> Self {
        SessionPolicy {
            idle_timeout: Duration::minutes(30),
            max_lifetime: Duration::hours(12),
        }
    }
}

/// Whether a session is usable at `now`: used within the idle timeout and
/// before its absolute end. Both bounds are exclusive of their instant.
pub fn session_live(session: &SessionRecord, policy: &SessionPolicy, now: DateTime<Utc>) -> bool {
    now < session_ends_at(session, policy)
}

/// Whether `session` was opened by this `user` and not by an earlier user
/// of the same name that was deleted: a session older than its user
/// belongs to someone else, and must never verify for the new user.
pub fn session_belongs_to(session: &SessionRecord, user: &UserRecord) -> bool {
    session.account_id == user.account_id
        && session.username == user.username
        && session.created_at >= user.created_at
}

/// The instant a session is over unless it is used again: the earlier of
/// its idle deadline and its absolute end (the session sweep's index key).
pub fn session_ends_at(session: &SessionRecord, policy: &SessionPolicy) -> DateTime<Utc> {
    session
        .expires_at
        .min(session.last_seen_at + policy.idle_timeout)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn sessions_end_at_idle_timeout_or_lifetime() {
        let policy = SessionPolicy {
            idle_timeout: Duration::seconds(10),
            max_lifetime: Duration::seconds(60),
        };
        let mut session = SessionRecord {
            id: "sess_1".to_string(),
            account_id: "acme".to_string(),
            username: "api".to_string(),
            created_at: at(0),
            last_seen_at: at(0),
            expires_at: at(60),
        };
        assert!(session_live(&session, &policy, at(9)));
        assert!(!session_live(&session, &policy, at(10)), "idle");
        assert_eq!(session_ends_at(&session, &policy), at(10));
        session.last_seen_at = at(55);
        assert!(session_live(&session, &policy, at(59)));
        assert!(!session_live(&session, &policy, at(60)), "lifetime");
        assert_eq!(session_ends_at(&session, &policy), at(60));
    }

    #[test]
    fn debug_leaves_out_the_password_hash() {
        let user = UserRecord {
            account_id: "acme".to_string(),
            username: "api".to_string(),
            role: UserRole::ApiUser,
            email: String::new(),
            status: UserStatus::Active,
            password_hash: Some("$argon2id$v=19$secret-hash".to_string()),
            passcode_id: None,
            created_at: at(0),
            updated_at: at(0),
        };
        let printed = format!("{user:?}");
        assert!(!printed.contains("argon2id"), "{printed}");
        assert!(printed.contains("has_password: true"));
    }
}
