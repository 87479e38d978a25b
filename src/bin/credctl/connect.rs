//! How credctl reaches credd: the channel (plain, TLS or mTLS, from the
//! global flags) and the admin key every call carries as a bearer token.

use std::path::PathBuf;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::args::Cli;

/// Where credctl looks for the admin key when no flag or variable names one.
const DEFAULT_ADMIN_KEY_FILE: &str = "./credd-data/admin.key";

/// The channel with the admin key added to every call, from which each
/// command group makes its gRPC client.
pub(crate) type Authed = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <admin key>` to every call, when credctl has
/// a key.
#[derive(Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Reads the admin key. A file named by flag or variable must exist; the
/// default one may be missing (Verify on an open verifier needs no key).
pub(crate) fn load_admin_key(flag: Option<&PathBuf>) -> Result<Bearer, String> {
    let path = flag
        .cloned()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ADMIN_KEY_FILE));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && flag.is_none() => {
            return Ok(Bearer(None));
        }
        Err(e) => {
            return Err(format!(
                "cannot read the admin key file {}: {e}",
                path.display()
            ));
        }
    };
    let value = format!("Bearer {}", text.trim())
        .parse()
        .map_err(|_| format!("{} does not hold an admin key", path.display()))?;
    Ok(Bearer(Some(value)))
}

fn read_pem(flag: &str, path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("--{flag} {}: {e}", path.display()))
}

pub(crate) async fn connect(cli: &Cli) -> Result<Channel, String> {
    let tls = cli.ca_file.is_some() || cli.cert_file.is_some();
    let url = if cli.addr.contains("://") {
        cli.addr.clone()
    } else if tls {
        format!("https://{}", cli.addr)
    } else {
        format!("http://{}", cli.addr)
    };
    let mut endpoint =
        Channel::from_shared(url.clone()).map_err(|e| format!("bad --addr {url:?}: {e}"))?;
    if tls || url.starts_with("https://") {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &cli.ca_file {
            config = config.ca_certificate(Certificate::from_pem(read_pem("ca-file", ca)?));
        }
        if let (Some(cert), Some(key)) = (&cli.cert_file, &cli.key_file) {
            config = config.identity(Identity::from_pem(
                read_pem("cert-file", cert)?,
                read_pem("key-file", key)?,
            ));
        }
        if let Some(domain) = &cli.tls_domain {
            config = config.domain_name(domain.clone());
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| format!("tls setup: {e}"))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to credd at {url}: {e}"))
}
