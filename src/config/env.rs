//! Environment variables and flags laid over the file's TOML table: every
//! key's `CREDD_<SECTION>_<KEY>` and `CREDD_<KEY>` names, how a variable's
//! text becomes a TOML value, and where each value came from.

use super::{ConfigError, Overrides};

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
    ("store", "backend", ValueType::Str),
    ("store", "endpoints", ValueType::List),
    ("store", "prefix", ValueType::Str),
    ("store", "ca_file", ValueType::Str),
    ("store", "cert_file", ValueType::Str),
    ("store", "key_file", ValueType::Str),
    ("store", "user", ValueType::Str),
    ("store", "password_file", ValueType::Str),
    ("store", "max_staleness_ms", ValueType::Int),
    ("store", "lease_ttl_seconds", ValueType::Int),
    ("store", "request_timeout_ms", ValueType::Int),
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
    ("backup", "schedule", ValueType::Str),
    ("backup", "dir", ValueType::Str),
    ("backup", "keep", ValueType::Int),
    ("backup", "journal", ValueType::Str),
    ("webhooks", "allow_http", ValueType::Bool),
    ("webhooks", "allowed_networks", ValueType::List),
    ("webhooks", "concurrency", ValueType::Int),
    ("webhooks", "timeout", ValueType::Str),
    ("webhooks", "retry_schedule", ValueType::List),
    ("webhooks", "rotation_overlap", ValueType::Str),
    ("webhooks", "poll_interval", ValueType::Str),
    ("webhooks", "keep_days", ValueType::Int),
    ("webhooks", "max_per_second", ValueType::Int),
    ("audit", "retention_days", ValueType::Int),
    ("users", "argon2_memory_kib", ValueType::Int),
    ("users", "argon2_iterations", ValueType::Int),
    ("users", "argon2_parallelism", ValueType::Int),
    ("sessions", "idle_timeout", ValueType::Str),
    ("sessions", "lifetime", ValueType::Str),
    ("sessions", "login_free_attempts", ValueType::Int),
    ("sessions", "login_backoff", ValueType::Str),
    ("sessions", "login_backoff_max", ValueType::Str),
    ("partners", "consent_ttl", ValueType::Str),
    ("http", "listen", ValueType::Str),
    ("gateway", "ext_authz_listen", ValueType::Str),
    ("gateway", "api_key_header", ValueType::Str),
    ("gateway", "client_id_header", ValueType::Str),
    ("gateway", "product_id_header", ValueType::Str),
    ("gateway", "account_id_header", ValueType::Str),
    ("gateway", "passcode_header", ValueType::Str),
    ("gateway", "scopes_header", ValueType::Str),
    ("gateway", "strip_credentials", ValueType::Bool),
    ("gateway", "reveal_reason", ValueType::Bool),
    ("leaks", "github_public_keys", ValueType::Str),
    ("leaks", "action", ValueType::Str),
    ("leaks", "max_tokens", ValueType::Int),
    ("leaks", "max_body_bytes", ValueType::Int),
    ("leaks", "github_feedback", ValueType::Str),
    ("console", "enabled", ValueType::Bool),
    ("console", "idle_timeout", ValueType::Str),
    ("console", "max_lifetime", ValueType::Str),
    ("console", "public_url", ValueType::Str),
];

/// Sections whose keys have only the long `CREDD_<SECTION>_<KEY>` name:
/// `[store]`'s (`user`, `prefix`, `ca_file`...) are too generic for a short
/// one (`CREDD_CA_FILE` is credctl's), and they take no short name from
/// another section's key (`CREDD_CERT_FILE` stays `tls.cert_file`);
/// `[leaks]`' `action` and `[console]`'s `idle_timeout` are as generic.
const LONG_ONLY: &[&str] = &["store", "leaks", "console"];

#[derive(Debug, Clone, Copy)]
enum ValueType {
    Str,
    Int,
    Bool,
    List,
}

/// Dotted keys and the variable or flag that set them, latest last.
pub(super) type Origins = Vec<(String, String)>;

/// Sets every key that has a variable in `env` into `table`; returns the
/// keys set and their variables.
pub(super) fn apply_env(
    table: &mut toml::Table,
    env: &[(String, String)],
) -> Result<Origins, ConfigError> {
    let mut origins = Origins::new();
    for (section, key, ty) in KEYS {
        let Some((var, raw)) = find_var(env, section, key) else {
            continue;
        };
        let dotted = dotted(section, key);
        let value = to_value(*ty, raw, &dotted, &var)?;
        set(table, section, key, value);
        origins.push((dotted, var));
    }
    Ok(origins)
}

/// The variable that sets `section.key` and its text: the long name first,
/// then the short one.
fn find_var(env: &[(String, String)], section: &str, key: &str) -> Option<(String, String)> {
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
    // name is shared needs its long form, and a `LONG_ONLY` section's key
    // has no short form at all.
    let shared = KEYS
        .iter()
        .filter(|(s, k, _)| *k == key && !LONG_ONLY.contains(s))
        .count()
        > 1;
    let short = (section.is_empty() || !shared && !LONG_ONLY.contains(&section))
        .then(|| format!("CREDD_{}", key.to_uppercase()));
    long.iter().chain(short.iter()).find_map(|name| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| (name.clone(), v.clone()))
    })
}

/// A variable's text as a TOML value of the key's type.
fn to_value(
    ty: ValueType,
    raw: String,
    dotted: &str,
    var: &str,
) -> Result<toml::Value, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        key: dotted.to_string(),
        origin: var.to_string(),
        message,
    };
    Ok(match ty {
        ValueType::Str => toml::Value::String(raw),
        ValueType::Int => toml::Value::Integer(
            raw.trim()
                .parse()
                .map_err(|_| invalid(format!("expected a whole number, got {raw:?}")))?,
        ),
        ValueType::Bool => match raw.trim() {
            "true" | "1" | "yes" => toml::Value::Boolean(true),
            "false" | "0" | "no" => toml::Value::Boolean(false),
            _ => return Err(invalid(format!("expected true or false, got {raw:?}"))),
        },
        ValueType::List => toml::Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_string()))
                .collect(),
        ),
    })
}

/// Sets the flags given into `table`, recording them in `origins`.
pub(super) fn apply_flags(table: &mut toml::Table, overrides: &Overrides, origins: &mut Origins) {
    for (key, value) in [
        ("listen", &overrides.listen),
        ("data_dir", &overrides.data_dir),
        ("log_format", &overrides.log_format),
    ] {
        if let Some(value) = value {
            set(table, "", key, toml::Value::String(value.clone()));
            origins.push((key.to_string(), format!("--{}", key.replace('_', "-"))));
        }
    }
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
