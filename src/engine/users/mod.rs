//! Users of an account (KlickTipp's dedicated API user, CleverTap's users),
//! their passwords (argon2id), their passcodes (CleverTap's user passcodes:
//! a passcode credential bound to the user), and login sessions (KlickTipp's
//! username + password login). Failed logins are throttled per user and per
//! peer with growing delays; an unknown user costs the same argon2 work and
//! gets the same answer as a wrong password. This file holds the users
//! themselves and their passwords; `passcodes` the user passcodes;
//! `sessions` login, sessions and the throttle; `session_sweep` the removal
//! of sessions that are over.

use std::sync::OnceLock;
use std::time::Duration as StdDuration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tracing::{info, warn};
use zeroize::Zeroizing;

use super::{
    Actor, CredentialView, Engine, Error, MAX_ATTEMPTS, NewCredential, Scope, audit_entry, validate,
};
use crate::lifecycle::{
    self, DisabledReason, Environment, Kind, SessionPolicy, SessionRecord, UserRecord, UserRole,
    UserStatus, VerifyOutcome,
};
use crate::secret::{self, Secret};
use crate::store::Commit;

mod passcodes;
mod session_sweep;
mod sessions;

pub(crate) use sessions::LoginThrottle;

/// Longest username.
pub const MAX_USERNAME: usize = 64;
/// Shortest and longest password, in bytes.
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=1024;
/// "Infinite" user passcodes last ten years (CleverTap).
pub const INFINITE_DAYS: i64 = 3650;

/// How users authenticate: argon2id cost, session lifetimes, login throttle.
#[derive(Debug, Clone)]
pub struct UserSettings {
    /// argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// Idle timeout and absolute lifetime of sessions.
    pub sessions: SessionPolicy,
    /// Failed logins allowed (per user, per peer) before delays start.
    pub login_free_attempts: u32,
    /// First delay; it doubles with every further failure.
    pub login_backoff: StdDuration,
    /// Longest delay.
    pub login_backoff_max: StdDuration,
}

impl Default for UserSettings {
    /// OWASP's argon2id minimum (19 MiB, 2 passes, 1 lane), 30-minute idle
    /// and 12-hour sessions, five free attempts then 1 s doubling to 15 min.
    fn default() -> Self {
        UserSettings {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            sessions: SessionPolicy::standard(),
            login_free_attempts: 5,
            login_backoff: StdDuration::from_secs(1),
            login_backoff_max: StdDuration::from_secs(900),
        }
    }
}

impl UserSettings {
    fn argon2(&self) -> Result<Argon2<'static>, Error> {
        let params = Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| Error::InvalidArgument(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// A new user's fields. `Debug` leaves out the password.
#[derive(Clone)]
pub struct NewUser {
    /// The account.
    pub account_id: String,
    /// Unique within the account: `[A-Za-z0-9._-]{1,64}`.
    pub username: String,
    /// Role.
    pub role: UserRole,
    /// Contact address (receives the passcode's expiry notices).
    pub email: String,
    /// None: the user cannot log in with a password.
    pub password: Option<Zeroizing<String>>,
}

/// Fields to change; `None` leaves a field as it is. `Debug` leaves out
/// the password.
#[derive(Clone, Default)]
pub struct UserUpdate {
    /// New role.
    pub role: Option<UserRole>,
    /// New address.
    pub email: Option<String>,
    /// `Some(Some(p))` sets a password, `Some(None)` removes it.
    pub password: Option<Option<Zeroizing<String>>>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("account_id", &self.account_id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("has_password", &self.password.is_some())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for UserUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserUpdate")
            .field("role", &self.role)
            .field("email", &self.email)
            .field("password_changes", &self.password.is_some())
            .finish()
    }
}

/// How long a user passcode is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasscodeValidity {
    /// 1 to 365 days.
    Days(u32),
    /// Ten years.
    Infinite,
}

fn username(value: &str) -> Result<(), Error> {
    let ok = (1..=MAX_USERNAME).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "username must be 1 to {MAX_USERNAME} characters of A-Z, a-z, 0-9, '.', '_' or '-'"
        )))
    }
}

fn password_ok(password: &str) -> Result<(), Error> {
    if PASSWORD_LEN.contains(&password.len()) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "password must be {} to {} bytes long",
            PASSWORD_LEN.start(),
            PASSWORD_LEN.end()
        )))
    }
}

fn email(value: &str) -> Result<String, Error> {
    if value.is_empty() {
        return Ok(String::new());
    }
    Ok(validate::emails(&[value.to_string()])?
        .into_iter()
        .next()
        .unwrap_or_default())
}

fn user_not_found(account_id: &str, username: &str) -> Error {
    Error::UserNotFound {
        account_id: account_id.to_string(),
        username: username.to_string(),
    }
}

