//! A real etcd cluster for tests: N members of the etcd binary on loopback
//! ephemeral ports, each with its own data directory in one temporary
//! directory, started, killed, restarted and asked about (leader, revision,
//! compaction) through etcd's JSON gateway over a few lines of HTTP/1.0.
//!
//! Both the integration tests and the library's unit tests include this
//! file with `#[path = "..."] mod etcd_cluster;`, so it uses only std and
//! crates both see (libc, serde_json, base64, tempfile), never the crate
//! itself. Everything is blocking std code; async tests may call it
//! directly or from `spawn_blocking`.
//!
//! **No etcd outlives its test process.** Every member is spawned with
//! `prctl(PR_SET_PDEATHSIG, SIGKILL)`. That signal fires when the *thread*
//! that forked the child exits, not the process, and libtest runs each test
//! on its own short-lived thread; so all members are forked by one helper
//! thread, started on first use, that never exits. A test thread ending
//! therefore never kills a cluster another test still uses, while the
//! process exiting (normally, by panic=abort or by SIGKILL) ends that
//! thread and so every member. [`EtcdCluster`]'s `Drop` kills its members
//! and removes its directory; the shared cluster ([`shared`]) is never
//! dropped, so an `atexit` hook kills it and removes its directory. A
//! directory left by a test process killed outright is removed by the next
//! start (its name holds the dead pid).

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// How long a start or restart may take before the test fails.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Whole starts tried when a member exits early (a port taken meanwhile).
const START_ATTEMPTS: usize = 3;
/// A cluster's directory in the temporary directory: this prefix, the
/// test process's pid, `-`, random letters.
const DIR_PREFIX: &str = "credd-etcd-";
/// Lines of each member's log a failure message shows.
const LOG_TAIL_LINES: usize = 15;

/// The etcd binary: `CREDD_TEST_ETCD` when set, else `etcd` on `PATH`,
/// else `/usr/bin/etcd`, if it is an executable file.
pub fn etcd_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CREDD_TEST_ETCD") {
        return executable(PathBuf::from(path));
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).find_map(|d| executable(d.join("etcd"))));
    on_path.or_else(|| executable(PathBuf::from("/usr/bin/etcd")))
}

/// `path`, when it is an executable file.
fn executable(path: PathBuf) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(path)
}

/// The etcd binary, or `None` after printing why `test` is skipped. Under
/// `CI=true` a missing etcd fails the test instead: never a silent skip.
pub fn require_etcd(test: &str) -> Option<PathBuf> {
    if let Some(binary) = etcd_binary() {
        return Some(binary);
    }
    let why = "etcd not found (install Debian etcd-server or set CREDD_TEST_ETCD)";
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("CI=true and {test} needs etcd: {why}; `bash .ci/test` installs it");
    }
    // Written to stderr directly: libtest captures eprintln! of a passing test.
    let note = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(note.as_bytes());
    None
}

/// The single-member cluster the unit tests share, started on first use
/// and killed when the test process exits. Tests isolate themselves by key
/// prefix; none may kill, stop or compact it.
pub fn shared(binary: &Path) -> &'static EtcdCluster {
    static SHARED: OnceLock<EtcdCluster> = OnceLock::new();
    SHARED.get_or_init(|| {
        let cluster = EtcdCluster::start(binary, 1);
        extern "C" fn stop_shared() {
            if let Some(cluster) = SHARED.get() {
                cluster.kill_all();
                let _ = std::fs::remove_dir_all(cluster.dir.path());
            }
        }
        // SAFETY: registers a plain function without arguments.
        unsafe { libc::atexit(stop_shared) };
        cluster
    })
}

