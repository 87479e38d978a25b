//! Configuration: a TOML file (optional), then `CREDD_<SECTION>_<KEY>` or
//! `CREDD_<KEY>` environment variables, then command-line flags, validated
//! into one [`Config`]. With no file and no variables the daemon runs on the
//! defaults of DESIGN.md. Every error names the key and where it came from.
//! Secrets are never inline: the pepper and SMTP password are files.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;

use crate::lifecycle::{Policy, Span};

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

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// How notices are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// `.eml` files under `<data_dir>/mail/`.
    File,
    /// An SMTP server.
    Smtp,
}

/// TLS on the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (loopback relays only).
    None,
    /// Required STARTTLS.
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// `[email]`, validated.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Delivery method.
    pub transport: MailTransport,
    /// Sender address.
    pub from: String,
    /// Contacts for credentials that name none.
    pub admin_to: Vec<String>,
    /// SMTP server host.
    pub smtp_host: String,
    /// SMTP server port.
    pub smtp_port: u16,
    /// TLS mode.
    pub smtp_tls: SmtpTls,
    /// SMTP user; empty means no AUTH.
    pub smtp_username: String,
    /// File holding the SMTP password.
    pub smtp_password_file: Option<PathBuf>,
    /// How long one SMTP exchange may take.
    pub smtp_timeout: StdDuration,
    /// How often the outbox is delivered (and after every sweep).
    pub delivery_interval: StdDuration,
    /// A notice still undelivered after this long is dropped with an error.
    pub max_notice_age: chrono::Duration,
}

/// `[schedule]`, validated.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// Six-field cron expression (seconds first), in UTC.
    pub sweep: String,
    /// How often pending uses are written.
    pub usage_flush_interval: StdDuration,
}

/// `[auth]`, validated.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Where the first admin key is written on first start.
    pub bootstrap_admin_key_file: PathBuf,
    /// Whether Verify needs an admin key with the `verify` scope.
    pub verifier_token: bool,
    /// Failed admin authentications a peer may make at once.
    pub failed_auth_burst: u32,
    /// After the burst, one more failure is allowed every this long.
    pub failed_auth_refill: StdDuration,
}

/// `[users]` and `[sessions]`, validated.
#[derive(Debug, Clone)]
pub struct UsersConfig {
    /// argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// Sessions end after this long without a Verify.
    pub session_idle_timeout: chrono::Duration,
    /// Sessions end this long after login.
    pub session_max_lifetime: chrono::Duration,
    /// Failed logins (per user, per peer) before delays start.
    pub login_free_attempts: u32,
    /// First delay after those; it doubles with every failure.
    pub login_backoff: StdDuration,
    /// Longest delay.
    pub login_backoff_max: StdDuration,
}

/// `[tls]`, validated: both files set, or TLS off.
#[derive(Debug, Clone)]
pub struct TlsConfig {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key of the leaf.
    pub key_file: PathBuf,
    /// PEM CA certificates; when set, clients must present a certificate
    /// signed by one of them (mTLS).
    pub client_ca_file: Option<PathBuf>,
}

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
    /// Passwords, sessions and the login throttle.
    pub users: UsersConfig,
    /// `[partners] consent_ttl`: how long a consent request waits.
    pub consent_ttl: chrono::Duration,
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

