//! The flags of `credctl import`.

use std::path::PathBuf;

use clap::ValueEnum;

/// A file of existing keys to bring into credd.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// JSON Lines (`.jsonl`, `.ndjson`) or CSV (`.csv`, with a header row).
    pub(crate) file: PathBuf,
    /// The file's format, when its extension does not say.
    #[arg(long, value_enum)]
    pub(crate) format: Option<FormatArg>,
    /// Check every row as an import would, and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Rows per ImportCredentials call (at most 1000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub(crate) batch_size: u16,
}

/// The formats `credctl import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// One JSON object a line.
    Jsonl,
    /// A header row, then one row a line.
    Csv,
}
