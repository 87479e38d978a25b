//! Who an admin console session stands for ([`ConsolePrincipal`]): an admin
//! key, or an account user with the `ADMIN` role signed in with a password.
//! The console turns the principal back into an [`Actor`] on every request
//! (`console_actor`), so a revoked or rotated-away admin key, a disabled or
//! demoted user and an ended login session end the console session too.

use std::net::IpAddr;

use tracing::info;
use zeroize::Zeroizing;

use super::access::Actor;
use super::admin_keys::AuthFailure;
use super::{Engine, Error, VerifyQuery};
use crate::lifecycle::{self, Kind, UserRole, VerifyOutcome};
use crate::secret::Secret;

/// What a console session was signed in with. Holds no admin key secret;
/// a user's login session token is kept in memory only, to check the
/// session on each request and to end it at sign-out.
pub enum ConsolePrincipal {
    /// An admin key and the secret version it was signed in with.
    AdminKey { key_id: String, version: u32 },
    /// A user with the `ADMIN` role and their login session.
    User {
        account_id: String,
        username: String,
        token: Secret,
    },
}

impl std::fmt::Debug for ConsolePrincipal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConsolePrincipal::AdminKey { key_id, version } => {
                write!(f, "AdminKey({key_id} v{version})")
            }
            ConsolePrincipal::User {
                account_id,
                username,
                ..
            } => write!(f, "User({username} of {account_id})"),
        }
    }
}

impl ConsolePrincipal {
    /// A copy of a user's login session token (to end it at sign-out).
    pub fn login_token(&self) -> Option<Zeroizing<String>> {
        match self {
            ConsolePrincipal::AdminKey { .. } => None,
            ConsolePrincipal::User { token, .. } => {
                Some(Zeroizing::new(token.expose().to_string()))
            }
        }
    }

    /// How the console names who is signed in.
    pub fn label(&self) -> String {
        match self {
            ConsolePrincipal::AdminKey { key_id, .. } => key_id.clone(),
            ConsolePrincipal::User {
                account_id,
                username,
                ..
            } => format!("user {username} of {account_id}"),
        }
    }
}

impl Engine {
    /// Signs in to the console with an admin key, accepted exactly as the
    /// gRPC interceptor accepts it. Failures from one peer address are
    /// throttled like failed logins (`[sessions] login_free_attempts`).
    ///
    /// # Errors
    /// `Unauthenticated` for an unknown or inactive key, `Throttled`,
    /// storage.
    pub fn console_key_sign_in(
        &self,
        presented: &str,
        peer: Option<IpAddr>,
        request_id: String,
    ) -> Result<(Actor, ConsolePrincipal), Error> {
        let keys: Vec<String> = peer
            .map(|p| format!("console-key:{p}"))
            .into_iter()
            .collect();
        if let Some(retry_after) = self.login_throttle.wait(&keys) {
            return Err(Error::Throttled { retry_after });
        }
        let actor = match self.authenticate(presented, request_id)? {
            Ok(actor) => actor,
            Err(failure @ (AuthFailure::Unknown | AuthFailure::Inactive)) => {
                self.login_throttle.failed(&keys, &self.user_settings);
                info!(?peer, "console sign-in with an admin key refused");
                return Err(Error::Unauthenticated(failure.to_string()));
            }
        };
        let hash = self.pepper.hash(presented);
        let version = self
            .store
            .lookup_secret(&hash.0)?
            .map(|(_, version)| version)
            .ok_or_else(|| Error::Unauthenticated(AuthFailure::Unknown.to_string()))?;
        info!(admin_key = %actor.id, "console sign-in");
        let principal = ConsolePrincipal::AdminKey {
            key_id: actor.id.clone(),
            version,
        };
        Ok((actor, principal))
    }

    /// Signs a user in to the console with a password: a login (throttled
    /// and audited as any login), then the `ADMIN` role is required; a user
    /// without it has the new session ended at once.
    ///
    /// # Errors
    /// As [`Engine::login`]; `PermissionDenied` without the `ADMIN` role.
    pub async fn console_user_sign_in(
        &self,
        account_id: &str,
        username: &str,
        password: Zeroizing<String>,
        peer: Option<IpAddr>,
    ) -> Result<(Actor, ConsolePrincipal), Error> {
        let (session, token) = self.login(account_id, username, password, peer).await?;
        let user = self.store.get_user(account_id, username)?;
        if user.as_ref().map(|u| u.role) != Some(UserRole::Admin) {
            self.logout(token.expose()).await?;
            return Err(Error::PermissionDenied(format!(
                "user {username} of account {account_id} does not have the ADMIN role"
            )));
        }
        info!(account_id, username, session_id = %session.id, "console sign-in");
        let actor = Actor::account_admin(
            &format!("{account_id}-{username}"),
            account_id,
            String::new(),
        );
        let principal = ConsolePrincipal::User {
            account_id: account_id.to_string(),
            username: username.to_string(),
            token,
        };
        Ok((actor, principal))
    }

    /// The actor `principal` stands for now; `None` when it no longer may
    /// act (key revoked, expired, rotated away; session over; user disabled
    /// or no longer `ADMIN`; account suspended).
    ///
    /// # Errors
    /// Storage.
    pub fn console_actor(
        &self,
        principal: &ConsolePrincipal,
        request_id: String,
    ) -> Result<Option<Actor>, Error> {
        match principal {
            ConsolePrincipal::AdminKey { key_id, version } => {
                self.console_key_actor(key_id, *version, request_id)
            }
            ConsolePrincipal::User {
                account_id, token, ..
            } => {
                let query = VerifyQuery {
                    secret: token.expose(),
                    account_id: Some(account_id),
                    ..VerifyQuery::default()
                };
                let (outcome, _, user) = self.verify_session(token.expose(), &query)?;
                let admin = user.filter(|u| u.role == UserRole::Admin);
                Ok(match (outcome, admin) {
                    (VerifyOutcome::Valid { .. }, Some(user)) => Some(Actor::account_admin(
                        &user.login_name(),
                        &user.account_id,
                        request_id,
                    )),
                    _ => None,
                })
            }
        }
    }

    fn console_key_actor(
        &self,
        key_id: &str,
        version_no: u32,
        request_id: String,
    ) -> Result<Option<Actor>, Error> {
        let Some(record) = self.store.get(key_id)? else {
            return Ok(None);
        };
        let Some(version) = record.versions.iter().find(|v| v.version == version_no) else {
            return Ok(None);
        };
        if record.kind != Kind::AdminKey
            || !matches!(
                lifecycle::decide_verify(&record, version, None, &[], self.clock.now()),
                VerifyOutcome::Valid { .. }
            )
        {
            return Ok(None);
        }
        let account = Some(record.account_id.clone()).filter(|a| !a.is_empty());
        Ok(Some(Actor::admin_key(
            &record.id,
            record.scopes.iter().filter_map(|s| super::Scope::parse(s)),
            account,
            request_id,
        )))
    }
}
