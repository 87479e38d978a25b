//! Configuration: a TOML file (optional), then `CREDD_<SECTION>_<KEY>` or
//! `CREDD_<KEY>` environment variables, then command-line flags, validated
//! into one [`Config`]. With no file and no variables the daemon runs on the
//! defaults shown in README.md's "Configuration" section. Every error names
//! the key and where it came from. Secrets are never inline: the pepper and
//! SMTP password are files.
//!
//! This module owns the [`Config`] type, [`load`] and the file's root table;
//! each section's file format, validated type and validation live in the
//! section's own file, environment variables and flags in `env`, and the
//! checks every section shares in `check`.

mod audit;
mod auth;
mod backup;
mod check;
mod console;
mod email;
mod env;
mod error;
mod gateway;
mod leaks;
mod metrics;
mod partners;
mod policy;
mod schedule;
mod server;
mod storage;
mod store;
mod tls;
mod users;
mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;

use crate::lifecycle::Policy;

pub use auth::AuthConfig;
pub use backup::BackupConfig;
pub use console::ConsoleConfig;
pub use email::{EmailConfig, MailTransport, SmtpTls};
pub use error::ConfigError;
pub use gateway::GatewayConfig;
pub use leaks::{LeakFeedback, LeaksConfig};
pub use schedule::ScheduleConfig;
pub use server::LogFormat;
pub use store::{EtcdConfig, EtcdTlsFiles, StoreConfig};
pub use tls::TlsConfig;
pub use users::UsersConfig;
pub use webhooks::WebhooksConfig;

use check::Check;

/// The validated configuration: the only type the rest of the code sees.
#[derive(Debug, Clone)]
pub struct Config {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Where the database, pepper and mail live.
    pub data_dir: PathBuf,
    /// First part of every secret (`credd_live_api_...`).
    pub key_prefix: String,
    /// The pepper file (default `<data_dir>/pepper`).
    pub pepper_file: PathBuf,
    /// Log line format.
    pub log_format: LogFormat,
    /// Default log filter when `RUST_LOG` is unset.
    pub log_filter: String,
    /// How long in-flight calls may take to finish at shutdown.
    pub shutdown_grace: StdDuration,
    /// sled page cache size in bytes.
    pub cache_capacity_bytes: u64,
    /// Recently verified secrets' index entries kept in memory (0: none).
    pub verify_cache_entries: usize,
    /// `[store]`: where writes commit (sled, or a cluster on etcd).
    pub store: StoreConfig,
    /// Lifecycle rules.
    pub policy: Policy,
    /// Sweep and flush timing.
    pub schedule: ScheduleConfig,
    /// Mail delivery.
    pub email: EmailConfig,
    /// Where Prometheus metrics are served; `None` (the default) disables them.
    pub metrics_listen: Option<SocketAddr>,
    /// Admin authentication.
    pub auth: AuthConfig,
    /// TLS on the gRPC listener; `None` serves plain HTTP/2.
    pub tls: Option<TlsConfig>,
    /// A JSON-lines mirror of the audit log for a SIEM; `None` (default) off.
    pub audit_file: Option<PathBuf>,
    /// `[audit] retention_days`: events older are removed by the sweep (0:
    /// kept for ever).
    pub audit_retention_days: u32,
    /// Passwords, sessions and the login throttle.
    pub users: UsersConfig,
    /// `[partners] consent_ttl`: how long a consent request waits.
    pub consent_ttl: chrono::Duration,
    /// `[http]` and `[gateway]`: how proxies ask credd.
    pub gateway: GatewayConfig,
    /// `[backup]`: scheduled backups and the revocation journal.
    pub backup: BackupConfig,
    /// `[webhooks]`: delivery of webhook events.
    pub webhooks: WebhooksConfig,
    /// `[leaks]`: leaked-key reports (GitHub's secret scanning).
    pub leaks: LeaksConfig,
    /// `[console]`: the admin web console.
    pub console: ConsoleConfig,
}

impl Config {
    /// Directory of the sled database.
    pub fn db_dir(&self) -> PathBuf {
        self.data_dir.join("db")
    }

    /// Directory of the file mail transport.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }
}

/// Values given as command-line flags; they win over file and environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data-dir`.
    pub data_dir: Option<String>,
    /// `--log-format`.
    pub log_format: Option<String>,
}

