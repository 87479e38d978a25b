//! Each section's values: what is read, and what is refused with its key.

use super::*;

/// Every policy duration can be given in seconds, and is read to the second.
#[test]
fn policy_durations_in_seconds() {
    let c = load_text(
        r#"
[policy]
default_lifetime = "60s"
max_lifetime = "120s"
inactivity_disable_after = "5s"
inactivity_delete_after = "9s"
expiry_warning_before = "20s"
rotation_default_window = "3s"
rotation_max_window = "30s"
max_credentials_per_account = 2

[schedule]
usage_flush_interval = "1s"
"#,
    )
    .unwrap();
    assert_eq!(
        c.policy,
        Policy {
            default_lifetime: fixed(60),
            max_lifetime: fixed(120),
            inactivity_disable_after: fixed(5),
            inactivity_delete_after: fixed(9),
            expiry_warning_before: fixed(20),
            rotation_default_window: fixed(3),
            rotation_max_window: fixed(30),
            max_credentials_per_account: 2,
            auto_create_accounts: true,
        }
    );
    assert_eq!(c.schedule.usage_flush_interval, StdDuration::from_secs(1));
}

/// A zero-length policy duration is refused.
#[test]
fn zero_duration_refused() {
    let (key, _, message, _) = invalid(load_text("[policy]\nrotation_default_window = \"0s\"\n"));
    assert_eq!(key, "policy.rotation_default_window");
    assert!(message.contains("longer than zero"), "{message}");
}

/// A five-field cron expression is refused with a message that asks for six fields.
#[test]
fn five_field_cron_refused() {
    let (key, _, message, _) = invalid(load_text("[schedule]\nsweep = \"*/5 * * * *\"\n"));
    assert_eq!(key, "schedule.sweep");
    assert!(message.contains("six"), "{message}");
    assert!(message.contains("5 fields"), "{message}");
}

/// An invalid six-field cron expression is refused too.
#[test]
fn invalid_six_field_cron_refused() {
    let (key, _, message, _) = invalid(load_text("[schedule]\nsweep = \"a b c d e f\"\n"));
    assert_eq!(key, "schedule.sweep");
    assert!(message.contains("a b c d e f"), "{message}");
}

/// `max_credentials_per_account = 0` is refused; 1 is accepted.
#[test]
fn zero_max_credentials_refused() {
    let (key, _, message, _) = invalid(load_text("[policy]\nmax_credentials_per_account = 0\n"));
    assert_eq!(key, "policy.max_credentials_per_account");
    assert!(message.contains('0'), "{message}");
    let (key, _, _, _) = invalid(load_text("[policy]\nmax_credentials_per_account = -3\n"));
    assert_eq!(key, "policy.max_credentials_per_account");
    let c = load_text("[policy]\nmax_credentials_per_account = 1\n").unwrap();
    assert_eq!(c.policy.max_credentials_per_account, 1);
}

/// `inactivity_delete_after` must be strictly longer than `inactivity_disable_after`.
#[test]
fn delete_after_must_exceed_disable_after() {
    for (disable, delete) in [
        ("2 months", "2 months"),
        ("3 months", "2 months"),
        ("10s", "10s"),
        ("1 month", "7d"),
    ] {
        let text = format!(
            "[policy]\ninactivity_disable_after = \"{disable}\"\ninactivity_delete_after = \"{delete}\"\n"
        );
        let (key, _, message, _) = invalid(load_text(&text));
        assert_eq!(
            key, "policy.inactivity_delete_after",
            "{disable} / {delete}"
        );
        assert!(message.contains("inactivity_disable_after"), "{message}");
    }
    let text = "[policy]\ninactivity_disable_after = \"10s\"\ninactivity_delete_after = \"11s\"\n";
    assert!(load_text(text).is_ok());
}

/// A bad address in `admin_to` is refused, naming the key and the address,
/// from the file and from the environment.
#[test]
fn bad_admin_email_refused() {
    let (key, _, message, _) = invalid(load_text(
        "[email]\nadmin_to = [\"ops@example.com\", \"not an email\"]\n",
    ));
    assert_eq!(key, "email.admin_to");
    assert!(message.contains("not an email"), "{message}");

    let (key, origin, _, _) = invalid(load(
        None,
        env(&[("CREDD_ADMIN_TO", "ops@example.com,nobody")]),
        &Overrides::default(),
    ));
    assert_eq!(key, "email.admin_to");
    assert_eq!(origin, "CREDD_ADMIN_TO");
}

