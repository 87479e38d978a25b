//! The flags of `credctl account ...`: accounts, their quotas, rate limits,
//! contacts and suspension.

use clap::Subcommand;
use credd::api::pb;

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Create an account.
    Create {
        /// Account id (the account_id its credentials carry).
        id: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// A contact who receives every notice of the account (repeat).
        #[arg(long = "contact")]
        contacts: Vec<String>,
        /// Live credentials allowed (default: the server's policy).
        #[arg(long)]
        max_live: Option<u32>,
        /// Verify requests per second for the whole account.
        #[arg(long)]
        rate: Option<u32>,
        /// Requests allowed at once (default: --rate).
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// A named rate limit shared by the account's credentials,
        /// NAME=LIMIT/DURATION, e.g. api=1000/1h (repeat).
        #[arg(long = "rate-limit", value_parser = crate::rate_limits::parse_rule)]
        rate_limits: Vec<pb::RateLimitRule>,
    },
    /// Show an account.
    Get {
        /// Account id.
        id: String,
    },
    /// List accounts.
    List,
    /// Change an account.
    Update {
        /// Account id.
        id: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// Replace the contacts (repeat).
        #[arg(long = "contact")]
        contacts: Vec<String>,
        /// Remove every contact.
        #[arg(long, conflicts_with = "contacts")]
        clear_contacts: bool,
        /// New quota (0: the server's policy).
        #[arg(long)]
        max_live: Option<u32>,
        /// New rate limit, requests per second.
        #[arg(long)]
        rate: Option<u32>,
        /// Requests allowed at once (default: --rate).
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// Remove the rate limit.
        #[arg(long, conflicts_with = "rate")]
        no_rate_limit: bool,
        /// Replace the named rate limits, NAME=LIMIT/DURATION (repeat).
        #[arg(long = "rate-limit", value_parser = crate::rate_limits::parse_rule)]
        rate_limits: Vec<pb::RateLimitRule>,
        /// Remove every named rate limit.
        #[arg(long, conflicts_with = "rate_limits")]
        clear_rate_limits: bool,
    },
    /// Suspend: every credential of the account verifies as DISABLED.
    Suspend {
        /// Account id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Resume a suspended account.
    Resume {
        /// Account id.
        id: String,
    },
}