/// The file format. Every field is optional; the default is in its doc.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// Default `127.0.0.1:50051`.
    listen: Option<String>,
    /// Default `./credd-data`.
    data_dir: Option<String>,
    /// Default `credd`; lowercase letters and digits, 1 to 16.
    key_prefix: Option<String>,
    /// Default `<data_dir>/pepper`.
    pepper_file: Option<String>,
    /// `plain` (default) or `json`.
    log_format: Option<String>,
    /// Default `info`; `RUST_LOG` wins when set.
    log_filter: Option<String>,
    /// Default `10s`.
    shutdown_grace: Option<String>,
    #[serde(default)]
    policy: policy::PolicyFile,
    #[serde(default)]
    schedule: schedule::ScheduleFile,
    #[serde(default)]
    email: email::EmailFile,
    #[serde(default)]
    storage: storage::StorageFile,
    #[serde(default)]
    store: store::StoreFile,
    #[serde(default)]
    metrics: metrics::MetricsFile,
    #[serde(default)]
    auth: auth::AuthFile,
    #[serde(default)]
    tls: tls::TlsFile,
    #[serde(default)]
    audit: audit::AuditFile,
    #[serde(default)]
    backup: backup::BackupFile,
    #[serde(default)]
    webhooks: webhooks::WebhooksFile,
    #[serde(default)]
    users: users::UsersFile,
    #[serde(default)]
    sessions: users::SessionsFile,
    #[serde(default)]
    partners: partners::PartnersFile,
    #[serde(default)]
    http: gateway::HttpFile,
    #[serde(default)]
    gateway: gateway::GatewayFile,
    #[serde(default)]
    leaks: leaks::LeaksFile,
    #[serde(default)]
    console: console::ConsoleFile,
}

/// Loads the configuration from an optional file, the given environment
/// and flags.
///
/// # Errors
/// [`ConfigError`] naming the key, its origin and the problem.
pub fn load(
    file: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    overrides: &Overrides,
) -> Result<Config, ConfigError> {
    let file_label = file.map_or_else(|| "defaults".to_string(), |p| p.display().to_string());
    let parse_error = |e: &dyn std::fmt::Display| ConfigError::Parse {
        path: file_label.clone(),
        message: e.to_string(),
    };
    let mut table = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            text.parse::<toml::Table>().map_err(|e| parse_error(&e))?
        }
        None => toml::Table::new(),
    };
    let env: Vec<(String, String)> = env.into_iter().collect();
    let mut origins = env::apply_env(&mut table, &env)?;
    env::apply_flags(&mut table, overrides, &mut origins);
    let parsed: ConfigFile = table
        .try_into()
        .map_err(|e: toml::de::Error| parse_error(&e))?;
    let origin_of = |key: &str| {
        origins
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map_or_else(|| file_label.clone(), |(_, o)| o.clone())
    };
    validate(parsed, &Check::new(&origin_of))
}

/// Validates every section, always in this order, and stops at the first
/// error.
fn validate(file: ConfigFile, check: &Check) -> Result<Config, ConfigError> {
    let server = server::validate(&file, check)?;
    let storage = storage::validate(file.storage, check)?;
    let store = store::validate(file.store, check)?;
    let policy = policy::validate(file.policy, check)?;
    let schedule = schedule::validate(file.schedule, check)?;
    let email = email::validate(file.email, check)?;
    let metrics_listen = metrics::validate(file.metrics, check)?;
    let open_on_network = file.auth.allows_open_on_network();
    let auth = auth::validate(file.auth, server.listen, &server.data_dir, check)?;
    let tls = tls::validate(file.tls, check)?;
    let audit = audit::validate(file.audit, check)?;
    let users = users::validate(file.users, file.sessions, check)?;
    let consent_ttl = partners::validate(file.partners, check)?;
    let gateway = gateway::validate(file.http, file.gateway, open_on_network, check)?;
    let backup = backup::validate(file.backup, &server.data_dir, check)?;
    let webhooks = webhooks::validate(file.webhooks, check)?;
    let leaks = leaks::validate(file.leaks, gateway.http_listen.is_some(), check)?;
    let console = console::validate(file.console, gateway.http_listen.is_some(), check)?;
    Ok(Config {
        leaks,
        console,
        backup,
        webhooks,
        gateway,
        consent_ttl,
        users,
        auth,
        tls,
        audit_file: audit.file,
        audit_retention_days: audit.retention_days,
        metrics_listen,
        listen: server.listen,
        data_dir: server.data_dir,
        key_prefix: server.key_prefix,
        pepper_file: server.pepper_file,
        log_format: server.log_format,
        log_filter: server.log_filter,
        shutdown_grace: server.shutdown_grace,
        cache_capacity_bytes: storage.cache_capacity_bytes,
        verify_cache_entries: storage.verify_cache_entries,
        store,
        policy,
        schedule,
        email,
    })
}

#[cfg(test)]
mod tests;
