//! TLS for the gRPC listener and the HTTP listener: reads `[tls]` files,
//! checks them, and builds tonic's rustls configuration and, for the HTTP
//! listener, a plain rustls one from the same files. Every problem (unreadable file, no PEM
//! block, a key that does not belong to the certificate, a bad CA file)
//! stops the daemon at start with the file named.

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::config::TlsConfig;

/// Why the TLS files were refused.
#[derive(Debug, thiserror::Error)]
#[error("tls: {file}: {message}")]
pub struct TlsError {
    /// The file at fault.
    pub file: String,
    /// What is wrong with it.
    pub message: String,
}

fn refuse(path: &Path, message: impl Into<String>) -> TlsError {
    TlsError {
        file: path.display().to_string(),
        message: message.into(),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| refuse(path, format!("cannot read: {e}")))
}

fn certificates(path: &Path, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| refuse(path, format!("not a PEM certificate file: {e}")))?;
    if certs.is_empty() {
        return Err(refuse(path, "holds no PEM certificate"));
    }
    Ok(certs)
}

/// The checked TLS settings of the listener, ready for the server.
pub struct Tls(
    pub(super) ServerTlsConfig,
    pub(super) Arc<rustls::ServerConfig>,
);

impl Tls {
    /// The same certificate, key and client CA for the HTTP listener
    /// (HTTP/1.1 over rustls).
    pub fn http_config(&self) -> Arc<rustls::ServerConfig> {
        self.1.clone()
    }
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(..)")
    }
}

/// Reads and checks the `[tls]` files, once at start (before the store is
/// opened), for [`super::Server::start`].
///
/// # Errors
/// [`TlsError`] naming the file and the problem.
pub fn load(tls: &TlsConfig) -> Result<Tls, TlsError> {
    server_config(tls)
}

/// Reads and checks the `[tls]` files and returns tonic's server config
/// and the HTTP listener's.
fn server_config(tls: &TlsConfig) -> Result<Tls, TlsError> {
    let cert_pem = read(&tls.cert_file)?;
    let key_pem = read(&tls.key_file)?;
    let certs = certificates(&tls.cert_file, &cert_pem)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| refuse(&tls.key_file, format!("not a PEM private key: {e}")))?;
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(certs.clone(), key.clone_key(), &provider).map_err(
        |e| {
            refuse(
                &tls.key_file,
                format!(
                    "does not fit the certificate in {}: {e}",
                    tls.cert_file.display()
                ),
            )
        },
    )?;
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem));
    let builder = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| refuse(&tls.cert_file, e.to_string()))?;
    let builder = match &tls.client_ca_file {
        None => builder.with_no_client_auth(),
        Some(ca_file) => {
            let ca_pem = read(ca_file)?;
            let mut roots = rustls::RootCertStore::empty();
            for cert in certificates(ca_file, &ca_pem)? {
                roots
                    .add(cert)
                    .map_err(|e| refuse(ca_file, format!("not a usable CA certificate: {e}")))?;
            }
            config = config.client_ca_root(Certificate::from_pem(ca_pem));
            let verifier = rustls::server::WebPkiClientVerifier::builder(Arc::new(roots))
                .build()
                .map_err(|e| refuse(ca_file, format!("not a usable client CA: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut http = builder
        .with_single_cert(certs, key)
        .map_err(|e| refuse(&tls.key_file, e.to_string()))?;
    http.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls(config, Arc::new(http)))
}