/// One member: its ports, directories, and process while it runs.
struct Member {
    name: String,
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    log: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Member {
    /// The process slot (still usable after a panic elsewhere held it).
    fn child(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running etcd cluster on loopback; dropping it kills every member and
/// removes its directory.
pub struct EtcdCluster {
    binary: PathBuf,
    token: String,
    members: Vec<Member>,
    dir: tempfile::TempDir,
}

impl EtcdCluster {
    /// Starts `members` members (`--initial-cluster-state new`, a unique
    /// cluster token, 50 ms heartbeat and 500 ms election timeout so a
    /// killed leader is replaced fast) and waits until every one answers
    /// healthy. Each member's log goes to `<dir>/<name>.log`. Panics, with
    /// the tail of each log, when that takes over 30 s.
    pub fn start(binary: &Path, members: usize) -> EtcdCluster {
        assert!(members > 0, "an etcd cluster needs at least one member");
        for attempt in 1..=START_ATTEMPTS {
            let cluster = EtcdCluster::spawn_new(binary, members);
            match cluster.wait_healthy(&(0..members).collect::<Vec<_>>()) {
                Ok(()) => return cluster,
                Err(why) if attempt < START_ATTEMPTS && why.exited => drop(cluster),
                Err(why) => panic!("etcd cluster did not start: {}", why.message),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// The client URLs, `http://127.0.0.1:<port>`, in member order.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// The client URLs as a TOML array's items (`"http://...", "http://..."`),
    /// for a credd node's `[store] endpoints`.
    pub fn endpoints_toml(&self) -> String {
        self.endpoints()
            .iter()
            .map(|e| format!("{e:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Member `i`'s client URL.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].client_port)
    }

    /// SIGKILLs member `i` and waits for it; its data stays for a restart.
    pub fn kill(&mut self, i: usize) {
        kill_member(&self.members[i]);
    }

    /// The same as [`EtcdCluster::kill`]: the member's data stays.
    pub fn stop(&mut self, i: usize) {
        self.kill(i);
    }

    /// Starts member `i` again on its data directory and ports
    /// (`--initial-cluster-state existing`) and waits until it is healthy.
    pub fn restart(&mut self, i: usize) {
        self.restart_all(&[i]);
    }

    /// Starts the members `which` again together and waits until they are
    /// healthy: after a whole cluster went down, no member is healthy until
    /// a quorum of them is back, so they must start at once.
    pub fn restart_all(&mut self, which: &[usize]) {
        for &i in which {
            kill_member(&self.members[i]);
            let child = spawn(self.command(i, "existing"), &self.members[i].log);
            *self.members[i].child() = Some(child);
        }
        if let Err(why) = self.wait_healthy(which) {
            panic!("etcd members {which:?} did not restart: {}", why.message);
        }
    }

    /// Whether member `i`'s process is alive.
    pub fn is_running(&self, i: usize) -> bool {
        let mut child = self.members[i].child();
        child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// The member every running member names as leader, when they agree
    /// and it is one of them (`None` during an election).
    pub fn leader(&self) -> Option<usize> {
        let mut ids = Vec::new();
        let mut named = None;
        for i in (0..self.members.len()).filter(|&i| self.is_running(i)) {
            let status = self.post(i, "/v3/maintenance/status", "{}").ok()?;
            let leader = json_u64(&status["leader"]).filter(|&l| l != 0)?;
            if named.is_some_and(|n| n != leader) {
                return None;
            }
            named = Some(leader);
            ids.push((i, json_u64(&status["header"]["member_id"])?));
        }
        let named = named?;
        ids.into_iter().find(|&(_, id)| id == named).map(|(i, _)| i)
    }

    /// Member `i`'s database size in bytes (`dbSize` of its status).
    pub fn db_size(&self, i: usize) -> Option<u64> {
        let status = self.post(i, "/v3/maintenance/status", "{}").ok()?;
        json_u64(&status["dbSize"])
    }

    /// The cluster's current revision, from the first member that answers.
    pub fn revision(&self) -> i64 {
        let reply = self.post_any("/v3/kv/range", r#"{"key":"AA==","count_only":true}"#);
        header_revision(&reply)
    }

    /// Puts `value` at `key` (a test writing history to compact); returns
    /// the revision of the write.
    pub fn put(&self, key: &str, value: &str) -> i64 {
        let body = serde_json::json!({ "key": base64(key), "value": base64(value) });
        header_revision(&self.post_any("/v3/kv/put", &body.to_string()))
    }

    /// Compacts the history up to `revision`, physically (returns once the
    /// members dropped it). Panics when etcd refuses.
    pub fn compact(&self, revision: i64) {
        if let Err(why) = self.try_compact(revision) {
            panic!("etcd refused to compact at {revision}: {why}");
        }
    }

    /// [`EtcdCluster::compact`], with etcd's refusal (that revision already
    /// compacted, or not reached yet) as an error.
    pub fn try_compact(&self, revision: i64) -> Result<(), String> {
        let body = format!(r#"{{"revision":{revision},"physical":true}}"#);
        let running = (0..self.members.len()).find(|&i| self.is_running(i));
        let i = running.ok_or("no etcd member is running")?;
        self.post(i, "/v3/kv/compaction", &body).map(drop)
    }

    /// Starts every member of a fresh cluster on newly picked ports.
    fn spawn_new(binary: &Path, members: usize) -> EtcdCluster {
        remove_orphan_dirs();
        let dir = tempfile::Builder::new()
            .prefix(&format!("{DIR_PREFIX}{}-", std::process::id()))
            .tempdir()
            .expect("temporary directory for etcd");
        let ports = free_ports(2 * members);
        let members = (0..members)
            .map(|i| Member {
                name: format!("m{i}"),
                client_port: ports[2 * i],
                peer_port: ports[2 * i + 1],
                data_dir: dir.path().join(format!("m{i}.etcd")),
                log: dir.path().join(format!("m{i}.log")),
                child: Mutex::new(None),
            })
            .collect();
        let cluster = EtcdCluster {
            binary: binary.to_path_buf(),
            token: unique_token(),
            members,
            dir,
        };
        for (i, member) in cluster.members.iter().enumerate() {
            let child = spawn(cluster.command(i, "new"), &member.log);
            *member.child() = Some(child);
        }
        cluster
    }

    /// The command line of member `i`.
    fn command(&self, i: usize, state: &str) -> Command {
        let member = &self.members[i];
        let client = format!("http://127.0.0.1:{}", member.client_port);
        let peer = format!("http://127.0.0.1:{}", member.peer_port);
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect();
        let mut command = Command::new(&self.binary);
        command
            .args(["--name", &member.name])
            .arg("--data-dir")
            .arg(&member.data_dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &initial.join(",")])
            .args(["--initial-cluster-token", &self.token])
            .args(["--initial-cluster-state", state])
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .args(["--logger", "zap", "--log-level", "warn"]);
        command
    }

    /// Waits until each of `which` answers `/health` with `"true"`.
    fn wait_healthy(&self, which: &[usize]) -> Result<(), StartFailure> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut pending = which.to_vec();
        while !pending.is_empty() {
            if let Some(&i) = pending.iter().find(|&&i| !self.is_running(i)) {
                let message = format!("member {i} exited\n{}", self.log_tails());
                return Err(StartFailure {
                    exited: true,
                    message,
                });
            }
            if Instant::now() > deadline {
                let message = format!(
                    "members {pending:?} not healthy after {START_TIMEOUT:?}\n{}",
                    self.log_tails()
                );
                return Err(StartFailure {
                    exited: false,
                    message,
                });
            }
            pending.retain(|&i| !self.healthy(i));
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Whether member `i` answers `GET /health` with `"health":"true"`.
    fn healthy(&self, i: usize) -> bool {
        let request = "GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        http(self.members[i].client_port, request)
            .is_ok_and(|(status, body)| status == 200 && body.contains(r#""health":"true""#))
    }

    /// POSTs `body` to member `i`'s JSON gateway at `path`.
    fn post(&self, i: usize, path: &str, body: &str) -> Result<serde_json::Value, String> {
        let request = format!(
            "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let (status, reply) = http(self.members[i].client_port, &request)?;
        if status != 200 {
            return Err(format!("{path} on member {i}: HTTP {status}: {reply}"));
        }
        serde_json::from_str(&reply).map_err(|e| format!("{path} on member {i}: {e}: {reply}"))
    }

    /// POSTs to the first running member that answers; panics when none does.
    fn post_any(&self, path: &str, body: &str) -> serde_json::Value {
        let mut errors = Vec::new();
        for i in (0..self.members.len()).filter(|&i| self.is_running(i)) {
            match self.post(i, path, body) {
                Ok(reply) => return reply,
                Err(e) => errors.push(e),
            }
        }
        panic!("no etcd member answered {path} {body}: {errors:?}");
    }

    /// SIGKILLs every member (through a shared reference: the atexit hook).
    fn kill_all(&self) {
        self.members.iter().for_each(kill_member);
    }

    /// The last lines of every member's log, for a failure message.
    fn log_tails(&self) -> String {
        let mut out = String::new();
        for member in &self.members {
            let text = std::fs::read_to_string(&member.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
            out += &format!(
                "--- {} ({}):\n{}\n",
                member.name,
                member.log.display(),
                tail.join("\n")
            );
        }
        out
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Why a start failed, and whether a member exited (worth another try on
/// new ports) rather than timed out.
struct StartFailure {
    exited: bool,
    message: String,
}

/// SIGKILLs a member's process, if any, and reaps it.
fn kill_member(member: &Member) {
    if let Some(mut child) = member.child().take() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// A request for the spawner thread: a command, its log file, and where to
/// send the child.
type SpawnRequest = (Command, File, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `command` from the never-exiting spawner thread (see the module
/// doc), with its stdout and stderr appended to `log`.
fn spawn(command: Command, log: &Path) -> Child {
    static SPAWNER: OnceLock<Mutex<mpsc::Sender<SpawnRequest>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<SpawnRequest>();
        std::thread::Builder::new()
            .name("etcd-spawner".into())
            .spawn(move || {
                for (command, log, reply) in rx {
                    let _ = reply.send(spawn_here(command, log));
                }
            })
            .expect("spawner thread");
        Mutex::new(tx)
    });
    let log_file = File::options()
        .create(true)
        .append(true)
        .open(log)
        .unwrap_or_else(|e| panic!("open {}: {e}", log.display()));
    let (tx, rx) = mpsc::channel();
    spawner
        .lock()
        .unwrap()
        .send((command, log_file, tx))
        .expect("spawner thread alive");
    let child = rx.recv().expect("spawner thread answers");
    child.unwrap_or_else(|e| panic!("spawn etcd from {}: {e}", log.display()))
}

/// Spawns on the calling thread, dying with it (PR_SET_PDEATHSIG).
fn spawn_here(mut command: Command, log: File) -> std::io::Result<Child> {
    let parent = std::process::id() as libc::pid_t;
    command
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: the closure runs between fork and exec and calls only the
    // async-signal-safe prctl and getppid.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl: then nothing fires.
            if libc::getppid() != parent {
                return Err(std::io::Error::other("test process gone"));
            }
            Ok(())
        });
    }
    command.spawn()
}

/// Removes the cluster directories test processes killed before their
/// clean-up left behind (their etcd died with them), found by their pid.
fn remove_orphan_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<libc::pid_t>().ok())
            .filter(|&pid| pid > 0);
        // SAFETY: signal 0 only asks whether the process exists.
        let gone = pid.is_some_and(|pid| unsafe { libc::kill(pid, 0) } != 0)
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// `n` distinct loopback ports free a moment ago (all bound at once, then
/// released).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound address").port())
        .collect()
}

/// A cluster token no other cluster of this machine uses.
fn unique_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("credd-test-{}-{n}-{nanos}", std::process::id())
}

/// Sends one HTTP/1.0 `request` (so the reply is never chunked and ends
/// when the connection closes) to `127.0.0.1:port`; the status and body.
fn http(port: u16, request: &str) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let io = |e: std::io::Error| format!("127.0.0.1:{port}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(io)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(io)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut reply = String::new();
    stream.read_to_string(&mut reply).map_err(io)?;
    let (head, body) = reply
        .split_once("\r\n\r\n")
        .ok_or("reply without a header end")?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line: {head}"))?;
    Ok((status, body.to_string()))
}

/// A uint64 of the gateway's JSON (a decimal string), or a plain number.
fn json_u64(value: &serde_json::Value) -> Option<u64> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| value.as_u64())
}

/// `header.revision` of a gateway reply.
fn header_revision(reply: &serde_json::Value) -> i64 {
    let revision = json_u64(&reply["header"]["revision"]);
    revision.unwrap_or_else(|| panic!("no header.revision in {reply}")) as i64
}

/// Standard base64, for the gateway's `bytes` fields.
fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
