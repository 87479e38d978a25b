//! Unit tests of `config`: shared helpers here; loading (file, environment,
//! flags and where a value came from) in `loading`, each section's values
//! and refusals in `values`.

use super::*;

use std::io::Write;

use chrono::Duration;

use crate::lifecycle::Span;

mod loading;
mod store;
mod values;

/// The first four tables of the example in README.md's "Configuration"
/// section, each key at its documented default.
const README_EXAMPLE: &str = r#"
listen = "127.0.0.1:50051"
data_dir = "./credd-data"
key_prefix = "credd"

[policy]
default_lifetime = "365d"
max_lifetime = "3650d"
inactivity_disable_after = "2 months"
inactivity_delete_after = "10 months"
expiry_warning_before = "30d"
rotation_default_window = "7d"
rotation_max_window = "30d"
max_credentials_per_account = 100

[schedule]
sweep = "0 */5 * * * *"        # tokio-cron-scheduler, with seconds
usage_flush_interval = "30s"

[email]
transport = "file"             # or "smtp"
from = "credd <credd@localhost>"
admin_to = []                  # contacts for credentials that name none
smtp_host = "localhost"
smtp_port = 587
smtp_tls = "starttls"          # "none" | "starttls" | "tls"
smtp_username = ""
smtp_password_file = ""
"#;

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// Writes `text` to a temporary `.toml` file that lives as long as the handle.
fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.flush().unwrap();
    file
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    let file = toml_file(text);
    load(Some(file.path()), no_env(), &Overrides::default())
}

/// The key, origin and message of an `Invalid` error; fails the test otherwise.
fn invalid(result: Result<Config, ConfigError>) -> (String, String, String, String) {
    let err = match result {
        Ok(config) => panic!("expected ConfigError::Invalid, got {config:?}"),
        Err(err) => err,
    };
    let display = err.to_string();
    match err {
        ConfigError::Invalid {
            key,
            origin,
            message,
        } => (key, origin, message, display),
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    }
}

fn fixed(seconds: i64) -> Span {
    Span::Fixed(Duration::seconds(seconds))
}

fn assert_defaults(config: &Config) {
    assert_eq!(
        config.listen,
        "127.0.0.1:50051".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(config.data_dir, PathBuf::from("./credd-data"));
    assert_eq!(config.key_prefix, "credd");
    assert_eq!(config.pepper_file, PathBuf::from("./credd-data/pepper"));
    assert_eq!(config.policy, Policy::standard());
    assert_eq!(config.schedule.sweep, "0 */5 * * * *");
    assert_eq!(
        config.schedule.usage_flush_interval,
        StdDuration::from_secs(30)
    );
    assert_eq!(config.email.transport, MailTransport::File);
    assert_eq!(config.email.from, "credd <credd@localhost>");
    assert!(config.email.admin_to.is_empty());
    assert_eq!(config.email.smtp_host, "localhost");
    assert_eq!(config.email.smtp_port, 587);
    assert_eq!(config.email.smtp_tls, SmtpTls::Starttls);
    assert_eq!(config.email.smtp_username, "");
    assert_eq!(config.email.smtp_password_file, None);
}
