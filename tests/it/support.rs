//! Starting, stopping and killing a real `credd` process for a test, and
//! connecting the generated clients to it. Every byte the daemon writes to
//! stderr is kept in `<dir>/credd.log` so tests can grep it for secrets.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use credd::api::pb;
use credd::api::pb::admin_key_admin_client::AdminKeyAdminClient;
use credd::api::pb::audit_log_client::AuditLogClient;
use credd::api::pb::client_id_admin_client::ClientIdAdminClient;
use credd::api::pb::credential_admin_client::CredentialAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::api::pb::partner_admin_client::PartnerAdminClient;
use credd::api::pb::user_admin_client::UserAdminClient;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Adds `authorization: Bearer <key>` (when there is a key) to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    /// `Bearer <key>`, or no header at all for `None`.
    pub fn new(key: Option<&str>) -> Self {
        Bearer(key.map(|k| format!("Bearer {k}").parse().expect("ascii key")))
    }

    /// An `authorization` header with exactly this value.
    pub fn raw(value: &str) -> Self {
        Bearer(Some(value.parse().expect("ascii header")))
    }
}

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

/// A channel whose calls carry an admin key.
pub type Authed = InterceptedService<Channel, Bearer>;
/// `CredentialAdmin` with an admin key.
pub type Admin = CredentialAdminClient<Authed>;
/// `AdminKeyAdmin` with an admin key.
pub type AdminKeys = AdminKeyAdminClient<Authed>;
/// `AuditLog` with an admin key.
pub type Audit = AuditLogClient<Authed>;
/// `CredentialVerifier` with an admin key (for `verifier = "token"`).
pub type AuthedVerifier = CredentialVerifierClient<Authed>;
/// `PartnerAdmin` with an admin key.
pub type Partners = PartnerAdminClient<Authed>;
/// `ClientIdAdmin` with an admin key.
pub type ClientIds = ClientIdAdminClient<Authed>;
/// `UserAdmin` with an admin key.
pub type Users = UserAdminClient<Authed>;

/// A `CredentialAdmin` client on `channel` presenting `key`.
pub fn admin_on(channel: Channel, key: &str) -> Admin {
    CredentialAdminClient::with_interceptor(channel, Bearer::new(Some(key)))
}

/// Deadlines the bootstrap admin key has in the index (expiry warning and
/// expiry; admin keys are not disabled for inactivity).
pub const BOOTSTRAP_KEY_DEADLINES: usize = 2;

