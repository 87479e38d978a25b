//! Loading: defaults, the file, environment variables and flags, which one
//! wins, and errors that name where a value came from.

use super::*;

/// With no file, no environment and no flags, every value is its default
/// (README.md, "Configuration").
#[test]
fn no_file_gives_design_defaults() {
    let config = load(None, no_env(), &Overrides::default()).unwrap();
    assert_defaults(&config);
    assert_eq!(config.log_format, LogFormat::Plain);
    assert_eq!(config.log_filter, "info");
    assert_eq!(config.shutdown_grace, StdDuration::from_secs(10));
    assert_eq!(config.cache_capacity_bytes, 256 * 1024 * 1024);
    assert_eq!(config.verify_cache_entries, 200_000);
    assert_eq!(config.db_dir(), PathBuf::from("./credd-data/db"));
    assert_eq!(config.mail_dir(), PathBuf::from("./credd-data/mail"));
}

/// README.md's example file ([`README_EXAMPLE`]), with every key it
/// documents, parses and gives the defaults it documents.
#[test]
fn design_example_file_parses() {
    let config = load_text(README_EXAMPLE).unwrap();
    assert_defaults(&config);
}

/// Every key of the file is read: a file setting each to a non-default
/// value gives exactly those values.
#[test]
fn full_file_every_key_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("smtp-password");
    let text = format!(
        r#"
listen = "0.0.0.0:6001"
data_dir = "/var/lib/credd"
key_prefix = "acme2"
pepper_file = "/etc/credd/pepper"
log_format = "json"
log_filter = "credd=debug"
shutdown_grace = "3s"

[policy]
default_lifetime = "90d"
max_lifetime = "180d"
inactivity_disable_after = "1 month"
inactivity_delete_after = "6 months"
expiry_warning_before = "14d"
rotation_default_window = "12h"
rotation_max_window = "2w"
max_credentials_per_account = 7

[schedule]
sweep = "*/10 * * * * *"
usage_flush_interval = "2m"

[email]
transport = "smtp"
from = "Keys <keys@example.com>"
admin_to = ["ops@example.com", "sec@example.org"]
smtp_host = "mail.example.com"
smtp_port = 465
smtp_tls = "tls"
smtp_username = "credd"
smtp_password_file = "{}"

[storage]
cache_capacity_mb = 64
verify_cache_entries = 0
"#,
        password.display()
    );
    let c = load_text(&text).unwrap();
    assert_eq!(c.listen, "0.0.0.0:6001".parse::<SocketAddr>().unwrap());
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/credd"));
    assert_eq!(c.key_prefix, "acme2");
    assert_eq!(c.pepper_file, PathBuf::from("/etc/credd/pepper"));
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(c.log_filter, "credd=debug");
    assert_eq!(c.shutdown_grace, StdDuration::from_secs(3));
    assert_eq!(c.cache_capacity_bytes, 64 * 1024 * 1024);
    assert_eq!(c.verify_cache_entries, 0);
    assert_eq!(
        c.policy,
        Policy {
            default_lifetime: Span::Fixed(Duration::days(90)),
            max_lifetime: Span::Fixed(Duration::days(180)),
            inactivity_disable_after: Span::Months(1),
            inactivity_delete_after: Span::Months(6),
            expiry_warning_before: Span::Fixed(Duration::days(14)),
            rotation_default_window: Span::Fixed(Duration::hours(12)),
            rotation_max_window: Span::Fixed(Duration::weeks(2)),
            max_credentials_per_account: 7,
            auto_create_accounts: true,
        }
    );
    assert_eq!(c.schedule.sweep, "*/10 * * * * *");
    assert_eq!(c.schedule.usage_flush_interval, StdDuration::from_secs(120));
    assert_eq!(c.email.transport, MailTransport::Smtp);
    assert_eq!(c.email.from, "Keys <keys@example.com>");
    assert_eq!(c.email.admin_to, vec!["ops@example.com", "sec@example.org"]);
    assert_eq!(c.email.smtp_host, "mail.example.com");
    assert_eq!(c.email.smtp_port, 465);
    assert_eq!(c.email.smtp_tls, SmtpTls::Tls);
    assert_eq!(c.email.smtp_username, "credd");
    assert_eq!(c.email.smtp_password_file, Some(password));
}

