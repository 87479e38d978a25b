//! Envoy running `examples/envoy/envoy.yaml`: the example's fixed ports are
//! swapped textually for the test's (credd's gRPC port, the upstream's, and 0
//! for the listener and admin, read back from the admin API), one worker, no
//! hot restart (so parallel Envoys share nothing), logs in a temp dir.
//! Killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use super::client::Request;
use super::{READY_TIMEOUT, example, substitute, tail};

/// The example's fixed ports (see `examples/envoy/envoy.yaml`).
const LISTENER: &str = "port_value: 10000";
const ADMIN: &str = "port_value: 9901";
const CREDD: &str = "port_value: 50051";
const API: &str = "port_value: 8080";

/// The lines that bracket the ext_authz filter in the example.
const AUTHZ_BEGIN: &str = "# credd:ext_authz begin";
const AUTHZ_END: &str = "# credd:ext_authz end";

/// A running Envoy.
pub struct Envoy {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
    admin: SocketAddr,
}

impl Envoy {
    /// Envoy on the example config, asking credd at `127.0.0.1:<credd_grpc>`
    /// and proxying to `127.0.0.1:<upstream>`; returns once it is ready.
    pub async fn start(bin: &Path, credd_grpc: u16, upstream: u16) -> Envoy {
        Envoy::run(bin, &config(credd_grpc, upstream, true)).await
    }

    /// The same config with the ext_authz filter cut out: the baseline
    /// "Envoy without credd" to the same upstream (the bench compares).
    pub async fn start_without_auth(bin: &Path, upstream: u16) -> Envoy {
        let unused = super::free_port();
        Envoy::run(bin, &config(unused, upstream, false)).await
    }

    /// The proxy listener (send client requests here).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin interface (`/stats`, `/clusters`, ...).
    pub fn admin(&self) -> SocketAddr {
        self.admin
    }

    /// Envoy's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("envoy.log")).unwrap_or_default()
    }

    /// Writes the config, spawns Envoy and waits until it serves.
    async fn run(bin: &Path, yaml: &str) -> Envoy {
        let (dir, config) = write_config(yaml);
        let child = spawn(bin, &config, dir.path());
        let mut envoy = Envoy {
            child,
            dir,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        envoy.wait_ready().await;
        envoy
    }

    /// Polls until admin `/ready` answers 200, then reads the listener's
    /// port from `/listeners`; panics with the log after [`READY_TIMEOUT`].
    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        let address_file = self.dir.path().join("admin.address");
        loop {
            if let Some(status) = self.child.try_wait().expect("poll envoy") {
                panic!(
                    "envoy exited ({status}) while starting:\n{}",
                    self.log_tail()
                );
            }
            if let Some(admin) = read_address(&address_file) {
                self.admin = admin;
                let ready = Request::get("/ready").try_send(admin).await;
                if ready.is_ok_and(|r| r.status == 200) {
                    self.addr = self.listener_address().await;
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "envoy not ready in {READY_TIMEOUT:?}:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// The bound address of the listener named `api`, from the admin API.
    async fn listener_address(&self) -> SocketAddr {
        let answer = Request::get("/listeners?format=json")
            .send(self.admin)
            .await
            .json();
        let statuses = answer["listener_statuses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let api = statuses
            .iter()
            .find(|l| l["name"] == "api")
            .unwrap_or_else(|| panic!("no listener `api` in {answer}"));
        let socket = &api["local_address"]["socket_address"];
        let port = socket["port_value"].as_u64().expect("listener port");
        SocketAddr::from(([127, 0, 0, 1], u16::try_from(port).expect("port")))
    }

    /// The last lines of the log, for a failure message.
    fn log_tail(&self) -> String {
        tail(&self.dir.path().join("envoy.log"), 40)
    }
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example config with the test's ports (and without the ext_authz
/// filter when `authz` is false).
pub fn config(credd_grpc: u16, upstream: u16, authz: bool) -> String {
    let text = example("envoy/envoy.yaml");
    let text = substitute(&text, LISTENER, "port_value: 0");
    let text = substitute(&text, ADMIN, "port_value: 0");
    let text = substitute(&text, CREDD, &format!("port_value: {credd_grpc}"));
    let text = substitute(&text, API, &format!("port_value: {upstream}"));
    if authz { text } else { without_authz(&text) }
}

/// `text` without the lines from [`AUTHZ_BEGIN`] to [`AUTHZ_END`].
fn without_authz(text: &str) -> String {
    let begin = text
        .find(AUTHZ_BEGIN)
        .expect("ext_authz begin marker in the example");
    let begin = text[..begin].rfind('\n').map_or(0, |i| i + 1);
    let end = text[begin..].find(AUTHZ_END).expect("ext_authz end marker") + begin;
    let end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    format!("{}{}", &text[..begin], &text[end..])
}

/// `envoy --mode validate` on `yaml`: `Err` carries Envoy's complaint.
pub fn validate(bin: &Path, yaml: &str) -> Result<(), String> {
    let (_dir, config) = write_config(yaml);
    let out = Command::new(bin)
        .args(["--mode", "validate", "--disable-hot-restart", "-c"])
        .arg(&config)
        .output()
        .expect("run envoy --mode validate");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}

/// A new temp dir holding `envoy.yaml` with `yaml`, and that file's path.
fn write_config(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("credd-envoy-")
        .tempdir()
        .expect("temp dir");
    let config = dir.path().join("envoy.yaml");
    std::fs::write(&config, yaml).expect("write envoy.yaml");
    (dir, config)
}

/// Starts Envoy on `config`, writing its log and admin address into `dir`.
fn spawn(bin: &Path, config: &Path, dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("envoy.log")).expect("envoy.log");
    Command::new(bin)
        .arg("-c")
        .arg(config)
        .args([
            "--concurrency",
            "1",
            "--disable-hot-restart",
            "--log-level",
            "info",
        ])
        .arg("--admin-address-path")
        .arg(dir.join("admin.address"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()))
}

/// The `host:port` Envoy wrote to `path`, once it has.
fn read_address(path: &Path) -> Option<SocketAddr> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}