/// How long a daemon may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `credd` process.
pub struct Daemon {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where its HTTP listener (`[http] listen`) listens, when configured.
    pub http_addr: Option<SocketAddr>,
    /// Where Check listens on a port of its own (`[gateway] ext_authz_listen`).
    pub ext_authz_addr: Option<SocketAddr>,
    /// Its data directory (database, pepper, mail).
    pub data_dir: PathBuf,
    /// Its config file.
    pub config_path: PathBuf,
    /// Where its stderr goes (appended across restarts).
    pub log_path: PathBuf,
    env: Vec<(String, String)>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Writes `config` (TOML) into `dir/credd.toml` and starts credd on
/// 127.0.0.1:0 with `dir/data` as its data directory.
pub fn start(dir: &Path, config: &str) -> Daemon {
    start_with_env(dir, config, &[])
}

/// [`start`] with extra environment variables (e.g. `RUST_LOG`).
pub fn start_with_env(dir: &Path, config: &str, env: &[(&str, &str)]) -> Daemon {
    let config_path = dir.join("credd.toml");
    std::fs::write(&config_path, config).expect("write config");
    let mut daemon = Daemon {
        child: None,
        addr: "127.0.0.1:0".parse().expect("addr"),
        http_addr: None,
        ext_authz_addr: None,
        data_dir: dir.join("data"),
        config_path,
        log_path: dir.join("credd.log"),
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        reader: None,
    };
    daemon.spawn();
    daemon
}

impl Daemon {
    fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_credd"));
        command
            .arg("--config")
            .arg(&self.config_path)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("RUST_LOG")
            .env("RUST_LOG", "credd=trace,info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        let mut child = command.spawn().expect("spawn credd");
        let stderr = child.stderr.take().expect("stderr");
        let (addr_tx, addr_rx) = mpsc::channel();
        let (http_tx, http_rx) = mpsc::channel();
        let (ext_tx, ext_rx) = mpsc::channel();
        let log_path = self.log_path.clone();
        let reader = std::thread::spawn(move || {
            let mut log = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .expect("open log");
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = writeln!(log, "{line}");
                if let Some(rest) = line.split("http listening").nth(1) {
                    let addr = rest.split("http_addr=").nth(1).unwrap_or_default();
                    let addr = addr.split_whitespace().next().unwrap_or_default();
                    let _ = http_tx.send(addr.to_string());
                }
                if let Some(rest) = line.split("ext_authz listening").nth(1) {
                    let addr = rest.split("ext_authz_addr=").nth(1).unwrap_or_default();
                    let addr = addr.split_whitespace().next().unwrap_or_default();
                    let _ = ext_tx.send(addr.to_string());
                }
                if let Some(rest) = line.split("credd listening addr=").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = addr_tx.send(addr);
                }
            }
        });
        let addr = match addr_rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let _ = reader.join();
                panic!(
                    "credd did not start listening; log:\n{}",
                    std::fs::read_to_string(&self.log_path).unwrap_or_default()
                );
            }
        };
        self.addr = addr.parse().expect("listening address");
        self.http_addr = http_rx
            .try_recv()
            .ok()
            .map(|a| a.parse().expect("http address"));
        self.ext_authz_addr = ext_rx
            .try_recv()
            .ok()
            .map(|a| a.parse().expect("ext_authz address"));
        self.child = Some(child);
        self.reader = Some(reader);
    }

    /// The gRPC endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A connected channel.
    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .expect("url")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to credd")
    }

    /// Where the daemon writes its bootstrap admin key.
    pub fn admin_key_file(&self) -> PathBuf {
        self.data_dir.join("admin.key")
    }

    /// The bootstrap admin key the daemon wrote on its first start.
    pub fn admin_key(&self) -> String {
        std::fs::read_to_string(self.admin_key_file())
            .expect("bootstrap admin key file")
            .trim()
            .to_string()
    }

    /// A connected admin client presenting the bootstrap admin key.
    pub async fn admin(&self) -> Admin {
        admin_on(self.channel().await, &self.admin_key())
    }

    /// A connected admin client presenting `key` (None: no header).
    pub async fn admin_as(&self, key: Option<&str>) -> Admin {
        CredentialAdminClient::with_interceptor(self.channel().await, Bearer::new(key))
    }

    /// A connected `AdminKeyAdmin` client presenting `key`.
    pub async fn admin_keys_as(&self, key: Option<&str>) -> AdminKeys {
        AdminKeyAdminClient::with_interceptor(self.channel().await, Bearer::new(key))
    }

    /// A connected `AuditLog` client presenting `key`.
    pub async fn audit_as(&self, key: Option<&str>) -> Audit {
        AuditLogClient::with_interceptor(self.channel().await, Bearer::new(key))
    }

    /// A connected `PartnerAdmin` client presenting `key` (None: no header).
    pub async fn partners_as(&self, key: Option<&str>) -> Partners {
        PartnerAdminClient::with_interceptor(self.channel().await, Bearer::new(key))
    }

    /// A connected `PartnerAdmin` client presenting the bootstrap admin key.
    pub async fn partners(&self) -> Partners {
        self.partners_as(Some(&self.admin_key())).await
    }

    /// A connected `ClientIdAdmin` client presenting the bootstrap admin key.
    pub async fn client_ids(&self) -> ClientIds {
        ClientIdAdminClient::with_interceptor(
            self.channel().await,
            Bearer::new(Some(&self.admin_key())),
        )
    }

    /// A connected `UserAdmin` client presenting the bootstrap admin key.
    pub async fn users(&self) -> Users {
        UserAdminClient::with_interceptor(
            self.channel().await,
            Bearer::new(Some(&self.admin_key())),
        )
    }

    /// A connected verifier client.
    pub async fn verifier(&self) -> CredentialVerifierClient<Channel> {
        CredentialVerifierClient::new(self.channel().await)
    }

    /// SIGKILL, then wait for the process to be gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Sends a signal to the process without waiting.
    pub fn signal(&self, signal: i32) {
        if let Some(child) = &self.child {
            let pid = i32::try_from(child.id()).expect("pid");
            // SAFETY: kill(2) on a child we own; no memory is touched.
            unsafe {
                libc::kill(pid, signal);
            }
        }
    }

    /// SIGTERM, then wait up to `limit` for a clean exit.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit(limit)
    }

    /// Waits up to `limit` for the process to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("running daemon");
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("credd did not exit within {limit:?} of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        status
    }

    /// Starts the daemon again on the same config and data directory.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "stop the daemon before restarting it");
        self.spawn();
    }

    /// Everything the daemon has logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A fresh temporary directory for one test.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("credd-it-")
        .tempdir()
        .expect("temp dir")
}

