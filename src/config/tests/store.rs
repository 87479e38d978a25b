//! `[store]`: the backend, and every etcd key refused with its name.

use super::*;
use crate::config::StoreConfig;

/// With no `[store]`, the data directory is the only copy.
#[test]
fn sled_by_default() {
    let c = load_text("").unwrap();
    assert!(matches!(c.store, StoreConfig::Sled));
}

/// An etcd key with the sled backend is refused, naming the key, so a
/// typo in `backend` does not silently run single-node.
#[test]
fn etcd_keys_need_the_etcd_backend() {
    let (key, _, message, _) = invalid(load_text(
        "[store]\nendpoints = [\"http://127.0.0.1:2379\"]\n",
    ));
    assert_eq!(key, "store.endpoints");
    assert!(message.contains("backend = \"etcd\""), "{message}");
}

/// Only "sled" and "etcd" are backends.
#[test]
fn unknown_backend_is_refused() {
    let (key, _, message, _) = invalid(load_text("[store]\nbackend = \"redis\"\n"));
    assert_eq!(key, "store.backend");
    assert!(message.contains("\"sled\" or \"etcd\""), "{message}");
}

/// Without the `etcd` feature, asking for etcd says how to get it.
#[cfg(not(feature = "etcd"))]
#[test]
fn etcd_needs_the_feature() {
    let (key, _, message, _) = invalid(load_text(
        "[store]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\"]\n",
    ));
    assert_eq!(key, "store.backend");
    assert!(message.contains("--features etcd"), "{message}");
}

#[cfg(feature = "etcd")]
mod etcd {
    use super::*;
    use crate::config::EtcdConfig;

    fn etcd(result: Result<Config, ConfigError>) -> EtcdConfig {
        match result.unwrap().store {
            StoreConfig::Etcd(etcd) => *etcd,
            StoreConfig::Sled => panic!("expected the etcd backend"),
        }
    }

    /// The defaults: prefix `/credd/`, a 1 s fence, a 5 s lease, 5 s calls.
    #[test]
    fn defaults() {
        let c = etcd(load_text(
            "[store]\nbackend = \"etcd\"\nendpoints = [\"http://127.0.0.1:2379\", \"http://127.0.0.1:2479\"]\n",
        ));
        assert_eq!(c.endpoints.len(), 2);
        assert_eq!(c.prefix, "/credd/");
        assert!(c.tls.is_none() && c.user.is_none());
        assert_eq!(c.max_staleness, StdDuration::from_secs(1));
        assert_eq!(c.lease_ttl, StdDuration::from_secs(5));
        assert_eq!(c.request_timeout, StdDuration::from_secs(5));
    }

    /// The environment sets the backend and a comma-separated endpoint list.
    #[test]
    fn from_the_environment() {
        let c = etcd(load(
            None,
            env(&[
                ("CREDD_STORE_BACKEND", "etcd"),
                (
                    "CREDD_STORE_ENDPOINTS",
                    "http://127.0.0.1:1,http://127.0.0.1:2",
                ),
                ("CREDD_STORE_PREFIX", "/billing-credd/"),
                ("CREDD_STORE_MAX_STALENESS_MS", "250"),
            ]),
            &Overrides::default(),
        ));
        assert_eq!(c.endpoints, ["http://127.0.0.1:1", "http://127.0.0.1:2"]);
        assert_eq!(c.prefix, "/billing-credd/");
        assert_eq!(c.max_staleness, StdDuration::from_millis(250));
    }

    /// Each refusal names its key.
    #[test]
    fn refusals_name_their_key() {
        let base = "[store]\nbackend = \"etcd\"\n";
        let cases = [
            ("", "store.endpoints"),
            ("endpoints = [\"127.0.0.1:2379\"]\n", "store.endpoints"),
            (
                "endpoints = [\"https://127.0.0.1:2379\"]\n",
                "store.endpoints",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\nprefix = \"credd\"\n",
                "store.prefix",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\nprefix = \"/a b/\"\n",
                "store.prefix",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\nuser = \"credd\"\n",
                "store.password_file",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\npassword_file = \"/p\"\n",
                "store.user",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\ncert_file = \"/c\"\n",
                "store.key_file",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\ncert_file = \"/c\"\nkey_file = \"/k\"\n",
                "store.ca_file",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\nca_file = \"/ca\"\n",
                "store.endpoints",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\nmax_staleness_ms = 50\n",
                "store.max_staleness_ms",
            ),
            (
                "endpoints = [\"http://127.0.0.1:2379\"]\nlease_ttl_seconds = 1\n",
                "store.lease_ttl_seconds",
            ),
        ];
        for (extra, want) in cases {
            let (key, _, message, _) = invalid(load_text(&format!("{base}{extra}")));
            assert_eq!(key, want, "{extra}: {message}");
        }
    }
}

/// `[store]` keys have only their long names: `CREDD_CERT_FILE` still sets
/// `[tls]`, and `CREDD_USER` sets nothing.
#[test]
fn store_keys_have_only_long_names() {
    let c = load(
        None,
        env(&[
            ("CREDD_CERT_FILE", "/etc/credd/cert.pem"),
            ("CREDD_KEY_FILE", "/etc/credd/key.pem"),
            ("CREDD_USER", "someone"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    let tls = c.tls.expect("tls from the short names");
    assert_eq!(
        tls.cert_file,
        std::path::PathBuf::from("/etc/credd/cert.pem")
    );
    assert!(matches!(c.store, StoreConfig::Sled));
}
