//! `[tls]`: TLS, and optionally mTLS, on the gRPC listener.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};

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

/// `[tls]`: off unless `cert_file` and `key_file` are set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsFile {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_ca_file: Option<String>,
}

/// Validates `[tls]`: both files or neither, and a client CA only with them.
pub(super) fn validate(t: TlsFile, check: &Check) -> Result<Option<TlsConfig>, ConfigError> {
    match (non_empty_path(t.cert_file), non_empty_path(t.key_file)) {
        (Some(cert_file), Some(key_file)) => Ok(Some(TlsConfig {
            cert_file,
            key_file,
            client_ca_file: non_empty_path(t.client_ca_file),
        })),
        (None, None) => {
            if t.client_ca_file.is_some_and(|p| !p.is_empty()) {
                return Err(check.invalid(
                    "tls.client_ca_file",
                    "needs tls.cert_file and tls.key_file too".to_string(),
                ));
            }
            Ok(None)
        }
        (Some(_), None) => Err(check.invalid(
            "tls.key_file",
            "is required when tls.cert_file is set".to_string(),
        )),
        (None, Some(_)) => Err(check.invalid(
            "tls.cert_file",
            "is required when tls.key_file is set".to_string(),
        )),
    }
}
