//! `[store]`: where writes commit. `backend = "sled"` (the default) keeps
//! everything in the data directory; `backend = "etcd"` makes this daemon
//! one node of a cluster sharing an etcd (endpoints, TLS, user, a key
//! prefix so several deployments can share one etcd, the staleness fence
//! and the leader lease). etcd keys given with the sled backend are an
//! error, so a typo does not silently run single-node. Secrets (the etcd
//! password, the client key) are files, never inline.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};

/// `[store]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoreFile {
    backend: Option<String>,
    endpoints: Option<Vec<String>>,
    prefix: Option<String>,
    ca_file: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    user: Option<String>,
    password_file: Option<String>,
    max_staleness_ms: Option<i64>,
    lease_ttl_seconds: Option<i64>,
    request_timeout_ms: Option<i64>,
}

/// `[store]`, validated.
#[derive(Debug, Clone)]
pub enum StoreConfig {
    /// The data directory is the only copy.
    Sled,
    /// A cluster node on etcd.
    Etcd(Box<EtcdConfig>),
}

/// `[store]` with `backend = "etcd"`.
#[derive(Debug, Clone)]
pub struct EtcdConfig {
    /// Client URLs, `http://` or `https://`.
    pub endpoints: Vec<String>,
    /// Key prefix (`/credd/` by default), `/` at both ends.
    pub prefix: String,
    /// TLS to etcd (with `https://` endpoints).
    pub tls: Option<EtcdTlsFiles>,
    /// etcd user and the file holding its password.
    pub user: Option<(String, PathBuf)>,
    /// The staleness fence: longer without news from etcd and this node
    /// answers Verify `UNAVAILABLE` and health `NOT_SERVING`.
    pub max_staleness: Duration,
    /// The leader's lease.
    pub lease_ttl: Duration,
    /// The bound on each etcd call.
    pub request_timeout: Duration,
}

/// TLS to etcd: CA, and this node's certificate and key for mTLS.
#[derive(Debug, Clone)]
pub struct EtcdTlsFiles {
    /// PEM CA that signed etcd's certificates.
    pub ca_file: PathBuf,
    /// PEM certificate and key of this node, when etcd wants client certs.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// Validates `[store]`.
pub(super) fn validate(file: StoreFile, check: &Check) -> Result<StoreConfig, ConfigError> {
    let backend = file.backend.as_deref().unwrap_or("sled");
    match backend {
        "sled" => {
            if let Some(key) = etcd_key_given(&file) {
                return Err(check.invalid(
                    &format!("store.{key}"),
                    "is only used with backend = \"etcd\"".to_string(),
                ));
            }
            Ok(StoreConfig::Sled)
        }
        "etcd" if !cfg!(feature = "etcd") => Err(check.invalid(
            "store.backend",
            "\"etcd\": this credd was built without cluster support; rebuild with `cargo build --release --features etcd`".to_string(),
        )),
        "etcd" => Ok(StoreConfig::Etcd(Box::new(etcd(file, check)?))),
        other => Err(check.invalid(
            "store.backend",
            format!("{other:?} is not \"sled\" or \"etcd\""),
        )),
    }
}

/// The first etcd-only key set, if any.
fn etcd_key_given(file: &StoreFile) -> Option<&'static str> {
    [
        ("endpoints", file.endpoints.is_some()),
        ("prefix", file.prefix.is_some()),
        ("ca_file", file.ca_file.is_some()),
        ("cert_file", file.cert_file.is_some()),
        ("key_file", file.key_file.is_some()),
        ("user", file.user.is_some()),
        ("password_file", file.password_file.is_some()),
        ("max_staleness_ms", file.max_staleness_ms.is_some()),
        ("lease_ttl_seconds", file.lease_ttl_seconds.is_some()),
        ("request_timeout_ms", file.request_timeout_ms.is_some()),
    ]
    .into_iter()
    .find_map(|(key, set)| set.then_some(key))
}