/// A create request with sensible defaults for `account`.
pub fn api_key(account: &str, name: &str) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        account_id: account.to_string(),
        kind: pb::Kind::ApiKey.into(),
        environment: pb::Environment::Live.into(),
        name: name.to_string(),
        description: format!("{name} for tests"),
        scopes: vec!["orders:read".to_string(), "orders:write".to_string()],
        lifetime: None,
        notify_emails: vec!["ops@example.com".to_string()],
        client_id: String::new(),
        metadata: String::new(),
        credits: None,
        rate_limits: Vec::new(),
    }
}

/// A passcode create request for `account`.
pub fn passcode(account: &str, name: &str) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        kind: pb::Kind::Passcode.into(),
        environment: pb::Environment::Test.into(),
        ..api_key(account, name)
    }
}

/// A verify request.
pub fn verify_req(secret: &str, account: &str, scopes: &[&str]) -> pb::VerifyRequest {
    pb::VerifyRequest {
        secret: secret.to_string(),
        account_id: account.to_string(),
        required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// Every file under `dir`, recursively, as raw bytes, with its path.
pub fn all_files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

/// Asserts that none of `secrets` occurs in any file under `dir`.
pub fn assert_no_secret_in_files(dir: &Path, secrets: &[String]) {
    for (path, bytes) in all_files(dir) {
        for secret in secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a secret was found in {}", path.display());
        }
    }
}

// ---- Shortcuts for the admin, verify, rotation, listing, durability and hygiene tests ----

/// A well-formed credential id (`cred_` and a ULID) that no daemon issued.
pub const UNKNOWN_ID: &str = "cred_01ARZ3NDEKTSV4RRFFQ69G5FAV";

/// Creates a credential; returns it and its plaintext secret.
pub async fn create(
    admin: &mut Admin,
    request: pb::CreateCredentialRequest,
) -> (pb::Credential, String) {
    let response = admin
        .create_credential(request)
        .await
        .expect("create credential")
        .into_inner();
    (
        response.credential.expect("credential in response"),
        response.secret,
    )
}

/// Reads a credential that must exist.
pub async fn get(admin: &mut Admin, id: &str) -> pb::Credential {
    admin
        .get_credential(pb::GetCredentialRequest { id: id.to_string() })
        .await
        .expect("get credential")
        .into_inner()
        .credential
        .expect("credential in response")
}

/// `c` without its countdown to expiry (`expires_in`), which changes
/// between two reads, for comparing whole credentials.
pub fn steady(c: pb::Credential) -> pb::Credential {
    pb::Credential {
        expires_in: None,
        ..c
    }
}

/// Verifies a secret; the call itself must succeed.
pub async fn verify(
    verifier: &mut CredentialVerifierClient<Channel>,
    secret: &str,
    account: &str,
    scopes: &[&str],
) -> pb::VerifyResponse {
    verifier
        .verify(verify_req(secret, account, scopes))
        .await
        .expect("verify call")
        .into_inner()
}

/// Asserts that a call failed with `code`; returns the status.
pub fn expect_code<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, tonic::Status>,
    code: tonic::Code,
    what: &str,
) -> tonic::Status {
    match result {
        Ok(response) => panic!("{what}: expected {code:?}, got {:?}", response.get_ref()),
        Err(status) => {
            assert_eq!(status.code(), code, "{what}: {}", status.message());
            status
        }
    }
}

/// `secret` with one character of its random body changed, so its checksum
/// no longer holds.
pub fn flip_char(secret: &str) -> String {
    let at = secret.rfind('_').expect("a credd secret") + 4;
    let mut bytes = secret.as_bytes().to_vec();
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(elapsed.as_secs()).expect("seconds fit")
}

/// Runs the credd binary on `config_path` and `data_dir` until it exits by
/// itself, with stderr in `dir/<log_name>`. Returns the exit status (None if
/// it was still running after `limit` and had to be killed) and its stderr.
pub fn run_until_exit(
    dir: &Path,
    config_path: &Path,
    data_dir: &Path,
    log_name: &str,
    limit: Duration,
) -> (Option<ExitStatus>, String) {
    let log_path = dir.join(log_name);
    let log = std::fs::File::create(&log_path).expect("create log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_credd"))
        .arg("--config")
        .arg(config_path)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--data-dir")
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("spawn credd");
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        std::fs::read_to_string(&log_path).unwrap_or_default(),
    )
}
