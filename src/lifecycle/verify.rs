//! The Verify decision, in one place: what a presented secret that matched a
//! stored version answers, and in which order the reasons to refuse it win.
//!
//! Precedence, first match wins (each step only runs while the caller has
//! shown a secret of the credential's own account, so a foreign or unknown
//! secret learns nothing and costs no lookup):
//!
//! 1. the secret's own version: an older secret whose rotation window ended
//!    is NOT_FOUND;
//! 2. the account (or client id) presented with it: another account's is
//!    ACCOUNT_MISMATCH;
//! 3. the credential's state at `now`: REVOKED, EXPIRED, DISABLED;
//! 4. scopes: every required scope, and the scope query when there is one
//!    (both must hold, see `scope_expr`): INSUFFICIENT_SCOPE;
//! 5. the account's budget (RATE_LIMITED) and status (suspended: DISABLED,
//!    reason ACCOUNT_SUSPENDED);
//! 6. a revoked client id (presented or bound): DISABLED, reason CLIENT_REVOKED;
//! 7. a user passcode's user: gone, REVOKED; disabled, DISABLED (USER_DISABLED).
//!
//! The engine gathers the facts beyond the record (client ids, the account,
//! the user) through [`VerifyFacts`], which this module asks only when the
//! answer depends on them.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::scope_expr::{self, ScopeExpr};
use super::{
    AccountStatus, ClientIdRecord, ClientIdStatus, CredentialRecord, DisabledReason, SecretVersion,
    Status, UserStatus, effective_status,
};

/// The answer to a Verify whose secret matched `version` of `record`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// Good. `retires_at` is set when the secret is the older one of an open
    /// rotation window.
    Valid {
        /// When a superseded secret stops working.
        retires_at: Option<DateTime<Utc>>,
    },
    /// Unknown secret, or an older secret whose window has ended.
    NotFound,
    /// Past `expires_at`.
    Expired,
    /// Disabled, and why.
    Disabled(DisabledReason),
    /// Revoked.
    Revoked,
    /// Presented with another account's id.
    AccountMismatch,
    /// Lacks a required scope.
    InsufficientScope,
    /// The account used up its request budget; room again after `retry_after`.
    RateLimited {
        /// How long until the account's bucket has room.
        retry_after: Duration,
    },
    /// A partner's key, with no live grant for the account it acts for.
    NotDelegated,
    /// A key acting for another account whose own account is not a
    /// registered partner.
    PartnerNotWhitelisted,
    /// Everything else was good, but the credential's remaining uses are
    /// fewer than the cost (nothing was spent).
    UsageExceeded,
}

impl VerifyOutcome {
    /// Whether the answer concerns the credential itself: the caller showed a
    /// secret of its account, so it may learn the credential's state.
    pub fn reveals(&self) -> bool {
        !matches!(
            self,
            VerifyOutcome::NotFound | VerifyOutcome::AccountMismatch
        )
    }

    /// Whether a later, stronger reason (a revoked client id, a disabled
    /// user) replaces this answer.
    pub fn refusable(&self) -> bool {
        matches!(
            self,
            VerifyOutcome::Valid { .. } | VerifyOutcome::InsufficientScope
        )
    }
}

/// What an account's gate says about one Verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountGate {
    /// Within budget; the account's status applies.
    Open(AccountStatus),
    /// The account's budget is spent; room again after this.
    Limited(Duration),
}

impl AccountGate {
    /// The per-account rule, for credentials and sessions alike: a spent
    /// budget answers RATE_LIMITED whatever the credential's state (the
    /// caller showed a secret of the account), else a suspended account
    /// turns the answer DISABLED (see [`apply_account_status`]).
    pub fn apply(self, outcome: VerifyOutcome) -> VerifyOutcome {
        match self {
            AccountGate::Limited(retry_after) => VerifyOutcome::RateLimited { retry_after },
            AccountGate::Open(status) => apply_account_status(outcome, status),
        }
    }
}

/// What a suspended account makes of a Verify answer: a credential that
/// would verify, or be refused for scope or an admin disable, is DISABLED
/// with reason ACCOUNT_SUSPENDED; final states (expired, revoked) and
/// unknown or foreign secrets keep their answer.
pub fn apply_account_status(outcome: VerifyOutcome, status: AccountStatus) -> VerifyOutcome {
    match (status, outcome) {
        (
            AccountStatus::Suspended,
            VerifyOutcome::Valid { .. }
            | VerifyOutcome::InsufficientScope
            | VerifyOutcome::Disabled(_),
        ) => VerifyOutcome::Disabled(DisabledReason::AccountSuspended),
        (_, outcome) => outcome,
    }
}

