//! Flags of `credctl export`.

use std::path::PathBuf;

use clap::Args;

/// `credctl export [--out FILE]`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Write the JSON Lines here (replaced once complete) instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}
