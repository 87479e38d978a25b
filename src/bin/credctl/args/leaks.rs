//! Flags of `credctl leak`.

use clap::{Args, Subcommand};

/// `credctl leak ...`.
#[derive(Debug, Subcommand)]
pub(crate) enum LeakCommand {
    /// Report a secret found where it should not be: its credential is
    /// revoked (or disabled, or flagged: the server's `[leaks] action`).
    /// Reads the secret from stdin, so it stays out of argv and shell
    /// history. Needs credentials:write.
    Report(LeakReportArgs),
}

/// `credctl leak report --source S [--url U] < secret`.
#[derive(Debug, Args)]
pub(crate) struct LeakReportArgs {
    /// Where it was found, e.g. pastebin or support-ticket.
    #[arg(long)]
    pub(crate) source: String,
    /// The URL where it was found.
    #[arg(long, default_value = "")]
    pub(crate) url: String,
}
