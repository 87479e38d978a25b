//! nginx running `examples/nginx/credd.conf`: a generated main config whose
//! `http {}` block includes the example with its fixed ports swapped for the
//! test's, one process (`master_process off`, no user switch, so it runs the
//! same as root or not), prefix, pid, logs and temp paths in a temp dir.
//! Killed on drop.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{READY_TIMEOUT, example, substitute, tail};

/// The example's fixed addresses (see `examples/nginx/credd.conf`).
const LISTEN: &str = "listen 127.0.0.1:8000;";
const CREDD: &str = "server 127.0.0.1:8081;";
const API: &str = "server 127.0.0.1:8080;";

/// How often a start is retried when the chosen port was taken meanwhile.
const PORT_ATTEMPTS: usize = 5;

/// A running nginx.
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    addr: SocketAddr,
}

impl Nginx {
    /// nginx on the example config, asking credd's HTTP listener at
    /// `127.0.0.1:<credd_http>` and proxying to `127.0.0.1:<upstream>`;
    /// returns once it accepts connections.
    pub async fn start(bin: &Path, credd_http: u16, upstream: u16) -> Nginx {
        for _ in 0..PORT_ATTEMPTS {
            let port = super::free_port();
            let dir = Prefix::new(&server_config(port, credd_http, upstream));
            let child = spawn(bin, &dir);
            let mut nginx = Nginx {
                child,
                dir: dir.0,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
            };
            if nginx.wait_ready().await {
                return nginx;
            }
        }
        panic!("nginx could not bind a free port in {PORT_ATTEMPTS} attempts");
    }

    /// The listener (send client requests here).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// nginx's error log so far (auth_request's complaints land here).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Polls until the listener accepts. `false` when nginx exited because
    /// the port was taken meanwhile; panics with the log on anything else.
    async fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll nginx") {
                let log = tail(&self.dir.path().join("error.log"), 40);
                assert!(
                    log.contains("Address already in use"),
                    "nginx exited ({status}):\n{log}"
                );
                return false;
            }
            if tokio::net::TcpStream::connect(self.addr).await.is_ok() {
                return true;
            }
            let log = tail(&self.dir.path().join("error.log"), 40);
            assert!(
                Instant::now() < deadline,
                "nginx not ready in {READY_TIMEOUT:?}:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The example's `server {}` and upstreams with the test's ports.
pub fn server_config(listen: u16, credd_http: u16, upstream: u16) -> String {
    let text = example("nginx/credd.conf");
    let text = substitute(&text, LISTEN, &format!("listen 127.0.0.1:{listen};"));
    let text = substitute(&text, CREDD, &format!("server 127.0.0.1:{credd_http};"));
    substitute(&text, API, &format!("server 127.0.0.1:{upstream};"))
}

/// `nginx -t` on `server_config` (included as the example is): `Err`
/// carries nginx's complaint.
pub fn validate(bin: &Path, server_config: &str) -> Result<(), String> {
    let dir = Prefix::new(server_config);
    let out = command(bin, &dir).arg("-t").output().expect("run nginx -t");
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(())
    } else {
        Err(text)
    }
}

/// A temp dir holding `nginx.conf`, `credd.conf` and every path nginx
/// writes (pid, logs, temp files).
struct Prefix(tempfile::TempDir);

impl Prefix {
    /// Writes the main config around `server_config` into a new temp dir.
    fn new(server_config: &str) -> Prefix {
        let dir = tempfile::Builder::new()
            .prefix("credd-nginx-")
            .tempdir()
            .expect("temp dir");
        std::fs::write(dir.path().join("credd.conf"), server_config).expect("write credd.conf");
        std::fs::write(dir.path().join("nginx.conf"), main_config(dir.path()))
            .expect("write nginx.conf");
        Prefix(dir)
    }
}

/// The main config: one process in the foreground, everything under `dir`,
/// and the example included in `http {}` as a user would.
fn main_config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "daemon off;\n\
         master_process off;\n\
         pid {d}/nginx.pid;\n\
         error_log {d}/error.log info;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n\
         \x20   access_log {d}/access.log;\n\
         \x20   client_body_temp_path {d}/client_body;\n\
         \x20   proxy_temp_path {d}/proxy;\n\
         \x20   fastcgi_temp_path {d}/fastcgi;\n\
         \x20   uwsgi_temp_path {d}/uwsgi;\n\
         \x20   scgi_temp_path {d}/scgi;\n\
         \x20   include {d}/credd.conf;\n\
         }}\n"
    )
}

/// `nginx -p <dir> -c <dir>/nginx.conf -e <dir>/error.log` (the `-e` keeps
/// nginx from opening its compiled-in log before reading the config).
fn command(bin: &Path, dir: &Prefix) -> Command {
    let path = dir.0.path();
    let mut command = Command::new(bin);
    command
        .arg("-p")
        .arg(path)
        .arg("-c")
        .arg(path.join("nginx.conf"))
        .arg("-e")
        .arg(path.join("error.log"))
        .stdin(Stdio::null());
    command
}

/// Starts nginx in `dir`; its stderr goes to the error log too.
fn spawn(bin: &Path, dir: &Prefix) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.0.path().join("error.log"))
        .expect("error.log");
    command(bin, dir)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()))
}
