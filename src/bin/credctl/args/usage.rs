//! The flags of `credctl usage`.

use chrono::NaiveDate;

/// Whose daily usage to show, and which days.
#[derive(Debug, clap::Args)]
pub(crate) struct UsageArgs {
    /// One credential (give this or --account).
    #[arg(long, default_value = "", conflicts_with = "account")]
    pub(crate) credential: String,
    /// Every credential of an account, summed.
    #[arg(long, default_value = "")]
    pub(crate) account: String,
    /// First day, YYYY-MM-DD (UTC; default: 29 days before --to).
    #[arg(long)]
    pub(crate) from: Option<NaiveDate>,
    /// Last day, YYYY-MM-DD (UTC; default: today).
    #[arg(long)]
    pub(crate) to: Option<NaiveDate>,
}
