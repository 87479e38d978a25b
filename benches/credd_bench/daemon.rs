//! The real daemon: a `credd` process started on a config, READY when its
//! sd_notify datagram arrives, measured through /proc, and stopped.

use std::net::SocketAddr;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `credd` process started on a data directory, READY when returned.
pub(crate) struct Daemon {
    child: Child,
    /// Kept open so the daemon's STOPPING=1 has somewhere to go.
    _notify: UnixDatagram,
    pub(crate) addr: SocketAddr,
    /// Spawn to the READY datagram.
    pub(crate) ready_secs: f64,
}

/// Writes a daemon config at `path`: listening on 127.0.0.1:0, data in
/// `data_dir`, info logs, then the TOML `tables`.
pub(crate) fn write_config(path: &Path, data_dir: &Path, tables: &str) {
    std::fs::write(
        path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"{}\"\nlog_filter = \"info\"\n\n{tables}",
            data_dir.display()
        ),
    )
    .expect("write daemon config");
}

/// A `kB` field (`VmRSS:`, `VmHWM:`) of `/proc/<pid>/status`, in KiB.
pub(crate) fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Starts `credd` with `config_path`, its log appended to `log`, and waits
/// for READY on a notify socket in `work`.
pub(crate) fn start_daemon(work: &Path, config_path: &Path, log: &Path) -> Daemon {
    let socket_path = work.join("notify.sock");
    let _ = std::fs::remove_file(&socket_path);
    let socket = UnixDatagram::bind(&socket_path).expect("notify socket");
    // A cluster node reading 1M credentials in full takes minutes.
    socket
        .set_read_timeout(Some(Duration::from_secs(900)))
        .expect("socket timeout");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("daemon log");
    let started = Instant::now();
    let mut command = Command::new(env!("CARGO_BIN_EXE_credd"));
    if let Some(arenas) = std::env::var_os("CREDD_BENCH_DAEMON_ARENAS") {
        command.env("MALLOC_ARENA_MAX", arenas);
    }
    let child = command
        .arg("--config")
        .arg(config_path)
        .env("NOTIFY_SOCKET", &socket_path)
        .env_remove("RUST_LOG")
        .env_remove("CREDD_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log_file))
        .spawn()
        .expect("spawn credd");
    wait_ready(child, socket, started, log)
}

/// Reads `socket` until `child` sends READY=1 (with the address it listens
/// on); kills it and panics with its log when nothing comes.
fn wait_ready(mut child: Child, socket: UnixDatagram, started: Instant, log: &Path) -> Daemon {
    let mut buf = [0u8; 4096];
    loop {
        let n = match socket.recv(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "credd sent no READY ({e}); its log:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
        };
        let message = String::from_utf8_lossy(&buf[..n]).to_string();
        if message.lines().any(|l| l == "READY=1") {
            let ready_secs = started.elapsed().as_secs_f64();
            let addr = message
                .lines()
                .find_map(|l| l.strip_prefix("STATUS=listening on "))
                .and_then(|a| a.parse().ok())
                .expect("READY carries the address");
            return Daemon {
                child,
                _notify: socket,
                addr,
                ready_secs,
            };
        }
    }
}

impl Daemon {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait; returns the seconds until exit.
    pub(crate) fn terminate(mut self) -> f64 {
        let started = Instant::now();
        // SAFETY: kill(2) on our own child; no memory is touched.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "credd exited with {status}");
                return started.elapsed().as_secs_f64();
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("credd did not stop within 60 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub(crate) fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