/// Every key, its section ("" for top level) and its type.
const KEYS: &[(&str, &str, ValueType)] = &[
    ("", "listen", ValueType::Str),
    ("", "data_dir", ValueType::Str),
    ("", "key_prefix", ValueType::Str),
    ("", "pepper_file", ValueType::Str),
    ("", "log_format", ValueType::Str),
    ("", "log_filter", ValueType::Str),
    ("", "shutdown_grace", ValueType::Str),
    ("policy", "default_lifetime", ValueType::Str),
    ("policy", "max_lifetime", ValueType::Str),
    ("policy", "inactivity_disable_after", ValueType::Str),
    ("policy", "inactivity_delete_after", ValueType::Str),
    ("policy", "expiry_warning_before", ValueType::Str),
    ("policy", "rotation_default_window", ValueType::Str),
    ("policy", "rotation_max_window", ValueType::Str),
    ("policy", "max_credentials_per_account", ValueType::Int),
    ("policy", "auto_create_accounts", ValueType::Bool),
    ("schedule", "sweep", ValueType::Str),
    ("schedule", "usage_flush_interval", ValueType::Str),
    ("email", "transport", ValueType::Str),
    ("email", "from", ValueType::Str),
    ("email", "admin_to", ValueType::List),
    ("email", "smtp_host", ValueType::Str),
    ("email", "smtp_port", ValueType::Int),
    ("email", "smtp_tls", ValueType::Str),
    ("email", "smtp_username", ValueType::Str),
    ("email", "smtp_password_file", ValueType::Str),
    ("email", "smtp_timeout", ValueType::Str),
    ("email", "delivery_interval", ValueType::Str),
    ("email", "max_notice_age", ValueType::Str),
    ("storage", "cache_capacity_mb", ValueType::Int),
    ("storage", "verify_cache_entries", ValueType::Int),
    ("metrics", "listen", ValueType::Str),
    ("auth", "bootstrap_admin_key_file", ValueType::Str),
    ("auth", "verifier", ValueType::Str),
    ("auth", "allow_open_verifier_on_network", ValueType::Bool),
    ("auth", "failed_auth_burst", ValueType::Int),
    ("auth", "failed_auth_refill", ValueType::Str),
    ("tls", "cert_file", ValueType::Str),
    ("tls", "key_file", ValueType::Str),
    ("tls", "client_ca_file", ValueType::Str),
    ("audit", "file", ValueType::Str),
    ("users", "argon2_memory_kib", ValueType::Int),
    ("users", "argon2_iterations", ValueType::Int),
    ("users", "argon2_parallelism", ValueType::Int),
    ("sessions", "idle_timeout", ValueType::Str),
    ("sessions", "lifetime", ValueType::Str),
    ("sessions", "login_free_attempts", ValueType::Int),
    ("sessions", "login_backoff", ValueType::Str),
    ("sessions", "login_backoff_max", ValueType::Str),
    ("partners", "consent_ttl", ValueType::Str),
];

#[derive(Debug, Clone, Copy)]
enum ValueType {
    Str,
    Int,
    Bool,
    List,
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
    policy: PolicyFile,
    #[serde(default)]
    schedule: ScheduleFile,
    #[serde(default)]
    email: EmailFile,
    #[serde(default)]
    storage: StorageFile,
    #[serde(default)]
    metrics: MetricsFile,
    #[serde(default)]
    auth: AuthFile,
    #[serde(default)]
    tls: TlsFile,
    #[serde(default)]
    audit: AuditFile,
    #[serde(default)]
    users: UsersFile,
    #[serde(default)]
    sessions: SessionsFile,
    #[serde(default)]
    partners: PartnersFile,
}

/// `[partners]`: how long a consent request waits for the customer's
/// answer; default `1h`, at most 30 days.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnersFile {
    consent_ttl: Option<String>,
}

/// `[users]`: argon2id cost; defaults 19456 KiB, 2 passes, 1 lane (OWASP).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    argon2_memory_kib: Option<i64>,
    argon2_iterations: Option<i64>,
    argon2_parallelism: Option<i64>,
}

/// `[sessions]`: defaults 30m idle, 12h lifetime, 5 free attempts, then
/// 1s doubling up to 15m.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionsFile {
    idle_timeout: Option<String>,
    lifetime: Option<String>,
    login_free_attempts: Option<i64>,
    login_backoff: Option<String>,
    login_backoff_max: Option<String>,
}