/// With a custom `data_dir` and no `pepper_file`, the pepper lives in the data dir.
#[test]
fn pepper_defaults_into_data_dir() {
    let c = load_text("data_dir = \"/srv/keys\"\n").unwrap();
    assert_eq!(c.pepper_file, PathBuf::from("/srv/keys/pepper"));
    assert_eq!(c.db_dir(), PathBuf::from("/srv/keys/db"));
}

/// `pepper_file = ""`, as README's example writes it, is the default too.
#[test]
fn empty_pepper_file_is_the_default() {
    let c = load_text("data_dir = \"/srv/keys\"\npepper_file = \"\"\n").unwrap();
    assert_eq!(c.pepper_file, PathBuf::from("/srv/keys/pepper"));
}

/// Each policy duration can also be set alone from the environment in
/// seconds, under its long name.
#[test]
fn policy_durations_in_seconds_from_env() {
    type Getter = fn(&Policy) -> Span;
    let cases: [(&str, Getter); 7] = [
        ("DEFAULT_LIFETIME", |p| p.default_lifetime),
        ("MAX_LIFETIME", |p| p.max_lifetime),
        ("INACTIVITY_DISABLE_AFTER", |p| p.inactivity_disable_after),
        ("INACTIVITY_DELETE_AFTER", |p| p.inactivity_delete_after),
        ("EXPIRY_WARNING_BEFORE", |p| p.expiry_warning_before),
        ("ROTATION_DEFAULT_WINDOW", |p| p.rotation_default_window),
        ("ROTATION_MAX_WINDOW", |p| p.rotation_max_window),
    ];
    // A consistent all-seconds baseline, so that changing one key stays valid.
    let base = [
        ("CREDD_POLICY_DEFAULT_LIFETIME", "100s"),
        ("CREDD_POLICY_MAX_LIFETIME", "1000s"),
        ("CREDD_POLICY_INACTIVITY_DISABLE_AFTER", "100s"),
        ("CREDD_POLICY_INACTIVITY_DELETE_AFTER", "1000s"),
        ("CREDD_POLICY_EXPIRY_WARNING_BEFORE", "100s"),
        ("CREDD_POLICY_ROTATION_DEFAULT_WINDOW", "100s"),
        ("CREDD_POLICY_ROTATION_MAX_WINDOW", "1000s"),
    ];
    for (name, get) in cases {
        let var = format!("CREDD_POLICY_{name}");
        let mut vars = env(&base);
        vars.retain(|(k, _)| *k != var);
        vars.push((var.clone(), "500s".to_string()));
        let c = load(None, vars, &Overrides::default()).unwrap();
        assert_eq!(get(&c.policy), fixed(500), "{var}");
    }
}

