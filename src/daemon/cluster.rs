//! `[store] backend = "etcd"`: reads the files the config names (etcd's CA,
//! this node's certificate and key, the etcd password) into the store's
//! [`EtcdOptions`]. A file that cannot be read stops the start with its
//! key's name; the password and key never appear in an error or log.

use crate::config::EtcdConfig;
use crate::store::{EtcdOptions, EtcdTls};

use super::DaemonError;

/// The store's options for `[store]`.
pub(super) fn etcd_options(config: &EtcdConfig) -> Result<EtcdOptions, DaemonError> {
    let tls = match &config.tls {
        None => None,
        Some(files) => Some(EtcdTls {
            ca_pem: read("store.ca_file", &files.ca_file)?,
            identity: match &files.identity {
                None => None,
                Some((cert, key)) => {
                    Some((read("store.cert_file", cert)?, read("store.key_file", key)?))
                }
            },
        }),
    };
    let user = match &config.user {
        None => None,
        Some((name, file)) => {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(file)
                .map_err(|e| {
                    DaemonError::StoreConfig(format!("store.password_file {}: {e}", file.display()))
                })?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(DaemonError::StoreConfig(format!(
                    "store.password_file {} has mode {mode:o}: others may read it; chmod 600 it",
                    file.display()
                )));
            }
            let raw = zeroize::Zeroizing::new(read("store.password_file", file)?);
            let password =
                zeroize::Zeroizing::new(String::from_utf8(raw.to_vec()).map_err(|_| {
                    DaemonError::StoreConfig("store.password_file is not UTF-8".into())
                })?);
            let password = password.trim_end_matches(['\r', '\n']);
            if password.is_empty() {
                return Err(DaemonError::StoreConfig(format!(
                    "store.password_file {} is empty",
                    file.display()
                )));
            }
            Some((name.clone(), password.to_string()))
        }
    };
    Ok(EtcdOptions {
        endpoints: config.endpoints.clone(),
        prefix: config.prefix.clone(),
        tls,
        user,
        request_timeout: config.request_timeout,
        max_staleness: config.max_staleness,
        lease_ttl: config.lease_ttl,
    })
}

fn read(key: &str, path: &std::path::Path) -> Result<Vec<u8>, DaemonError> {
    std::fs::read(path)
        .map_err(|e| DaemonError::StoreConfig(format!("{key} {}: {e}", path.display())))
}
