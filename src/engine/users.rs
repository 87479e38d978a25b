//! Users of an account (KlickTipp's dedicated API user, CleverTap's users),
//! their passwords (argon2id), their passcodes (CleverTap's user passcodes:
//! a passcode credential bound to the user), and login sessions (KlickTipp's
//! username + password login). Failed logins are throttled per user and per
//! peer with growing delays; an unknown user costs the same argon2 work and
//! gets the same answer as a wrong password.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration as StdDuration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, Duration, Utc};
use tracing::{debug, info, warn};
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

/// Longest username.
pub const MAX_USERNAME: usize = 64;
/// Shortest and longest password, in bytes.
pub const PASSWORD_LEN: std::ops::RangeInclusive<usize> = 8..=1024;
/// "Infinite" user passcodes last ten years (CleverTap).
pub const INFINITE_DAYS: i64 = 3650;
/// Most throttle entries kept before expired ones are pruned.
const MAX_THROTTLE_ENTRIES: usize = 100_000;

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

/// Failed-login bookkeeping per user and per peer.
#[derive(Debug, Default)]
pub(crate) struct LoginThrottle {
    /// Key -> (consecutive failures, blocked until).
    state: Mutex<HashMap<String, (u32, Option<Instant>)>>,
}

impl LoginThrottle {
    /// The longest wait any of `keys` is under.
    fn wait(&self, keys: &[String]) -> Option<StdDuration> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        keys.iter()
            .filter_map(|k| state.get(k).and_then(|(_, until)| *until))
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    fn failed(&self, keys: &[String], settings: &UserSettings) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if state.len() > MAX_THROTTLE_ENTRIES {
            state.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        for key in keys {
            let entry = state.entry(key.clone()).or_insert((0, None));
            entry.0 += 1;
            // After the free attempts are used up, the next attempt waits:
            // the backoff starts with the N-th failure, not the one after.
            // (0 free attempts: every failure makes the next one wait.)
            let free = settings.login_free_attempts.max(1);
            if entry.0 >= free {
                let doublings = (entry.0 - free).min(20);
                let delay = settings
                    .login_backoff
                    .saturating_mul(1 << doublings)
                    .min(settings.login_backoff_max);
                entry.1 = Some(now + delay);
            }
        }
    }