fn etcd(file: StoreFile, check: &Check) -> Result<EtcdConfig, ConfigError> {
    let tls = tls(&file, check)?;
    let endpoints = endpoints(file.endpoints, tls.is_some(), check)?;
    let prefix = prefix(file.prefix, check)?;
    let user = together(
        check,
        ("store.user", file.user.filter(|u| !u.is_empty())),
        ("store.password_file", non_empty_path(file.password_file)),
    )?;
    let ms = |key: &str, value, default, range| -> Result<Duration, ConfigError> {
        check
            .whole::<u64>(key, value, default, range)
            .map(Duration::from_millis)
    };
    Ok(EtcdConfig {
        endpoints,
        prefix,
        tls,
        user,
        max_staleness: ms(
            "store.max_staleness_ms",
            file.max_staleness_ms,
            1_000,
            100..=60_000,
        )?,
        lease_ttl: Duration::from_secs(check.whole::<u64>(
            "store.lease_ttl_seconds",
            file.lease_ttl_seconds,
            5,
            2..=60,
        )?),
        request_timeout: ms(
            "store.request_timeout_ms",
            file.request_timeout_ms,
            5_000,
            100..=60_000,
        )?,
    })
}

/// At least one endpoint, each `http://host:port` (or `https://` when TLS
/// is configured: one scheme for all).
fn endpoints(
    given: Option<Vec<String>>,
    tls: bool,
    check: &Check,
) -> Result<Vec<String>, ConfigError> {
    let key = "store.endpoints";
    let endpoints: Vec<String> = given
        .unwrap_or_default()
        .into_iter()
        .filter(|e| !e.is_empty())
        .collect();
    if endpoints.is_empty() {
        return Err(check.invalid(
            key,
            "is required with backend = \"etcd\" (e.g. [\"http://127.0.0.1:2379\"])".to_string(),
        ));
    }
    let scheme = if tls { "https" } else { "http" };
    for endpoint in &endpoints {
        let parsed = url::Url::parse(endpoint)
            .map_err(|e| check.invalid(key, format!("{endpoint:?} is not a URL: {e}")))?;
        if parsed.scheme() != scheme || parsed.host_str().is_none() || parsed.port().is_none() {
            let why = if tls {
                "with store.ca_file set, endpoints are https://host:port"
            } else {
                "endpoints are http://host:port (https:// needs store.ca_file)"
            };
            return Err(check.invalid(key, format!("{endpoint:?}: {why}")));
        }
    }
    Ok(endpoints)
}

/// `/credd/` by default; `/` at both ends, printable ASCII without spaces.
fn prefix(given: Option<String>, check: &Check) -> Result<String, ConfigError> {
    let prefix = given.unwrap_or_else(|| "/credd/".to_string());
    let printable = prefix.bytes().all(|b| b.is_ascii_graphic());
    if prefix.len() < 2
        || prefix.len() > 128
        || !prefix.starts_with('/')
        || !prefix.ends_with('/')
        || !printable
    {
        return Err(check.invalid(
            "store.prefix",
            format!(
                "{prefix:?} must start and end with '/', be 2 to 128 printable ASCII characters without spaces"
            ),
        ));
    }
    Ok(prefix)
}

/// Two keys given together or not at all; the one missing is the error.
fn together<A, B>(
    check: &Check,
    (a_key, a): (&str, Option<A>),
    (b_key, b): (&str, Option<B>),
) -> Result<Option<(A, B)>, ConfigError> {
    match (a, b) {
        (Some(a), Some(b)) => Ok(Some((a, b))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(check.invalid(b_key, format!("is required when {a_key} is set"))),
        (None, Some(_)) => Err(check.invalid(a_key, format!("is required when {b_key} is set"))),
    }
}

/// `ca_file`, with `cert_file` and `key_file` together or neither.
fn tls(file: &StoreFile, check: &Check) -> Result<Option<EtcdTlsFiles>, ConfigError> {
    let ca = non_empty_path(file.ca_file.clone());
    let cert = non_empty_path(file.cert_file.clone());
    let key = non_empty_path(file.key_file.clone());
    let identity = together(check, ("store.cert_file", cert), ("store.key_file", key))?;
    match (ca, identity) {
        (Some(ca_file), identity) => Ok(Some(EtcdTlsFiles { ca_file, identity })),
        (None, None) => Ok(None),
        (None, Some(_)) => Err(check.invalid(
            "store.ca_file",
            "is required with store.cert_file and store.key_file (TLS to etcd)".to_string(),
        )),
    }
}