/// `[auth]`: see [`AuthConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    /// Default `<data_dir>/admin.key`.
    bootstrap_admin_key_file: Option<String>,
    /// `open` or `token`; default `open` on a loopback listen address,
    /// `token` otherwise.
    verifier: Option<String>,
    /// Default false: `open` on a non-loopback address is refused.
    allow_open_verifier_on_network: Option<bool>,
    /// Default 10.
    failed_auth_burst: Option<i64>,
    /// Default `6s` (10 a minute after the burst).
    failed_auth_refill: Option<String>,
}

/// `[tls]`: off unless `cert_file` and `key_file` are set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFile {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_ca_file: Option<String>,
}

/// `[audit]`: `file` mirrors the audit log as JSON lines.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditFile {
    file: Option<String>,
}

/// `[metrics]`: off unless `listen` is set (e.g. `127.0.0.1:9464`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricsFile {
    listen: Option<String>,
}

/// `[policy]`; defaults as in [`Policy::standard`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    default_lifetime: Option<String>,
    max_lifetime: Option<String>,
    inactivity_disable_after: Option<String>,
    inactivity_delete_after: Option<String>,
    expiry_warning_before: Option<String>,
    rotation_default_window: Option<String>,
    rotation_max_window: Option<String>,
    max_credentials_per_account: Option<i64>,
    auto_create_accounts: Option<bool>,
}

/// `[schedule]`: sweep default `0 */5 * * * *`, flush default `30s`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleFile {
    sweep: Option<String>,
    usage_flush_interval: Option<String>,
}

/// `[email]`: defaults as in DESIGN.md.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailFile {
    transport: Option<String>,
    from: Option<String>,
    admin_to: Option<Vec<String>>,
    smtp_host: Option<String>,
    smtp_port: Option<i64>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password_file: Option<String>,
    smtp_timeout: Option<String>,
    delivery_interval: Option<String>,
    max_notice_age: Option<String>,
}

/// `[storage]`: cache default 256 MiB, verify cache 200,000 entries.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageFile {
    cache_capacity_mb: Option<i64>,
    verify_cache_entries: Option<i64>,
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
    let mut table = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            text.parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    path: file_label.clone(),
                    message: e.to_string(),
                })?
        }
        None => toml::Table::new(),
    };
    let mut origins: Vec<(String, String)> = Vec::new();
    let env: Vec<(String, String)> = env.into_iter().collect();
    for (section, key, ty) in KEYS {
        let long = if section.is_empty() {
            None
        } else {
            Some(format!(
                "CREDD_{}_{}",
                section.to_uppercase(),
                key.to_uppercase()
            ))
        };
        // The short form only for a name no other key shares (`listen` is
        // both the gRPC and the metrics address): a sectioned key whose
        // name is shared needs its long form.
        let shared = KEYS.iter().filter(|(_, k, _)| k == key).count() > 1;
        let short =
            (section.is_empty() || !shared).then(|| format!("CREDD_{}", key.to_uppercase()));
        let found = long.iter().chain(short.iter()).find_map(|name| {
            env.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| (name.clone(), v.clone()))
        });
        let Some((var, raw)) = found else { continue };
        let dotted = dotted(section, key);
        let value = match ty {
            ValueType::Str => toml::Value::String(raw),
            ValueType::Int => {
                toml::Value::Integer(raw.trim().parse().map_err(|_| ConfigError::Invalid {
                    key: dotted.clone(),
                    origin: var.clone(),
                    message: format!("expected a whole number, got {raw:?}"),
                })?)
            }
            ValueType::Bool => match raw.trim() {
                "true" | "1" | "yes" => toml::Value::Boolean(true),
                "false" | "0" | "no" => toml::Value::Boolean(false),
                _ => {
                    return Err(ConfigError::Invalid {
                        key: dotted.clone(),
                        origin: var.clone(),
                        message: format!("expected true or false, got {raw:?}"),
                    });
                }
            },
            ValueType::List => toml::Value::Array(
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_string()))
                    .collect(),
            ),
        };
        set(&mut table, section, key, value);
        origins.push((dotted, var));
    }
    for (key, value) in [
        ("listen", &overrides.listen),
        ("data_dir", &overrides.data_dir),
        ("log_format", &overrides.log_format),
    ] {
        if let Some(value) = value {
            set(&mut table, "", key, toml::Value::String(value.clone()));
            origins.push((key.to_string(), format!("--{}", key.replace('_', "-"))));
        }
    }
    let parsed: ConfigFile = table
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: file_label.clone(),
            message: e.to_string(),
        })?;
    let origin_of = |key: &str| {
        origins
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map_or_else(|| file_label.clone(), |(_, o)| o.clone())
    };
    validate(parsed, &origin_of)
}

