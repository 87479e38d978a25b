//! The top-level keys: listen address, data directory, key prefix, pepper
//! file, logging and the shutdown grace.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use super::check::Check;
use super::{ConfigError, ConfigFile};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// The top-level keys, validated (see the fields of [`super::Config`]).
pub(super) struct Server {
    pub(super) listen: SocketAddr,
    pub(super) data_dir: PathBuf,
    pub(super) key_prefix: String,
    pub(super) pepper_file: PathBuf,
    pub(super) log_format: LogFormat,
    pub(super) log_filter: String,
    pub(super) shutdown_grace: StdDuration,
}

/// Validates the top-level keys of `file`.
pub(super) fn validate(file: &ConfigFile, check: &Check) -> Result<Server, ConfigError> {
    let listen_text = file.listen.as_deref().unwrap_or("127.0.0.1:50051");
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        check.invalid(
            "listen",
            format!("{listen_text:?} is not an address such as 127.0.0.1:50051"),
        )
    })?;
    let data_dir = PathBuf::from(file.data_dir.as_deref().unwrap_or("./credd-data"));
    if data_dir.as_os_str().is_empty() {
        return Err(check.invalid("data_dir", "must not be empty".to_string()));
    }
    let key_prefix = key_prefix(file.key_prefix.as_deref().unwrap_or("credd"), check)?;
    // README's example writes `pepper_file = ""` for the default.
    let pepper_file = file
        .pepper_file
        .as_ref()
        .filter(|path| !path.is_empty())
        .map_or_else(|| data_dir.join("pepper"), PathBuf::from);
    let log_format = check.one_of(
        "log_format",
        file.log_format.as_deref().unwrap_or("plain"),
        &[("plain", LogFormat::Plain), ("json", LogFormat::Json)],
    )?;
    let log_filter = file.log_filter.as_deref().unwrap_or("info").to_string();
    if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
        return Err(check.invalid(
            "log_filter",
            format!("{log_filter:?} is not a valid filter such as \"info\" or \"credd=debug\""),
        ));
    }
    let shutdown_grace = check.fixed("shutdown_grace", file.shutdown_grace.clone(), "10s")?;
    Ok(Server {
        listen,
        data_dir,
        key_prefix,
        pepper_file,
        log_format,
        log_filter,
        shutdown_grace,
    })
}

/// 1 to 16 lowercase letters or digits.
fn key_prefix(key_prefix: &str, check: &Check) -> Result<String, ConfigError> {
    let prefix_ok = (1..=16).contains(&key_prefix.len())
        && key_prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !prefix_ok {
        return Err(check.invalid(
            "key_prefix",
            format!("{key_prefix:?} must be 1 to 16 lowercase letters or digits"),
        ));
    }
    Ok(key_prefix.to_string())
}
