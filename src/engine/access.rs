//! Who is asking and what they may do: the [`Actor`] every use case receives,
//! the admin [`Scope`]s, and the one rule that decides whether an actor may
//! act on an account. The api layer authenticates and builds the actor; the
//! engine's use cases call [`Actor::allows`] before they read or change
//! anything, so scope checks live in one place and not in handlers.

use std::collections::BTreeSet;
use std::fmt;

use tracing::warn;

use super::{Engine, Error, audit_entry};
use crate::lifecycle::{CredentialRecord, Kind};

/// What an admin key may do. Stored as the key's scopes, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Get and list credentials.
    CredentialsRead,
    /// Create, update, rotate, revoke, disable, reactivate and delete credentials.
    CredentialsWrite,
    /// List audit events.
    AuditRead,
    /// Create, list and revoke admin keys.
    AdminManage,
    /// Call Verify when `[auth] verifier = "token"`.
    Verify,
    /// Get and list accounts (an account-scoped key: its own).
    AccountsRead,
    /// Create, update, suspend and resume accounts.
    AccountsWrite,
    /// Read partners, grants and consent requests (an account-scoped key:
    /// those its account is party to).
    PartnersRead,
    /// Whitelist partners and create grants (global keys); revoke grants,
    /// ask for and answer consent (account-scoped keys: for their account).
    PartnersWrite,
    /// List webhook endpoints and their deliveries (an account-scoped key:
    /// its account's).
    WebhooksRead,
    /// Create, change, rotate, test and delete webhook endpoints, and
    /// redeliver (an account-scoped key: its account's).
    WebhooksWrite,
}

impl Scope {
    /// Every scope, in the order they are documented.
    pub const ALL: [Scope; 11] = [
        Scope::CredentialsRead,
        Scope::CredentialsWrite,
        Scope::AuditRead,
        Scope::AdminManage,
        Scope::Verify,
        Scope::AccountsRead,
        Scope::AccountsWrite,
        Scope::PartnersRead,
        Scope::PartnersWrite,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
    ];

    /// Scopes an account-scoped management key may hold: what an account's
    /// own integration needs for its own credentials and history.
    pub const ACCOUNT: [Scope; 8] = [
        Scope::CredentialsRead,
        Scope::CredentialsWrite,
        Scope::AuditRead,
        Scope::AccountsRead,
        Scope::PartnersRead,
        Scope::PartnersWrite,
        Scope::WebhooksRead,
        Scope::WebhooksWrite,
    ];

    /// The name used in keys, requests and messages.
    pub fn name(self) -> &'static str {
        match self {
            Scope::CredentialsRead => "credentials:read",
            Scope::CredentialsWrite => "credentials:write",
            Scope::AuditRead => "audit:read",
            Scope::AdminManage => "admin:manage",
            Scope::Verify => "verify",
            Scope::AccountsRead => "accounts:read",
            Scope::AccountsWrite => "accounts:write",
            Scope::PartnersRead => "partners:read",
            Scope::PartnersWrite => "partners:write",
            Scope::WebhooksRead => "webhooks:read",
            Scope::WebhooksWrite => "webhooks:write",
        }
    }

    /// Parses a scope name.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What an actor is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Grant {
    /// The sweep, the mailer, bootstrap and embedding code: everything.
    Unrestricted,
    /// An admin key: its scopes, on every account or on one.
    Key {
        scopes: BTreeSet<Scope>,
        account_id: Option<String>,
    },
}

/// Who asked, as the audit log records it, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `system`, or the id of the admin key that authenticated the call.
    pub id: String,
    /// The caller's `x-request-id`, or one made up for the call.
    pub request_id: String,
    grant: Grant,
}

/// Why an actor may not do something; the message names what was missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied(pub String);

impl Actor {
    /// The lifecycle sweep and other automatic changes.
    pub fn system() -> Self {
        Self::unrestricted("system")
    }

