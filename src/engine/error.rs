//! What can go wrong in a use case, in domain terms; `api::status` maps each
//! variant to a gRPC code.

use crate::store;

/// What went wrong, in domain terms. `api::status` maps each to a gRPC code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    // ---- CLIENT ERRORS ----
    /// The request is malformed; the message says which field and why.
    #[error("{0}")]
    InvalidArgument(String),
    /// The request names a rate limit the credential and its account do
    /// not have, or asks more of one than its limit (a caller's, or a
    /// gateway route's, mistake).
    #[error("{0}")]
    UnknownRateLimit(String),
    /// No credential has this id.
    #[error("credential {id} not found")]
    NotFound {
        /// The id asked for.
        id: String,
    },
    /// No account has this id.
    #[error("account {id} not found; create it with CreateAccount")]
    AccountNotFound {
        /// The id asked for.
        id: String,
    },
    /// The thing to create exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// No such user in the account.
    #[error("user {username} not found in account {account_id}")]
    UserNotFound {
        /// The account.
        account_id: String,
        /// The username asked for.
        username: String,
    },
    /// No client id, partner, grant or consent request by that id; the
    /// message names which.
    #[error("{0}")]
    NoSuch(String),
    /// A login failed; the message is the same whatever was wrong.
    #[error("{0}")]
    Unauthenticated(String),
    /// Too many failed logins; try again later.
    #[error("too many failed logins; retry in {}s", retry_after.as_secs().max(1))]
    Throttled {
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// The credential is not in a state that allows this.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The caller's admin key lacks a scope or is confined to another account.
    #[error("{0}")]
    PermissionDenied(String),
    /// The account holds its maximum of live credentials.
    #[error(
        "account {account_id} already has {limit} live credentials, the most it may hold; revoke or delete one first"
    )]
    QuotaExceeded {
        /// The full account.
        account_id: String,
        /// Its limit.
        limit: u32,
    },

    // ---- SERVER ERRORS ----
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] store::Error),
    /// The OS could not supply randomness for a new secret.
    #[error("no randomness for a new secret: {0}")]
    Random(getrandom::Error),
    /// The record kept changing underneath; the caller may retry.
    #[error("{id} is being changed concurrently; retry")]
    Contention {
        /// The contended credential.
        id: String,
    },
}
