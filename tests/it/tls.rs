//! TLS and mTLS against the real binary, with certificates made in the test
//! (rcgen): TLS works with a CA the client trusts; with a client CA set, a
//! client without a certificate and one with a certificate from another CA
//! are refused at the handshake; unusable certificate files stop the daemon
//! at start with the file named.

use std::path::{Path, PathBuf};
use std::time::Duration;

use credd::api::pb;
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::support;

/// A CA that can sign leaf certificates.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca {
            pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf certificate and its key, as PEM.
    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// Writes `name.pem` into `dir`.
fn write(dir: &Path, name: &str, pem: &str) -> PathBuf {
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, pem).unwrap();
    path
}

/// Server files for `ca`, and the `[tls]` section naming them.
fn server_files(dir: &Path, ca: &Ca, client_ca: Option<&Ca>) -> String {
    let (cert, key) = ca.leaf(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let cert = write(dir, "server-cert", &cert);
    let key = write(dir, "server-key", &key);
    let mut config = format!(
        "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert.display().to_string(),
        key.display().to_string()
    );
    if let Some(client_ca) = client_ca {
        let path = write(dir, "client-ca", &client_ca.pem);
        config.push_str(&format!(
            "client_ca_file = {:?}\n",
            path.display().to_string()
        ));
    }
    config
}

async fn connect(
    daemon: &support::Daemon,
    ca: &Ca,
    identity: Option<(String, String)>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.pem))
        .domain_name("localhost");
    if let Some((cert, key)) = identity {
        tls = tls.identity(Identity::from_pem(cert, key));
    }
    Channel::from_shared(format!("https://{}", daemon.addr))
        .unwrap()
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// Whether a call over `channel` gets through (a refused handshake fails
/// either at connect or at the first call, depending on TLS 1.3 timing).
async fn call_works(
    daemon: &support::Daemon,
    channel: Result<Channel, tonic::transport::Error>,
) -> bool {
    let Ok(channel) = channel else { return false };
    support::admin_on(channel, &daemon.admin_key())
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_clients_that_trust_the_ca() {
    let dir = support::temp_dir();
    let ca = Ca::new("credd test CA");
    let daemon = support::start(dir.path(), &server_files(dir.path(), &ca, None));
    assert!(daemon.logs().contains("tls=true"));
    let mut admin = support::admin_on(
        connect(&daemon, &ca, None).await.expect("tls connect"),
        &daemon.admin_key(),
    );
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "over tls")).await;
    assert_eq!(cred.account_id, "acme");
    let channel = connect(&daemon, &ca, None).await.expect("tls connect");
    let verdict = pb::credential_verifier_client::CredentialVerifierClient::new(channel)
        .verify(support::verify_req(&secret, "", &[]))
        .await
        .expect("verify over tls")
        .into_inner();
    assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);
    // Plain HTTP/2 to a TLS port gets nowhere.
    let plain = support::admin_on(daemon.channel().await, &daemon.admin_key())
        .list_credentials(pb::ListCredentialsRequest::default())
        .await;
    assert!(plain.is_err(), "plaintext call to a TLS listener succeeded");
    // A client that does not trust the server's CA refuses it.
    let stranger = Ca::new("someone else");
    assert!(!call_works(&daemon, connect(&daemon, &stranger, None).await).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_clients_without_a_certificate_from_the_client_ca() {
    let dir = support::temp_dir();
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let other_ca = Ca::new("other CA");
    let daemon = support::start(
        dir.path(),
        &server_files(dir.path(), &server_ca, Some(&client_ca)),
    );
    assert!(daemon.logs().contains("mtls=true"));
    let good = client_ca.leaf(&["billing-service"], ExtendedKeyUsagePurpose::ClientAuth);
    let foreign = other_ca.leaf(&["billing-service"], ExtendedKeyUsagePurpose::ClientAuth);

    assert!(
        call_works(&daemon, connect(&daemon, &server_ca, Some(good)).await).await,
        "a client certificate from the client CA is accepted"
    );
    assert!(
        !call_works(&daemon, connect(&daemon, &server_ca, None).await).await,
        "a client without a certificate got through"
    );
    assert!(
        !call_works(&daemon, connect(&daemon, &server_ca, Some(foreign)).await).await,
        "a client certificate from another CA got through"
    );
}

#[test]
fn unusable_certificate_files_stop_the_daemon_at_start() {
    let dir = support::temp_dir();
    let ca = Ca::new("credd test CA");
    let (cert, _) = ca.leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let (_, other_key) = ca.leaf(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let cert = write(dir.path(), "cert", &cert);
    let other_key = write(dir.path(), "other-key", &other_key);
    let garbage = write(dir.path(), "garbage", "not a certificate");
    let missing = dir.path().join("missing.pem");
    let cases = [
        (
            "a key of another certificate",
            &cert,
            &other_key,
            "other-key.pem",
        ),
        (
            "a file that is not PEM",
            &garbage,
            &other_key,
            "garbage.pem",
        ),
        ("a missing file", &missing, &other_key, "missing.pem"),
    ];
    for (what, cert_file, key_file, named) in cases {
        let config = dir.path().join("credd.toml");
        std::fs::write(
            &config,
            format!(
                "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
                cert_file.display().to_string(),
                key_file.display().to_string()
            ),
        )
        .unwrap();
        let (status, log) = support::run_until_exit(
            dir.path(),
            &config,
            &dir.path().join("data"),
            "credd.log",
            Duration::from_secs(20),
        );
        let status = status.unwrap_or_else(|| panic!("{what}: credd kept running"));
        assert!(!status.success(), "{what}: credd started");
        assert!(
            log.contains(named),
            "{what}: the log does not name {named}:\n{log}"
        );
    }
}

/// GET `/healthz` over TLS trusting `ca` (with a client certificate when
/// given); the status, or why the connection failed.
async fn https_healthz(
    addr: std::net::SocketAddr,
    ca: &Ca,
    identity: Option<(String, String)>,
) -> Result<u16, String> {
    use http_body_util::Empty;
    use hyper_util::rt::TokioIo;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca.pem.as_bytes()).unwrap())
        .unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match identity {
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap(),
            )
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let request = hyper::Request::get("/healthz")
        .header("host", "localhost")
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = send
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status().as_u16())
}

/// The HTTP listener (`/v1/check`) serves TLS, and mTLS, from `[tls]`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_listener_uses_the_same_tls_and_mtls() {
    let dir = support::temp_dir();
    let ca = Ca::new("credd test CA");
    let config = format!(
        "{}[http]\nlisten = \"127.0.0.1:0\"\n",
        server_files(dir.path(), &ca, None)
    );
    let daemon = support::start(dir.path(), &config);
    let http = daemon.http_addr.expect("http listener");
    assert_eq!(https_healthz(http, &ca, None).await, Ok(200));
    let stranger = Ca::new("another CA");
    assert!(https_healthz(http, &stranger, None).await.is_err());
    drop(daemon);

    let dir = support::temp_dir();
    let clients = Ca::new("client CA");
    let config = format!(
        "{}[http]\nlisten = \"127.0.0.1:0\"\n",
        server_files(dir.path(), &ca, Some(&clients))
    );
    let daemon = support::start(dir.path(), &config);
    let http = daemon.http_addr.expect("http listener");
    assert!(
        https_healthz(http, &ca, None).await.is_err(),
        "no client certificate"
    );
    let identity = clients.leaf(&["gateway"], ExtendedKeyUsagePurpose::ClientAuth);
    assert_eq!(https_healthz(http, &ca, Some(identity)).await, Ok(200));
}