    /// An actor allowed everything, under an audit name of the caller's
    /// choosing (bootstrap, embedding, tests and benchmarks).
    pub fn unrestricted(id: &str) -> Self {
        Actor {
            id: id.to_string(),
            request_id: String::new(),
            grant: Grant::Unrestricted,
        }
    }

    /// The caller behind an authenticated admin key.
    pub fn admin_key(
        key_id: &str,
        scopes: impl IntoIterator<Item = Scope>,
        account_id: Option<String>,
        request_id: String,
    ) -> Self {
        Actor {
            id: key_id.to_string(),
            request_id,
            grant: Grant::Key {
                scopes: scopes.into_iter().collect(),
                account_id,
            },
        }
    }

    /// An account user with the `ADMIN` role, signed in to the console: an
    /// account-scoped key's scopes on their own account, recorded in the
    /// audit log as `user:ACCOUNT-NAME`.
    pub fn account_admin(login_name: &str, account_id: &str, request_id: String) -> Self {
        Self::admin_key(
            &format!("user:{login_name}"),
            Scope::ACCOUNT,
            Some(account_id.to_string()),
            request_id,
        )
    }

    /// How refusals name the actor: `admin key cred_...`, or `user
    /// ACCOUNT-NAME` for an account administrator signed in to the console.
    pub fn named(&self) -> String {
        match self.id.strip_prefix("user:") {
            Some(login) => format!("user {login}"),
            None => format!("admin key {}", self.id),
        }
    }

    /// The one account this actor is confined to, if any.
    pub fn account(&self) -> Option<&str> {
        match &self.grant {
            Grant::Unrestricted => None,
            Grant::Key { account_id, .. } => account_id.as_deref(),
        }
    }

    /// Whether the actor holds `scope` (on some account).
    pub fn holds(&self, scope: Scope) -> bool {
        match &self.grant {
            Grant::Unrestricted => true,
            Grant::Key { scopes, .. } => scopes.contains(&scope),
        }
    }

    /// Whether the actor may use `scope` on `account` (None: on every
    /// account at once, as an unfiltered listing does).
    ///
    /// # Errors
    /// [`Denied`] naming the missing scope or the account it may not touch.
    pub fn allows(&self, scope: Scope, account: Option<&str>) -> Result<(), Denied> {
        let Grant::Key {
            scopes, account_id, ..
        } = &self.grant
        else {
            return Ok(());
        };
        if !scopes.contains(&scope) {
            return Err(Denied(format!("{} lacks the scope {scope}", self.named())));
        }
        match (account_id, account) {
            (None, _) => Ok(()),
            (Some(own), Some(target)) if own == target => Ok(()),
            (Some(own), Some(target)) => Err(Denied(format!(
                "{} may act only on account {own}, not on account {target}",
                self.named()
            ))),
            (Some(own), None) => Err(Denied(format!(
                "{} may act only on account {own}; name that account",
                self.named()
            ))),
        }
    }

    /// [`Actor::allows`] on either of two accounts (a grant's or a consent
    /// request's two parties); the refusal names the first.
    ///
    /// # Errors
    /// [`Denied`] when neither is allowed.
    pub fn allows_either(&self, scope: Scope, first: &str, second: &str) -> Result<(), Denied> {
        self.allows(scope, Some(first))
            .or_else(|denied| self.allows(scope, Some(second)).map_err(|_| denied))
    }

    /// Whether the actor may manage admin keys on `account` (None: global
    /// keys). Account-scoped keys never manage admin keys.
    ///
    /// # Errors
    /// [`Denied`] naming what is missing.
    pub fn allows_key_management(&self) -> Result<(), Denied> {
        if let Some(own) = self.account() {
            return Err(Denied(format!(
                "{} is scoped to account {own} and cannot manage admin keys",
                self.named()
            )));
        }
        self.allows(Scope::AdminManage, None)
    }
}

/// Whether a use case reads or changes what it touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    Read,
    Write,
}

