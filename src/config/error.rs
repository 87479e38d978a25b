//! Why the configuration was refused: the one error type of `config`.

use std::path::PathBuf;

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's explanation, with the key.
        message: String,
    },
    /// A value is out of range or inconsistent.
    #[error("config key {key} (from {origin}): {message}")]
    Invalid {
        /// Dotted key, e.g. `policy.max_lifetime`.
        key: String,
        /// The file, an environment variable, or a flag.
        origin: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}