/// Other out-of-range values are refused with their key: prefix, log format,
/// transport, TLS mode, port, sender, lifetimes and rotation windows.
#[test]
fn other_invalid_values_name_their_key() {
    for (text, key) in [
        ("key_prefix = \"Credd\"\n", "key_prefix"),
        ("key_prefix = \"\"\n", "key_prefix"),
        ("key_prefix = \"abcdefghijklmnopq\"\n", "key_prefix"),
        ("log_format = \"xml\"\n", "log_format"),
        ("data_dir = \"\"\n", "data_dir"),
        ("[email]\ntransport = \"pigeon\"\n", "email.transport"),
        ("[email]\nsmtp_tls = \"ssl\"\n", "email.smtp_tls"),
        ("[email]\nsmtp_port = 0\n", "email.smtp_port"),
        ("[email]\nsmtp_port = 65536\n", "email.smtp_port"),
        ("[email]\nfrom = \"nobody\"\n", "email.from"),
        (
            "[policy]\ndefault_lifetime = \"20d\"\nmax_lifetime = \"10d\"\n",
            "policy.default_lifetime",
        ),
        (
            "[policy]\nrotation_default_window = \"31d\"\n",
            "policy.rotation_default_window",
        ),
        (
            "[storage]\ncache_capacity_mb = 0\n",
            "storage.cache_capacity_mb",
        ),
        (
            "[storage]\nverify_cache_entries = -1\n",
            "storage.verify_cache_entries",
        ),
    ] {
        let (got, _, _, _) = invalid(load_text(text));
        assert_eq!(got, key, "{text}");
    }
}

fn invalid_key(result: Result<Config, ConfigError>) -> String {
    match result {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("expected an invalid key, got {other:?}"),
    }
}