    fn succeeded(&self, key: &str) {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
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

/// Days a passcode is valid: 1 to 365, or ten years for "infinite".
fn validity_days(validity: PasscodeValidity) -> Result<i64, Error> {
    match validity {
        PasscodeValidity::Days(n @ 1..=365) => Ok(i64::from(n)),
        PasscodeValidity::Days(n) => Err(Error::InvalidArgument(format!(
            "validity_days must be between 1 and 365 (or infinite), got {n}"
        ))),
        PasscodeValidity::Infinite => Ok(INFINITE_DAYS),
    }
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

    async fn revoke_passcode_credential(&self, actor: &Actor, id: &str) -> Result<(), Error> {
        match self.revoke(actor, id, "user passcode revoked").await {
            Ok(_) | Err(Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Grants a user a passcode (CleverTap): a passcode credential of the
    /// account bound to the user, valid 1 to 365 days or ten years. The
    /// secret is shown once.
    ///
    /// # Errors
    /// `FailedPrecondition` when the user already has a passcode (reset
    /// it) or is disabled; otherwise as [`Engine::get_user`] and create.
    pub async fn grant_user_passcode(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        validity: PasscodeValidity,
    ) -> Result<(UserRecord, CredentialView, Secret), Error> {
        let user = self.get_user(actor, account_id, name)?;
        if let Some(existing) = &user.passcode_id {
            return Err(Error::FailedPrecondition(format!(
                "user {name} already has passcode {existing}; reset or revoke it"
            )));
        }
        self.issue_user_passcode(actor, user, validity).await
    }

    /// Issues a new passcode and kills the old one at once.
    ///
    /// # Errors
    /// As [`Engine::grant_user_passcode`], without the "already has" case.
    pub async fn reset_user_passcode(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
        validity: PasscodeValidity,
    ) -> Result<(UserRecord, CredentialView, Secret), Error> {
        validity_days(validity)?;
        let user = self.get_user(actor, account_id, name)?;
        if user.status == UserStatus::Disabled {
            return Err(Error::FailedPrecondition(format!(
                "user {name} is disabled; enable it first"
            )));
        }
        if let Some(old) = &user.passcode_id {
            self.revoke_passcode_credential(actor, old).await?;
        }
        self.issue_user_passcode(actor, user, validity).await
    }

    /// Revokes a user's passcode.
    ///
    /// # Errors
    /// `FailedPrecondition` when the user has none; as [`Engine::get_user`].
    pub async fn revoke_user_passcode(
        &self,
        actor: &Actor,
        account_id: &str,
        name: &str,
    ) -> Result<UserRecord, Error> {
        let user = self.get_user(actor, account_id, name)?;
        let Some(old) = user.passcode_id.clone() else {
            return Err(Error::FailedPrecondition(format!(
                "user {name} has no passcode"
            )));
        };
        self.revoke_passcode_credential(actor, &old).await?;
        let changed = self
            .modify_user(actor, account_id, name, "user.passcode_revoke", |current| {
                let mut new = current.clone();
                new.passcode_id = None;
                Ok((Some(new), format!(": passcode {old}")))
            })
            .await?;
        changed.ok_or_else(|| user_not_found(account_id, name))
    }

    async fn issue_user_passcode(
        &self,
        actor: &Actor,
        user: UserRecord,
        validity: PasscodeValidity,
    ) -> Result<(UserRecord, CredentialView, Secret), Error> {
        self.authorize(
            actor,
            "user.passcode_grant",
            "",
            &user.account_id,
            actor.allows(Scope::CredentialsWrite, Some(&user.account_id)),
        )?;
        if user.status == UserStatus::Disabled {
            return Err(Error::FailedPrecondition(format!(
                "user {} is disabled; enable it first",
                user.username
            )));
        }
        let days = validity_days(validity)?;
        let now = self.clock.now();
        let expiry = now + Duration::days(days);
        let request = NewCredential {
            account_id: user.account_id.clone(),
            kind: Kind::Passcode,
            environment: Environment::Live,
            name: format!("user passcode of {}", user.login_name()),
            description: format!("granted to user {}", user.username),
            scopes: Vec::new(),
            lifetime: Some(Duration::days(days)),
            notify_emails: if user.email.is_empty() {
                Vec::new()
            } else {
                vec![user.email.clone()]
            },
            client_id: None,
        };
        let (view, secret) = self
            .issue(
                actor,
                request,
                Vec::new(),
                (expiry, expiry),
                now,
                Some(user.username.clone()),
            )
            .await?;
        let passcode_id = view.record.id.clone();
        let updated = self
            .modify_user(
                actor,
                &user.account_id,
                &user.username,
                "user.passcode_grant",
                |current| {
                    let mut new = current.clone();
                    new.passcode_id = Some(passcode_id.clone());
                    Ok((
                        Some(new),
                        format!(": passcode {passcode_id} valid {days} days"),
                    ))
                },
            )
            .await?
            .ok_or_else(|| user_not_found(&user.account_id, &user.username))?;
        Ok((updated, view, secret))
    }

    /// Logs a user in with a password (KlickTipp). Returns the session and
    /// its token, shown once.
    ///
    /// # Errors
    /// `Unauthenticated` for an unknown account or user or a wrong password
    /// (the same answer after the same work), `PermissionDenied` for a
    /// disabled user with the right password, `Throttled` after repeated
    /// failures, `InvalidArgument`, storage.
    pub async fn login(
        &self,
        account_id: &str,
        name: &str,
        password: Zeroizing<String>,
        peer: Option<IpAddr>,
    ) -> Result<(SessionRecord, Secret), Error> {
        validate::account_id("account_id", account_id)?;
        username(name)?;
        if password.is_empty() || password.len() > *PASSWORD_LEN.end() {
            return Err(Error::InvalidArgument(format!(
                "password must be 1 to {} bytes long",
                PASSWORD_LEN.end()
            )));
        }
        let user_key = format!("user:{account_id}\0{name}");
        let mut keys = vec![user_key.clone()];
        if let Some(peer) = peer {
            keys.push(format!("peer:{peer}"));
        }
        if let Some(retry_after) = self.login_throttle.wait(&keys) {
            warn!(account_id, username = name, "login throttled");
            return Err(Error::Throttled { retry_after });
        }
        let user = self.store.get_user(account_id, name)?;
        let hash = user.as_ref().and_then(|u| u.password_hash.clone());
        let matched = self.password_matches(password, hash).await;
        let Some(user) = user.filter(|_| matched) else {
            self.login_throttle.failed(&keys, &self.user_settings);
            info!(account_id, username = name, "login failed");
            return Err(Error::Unauthenticated(
                "invalid account, username or password".to_string(),
            ));
        };
        self.login_throttle.succeeded(&user_key);
        if user.status == UserStatus::Disabled {
            return Err(Error::PermissionDenied(format!(
                "user {name} of account {account_id} is disabled"
            )));
        }
        let now = self.clock.now();
        let token = Secret::generate(&self.key_prefix, Environment::Live, Kind::Session)
            .map_err(Error::Random)?;
        let session = SessionRecord {
            id: format!("sess_{}", ulid::Ulid::new()),
            account_id: account_id.to_string(),
            username: name.to_string(),
            created_at: now,
            last_seen_at: now,
            expires_at: now + self.user_settings.sessions.max_lifetime,
        };
        let actor = Actor::unrestricted(&format!("user:{}", user.login_name()));
        let audit = audit_entry(
            &actor,
            now,
            "session.login",
            &session.id,
            account_id,
            format!("user {name}"),
        );
        self.store
            .insert_session(&self.pepper.hash(token.expose()).0, &session, &audit)?;
        self.store.flush().await?;
        info!(account_id, username = name, session_id = %session.id, "logged in");
        Ok((session, token))
    }

    /// Ends a session at once. Returns whether one was ended.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty token, storage.
    pub async fn logout(&self, token: &str) -> Result<bool, Error> {
        if token.is_empty() || token.len() > secret::MAX_SECRET_LEN {
            return Err(Error::InvalidArgument(
                "session token is required".to_string(),
            ));
        }
        if secret::parse(token).map(|s| s.kind) != Ok(Kind::Session) {
            return Ok(false);
        }
        let hash = self.pepper.hash(token).0;
        let Some(session) = self.store.get_session(&hash)? else {
            return Ok(false);
        };
        let actor =
            Actor::unrestricted(&format!("user:{}-{}", session.account_id, session.username));
        let audit = audit_entry(
            &actor,
            self.clock.now(),
            "session.logout",
            &session.id,
            &session.account_id,
            String::new(),
        );
        let ended = self.store.remove_session(&hash, Some(&audit))?;
        self.store.flush().await?;
        info!(session_id = %session.id, account_id = %session.account_id, "logged out");
        Ok(ended)
    }

    /// Verify of a session token: live, user active, account not suspended.
    pub(crate) fn verify_session(
        &self,
        presented: &str,
        account_id: Option<&str>,
        required_scopes: &[String],
    ) -> Result<(VerifyOutcome, Option<SessionRecord>, Option<UserRecord>), Error> {
        let hash = self.pepper.hash(presented).0;
        let Some(mut session) = self.store.get_session(&hash)? else {
            debug!(result = "not_found", why = "unknown session", "verify");
            return Ok((VerifyOutcome::NotFound, None, None));
        };
        if account_id.is_some_and(|a| a != session.account_id) {
            return Ok((VerifyOutcome::AccountMismatch, None, None));
        }
        if let Some(seen) = self.pending_touch(&hash) {
            session.last_seen_at = session.last_seen_at.max(seen);
        }
        let now = self.clock.now();
        let Some(user) = self
            .store
            .get_user(&session.account_id, &session.username)?
        else {
            return Ok((VerifyOutcome::NotFound, None, None));
        };
        let mut outcome = if !lifecycle::session_live(&session, &self.user_settings.sessions, now) {
            VerifyOutcome::Expired
        } else if user.status == UserStatus::Disabled {
            VerifyOutcome::Disabled(DisabledReason::UserDisabled)
        } else if !required_scopes.is_empty() {
            VerifyOutcome::InsufficientScope
        } else {
            VerifyOutcome::Valid { retires_at: None }
        };
        if let Some(account) = self.accounts.get(&session.account_id) {
            outcome = match account.take() {
                Some(retry_after) => VerifyOutcome::RateLimited { retry_after },
                None => lifecycle::apply_account_status(outcome, account.record.status),
            };
        }
        if matches!(outcome, VerifyOutcome::Valid { .. }) {
            self.session_touches
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(hash, now);
        }
        Ok((outcome, Some(session), Some(user)))
    }

    fn pending_touch(&self, hash: &[u8; 32]) -> Option<DateTime<Utc>> {
        self.session_touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .copied()
    }

    /// Writes pending session uses (called with the usage flush).
    pub(crate) fn flush_session_touches(&self) -> Result<usize, Error> {
        let touches: Vec<([u8; 32], DateTime<Utc>)> = self
            .session_touches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .collect();
        for (hash, seen) in &touches {
            self.store.touch_session(hash, *seen)?;
        }
        Ok(touches.len())
    }

    /// Removes sessions that idled out or reached their lifetime, or whose
    /// user is gone. Returns how many.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn sweep_sessions(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let n_removed = super::offload::blocking(|| self.remove_ended_sessions(now))?;
        if n_removed > 0 {
            self.store.flush().await?;
            info!(n_removed, "expired sessions removed");
        }
        Ok(n_removed)
    }

    /// Removes sessions that are over or whose user is gone, each with its
    /// audit event (not yet durable); returns how many.
    fn remove_ended_sessions(&self, now: DateTime<Utc>) -> Result<usize, Error> {
        self.flush_session_touches()?;
        let mut n_removed = 0;
        let sessions: Vec<([u8; 32], SessionRecord)> =
            self.store.scan_sessions().collect::<Result<_, _>>()?;
        for (hash, session) in sessions {
            let live = lifecycle::session_live(&session, &self.user_settings.sessions, now);
            let user_exists = self
                .store
                .get_user(&session.account_id, &session.username)?
                .is_some();
            if live && user_exists {
                continue;
            }
            let audit = audit_entry(
                &Actor::system(),
                now,
                "session.expire",
                &session.id,
                &session.account_id,
                format!("user {}", session.username),
            );
            if self.store.remove_session(&hash, Some(&audit))? {
                n_removed += 1;
            }
        }
        Ok(n_removed)
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
