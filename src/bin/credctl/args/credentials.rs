//! The flags of the credential commands, which sit at the top level
//! (`credctl create`, `credctl list`, ...), and the kind and status values
//! they filter on.

use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};

use credd::api::pb;

use super::EnvArg;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum KindArg {
    Api,
    Passcode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StatusArg {
    Active,
    Disabled,
    Expired,
    Revoked,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CredentialCommand {
    /// Issue a credential; its secret is printed once.
    Create {
        /// Owning account id.
        #[arg(long)]
        account: String,
        /// api (presented alone) or passcode (presented with the account id).
        #[arg(long, value_enum, default_value = "api")]
        kind: KindArg,
        /// live or test.
        #[arg(long = "env", value_enum, default_value = "live")]
        environment: EnvArg,
        /// Short name.
        #[arg(long)]
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// A scope (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime such as 90d or 12h (default: the server's policy).
        #[arg(long)]
        lifetime: Option<String>,
        /// A contact address (repeat for several).
        #[arg(long = "notify")]
        notify_emails: Vec<String>,
        /// Bind the API key to one of the account's client ids; Verify
        /// with another client id then answers ACCOUNT_MISMATCH.
        #[arg(long, default_value = "")]
        client_id: String,
        /// Metadata: a JSON object (at most 8 KiB), e.g. '{"plan":"pro"}';
        /// Verify and Get hand it back.
        #[arg(long, default_value = "")]
        metadata: String,
        /// Uses it starts with (each VALID Verify spends its cost); unset: unlimited.
        #[arg(long)]
        credits: Option<u64>,
        /// Refill of the credits: daily:AMOUNT or monthly:DAY:AMOUNT (00:00 UTC).
        #[arg(long, value_parser = super::parse_refill, requires = "credits")]
        refill: Option<pb::Refill>,
        /// A named rate limit NAME=LIMIT/DURATION, e.g. api=100/1m
        /// (repeat); Verify applies it when it names it.
        #[arg(long = "rate-limit", value_parser = crate::rate_limits::parse_rule)]
        rate_limits: Vec<pb::RateLimitRule>,
    },
    /// Show one credential.
    Get {
        /// Credential id.
        id: String,
    },
    /// List credentials.
    List {
        /// Only this account.
        #[arg(long, default_value = "")]
        account: String,
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Only this environment.
        #[arg(long = "env", value_enum)]
        environment: Option<EnvArg>,
        /// Only credentials that expire within this span, e.g. 30d (and
        /// have not expired).
        #[arg(long)]
        expiring_within: Option<String>,
        /// Only credentials unused for at least this span, e.g. 60d
        /// (never used: counted from creation or reactivation).
        #[arg(long)]
        inactive_for: Option<String>,
        /// Page size, 1 to 1000.
        #[arg(long, default_value_t = 100)]
        page_size: i32,
        /// Continue from a previous page.
        #[arg(long, default_value = "")]
        page_token: String,
        /// Follow page tokens to the end.
        #[arg(long)]
        all: bool,
    },
    /// Which credential is this secret? Reads the secret from stdin when
    /// none is given; counts no use (for a support desk).
    Whoami {
        /// The secret (omit to read it from stdin).
        secret: Option<String>,
        /// Account id (required for passcodes).
        #[arg(long, default_value = "")]
        account: String,
    },
    /// Change fields of a credential.
    Update {
        /// Credential id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// Replace the scopes (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Remove every scope.
        #[arg(long, conflicts_with = "scopes")]
        clear_scopes: bool,
        /// New expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z).
        #[arg(long)]
        expires_at: Option<DateTime<Utc>>,
        /// Replace the contacts (repeat for several).
        #[arg(long = "notify")]
        notify_emails: Vec<String>,
        /// Remove every contact.
        #[arg(long, conflicts_with = "notify_emails")]
        clear_notify: bool,
        /// Replace the metadata with this JSON object.
        #[arg(long)]
        metadata: Option<String>,
        /// Remove the metadata.
        #[arg(long, conflicts_with = "metadata")]
        clear_metadata: bool,
        /// Replace the named rate limits, NAME=LIMIT/DURATION (repeat).
        #[arg(long = "rate-limit", value_parser = crate::rate_limits::parse_rule)]
        rate_limits: Vec<pb::RateLimitRule>,
        /// Remove every named rate limit.
        #[arg(long, conflicts_with = "rate_limits")]
        clear_rate_limits: bool,
    },
    /// Issue a second secret; the old one works until the window ends.
    Rotate {
        /// Credential id.
        id: String,
        /// Window such as 7d (default: the server's policy).
        #[arg(long)]
        window: Option<String>,
    },
    /// Retire the older secret of an open rotation now.
    CompleteRotation {
        /// Credential id.
        id: String,
    },
    /// Revoke for good.
    Revoke {
        /// Credential id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Disable until reactivated.
    Disable {
        /// Credential id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Bring a disabled credential back.
    Reactivate {
        /// Credential id.
        id: String,
    },
    /// Delete a credential and its secrets.
    Delete {
        /// Credential id.
        id: String,
    },
}

pub(crate) fn kind_pb(kind: KindArg) -> pb::Kind {
    match kind {
        KindArg::Api => pb::Kind::ApiKey,
        KindArg::Passcode => pb::Kind::Passcode,
    }
}

pub(crate) fn status_pb(status: StatusArg) -> pb::Status {
    match status {
        StatusArg::Active => pb::Status::Active,
        StatusArg::Disabled => pb::Status::Disabled,
        StatusArg::Expired => pb::Status::Expired,
        StatusArg::Revoked => pb::Status::Revoked,
    }
}
