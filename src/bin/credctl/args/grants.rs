//! The flags of `credctl grant ...`: a partner acting for a client account.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum GrantCommand {
    /// Let a registered partner act for a client account (needs a global key).
    Create {
        /// The partner's account id.
        #[arg(long)]
        partner: String,
        /// The account it may act for.
        #[arg(long)]
        client: String,
        /// What it may do for the client (repeat for several; none: whatever
        /// its key may).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime such as 90d (default: no expiry).
        #[arg(long)]
        lifetime: Option<String>,
    },
    /// Show a grant.
    Get {
        /// Grant id.
        id: String,
    },
    /// List live grants, by partner and/or client.
    List {
        /// Only this partner's.
        #[arg(long, default_value = "")]
        partner: String,
        /// Only those for this client account.
        #[arg(long, default_value = "")]
        client: String,
        /// Also revoked and expired grants.
        #[arg(long)]
        all: bool,
    },
    /// Revoke at once, with the grant's customer key.
    Revoke {
        /// Grant id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}
