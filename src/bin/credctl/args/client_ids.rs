//! The flags of `credctl client-id ...`: an account's public client ids.

use clap::Subcommand;

use super::EnvArg;

#[derive(Debug, Subcommand)]
pub(crate) enum ClientIdCommand {
    /// Create a client id (public, not a secret); `credctl create
    /// --client-id` binds API keys to it.
    Create {
        /// Owning account id.
        #[arg(long)]
        account: String,
        /// live or test.
        #[arg(long = "env", value_enum, default_value = "live")]
        environment: EnvArg,
        /// Short name.
        #[arg(long, default_value = "")]
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a client id.
    Get {
        /// Client id.
        id: String,
    },
    /// List an account's client ids.
    List {
        /// Account id.
        #[arg(long)]
        account: String,
    },
    /// Revoke for good: keys bound to it verify DISABLED (CLIENT_REVOKED).
    Revoke {
        /// Client id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}