/// The long `CREDD_POLICY_...` form, the short `CREDD_<KEY>` form and
/// `CREDD_LISTEN` override the file.
#[test]
fn env_overrides_file() {
    let file = toml_file(README_EXAMPLE);
    let c = load(
        Some(file.path()),
        env(&[
            ("CREDD_POLICY_MAX_CREDENTIALS_PER_ACCOUNT", "5"),
            ("CREDD_MAX_LIFETIME", "4000d"),
            ("CREDD_LISTEN", "127.0.0.1:6000"),
            ("CREDD_SMTP_PORT", "2525"),
            ("CREDD_EMAIL_ADMIN_TO", "a@example.com, b@example.com"),
            ("UNRELATED", "x"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.policy.max_credentials_per_account, 5);
    assert_eq!(c.policy.max_lifetime, Span::Fixed(Duration::days(4000)));
    assert_eq!(c.listen, "127.0.0.1:6000".parse::<SocketAddr>().unwrap());
    assert_eq!(c.email.smtp_port, 2525);
    assert_eq!(c.email.admin_to, vec!["a@example.com", "b@example.com"]);
    // Untouched keys keep the file's values.
    assert_eq!(c.policy.default_lifetime, Span::Fixed(Duration::days(365)));
    assert_eq!(c.data_dir, PathBuf::from("./credd-data"));
}

/// When both are set, `CREDD_POLICY_MAX_LIFETIME` wins over `CREDD_MAX_LIFETIME`,
/// whatever their order in the environment.
#[test]
fn long_env_name_wins_over_short() {
    for vars in [
        env(&[
            ("CREDD_MAX_LIFETIME", "600d"),
            ("CREDD_POLICY_MAX_LIFETIME", "500d"),
        ]),
        env(&[
            ("CREDD_POLICY_MAX_LIFETIME", "500d"),
            ("CREDD_MAX_LIFETIME", "600d"),
        ]),
    ] {
        let c = load(None, vars, &Overrides::default()).unwrap();
        assert_eq!(c.policy.max_lifetime, Span::Fixed(Duration::days(500)));
    }
    // And a bad short value is not even looked at when the long one is set.
    let c = load(
        None,
        env(&[
            ("CREDD_MAX_LIFETIME", "forever"),
            ("CREDD_POLICY_MAX_LIFETIME", "500d"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.policy.max_lifetime, Span::Fixed(Duration::days(500)));
}

/// Flags win over the environment, which wins over the file.
#[test]
fn flags_win_over_env_and_file() {
    let file = toml_file(
        "listen = \"127.0.0.1:5000\"\ndata_dir = \"/from/file\"\nlog_format = \"plain\"\n",
    );
    let overrides = Overrides {
        listen: Some("127.0.0.1:7000".to_string()),
        data_dir: Some("/from/flag".to_string()),
        log_format: Some("json".to_string()),
    };
    let c = load(
        Some(file.path()),
        env(&[
            ("CREDD_LISTEN", "127.0.0.1:6000"),
            ("CREDD_DATA_DIR", "/from/env"),
            ("CREDD_LOG_FORMAT", "plain"),
        ]),
        &overrides,
    )
    .unwrap();
    assert_eq!(c.listen, "127.0.0.1:7000".parse::<SocketAddr>().unwrap());
    assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
    assert_eq!(c.pepper_file, PathBuf::from("/from/flag/pepper"));
    assert_eq!(c.log_format, LogFormat::Json);

    let c = load(
        Some(file.path()),
        env(&[("CREDD_DATA_DIR", "/from/env")]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.listen, "127.0.0.1:5000".parse::<SocketAddr>().unwrap());
    assert_eq!(c.data_dir, PathBuf::from("/from/env"));
}

/// An unknown key in the file is refused, naming the key and the file.
#[test]
fn unknown_key_in_file() {
    for (text, key) in [
        ("[policy]\nmax_lifetim = \"1d\"\n", "max_lifetim"),
        ("listn = \"127.0.0.1:1\"\n", "listn"),
        ("[emial]\nfrom = \"a@b.c\"\n", "emial"),
    ] {
        let file = toml_file(text);
        let err = load(Some(file.path()), no_env(), &Overrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(key), "{message}");
        assert!(
            message.contains(&file.path().display().to_string()),
            "{message}"
        );
    }
}

/// A file that does not exist is a read error naming it.
#[test]
fn missing_file_is_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let err = load(Some(&path), no_env(), &Overrides::default()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
    assert!(err.to_string().contains("nope.toml"), "{err}");
}

/// A bad duration names its dotted key and the file it came from, or the
/// environment variable when it came from there.
#[test]
fn bad_duration_names_key_and_origin() {
    let file = toml_file("[policy]\nmax_lifetime = \"ten years\"\n");
    let path = file.path().display().to_string();
    let (key, origin, message, display) =
        invalid(load(Some(file.path()), no_env(), &Overrides::default()));
    assert_eq!(key, "policy.max_lifetime");
    assert_eq!(origin, path);
    assert!(message.contains("ten years"), "{message}");
    assert!(display.contains("policy.max_lifetime"), "{display}");
    assert!(display.contains(&path), "{display}");

    let (key, origin, _, _) = invalid(load(
        Some(file.path()),
        env(&[("CREDD_MAX_LIFETIME", "forever")]),
        &Overrides::default(),
    ));
    assert_eq!(key, "policy.max_lifetime");
    assert_eq!(origin, "CREDD_MAX_LIFETIME");

    let (key, origin, _, _) = invalid(load(
        None,
        env(&[("CREDD_SCHEDULE_USAGE_FLUSH_INTERVAL", "1 month")]),
        &Overrides::default(),
    ));
    assert_eq!(key, "schedule.usage_flush_interval");
    assert_eq!(origin, "CREDD_SCHEDULE_USAGE_FLUSH_INTERVAL");
}

/// A listen value that is not `ip:port` is refused, naming `listen` and
/// the file, the variable or the flag it came from.
#[test]
fn bad_listen_names_origin() {
    let file = toml_file("listen = \"localhost\"\n");
    let (key, origin, message, _) =
        invalid(load(Some(file.path()), no_env(), &Overrides::default()));
    assert_eq!(key, "listen");
    assert_eq!(origin, file.path().display().to_string());
    assert!(message.contains("localhost"), "{message}");

    let (key, origin, _, _) = invalid(load(
        None,
        env(&[("CREDD_LISTEN", "127.0.0.1")]),
        &Overrides::default(),
    ));
    assert_eq!(key, "listen");
    assert_eq!(origin, "CREDD_LISTEN");

    let overrides = Overrides {
        listen: Some("127.0.0.1:99999".to_string()),
        ..Overrides::default()
    };
    let (key, origin, _, _) = invalid(load(None, no_env(), &overrides));
    assert_eq!(key, "listen");
    assert_eq!(origin, "--listen");
}

/// A non-integer value in an integer variable names the variable and the key.
#[test]
fn non_integer_env_names_variable() {
    for (var, key) in [
        (
            "CREDD_POLICY_MAX_CREDENTIALS_PER_ACCOUNT",
            "policy.max_credentials_per_account",
        ),
        (
            "CREDD_MAX_CREDENTIALS_PER_ACCOUNT",
            "policy.max_credentials_per_account",
        ),
        ("CREDD_SMTP_PORT", "email.smtp_port"),
        (
            "CREDD_STORAGE_CACHE_CAPACITY_MB",
            "storage.cache_capacity_mb",
        ),
        (
            "CREDD_STORAGE_VERIFY_CACHE_ENTRIES",
            "storage.verify_cache_entries",
        ),
    ] {
        let (got_key, origin, message, display) =
            invalid(load(None, env(&[(var, "lots")]), &Overrides::default()));
        assert_eq!(got_key, key, "{var}");
        assert_eq!(origin, var);
        assert!(message.contains("lots"), "{message}");
        assert!(display.contains(var), "{display}");
    }
}

/// A short variable name shared by two keys sets only the top-level key (or
/// none): `CREDD_LISTEN` is the gRPC address, never also the metrics one,
/// and `CREDD_MAX_LIFETIME` does not touch `sessions.max_lifetime`.
#[test]
fn shared_short_names_do_not_leak_into_other_sections() {
    let c = load(
        None,
        env(&[
            ("CREDD_LISTEN", "127.0.0.1:6000"),
            ("CREDD_SESSIONS_LIFETIME", "1h"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:6000");
    assert_eq!(c.metrics_listen, None);
    assert_eq!(c.users.session_max_lifetime, chrono::Duration::hours(1));
}
