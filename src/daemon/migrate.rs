//! `credd migrate --from sled:DIR --to etcd:URL[,URL...]` (and back): the
//! command line's side of `store::sled_to_etcd` / `store::etcd_to_sled`.
//! `sled:DIR` is a data directory (its `db/` is used) or a database
//! directory; `etcd:` takes the client URLs, the key prefix comes from
//! `--prefix` or `[store] prefix`, and TLS and the user from `[store]` when
//! the configuration names an etcd backend. The daemon must be stopped (a
//! running sled store is locked; a running cluster would serve a half-copied
//! prefix).

use std::path::PathBuf;

use super::DaemonError;
use crate::config::{Config, StoreConfig};
use crate::store::EtcdOptions;

/// One side of a migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// A sled database directory.
    Sled(PathBuf),
    /// etcd client URLs.
    Etcd(Vec<String>),
}

impl std::str::FromStr for Side {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(dir) = text.strip_prefix("sled:") {
            if dir.is_empty() {
                return Err("sled: needs a directory, e.g. sled:/var/lib/credd".into());
            }
            let dir = PathBuf::from(dir);
            let db = dir.join("db");
            return Ok(Side::Sled(if db.is_dir() { db } else { dir }));
        }
        if let Some(urls) = text.strip_prefix("etcd:") {
            let endpoints: Vec<String> = urls
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_string)
                .collect();
            if endpoints.is_empty() {
                return Err("etcd: needs client URLs, e.g. etcd:http://127.0.0.1:2379".into());
            }
            return Ok(Side::Etcd(endpoints));
        }
        Err(format!(
            "{text:?} is neither sled:DIR nor etcd:URL[,URL...]"
        ))
    }
}

/// Runs a migration; the line to print about what was copied.
///
/// # Errors
/// [`DaemonError::StoreConfig`] for two sides of one kind or unreadable
/// `[store]` files, and the store's errors (refused target, counts that
/// differ, etcd unreachable).
pub async fn migrate(
    config: &Config,
    from: Side,
    to: Side,
    prefix: Option<String>,
    force: bool,
) -> Result<String, DaemonError> {
    let report = match (&from, &to) {
        (Side::Sled(dir), Side::Etcd(endpoints)) => {
            let options = etcd_options(config, endpoints, prefix)?;
            crate::store::sled_to_etcd(dir, &options, force).await?
        }
        (Side::Etcd(endpoints), Side::Sled(dir)) => {
            let options = etcd_options(config, endpoints, prefix)?;
            crate::store::etcd_to_sled(&options, dir, force).await?
        }
        _ => {
            return Err(DaemonError::StoreConfig(
                "migrate copies between sled and etcd: give one of each".into(),
            ));
        }
    };
    let trees: Vec<String> = report
        .trees
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    Ok(format!(
        "copied {} keys, counts checked on both sides: {}",
        report.total(),
        trees.join(", ")
    ))
}

/// The etcd side's options: these endpoints, the prefix, and TLS and the
/// user from `[store]` when it names etcd.
fn etcd_options(
    config: &Config,
    endpoints: &[String],
    prefix: Option<String>,
) -> Result<EtcdOptions, DaemonError> {
    let mut options = match &config.store {
        StoreConfig::Etcd(etcd) => super::cluster::etcd_options(etcd)?,
        StoreConfig::Sled => EtcdOptions {
            endpoints: Vec::new(),
            prefix: "/credd/".into(),
            tls: None,
            user: None,
            request_timeout: std::time::Duration::from_secs(10),
            max_staleness: std::time::Duration::from_secs(1),
            lease_ttl: std::time::Duration::from_secs(5),
        },
    };
    options.endpoints = endpoints.to_vec();
    if let Some(prefix) = prefix {
        if !(prefix.starts_with('/') && prefix.ends_with('/') && prefix.len() >= 2) {
            return Err(DaemonError::StoreConfig(format!(
                "--prefix {prefix:?} must start and end with '/'"
            )));
        }
        options.prefix = prefix;
    }
    Ok(options)
}
