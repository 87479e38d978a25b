//! The flags of `credctl audit`, and the outcome filter.

use chrono::{DateTime, Utc};
use clap::ValueEnum;

use credd::api::pb;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OutcomeArg {
    Ok,
    Denied,
}

/// Which audit events to read.
#[derive(Debug, clap::Args)]
pub(crate) struct AuditArgs {
    /// Only this credential.
    #[arg(long, default_value = "")]
    pub(crate) credential: String,
    /// Only this account.
    #[arg(long, default_value = "")]
    pub(crate) account: String,
    /// Only this actor (`system` or an admin key id).
    #[arg(long, default_value = "")]
    pub(crate) actor: String,
    /// Only this action, e.g. credential.revoke.
    #[arg(long, default_value = "")]
    pub(crate) action: String,
    /// Only ok or only denied attempts.
    #[arg(long, value_enum)]
    pub(crate) outcome: Option<OutcomeArg>,
    /// At or after, RFC 3339.
    #[arg(long)]
    pub(crate) since: Option<DateTime<Utc>>,
    /// Before, RFC 3339.
    #[arg(long)]
    pub(crate) until: Option<DateTime<Utc>>,
    /// Page size, 1 to 1000.
    #[arg(long, default_value_t = 100)]
    pub(crate) page_size: i32,
    /// Continue from a previous page.
    #[arg(long, default_value = "")]
    pub(crate) page_token: String,
    /// Follow page tokens to the end.
    #[arg(long)]
    pub(crate) all: bool,
}

pub(crate) fn outcome_pb(outcome: Option<OutcomeArg>) -> pb::AuditOutcome {
    match outcome {
        None => pb::AuditOutcome::Unspecified,
        Some(OutcomeArg::Ok) => pb::AuditOutcome::Ok,
        Some(OutcomeArg::Denied) => pb::AuditOutcome::Denied,
    }
}