impl Engine {
    /// Turns a refusal into `PermissionDenied`, recording the attempt in the
    /// audit log (outcome `denied`) and in the log.
    pub(super) fn authorize(
        &self,
        actor: &Actor,
        action: &'static str,
        credential_id: &str,
        account_id: &str,
        decision: Result<(), Denied>,
    ) -> Result<(), Error> {
        let Err(Denied(message)) = decision else {
            return Ok(());
        };
        let mut entry = audit_entry(
            actor,
            self.clock.now(),
            action,
            credential_id,
            account_id,
            message.clone(),
        );
        entry.outcome = "denied";
        if let Err(e) = self.store.append_audit(&entry) {
            warn!(error = %e, "could not record a denied attempt in the audit log");
        }
        warn!(actor = %actor.id, request_id = %actor.request_id, action, credential_id, account_id, reason = %message, "permission denied");
        Err(Error::PermissionDenied(message))
    }

    /// Refuses an actor that lacks `scope` altogether, before anything is
    /// read on its behalf; the audit event still names the account.
    pub(super) fn deny_unscoped<T>(
        &self,
        actor: &Actor,
        action: &'static str,
        id: &str,
        scope: Scope,
    ) -> Result<T, Error> {
        let account = self
            .store
            .get(id)
            .ok()
            .flatten()
            .map(|r| r.account_id)
            .unwrap_or_default();
        self.authorize(actor, action, id, &account, actor.allows(scope, None))?;
        Err(Error::PermissionDenied(format!(
            "{} lacks the scope {scope}",
            actor.named()
        )))
    }

    /// Checks the actor against an existing record: admin keys need
    /// `admin:manage` from a global key; other credentials need
    /// `credentials:read` or `credentials:write` on their account.
    pub(super) fn authorize_on(
        &self,
        actor: &Actor,
        action: &'static str,
        record: &CredentialRecord,
        access: Access,
    ) -> Result<(), Error> {
        let decision = match (record.kind, access) {
            (Kind::AdminKey, _) => actor.allows_key_management(),
            (Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey, Access::Read) => {
                actor.allows(Scope::CredentialsRead, Some(&record.account_id))
            }
            (Kind::ApiKey | Kind::Passcode | Kind::Session | Kind::CustomerKey, Access::Write) => {
                actor.allows(Scope::CredentialsWrite, Some(&record.account_id))
            }
        };
        self.authorize(actor, action, &record.id, &record.account_id, decision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.name()), Some(scope));
        }
        assert_eq!(Scope::parse("credentials:admin"), None);
    }

    #[test]
    fn a_key_needs_the_scope_and_the_account() {
        let global = Actor::admin_key("k1", [Scope::CredentialsRead], None, String::new());
        assert!(global.allows(Scope::CredentialsRead, Some("acme")).is_ok());
        assert!(global.allows(Scope::CredentialsRead, None).is_ok());
        let denied = global.allows(Scope::CredentialsWrite, Some("acme"));
        assert_eq!(
            denied,
            Err(Denied(
                "admin key k1 lacks the scope credentials:write".to_string()
            ))
        );

        let scoped = Actor::admin_key(
            "k2",
            [Scope::CredentialsRead, Scope::CredentialsWrite],
            Some("acme".to_string()),
            String::new(),
        );
        assert!(scoped.allows(Scope::CredentialsWrite, Some("acme")).is_ok());
        let other = scoped.allows(Scope::CredentialsWrite, Some("globex"));
        assert!(other.is_err_and(|d| d.0.contains("not on account globex")));
        assert!(scoped.allows(Scope::CredentialsRead, None).is_err());
        assert!(scoped.allows_key_management().is_err());
    }

    #[test]
    fn system_may_do_everything() {
        let system = Actor::system();
        for scope in Scope::ALL {
            assert!(system.allows(scope, Some("any")).is_ok());
        }
        assert!(system.allows_key_management().is_ok());
    }
}
