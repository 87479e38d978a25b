//! `[storage]`: the sled page cache and the verify cache.

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[storage]`: cache default 256 MiB, verify cache 200,000 entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StorageFile {
    cache_capacity_mb: Option<i64>,
    verify_cache_entries: Option<i64>,
}

/// `[storage]`, validated (see the fields of [`super::Config`]).
pub(super) struct Storage {
    pub(super) cache_capacity_bytes: u64,
    pub(super) verify_cache_entries: usize,
}

/// Validates `[storage]`.
pub(super) fn validate(file: StorageFile, check: &Check) -> Result<Storage, ConfigError> {
    let cache_mb: u64 = check.whole(
        "storage.cache_capacity_mb",
        file.cache_capacity_mb,
        256,
        1..=1_048_576,
    )?;
    let verify_cache_entries = check.whole(
        "storage.verify_cache_entries",
        file.verify_cache_entries,
        200_000,
        0..=100_000_000,
    )?;
    Ok(Storage {
        cache_capacity_bytes: cache_mb * 1024 * 1024,
        verify_cache_entries,
    })
}
