//! The flags of `credctl session ...`: login and logout.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Log in with the password read from stdin; prints the session token once.
    Login {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// End a session; the token is read from stdin when not given.
    Logout {
        /// Session token.
        token: Option<String>,
    },
}