fn dotted(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

fn set(table: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    if section.is_empty() {
        table.insert(key.to_string(), value);
        return;
    }
    let entry = table
        .entry(section.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = toml::Value::Table(toml::Table::new());
    }
    if let toml::Value::Table(inner) = entry {
        inner.insert(key.to_string(), value);
    }
}

fn validate(file: ConfigFile, origin_of: &dyn Fn(&str) -> String) -> Result<Config, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        key: key.to_string(),
        origin: origin_of(key),
        message,
    };
    let span = |key: &str, value: Option<String>, default: Span| -> Result<Span, ConfigError> {
        match value {
            None => Ok(default),
            Some(text) => {
                let span: Span = text
                    .parse()
                    .map_err(|e: crate::lifecycle::SpanParseError| invalid(key, e.to_string()))?;
                if !span.is_positive() {
                    return Err(invalid(key, "must be longer than zero".to_string()));
                }
                Ok(span)
            }
        }
    };
    let fixed =
        |key: &str, value: Option<String>, default: &str| -> Result<StdDuration, ConfigError> {
            let text = value.unwrap_or_else(|| default.to_string());
            match text.parse::<Span>() {
                Ok(Span::Fixed(d)) if d > chrono::Duration::zero() => d
                    .to_std()
                    .map_err(|_| invalid(key, "out of range".to_string())),
                Ok(_) => Err(invalid(
                    key,
                    "must be a positive fixed duration such as 30s (not months)".to_string(),
                )),
                Err(e) => Err(invalid(key, e.to_string())),
            }
        };

    let listen_text = file.listen.unwrap_or_else(|| "127.0.0.1:50051".to_string());
    let listen: SocketAddr = listen_text.parse().map_err(|_| {
        invalid(
            "listen",
            format!("{listen_text:?} is not an address such as 127.0.0.1:50051"),
        )
    })?;
    let data_dir = PathBuf::from(file.data_dir.unwrap_or_else(|| "./credd-data".to_string()));
    if data_dir.as_os_str().is_empty() {
        return Err(invalid("data_dir", "must not be empty".to_string()));
    }
    let key_prefix = file.key_prefix.unwrap_or_else(|| "credd".to_string());
    let prefix_ok = (1..=16).contains(&key_prefix.len())
        && key_prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if !prefix_ok {
        return Err(invalid(
            "key_prefix",
            format!("{key_prefix:?} must be 1 to 16 lowercase letters or digits"),
        ));
    }
    let pepper_file = file
        .pepper_file
        .map_or_else(|| data_dir.join("pepper"), PathBuf::from);
    let log_format = match file.log_format.as_deref().unwrap_or("plain") {
        "plain" => LogFormat::Plain,
        "json" => LogFormat::Json,
        other => {
            return Err(invalid(
                "log_format",
                format!("{other:?} is not \"plain\" or \"json\""),
            ));
        }
    };
    let log_filter = file.log_filter.unwrap_or_else(|| "info".to_string());
    if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
        return Err(invalid(
            "log_filter",
            format!("{log_filter:?} is not a valid filter such as \"info\" or \"credd=debug\""),
        ));
    }
    let shutdown_grace = fixed("shutdown_grace", file.shutdown_grace, "10s")?;
    let cache_mb = file.storage.cache_capacity_mb.unwrap_or(256);
    if !(1..=1_048_576).contains(&cache_mb) {
        return Err(invalid(
            "storage.cache_capacity_mb",
            format!("{cache_mb} must be between 1 and 1048576"),
        ));
    }
    let verify_cache_entries = file.storage.verify_cache_entries.unwrap_or(200_000);
    let verify_cache_entries = usize::try_from(verify_cache_entries)
        .ok()
        .filter(|n| *n <= 100_000_000)
        .ok_or_else(|| {
            invalid(
                "storage.verify_cache_entries",
                format!("{verify_cache_entries} must be between 0 and 100000000"),
            )
        })?;

    let standard = Policy::standard();
    let p = file.policy;
    let policy = Policy {
        default_lifetime: span(
            "policy.default_lifetime",
            p.default_lifetime,
            standard.default_lifetime,
        )?,
        max_lifetime: span("policy.max_lifetime", p.max_lifetime, standard.max_lifetime)?,
        inactivity_disable_after: span(
            "policy.inactivity_disable_after",
            p.inactivity_disable_after,
            standard.inactivity_disable_after,
        )?,
        inactivity_delete_after: span(
            "policy.inactivity_delete_after",
            p.inactivity_delete_after,
            standard.inactivity_delete_after,
        )?,
        expiry_warning_before: span(
            "policy.expiry_warning_before",
            p.expiry_warning_before,
            standard.expiry_warning_before,
        )?,
        rotation_default_window: span(
            "policy.rotation_default_window",
            p.rotation_default_window,
            standard.rotation_default_window,
        )?,
        rotation_max_window: span(
            "policy.rotation_max_window",
            p.rotation_max_window,
            standard.rotation_max_window,
        )?,
        max_credentials_per_account: match p.max_credentials_per_account {
            None => standard.max_credentials_per_account,
            Some(n) => u32::try_from(n)
                .ok()
                .filter(|n| (1..=1_000_000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "policy.max_credentials_per_account",
                        format!("{n} must be between 1 and 1000000"),
                    )
                })?,
        },
        auto_create_accounts: p
            .auto_create_accounts
            .unwrap_or(standard.auto_create_accounts),
    };
    // Spans of months and days compare differently on different dates; any
    // fixed reference date gives the intended ordering for sane policies.
    let reference =
        chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    if policy.default_lifetime.after(reference) > policy.max_lifetime.after(reference) {
        return Err(invalid(
            "policy.default_lifetime",
            "must not be longer than policy.max_lifetime".to_string(),
        ));
    }
    if policy.inactivity_delete_after.after(reference)
        <= policy.inactivity_disable_after.after(reference)
    {
        return Err(invalid(
            "policy.inactivity_delete_after",
            "must be longer than policy.inactivity_disable_after".to_string(),
        ));
    }
    if policy.rotation_default_window.after(reference) > policy.rotation_max_window.after(reference)
    {
        return Err(invalid(
            "policy.rotation_default_window",
            "must not be longer than policy.rotation_max_window".to_string(),
        ));
    }

    let sweep = file
        .schedule
        .sweep
        .unwrap_or_else(|| "0 */5 * * * *".to_string());
    validate_cron(&sweep).map_err(|m| invalid("schedule.sweep", m))?;
    let usage_flush_interval = fixed(
        "schedule.usage_flush_interval",
        file.schedule.usage_flush_interval,
        "30s",
    )?;

    let e = file.email;
    let transport = match e.transport.as_deref().unwrap_or("file") {
        "file" => MailTransport::File,
        "smtp" => MailTransport::Smtp,
        other => {
            return Err(invalid(
                "email.transport",
                format!("{other:?} is not \"file\" or \"smtp\""),
            ));
        }
    };
    let from = e
        .from
        .unwrap_or_else(|| "credd <credd@localhost>".to_string());
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(invalid(
            "email.from",
            format!("{from:?} is not a mailbox such as \"credd <credd@example.com>\""),
        ));
    }
    let admin_to = e.admin_to.unwrap_or_default();
    if let Some(bad) = admin_to
        .iter()
        .find(|a| a.parse::<lettre::Address>().is_err())
    {
        return Err(invalid(
            "email.admin_to",
            format!("{bad:?} is not a valid e-mail address"),
        ));
    }
    let smtp_port = e.smtp_port.unwrap_or(587);
    let smtp_port = u16::try_from(smtp_port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            invalid(
                "email.smtp_port",
                format!("{smtp_port} is not a port number"),
            )
        })?;
    let smtp_tls = match e.smtp_tls.as_deref().unwrap_or("starttls") {
        "none" => SmtpTls::None,
        "starttls" => SmtpTls::Starttls,
        "tls" => SmtpTls::Tls,
        other => {
            return Err(invalid(
                "email.smtp_tls",
                format!("{other:?} is not \"none\", \"starttls\" or \"tls\""),
            ));
        }
    };
    let email = EmailConfig {
        transport,
        from,
        admin_to,
        smtp_host: e.smtp_host.unwrap_or_else(|| "localhost".to_string()),
        smtp_port,
        smtp_tls,
        smtp_username: e.smtp_username.unwrap_or_default(),
        smtp_password_file: e
            .smtp_password_file
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
        smtp_timeout: fixed("email.smtp_timeout", e.smtp_timeout, "30s")?,
        delivery_interval: fixed("email.delivery_interval", e.delivery_interval, "10s")?,
        max_notice_age: chrono::Duration::from_std(fixed(
            "email.max_notice_age",
            e.max_notice_age,
            "7d",
        )?)
        .map_err(|_| invalid("email.max_notice_age", "out of range".to_string()))?,
    };

    let metrics_listen = match file.metrics.listen.filter(|l| !l.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "metrics.listen",
                format!("{text:?} is not an address such as 127.0.0.1:9464"),
            )
        })?),
    };

    let a = file.auth;
    let bootstrap_admin_key_file = a
        .bootstrap_admin_key_file
        .filter(|p| !p.is_empty())
        .map_or_else(|| data_dir.join("admin.key"), PathBuf::from);
    let verifier_token = match a.verifier.as_deref() {
        None => !listen.ip().is_loopback(),
        Some("token") => true,
        Some("open") => {
            if !listen.ip().is_loopback() && !a.allow_open_verifier_on_network.unwrap_or(false) {
                return Err(invalid(
                    "auth.verifier",
                    format!(
                        "\"open\" lets anyone who reaches {listen} test keys; use \"token\", listen on a loopback address, or set auth.allow_open_verifier_on_network = true"
                    ),
                ));
            }
            false
        }
        Some(other) => {
            return Err(invalid(
                "auth.verifier",
                format!("{other:?} is not \"open\" or \"token\""),
            ));
        }
    };
    let failed_auth_burst = a.failed_auth_burst.unwrap_or(10);
    let failed_auth_burst = u32::try_from(failed_auth_burst)
        .ok()
        .filter(|n| (1..=1_000_000).contains(n))
        .ok_or_else(|| {
            invalid(
                "auth.failed_auth_burst",
                format!("{failed_auth_burst} must be between 1 and 1000000"),
            )
        })?;
    let auth = AuthConfig {
        bootstrap_admin_key_file,
        verifier_token,
        failed_auth_burst,
        failed_auth_refill: fixed("auth.failed_auth_refill", a.failed_auth_refill, "6s")?,
    };
    let t = file.tls;
    let non_empty = |v: Option<String>| v.filter(|p| !p.is_empty()).map(PathBuf::from);
    let tls = match (non_empty(t.cert_file), non_empty(t.key_file)) {
        (Some(cert_file), Some(key_file)) => Some(TlsConfig {
            cert_file,
            key_file,
            client_ca_file: non_empty(t.client_ca_file),
        }),
        (None, None) => {
            if t.client_ca_file.is_some_and(|p| !p.is_empty()) {
                return Err(invalid(
                    "tls.client_ca_file",
                    "needs tls.cert_file and tls.key_file too".to_string(),
                ));
            }
            None
        }
        (Some(_), None) => {
            return Err(invalid(
                "tls.key_file",
                "is required when tls.cert_file is set".to_string(),
            ));
        }
        (None, Some(_)) => {
            return Err(invalid(
                "tls.cert_file",
                "is required when tls.key_file is set".to_string(),
            ));
        }
    };
    let audit_file = non_empty(file.audit.file);
    let whole =
        |key: &str, value: Option<i64>, default: i64, range: std::ops::RangeInclusive<i64>| {
            let n = value.unwrap_or(default);
            if range.contains(&n) {
                u32::try_from(n).map_err(|_| invalid(key, format!("{n} is out of range")))
            } else {
                Err(invalid(
                    key,
                    format!("{n} must be between {} and {}", range.start(), range.end()),
                ))
            }
        };
    let chrono_of = |key: &str, d: StdDuration| {
        chrono::Duration::from_std(d).map_err(|_| invalid(key, "out of range".to_string()))
    };
    let users = UsersConfig {
        argon2_memory_kib: whole(
            "users.argon2_memory_kib",
            file.users.argon2_memory_kib,
            19_456,
            8..=4_194_304,
        )?,
        argon2_iterations: whole(
            "users.argon2_iterations",
            file.users.argon2_iterations,
            2,
            1..=100,
        )?,
        argon2_parallelism: whole(
            "users.argon2_parallelism",
            file.users.argon2_parallelism,
            1,
            1..=64,
        )?,
        session_idle_timeout: chrono_of(
            "sessions.idle_timeout",
            fixed("sessions.idle_timeout", file.sessions.idle_timeout, "30m")?,
        )?,
        session_max_lifetime: chrono_of(
            "sessions.lifetime",
            fixed("sessions.lifetime", file.sessions.lifetime, "12h")?,
        )?,
        login_free_attempts: whole(
            "sessions.login_free_attempts",
            file.sessions.login_free_attempts,
            5,
            0..=1000,
        )?,
        login_backoff: fixed("sessions.login_backoff", file.sessions.login_backoff, "1s")?,
        login_backoff_max: fixed(
            "sessions.login_backoff_max",
            file.sessions.login_backoff_max,
            "15m",
        )?,
    };
    if users.argon2_memory_kib < 8 * users.argon2_parallelism {
        return Err(invalid(
            "users.argon2_memory_kib",
            "must be at least 8 KiB per lane (argon2_parallelism)".to_string(),
        ));
    }

    let consent_ttl = fixed("partners.consent_ttl", file.partners.consent_ttl, "1h")?;
    if consent_ttl.is_zero() || consent_ttl > StdDuration::from_secs(30 * 86_400) {
        return Err(invalid(
            "partners.consent_ttl",
            "must be more than 0s and at most 30d".to_string(),
        ));
    }
    let consent_ttl = chrono_of("partners.consent_ttl", consent_ttl)?;

    Ok(Config {
        consent_ttl,
        users,
        auth,
        tls,
        audit_file,
        metrics_listen,
        listen,
        data_dir,
        key_prefix,
        pepper_file,
        log_format,
        log_filter,
        shutdown_grace,
        cache_capacity_bytes: (cache_mb as u64) * 1024 * 1024,
        verify_cache_entries,
        policy,
        schedule: ScheduleConfig {
            sweep,
            usage_flush_interval,
        },
        email,
    })
}

/// Checks a cron expression the way the scheduler will read it.
fn validate_cron(expr: &str) -> Result<(), String> {
    let n_fields = expr.split_whitespace().count();
    if n_fields != 6 {
        return Err(format!(
            "{expr:?} has {n_fields} fields; credd's cron needs six, seconds first (e.g. \"0 */5 * * * *\" for every five minutes)"
        ));
    }
    tokio_cron_scheduler::Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| format!("{expr:?} is not a valid cron expression ({e:?})"))
}

#[cfg(test)]
mod tests;
