//! The flags of `credctl user ...`: users, their roles and their passcodes.

use clap::{Subcommand, ValueEnum};

use credd::api::pb;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    ApiUser,
    Admin,
    Member,
}

pub(crate) fn role_pb(role: RoleArg) -> pb::UserRole {
    match role {
        RoleArg::ApiUser => pb::UserRole::ApiUser,
        RoleArg::Admin => pb::UserRole::Admin,
        RoleArg::Member => pb::UserRole::Member,
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; with --password-stdin, its password is read from stdin.
    Create {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username within the account.
        username: String,
        /// Role.
        #[arg(long, value_enum, default_value = "api-user")]
        role: RoleArg,
        /// Contact address.
        #[arg(long, default_value = "")]
        email: String,
        /// Read a password from stdin (else: no password login).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show a user.
    Get {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// List an account's users.
    List {
        /// Account id.
        #[arg(long)]
        account: String,
    },
    /// Change a user's role, address or password.
    Update {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
        /// New role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// New address.
        #[arg(long)]
        email: Option<String>,
        /// Read a new password from stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Remove the password.
        #[arg(long, conflicts_with = "password_stdin")]
        clear_password: bool,
    },
    /// Disable: no login; its passcode and sessions verify DISABLED.
    Disable {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// Revoke the user's passcode and delete the user.
    Delete {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// Grant a passcode (shown once): --days 1..365, or --infinite (ten years).
    GrantPasscode(PasscodeArgs),
    /// Issue a new passcode; the old one stops working at once.
    ResetPasscode(PasscodeArgs),
    /// Revoke the user's passcode.
    RevokePasscode {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
}

/// Which user's passcode, and for how long.
#[derive(Debug, clap::Args)]
pub(crate) struct PasscodeArgs {
    /// Account id.
    #[arg(long)]
    account: String,
    /// Username.
    username: String,
    /// Days of validity, 1 to 365.
    #[arg(
        long,
        conflicts_with = "infinite",
        required_unless_present = "infinite"
    )]
    days: Option<u32>,
    /// Ten years.
    #[arg(long)]
    infinite: bool,
}

impl From<PasscodeArgs> for pb::UserPasscodeRequest {
    fn from(args: PasscodeArgs) -> Self {
        pb::UserPasscodeRequest {
            account_id: args.account,
            username: args.username,
            validity_days: args.days.unwrap_or(0),
            infinite: args.infinite,
        }
    }
}
