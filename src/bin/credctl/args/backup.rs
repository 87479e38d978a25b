//! Flags of `credctl backup`.

use std::path::PathBuf;

use clap::Args;

/// `credctl backup OUT`.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// Where to write the backup file (replaced only once the whole file
    /// arrived and its checksum matched).
    pub(crate) out: PathBuf,
}