impl Engine {
    /// Replaces the user settings (the daemon applies `[users]` and
    /// `[sessions]`; tests lower the argon2 cost).
    pub fn set_user_settings(&mut self, settings: UserSettings) {
        self.user_settings = settings;
    }

    /// Idle timeout and lifetime of sessions.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.user_settings.sessions
    }

    /// Hashes a password with argon2id off the async threads.
    async fn hash_password(&self, password: Zeroizing<String>) -> Result<String, Error> {
        let argon2 = self.user_settings.argon2()?;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(Error::Random)?;
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::encode_b64(&salt)
                .map_err(|e| Error::InvalidArgument(format!("salt: {e}")))?;
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| Error::InvalidArgument(format!("password hashing failed: {e}")))
        })
        .await
        .map_err(|e| Error::InvalidArgument(format!("password hashing task: {e}")))?
    }

    /// Checks a password against a stored hash (or the decoy hash, so an
    /// unknown user costs the same), off the async threads.
    async fn password_matches(&self, password: Zeroizing<String>, hash: Option<String>) -> bool {
        let decoy = self.decoy_hash().await;
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => (decoy, false),
        };
        let Ok(argon2) = self.user_settings.argon2() else {
            return false;
        };
        let matched = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash)
                .map(|parsed| argon2.verify_password(password.as_bytes(), &parsed).is_ok())
                .unwrap_or(false)
        })
        .await
        .unwrap_or(false);
        matched && real
    }

    /// A hash of a random password with the current cost, made once.
    async fn decoy_hash(&self) -> String {
        static DECOY: OnceLock<String> = OnceLock::new();
        if let Some(hash) = DECOY.get() {
            return hash.clone();
        }
        let mut random = [0u8; 24];
        let _ = getrandom::fill(&mut random);
        let password = Zeroizing::new(random.iter().map(|b| format!("{b:02x}")).collect());
        let hash = self.hash_password(password).await.unwrap_or_default();
        DECOY.get_or_init(|| hash).clone()
    }

    /// Creates a user. Its account is created when the policy allows.
    ///
    /// # Errors
    /// `PermissionDenied` without `accounts:write`, `InvalidArgument`,
    /// `AccountNotFound`, `AlreadyExists`, storage failures.
    pub async fn create_user(&self, actor: &Actor, new: NewUser) -> Result<UserRecord, Error> {
        validate::account_id("account_id", &new.account_id)?;
        username(&new.username)?;
        self.authorize(
            actor,
            "user.create",
            "",
            &new.account_id,
            actor.allows(Scope::AccountsWrite, Some(&new.account_id)),
        )?;
        let email = email(&new.email)?;
        let password_hash = match new.password {
            Some(password) => {
                password_ok(&password)?;
                Some(self.hash_password(password).await?)
            }
            None => None,
        };
        let now = self.clock.now();
        self.ensure_account(actor, &new.account_id, now).await?;
        let user = UserRecord {
            account_id: new.account_id,
            username: new.username,
            role: new.role,
            email,
            status: UserStatus::Active,
            password_hash,
            passcode_id: None,
            created_at: now,
            updated_at: now,
        };
        let audit = audit_entry(
            actor,
            now,
            "user.create",
            "",
            &user.account_id,
            format!("user {} ({:?})", user.username, user.role),
        );
        if self
            .store
            .commit_user(&user.account_id, &user.username, None, Some(&user), &audit)?
            == Commit::Conflict
        {
            return Err(Error::AlreadyExists(format!(
                "user {} already exists in account {}",
                user.username, user.account_id
            )));
        }
        self.store.flush().await?;
        info!(account_id = %user.account_id, username = %user.username, actor = %actor.id, "user created");
        Ok(user)
    }

    /// Reads a user.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `UserNotFound`, storage.
    pub fn get_user(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
    ) -> Result<UserRecord, Error> {
        validate::account_id("account_id", account_id)?;
        username(name)?;
        self.authorize(
            actor,
            "user.get",
            "",
            account_id,
            actor.allows(Scope::AccountsRead, Some(account_id)),
        )?;
        self.store
            .get_user(account_id, name)?
            .ok_or_else(|| user_not_found(account_id, name))
    }

    /// An account's users in username order, with an opaque token for the
    /// next page.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, storage.
    pub fn list_users(
        &self,
        actor: &Actor,
        account_id: &str,
        page_size: i64,
        page_token: Option<&str>,
    ) -> Result<(Vec<UserRecord>, Option<String>), Error> {
        validate::account_id("account_id", account_id)?;
        let after = page_token
            .map(|token| {
                let name = validate::decode_page_token(token, "user:")?;
                username(&name).map_err(|_| validate::bad_page_token())?;
                Ok::<_, Error>(name)
            })
            .transpose()?;
        self.authorize(
            actor,
            "user.list",
            "",
            account_id,
            actor.allows(Scope::AccountsRead, Some(account_id)),
        )?;
        let page_size = validate::page_size(page_size)?;
        let mut users = Vec::with_capacity(page_size);
        for user in self.store.scan_users(account_id, after.as_deref()) {
            let user = user?;
            if users.len() == page_size {
                let next = users
                    .last()
                    .map(|u: &UserRecord| validate::page_token(&format!("user:{}", u.username)));
                return Ok((users, next));
            }
            users.push(user);
        }
        Ok((users, None))
    }

    /// Reads, changes and writes a user with its audit event.
    async fn modify_user(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        action: &'static str,
        change: impl Fn(&UserRecord) -> Result<(Option<UserRecord>, String), Error>,
    ) -> Result<Option<UserRecord>, Error> {
        validate::account_id("account_id", account_id)?;
        username(name)?;
        self.authorize(
            actor,
            action,
            "",
            account_id,
            actor.allows(Scope::AccountsWrite, Some(account_id)),
        )?;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .store
                .get_user(account_id, name)?
                .ok_or_else(|| user_not_found(account_id, name))?;
            let now = self.clock.now();
            let (mut new, detail) = change(&current)?;
            if let Some(new) = &mut new {
                if *new == current {
                    self.store.flush().await?;
                    return Ok(Some(current));
                }
                new.updated_at = now;
            }
            let audit = audit_entry(
                actor,
                now,
                action,
                current.passcode_id.as_deref().unwrap_or_default(),
                account_id,
                format!("user {name}{detail}"),
            );
            if self
                .store
                .commit_user(account_id, name, Some(&current), new.as_ref(), &audit)?
                == Commit::Conflict
            {
                continue;
            }
            self.store.flush().await?;
            info!(account_id, username = name, action, actor = %actor.id, "user changed");
            return Ok(new);
        }
        warn!(
            account_id,
            username = name,
            action,
            "gave up after repeated concurrent changes"
        );
        Err(Error::Contention {
            id: format!("{account_id}/{name}"),
        })
    }

    /// Changes a user's role, address or password.
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `UserNotFound`, storage.
    pub async fn update_user(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        update: UserUpdate,
    ) -> Result<UserRecord, Error> {
        let email = update.email.as_deref().map(email).transpose()?;
        let password_hash = match update.password {
            Some(Some(password)) => {
                password_ok(&password)?;
                Some(Some(self.hash_password(password).await?))
            }
            Some(None) => Some(None),
            None => None,
        };
        let changed = self
            .modify_user(actor, account_id, name, "user.update", |current| {
                let mut new = current.clone();
                let mut fields = Vec::new();
                if let Some(role) = update.role {
                    new.role = role;
                    fields.push("role");
                }
                if let Some(email) = &email {
                    new.email.clone_from(email);
                    fields.push("email");
                }
                if let Some(hash) = &password_hash {
                    new.password_hash.clone_from(hash);
                    fields.push("password");
                }
                Ok((Some(new), format!(": changed {}", fields.join(", "))))
            })
            .await?;
        changed.ok_or_else(|| user_not_found(account_id, name))
    }

    /// Disables or enables a user. A disabled user cannot log in, and its
    /// passcode and sessions verify DISABLED (reason USER_DISABLED).
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `UserNotFound`, storage.
    pub async fn set_user_status(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        status: UserStatus,
    ) -> Result<UserRecord, Error> {
        let action = match status {
            UserStatus::Active => "user.enable",
            UserStatus::Disabled => "user.disable",
        };
        let changed = self
            .modify_user(actor, account_id, name, action, |current| {
                let mut new = current.clone();
                new.status = status;
                Ok((Some(new), String::new()))
            })
            .await?;
        changed.ok_or_else(|| user_not_found(account_id, name))
    }

    /// Deletes a user; its passcode is revoked first, and its sessions stop
    /// verifying at once (they name a user that no longer exists).
    ///
    /// # Errors
    /// `PermissionDenied`, `InvalidArgument`, `UserNotFound`, storage.
    pub async fn delete_user(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
    ) -> Result<(), Error> {
        let user = self.get_user(actor, account_id, name)?;
        if let Some(passcode) = &user.passcode_id {
            self.revoke_passcode_credential(actor, passcode).await?;
        }
        self.modify_user(actor, account_id, name, "user.delete", |_| {
            Ok((None, String::new()))
        })
        .await?;
        Ok(())
    }

    /// The user behind a user passcode, for Verify.
    pub(crate) fn passcode_user(
        &self,
        account_id: &str,
        name: &str,
    ) -> Result<Option<UserRecord>, Error> {
        Ok(self.store.get_user(account_id, name)?)
    }
}