/// Decides a Verify from the record alone (steps 1 to 4). Account first, so
/// a caller with the wrong account learns nothing about the credential's
/// state; then state; then scopes.
pub fn decide_verify(
    record: &CredentialRecord,
    version: &SecretVersion,
    presented_account: Option<&str>,
    required_scopes: &[String],
    now: DateTime<Utc>,
) -> VerifyOutcome {
    if version.retires_at.is_some_and(|t| now >= t) {
        return VerifyOutcome::NotFound;
    }
    if presented_account.is_some_and(|a| a != record.account_id) {
        return VerifyOutcome::AccountMismatch;
    }
    match effective_status(record, now) {
        Status::Revoked => return VerifyOutcome::Revoked,
        Status::Expired => return VerifyOutcome::Expired,
        Status::Disabled => {
            return VerifyOutcome::Disabled(
                record.disabled_reason.unwrap_or(DisabledReason::Admin),
            );
        }
        Status::Active => {}
    }
    if !required_scopes.iter().all(|s| record.scopes.contains(s)) {
        return VerifyOutcome::InsufficientScope;
    }
    VerifyOutcome::Valid {
        retires_at: version.retires_at,
    }
}

/// What the caller presented beside the secret.
#[derive(Debug, Clone, Copy, Default)]
pub struct Presented<'a> {
    /// The account id presented with it.
    pub account_id: Option<&'a str>,
    /// The client id presented with it.
    pub client_id: Option<&'a str>,
    /// Scopes the credential must allow.
    pub required_scopes: &'a [String],
    /// An expression over scopes the credential must satisfy as well.
    pub scope_query: Option<&'a ScopeExpr>,
}

/// The facts beyond the record that Verify may need, looked up by the
/// engine when [`decide`] asks for them.
pub trait VerifyFacts {
    /// A failed lookup.
    type Error;
    /// A client id's record, if it exists.
    fn client(&mut self, id: &str) -> Result<Option<ClientIdRecord>, Self::Error>;
    /// The gate of the credential's account, if the account exists. Asking
    /// spends one request of its budget, so [`decide`] asks at most once.
    fn account_gate(&mut self) -> Option<AccountGate>;
    /// The status of a user passcode's user; None when the user is gone.
    fn user(&mut self, username: &str) -> Result<Option<UserStatus>, Self::Error>;
}

/// The whole Verify decision for a credential secret that matched `version`
/// of `record` (steps 1 to 7 of the module doc).
///
/// # Errors
/// A failed lookup of a fact.
pub fn decide<F: VerifyFacts>(
    record: &CredentialRecord,
    version: &SecretVersion,
    presented: &Presented<'_>,
    now: DateTime<Utc>,
    facts: &mut F,
) -> Result<VerifyOutcome, F::Error> {
    let outcome = match decide_verify(
        record,
        version,
        presented.account_id,
        presented.required_scopes,
        now,
    ) {
        // Step 4 for the scope query: it only turns VALID into
        // INSUFFICIENT_SCOPE, as a missing required scope would.
        VerifyOutcome::Valid { .. }
            if !scope_expr::satisfied(&[], presented.scope_query, &record.scopes) =>
        {
            VerifyOutcome::InsufficientScope
        }
        outcome => outcome,
    };
    if !outcome.reveals() {
        return Ok(outcome);
    }
    let Some(client_revoked) = client_revoked(record, presented.client_id, facts)? else {
        return Ok(VerifyOutcome::AccountMismatch);
    };
    let mut outcome = match facts.account_gate() {
        Some(gate) => gate.apply(outcome),
        None => outcome,
    };
    if client_revoked && outcome.refusable() {
        outcome = VerifyOutcome::Disabled(DisabledReason::ClientRevoked);
    }
    if let Some(username) = record.user.as_deref() {
        outcome = match facts.user(username)? {
            // DeleteUser revokes the passcode first; a gone user's passcode
            // is REVOKED even while its record still says otherwise.
            None if outcome.refusable() || matches!(outcome, VerifyOutcome::Disabled(_)) => {
                VerifyOutcome::Revoked
            }
            Some(UserStatus::Disabled) if outcome.refusable() => {
                VerifyOutcome::Disabled(DisabledReason::UserDisabled)
            }
            _ => outcome,
        };
    }
    Ok(outcome)
}

/// Step 2 and 6 for client ids: None when a presented client id belongs to
/// another account (or, for a bound key, is not its client); else whether
/// the presented or the bound client id is revoked (a bound one that is gone
/// counts as revoked).
fn client_revoked<F: VerifyFacts>(
    record: &CredentialRecord,
    presented: Option<&str>,
    facts: &mut F,
) -> Result<Option<bool>, F::Error> {
    let revoked = |client: &ClientIdRecord| client.status == ClientIdStatus::Revoked;
    let mut any_revoked = false;
    if let Some(presented) = presented {
        match facts.client(presented)? {
            Some(client)
                if client.account_id == record.account_id
                    && record
                        .client_id
                        .as_deref()
                        .is_none_or(|bound| bound == presented) =>
            {
                any_revoked |= revoked(&client);
            }
            _ => return Ok(None),
        }
    }
    if let Some(bound) = record.client_id.as_deref() {
        any_revoked |= facts.client(bound)?.is_none_or(|c| revoked(&c));
    }
    Ok(Some(any_revoked))
}

#[cfg(test)]
mod tests;