/// The verifier is open on loopback and needs a token elsewhere by default;
/// an explicitly open verifier on a network address needs an explicit yes.
#[test]
fn verifier_mode_follows_the_listen_address() {
    let loopback = load_text("").unwrap();
    assert!(!loopback.auth.verifier_token);
    assert_eq!(
        loopback.auth.bootstrap_admin_key_file,
        PathBuf::from("./credd-data/admin.key")
    );
    let network = load_text("listen = \"0.0.0.0:50051\"\n").unwrap();
    assert!(network.auth.verifier_token);
    assert_eq!(
        invalid_key(load_text(
            "listen = \"0.0.0.0:50051\"\n[auth]\nverifier = \"open\"\n"
        )),
        "auth.verifier"
    );
    let allowed = load_text(
        "listen = \"0.0.0.0:50051\"\n[auth]\nverifier = \"open\"\nallow_open_verifier_on_network = true\n",
    )
    .unwrap();
    assert!(!allowed.auth.verifier_token);
    let from_env = load(
        None,
        env(&[
            ("CREDD_AUTH_VERIFIER", "token"),
            ("CREDD_AUTH_FAILED_AUTH_BURST", "3"),
            ("CREDD_AUTH_ALLOW_OPEN_VERIFIER_ON_NETWORK", "yes"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert!(from_env.auth.verifier_token);
    assert_eq!(from_env.auth.failed_auth_burst, 3);
    let bad_bool = load(
        None,
        env(&[("CREDD_AUTH_ALLOW_OPEN_VERIFIER_ON_NETWORK", "maybe")]),
        &Overrides::default(),
    );
    assert_eq!(invalid_key(bad_bool), "auth.allow_open_verifier_on_network");
    assert_eq!(
        invalid_key(load_text("[auth]\nverifier = \"sometimes\"\n")),
        "auth.verifier"
    );
    assert_eq!(
        invalid_key(load_text("[auth]\nfailed_auth_burst = 0\n")),
        "auth.failed_auth_burst"
    );
}

/// TLS needs both files; a client CA alone is refused; the audit mirror is
/// off unless named.
#[test]
fn tls_and_audit_file_settings() {
    let config = load_text("").unwrap();
    assert!(config.tls.is_none());
    assert!(config.audit_file.is_none());
    let config = load_text(
        "[tls]\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\nclient_ca_file = \"ca.pem\"\n[audit]\nfile = \"/var/log/credd/audit.jsonl\"\n",
    )
    .unwrap();
    let tls = config.tls.unwrap();
    assert_eq!(tls.cert_file, PathBuf::from("c.pem"));
    assert_eq!(tls.client_ca_file, Some(PathBuf::from("ca.pem")));
    assert_eq!(
        config.audit_file,
        Some(PathBuf::from("/var/log/credd/audit.jsonl"))
    );
    assert_eq!(
        invalid_key(load_text("[tls]\ncert_file = \"c.pem\"\n")),
        "tls.key_file"
    );
    assert_eq!(
        invalid_key(load_text("[tls]\nkey_file = \"k.pem\"\n")),
        "tls.cert_file"
    );
    assert_eq!(
        invalid_key(load_text("[tls]\nclient_ca_file = \"ca.pem\"\n")),
        "tls.client_ca_file"
    );
}

/// `[http]` and `[gateway]`: off by default, header names lowercased and
/// checked, and `/v1/check` on a network address only when allowed.
#[test]
fn gateway_section() {
    let defaults = load(None, no_env(), &Overrides::default()).unwrap().gateway;
    assert_eq!(defaults.http_listen, None);
    assert_eq!(defaults.api_key_header, "x-api-key");
    assert!(defaults.strip_credentials && !defaults.reveal_reason);
    let config = load_text(
        "[http]\nlisten = \"127.0.0.1:8081\"\n[gateway]\napi_key_header = \"X-ClickMeter-API-Key\"\nreveal_reason = true\n",
    )
    .unwrap()
    .gateway;
    assert_eq!(config.http_listen, Some("127.0.0.1:8081".parse().unwrap()));
    assert_eq!(config.api_key_header, "x-clickmeter-api-key");
    assert!(config.reveal_reason);
    let (key, _, message, _) = invalid(load_text("[gateway]\nclient_id_header = \"x client\"\n"));
    assert_eq!(key, "gateway.client_id_header");
    assert!(message.contains("not a header name"), "{message}");
    let (key, _, message, _) = invalid(load_text("[http]\nlisten = \"0.0.0.0:8081\"\n"));
    assert_eq!(key, "http.listen");
    assert!(
        message.contains("allow_open_verifier_on_network"),
        "{message}"
    );
    let allowed = load_text(
        "[http]\nlisten = \"0.0.0.0:8081\"\n[auth]\nallow_open_verifier_on_network = true\n",
    );
    assert!(allowed.is_ok());
    let from_env = load(
        None,
        env(&[("CREDD_HTTP_LISTEN", "127.0.0.1:9000")]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        from_env.gateway.http_listen,
        Some("127.0.0.1:9000".parse().unwrap())
    );
}

/// `[gateway] metadata_headers`: keys to lowercased `x-credd-*` names,
/// ordered by key; a name outside `x-credd-`, one of credd's own, or taken
/// twice is refused naming the key.
#[test]
fn gateway_metadata_headers() {
    let defaults = load(None, no_env(), &Overrides::default()).unwrap().gateway;
    assert!(defaults.metadata_headers.is_empty());
    let config = load_text(
        "[gateway]\nmetadata_headers = { plan = \"X-Credd-Meta-Plan\", \"customer id\" = \"x-credd-customer\" }\n",
    )
    .unwrap()
    .gateway;
    assert_eq!(
        config.metadata_headers,
        [
            ("customer id".to_string(), "x-credd-customer".to_string()),
            ("plan".to_string(), "x-credd-meta-plan".to_string()),
        ]
    );
    for (table, key, why) in [
        (
            "{ plan = \"x-plan\" }",
            "gateway.metadata_headers.plan",
            "must start with",
        ),
        (
            "{ plan = \"x-credd-\" }",
            "gateway.metadata_headers.plan",
            "must start with",
        ),
        (
            "{ plan = \"x credd\" }",
            "gateway.metadata_headers.plan",
            "not a header name",
        ),
        (
            "{ plan = \"x-credd-account\" }",
            "gateway.metadata_headers.plan",
            "credd itself",
        ),
        (
            "{ plan = \"x-credd-required-scopes\" }",
            "gateway.metadata_headers.plan",
            "credd itself",
        ),
        (
            "{ a = \"x-credd-p\", b = \"X-Credd-P\" }",
            "gateway.metadata_headers.b",
            "already the header of metadata key \"a\"",
        ),
        (
            "{ \"\" = \"x-credd-p\" }",
            "gateway.metadata_headers",
            "not a metadata key",
        ),
    ] {
        let (k, _, message, _) = invalid(load_text(&format!(
            "[gateway]\nmetadata_headers = {table}\n"
        )));
        assert_eq!(k, key, "{table}");
        assert!(message.contains(why), "{table}: {message}");
    }
}

/// `[backup]`: off by default; a schedule needs a directory and a valid
/// cron; the journal may not live inside the data directory.
#[test]
fn backup_settings() {
    let config = load_text("").unwrap();
    assert_eq!(
        config.backup.journal,
        Some(PathBuf::from("./credd-data-journal/revocations.log")),
        "the journal is on by default, beside the data directory"
    );
    assert_eq!(config.backup.schedule, None);
    assert_eq!(config.backup.keep, 7);
    let off = load_text("[backup]\njournal = \"\"\n").unwrap();
    assert_eq!(off.backup.journal, None);
    let config = load_text(
        "data_dir = \"/var/lib/credd\"\n[backup]\nschedule = \"0 0 3 * * *\"\ndir = \"/srv/backups\"\nkeep = 3\njournal = \"/var/lib/credd-journal/revocations.log\"\n",
    )
    .unwrap();
    assert_eq!(config.backup.schedule.as_deref(), Some("0 0 3 * * *"));
    assert_eq!(config.backup.dir, Some(PathBuf::from("/srv/backups")));
    assert_eq!(config.backup.keep, 3);
    assert_eq!(
        invalid_key(load_text("[backup]\nschedule = \"0 0 3 * * *\"\n")),
        "backup.dir"
    );
    assert_eq!(
        invalid_key(load_text("[backup]\nschedule = \"daily\"\ndir = \"b\"\n")),
        "backup.schedule"
    );
    let (key, _, _, message) = invalid(load_text(
        "data_dir = \"/var/lib/credd\"\n[backup]\njournal = \"/var/lib/credd/journal.log\"\n",
    ));
    assert_eq!(key, "backup.journal");
    assert!(message.contains("outside"), "{message}");
    assert_eq!(
        invalid_key(load_text("[backup]\nkeep = 0\n")),
        "backup.keep"
    );
}

/// A cluster node keeps a revocation journal too, and may back up on a
/// schedule (a build without the etcd feature refuses the backend itself,
/// `tests::store::etcd_needs_the_feature`).
#[cfg(feature = "etcd")]
#[test]
fn backup_settings_on_a_cluster_node() {
    let node = load_text(
        "[store]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\n[backup]\nschedule = \"0 0 3 * * *\"\ndir = \"/srv/backups\"\n",
    )
    .unwrap();
    assert_eq!(
        node.backup.journal,
        Some(PathBuf::from("./credd-data-journal/revocations.log"))
    );
    assert_eq!(node.backup.schedule.as_deref(), Some("0 0 3 * * *"));
}

/// `[console]`: off by default; on only with the HTTP listener; the idle
/// timeout within the lifetime; `public_url` an http(s) base, only with the
/// console on; `CREDD_CONSOLE_*` from the environment.
#[test]
fn console_section() {
    let defaults = load(None, no_env(), &Overrides::default()).unwrap().console;
    assert!(!defaults.enabled && defaults.public_url.is_none());
    assert_eq!(defaults.idle_timeout, std::time::Duration::from_secs(900));
    let on = "[http]\nlisten = \"127.0.0.1:8081\"\n[console]\nenabled = true\n";
    let config = load_text(&format!(
        "{on}idle_timeout = \"5m\"\npublic_url = \"https://credd.example.com/\"\n"
    ))
    .unwrap()
    .console;
    assert!(config.enabled);
    assert_eq!(config.idle_timeout, std::time::Duration::from_secs(300));
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://credd.example.com")
    );
    for (text, key, says) in [
        (
            "[console]\nenabled = true\n",
            "console.enabled",
            "http.listen",
        ),
        (
            &format!("{on}idle_timeout = \"13h\"\n") as &str,
            "console.idle_timeout",
            "max_lifetime",
        ),
        (
            &format!("{on}idle_timeout = \"1 month\"\n"),
            "console.idle_timeout",
            "months",
        ),
        (
            &format!("{on}public_url = \"ftp://x\"\n"),
            "console.public_url",
            "http",
        ),
        (
            "[console]\npublic_url = \"https://x\"\n",
            "console.public_url",
            "console.enabled",
        ),
    ] {
        let (k, _, message, _) = invalid(load_text(text));
        assert_eq!(k, key, "{text}");
        assert!(message.contains(says), "{text}: {message}");
    }
    let from_env = load(
        None,
        env(&[
            ("CREDD_HTTP_LISTEN", "127.0.0.1:9000"),
            ("CREDD_CONSOLE_ENABLED", "true"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert!(from_env.console.enabled);
}
