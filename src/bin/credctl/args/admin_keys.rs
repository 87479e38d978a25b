//! The flags of `credctl admin-key ...`.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum AdminKeyCommand {
    /// Issue an admin key; it is printed once.
    Create {
        /// Short name.
        #[arg(long)]
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// A scope: credentials:read, credentials:write, audit:read,
        /// admin:manage, verify, accounts:read, accounts:write,
        /// partners:read or partners:write (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Confine the key to this account's credentials (a management key).
        #[arg(long, default_value = "")]
        account: String,
        /// Lifetime such as 365d (default and most: ten years).
        #[arg(long)]
        lifetime: Option<String>,
        /// Who is warned before it expires (repeat for several).
        #[arg(long = "notify")]
        notify_emails: Vec<String>,
    },
    /// Show one admin key.
    Get {
        /// Admin key id.
        id: String,
    },
    /// List the global admin keys, or one account's management keys.
    List {
        /// The account whose management keys to list.
        #[arg(long, default_value = "")]
        account: String,
    },
    /// Revoke an admin key; calls made with it fail from now on.
    Revoke {
        /// Admin key id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}
