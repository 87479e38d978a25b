//! The bench's settings: every `CREDD_BENCH_*` variable, read once.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

pub(crate) struct Settings {
    pub(crate) large: usize,
    pub(crate) small: usize,
    pub(crate) huge: usize,
    pub(crate) secs: f64,
    pub(crate) warmup: f64,
    pub(crate) due: usize,
    pub(crate) rounds: usize,
    pub(crate) segments: usize,
    pub(crate) cache_mb: u64,
    pub(crate) fill_cache_mb: u64,
    pub(crate) diag_cache_mb: u64,
    pub(crate) daemon_cache_mb: u64,
    pub(crate) sample: usize,
    pub(crate) json: PathBuf,
    pub(super) only: Vec<String>,
}

/// The number in `name` (`_` allowed as a separator), or `default`.
pub(crate) fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(raw) => raw
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={raw:?} is not a valid number")),
        Err(_) => default,
    }
}

impl Settings {
    pub(crate) fn from_env() -> Self {
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
        Self {
            large: env_or("CREDD_BENCH_LARGE", 1_000_000),
            small: env_or("CREDD_BENCH_SMALL", 10_000),
            huge: env_or("CREDD_BENCH_HUGE", 0),
            secs: env_or("CREDD_BENCH_SECS", 3.0),
            warmup: env_or("CREDD_BENCH_WARMUP_SECS", 0.5),
            due: env_or("CREDD_BENCH_DUE", 1_000),
            rounds: env_or("CREDD_BENCH_SWEEP_ROUNDS", 5).max(1),
            segments: env_or("CREDD_BENCH_SEGMENTS", 6).max(1),
            cache_mb: env_or("CREDD_BENCH_CACHE_MB", 256),
            fill_cache_mb: env_or(
                "CREDD_BENCH_FILL_CACHE_MB",
                env_or("CREDD_BENCH_CACHE_MB", 256),
            ),
            diag_cache_mb: env_or("CREDD_BENCH_DIAG_CACHE_MB", 1024),
            daemon_cache_mb: env_or("CREDD_BENCH_DAEMON_CACHE_MB", 64),
            sample: env_or("CREDD_BENCH_SAMPLE", 100_000).max(1),
            json: std::env::var_os("CREDD_BENCH_JSON")
                .map_or_else(|| target.join("credd-bench.json"), PathBuf::from),
            only: std::env::var("CREDD_BENCH_ONLY")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    /// Whether a part (`transport`, `writes`, `large`, `huge`) is to run.
    pub(crate) fn runs(&self, part: &str) -> bool {
        (self.only.is_empty() && (part != "huge" || self.huge > 0))
            || self.only.iter().any(|p| p == part)
    }

    /// Whether `CREDD_BENCH_ONLY` names `part` (a part no full run takes
    /// on its own, like `flush`).
    pub(crate) fn asks(&self, part: &str) -> bool {
        self.only.iter().any(|p| p == part)
    }

    pub(crate) fn measure(&self) -> Duration {
        Duration::from_secs_f64(self.secs)
    }

    pub(crate) fn warm(&self) -> Duration {
        Duration::from_secs_f64(self.warmup)
    }
}
