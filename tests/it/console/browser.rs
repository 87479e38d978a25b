//! Headless Chromium driven over WebDriver: where chromedriver and Chromium
//! are ([`tools`]), a chromedriver of the test's own on an ephemeral loopback
//! port ([`Chromedriver`]), and a [`Browser`] session on it that records every
//! page it shows (URL, source, cookies) so a test can check afterwards what a
//! person could have seen. Every wait is bounded; the driver and the browser
//! it started are killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::gateway::harness::client::Request;
use crate::gateway::harness::free_port;

/// How long any one wait may take: a page to load, an element to appear.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long chromedriver may take to answer `/status`, and a new session
/// (Chromium's start) to be made.
const START: Duration = Duration::from_secs(30);
/// The window (and so every screenshot).
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// Finding chromedriver and Chromium, as the gateway tests find Envoy:
/// `$CREDD_TEST_CHROMEDRIVER` / `$CREDD_TEST_CHROMIUM`, then where Debian's
/// packages put them (what `bash .ci/test` installs), then `PATH`. A missing
/// one fails the test under `CI=true`; otherwise the test is skipped.
pub mod tools {
    use std::path::PathBuf;

    use crate::gateway::harness::tools::{executable, from_env, missing, on_path};

    /// chromedriver and Chromium, or `None` (skip) when either is missing.
    pub fn browser() -> Option<(PathBuf, PathBuf)> {
        let driver = find(
            "CREDD_TEST_CHROMEDRIVER",
            "/usr/bin/chromedriver",
            "chromedriver",
            "chromedriver (Debian: apt-get install chromium-driver)",
        )?;
        let chromium = find(
            "CREDD_TEST_CHROMIUM",
            "/usr/bin/chromium",
            "chromium",
            "Chromium (Debian: apt-get install chromium)",
        )?;
        Some((driver, chromium))
    }

    fn find(var: &str, debian: &str, name: &str, what: &str) -> Option<PathBuf> {
        let found = from_env(var)
            .or_else(|| executable(PathBuf::from(debian)))
            .or_else(|| on_path(name));
        found.or_else(|| missing(what, var))
    }
}

/// A chromedriver process on `127.0.0.1:port`, killed on drop together with
/// every process still running on the browser profile it was given.
pub struct Chromedriver {
    child: Option<Child>,
    /// Where it listens.
    pub port: u16,
    /// Its log (`--log-path`).
    pub log: PathBuf,
    /// The Chromium profile directory of its session (see [`Drop`]).
    profile: PathBuf,
}

impl Chromedriver {
    /// Starts `binary` on a free loopback port, logging into `dir`, and
    /// waits (bounded) until its `/status` says it is ready.
    pub async fn start(binary: &Path, dir: &Path, profile: &Path) -> Chromedriver {
        let log = dir.join("chromedriver.log");
        let mut last = String::new();
        // A port picked by binding and releasing can be taken by another
        // test before chromedriver binds it: a few tries.
        for _ in 0..3 {
            let port = free_port();
            let child = Command::new(binary)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .arg("--allowed-ips=127.0.0.1")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", binary.display()));
            let mut driver = Chromedriver {
                child: Some(child),
                port,
                log: log.clone(),
                profile: profile.to_path_buf(),
            };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(e) => last = e,
            }
        }
        panic!(
            "chromedriver did not become ready: {last}; log:\n{}",
            tail(&log, 30)
        );
    }

    /// Polls `/status` until `"ready": true`, for at most [`START`].
    async fn wait_ready(&mut self) -> Result<(), String> {
        let addr = format!("127.0.0.1:{}", self.port).parse().expect("addr");
        let deadline = Instant::now() + START;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(format!("chromedriver exited: {status}"));
            }
            if let Ok(answer) = Request::get("/status").try_send(addr).await
                && answer.status == 200
                && answer.json()["value"]["ready"] == serde_json::Value::Bool(true)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("no ready /status in {START:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // Chromium outlives a killed chromedriver: end, by pid, every
        // process whose command line names this session's own profile.
        kill_profile_processes(&self.profile);
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// SIGKILL to each process whose command line contains `--user-data-dir=`
/// `profile` (a fresh temporary directory: only this test's browser).
fn kill_profile_processes(profile: &Path) {
    let needle = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let matches = cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == needle.as_bytes());
        if matches {
            // SAFETY: kill(2) on a pid read from /proc; no memory is touched.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
}

/// The last `lines` lines of a file (for a failure message).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One page the browser showed.
#[derive(Clone, Debug)]
pub struct Visit {
    /// `current_url` once it had loaded.
    pub url: String,
    /// Its `data-page` (empty when the document has no `main#page`).
    pub page: String,
    /// The page source.
    pub source: String,
    /// Every cookie of the browser then, as `name=value`.
    pub cookies: Vec<String>,
}

/// A headless Chromium session against one daemon's HTTP listener.
pub struct Browser {
    client: Client,
    base: String,
    test: String,
    visits: Mutex<Vec<Visit>>,
    // Dropped after the client: the driver kills what is left, then the
    // profile directory goes.
    _driver: Chromedriver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A browser on `http://{addr}`, for the test `test` (names its
    /// screenshots); `None` when chromedriver or Chromium is missing and
    /// the test is to be skipped (outside CI).
    pub async fn open(addr: std::net::SocketAddr, test: &str) -> Option<Browser> {
        let (driver_bin, chromium) = tools::browser()?;
        let profile = tempfile::Builder::new()
            .prefix("credd-chromium-")
            .tempdir()
            .expect("profile dir");
        let logs = profile.path().join("logs");
        std::fs::create_dir_all(&logs).expect("logs dir");
        let user_data = profile.path().join("user-data");
        std::fs::create_dir_all(&user_data).expect("user data dir");
        let driver = Chromedriver::start(&driver_bin, &logs, &user_data).await;
        let capabilities = capabilities(&chromium, &user_data);
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities);
        let client = match tokio::time::timeout(START, builder.connect(&driver.url())).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "new WebDriver session: {e}; chromedriver log:\n{}",
                tail(&driver.log, 40)
            ),
            Err(_) => panic!(
                "new WebDriver session: no answer in {START:?}; chromedriver log:\n{}",
                tail(&driver.log, 40)
            ),
        };
        let browser = Browser {
            client,
            base: format!("http://{addr}"),
            test: test.to_string(),
            visits: Mutex::new(Vec::new()),
            _driver: driver,
            _profile: profile,
        };
        browser
            .bounded(
                "set timeouts",
                browser.client.update_timeouts(TimeoutConfiguration::new(
                    Some(WAIT),
                    Some(WAIT),
                    Some(Duration::ZERO),
                )),
            )
            .await;
        browser
            .bounded(
                "set the window size",
                browser.client.set_window_size(WIDTH, HEIGHT),
            )
            .await;
        Some(browser)
    }

    /// `http://{addr}`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Runs one WebDriver command with a bound of [`WAIT`] (plus a margin
    /// for the driver's own page-load timeout); panics on an error.
    async fn bounded<T, E: std::fmt::Display>(
        &self,
        what: &str,
        command: impl std::future::Future<Output = Result<T, E>>,
    ) -> T {
        match tokio::time::timeout(WAIT + Duration::from_secs(5), command).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("{}: {what}: {e}", self.test),
            Err(_) => panic!("{}: {what}: no answer in {WAIT:?}", self.test),
        }
    }

    /// Opens `path` (starting with `/`) and records the page; returns its
    /// `data-page`.
    pub async fn goto(&self, path: &str) -> String {
        let url = format!("{}{path}", self.base);
        self.bounded(&format!("goto {path}"), self.client.goto(&url))
            .await;
        self.loaded().await
    }

    /// Reloads the current page and records it; returns its `data-page`.
    pub async fn reload(&self) -> String {
        let old = self.document().await;
        self.bounded("reload", self.client.refresh()).await;
        self.wait_stale(old, "reload").await;
        self.loaded().await
    }

    /// Clicks the element `css` (a submit button or a link) and waits for
    /// the next document; records it and returns its `data-page`.
    pub async fn click(&self, css: &str) -> String {
        let old = self.document().await;
        let element = self.find(css).await;
        self.bounded(&format!("click {css}"), element.click()).await;
        self.wait_stale(old, css).await;
        self.loaded().await
    }

    /// Types `value` into the field `css` (cleared first).
    pub async fn fill(&self, css: &str, value: &str) {
        let element = self.find(css).await;
        self.bounded(&format!("clear {css}"), element.clear()).await;
        self.bounded(&format!("type into {css}"), element.send_keys(value))
            .await;
    }

    /// The element `css` of the current page, waited for up to [`WAIT`].
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let url = self.url().await;
                let source = self.client.source().await.unwrap_or_default();
                panic!(
                    "{}: no `{css}` on {url} within {WAIT:?} ({e}); page:\n{}",
                    self.test,
                    excerpt(&source)
                )
            }
        }
    }

    /// Every element `css` of the current page, now (no wait).
    pub async fn find_all(&self, css: &str) -> Vec<fantoccini::elements::Element> {
        self.bounded(
            &format!("find all {css}"),
            self.client.find_all(Locator::Css(css)),
        )
        .await
    }

    /// Whether the current page has an element `css`, now (no wait).
    pub async fn exists(&self, css: &str) -> bool {
        !self.find_all(css).await.is_empty()
    }

    /// The text of the element `css` (waited for), trimmed.
    pub async fn text(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.bounded(&format!("text of {css}"), element.text())
            .await
            .trim()
            .to_string()
    }

    /// The attribute `name` of the element `css` (waited for).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        self.bounded(&format!("{name} of {css}"), element.attr(name))
            .await
    }

    /// The `data-page` of the current document (empty when it has none).
    pub async fn page(&self) -> String {
        match self.find_all("main#page").await.first() {
            Some(main) => self
                .bounded("data-page", main.attr("data-page"))
                .await
                .unwrap_or_default(),
            None => String::new(),
        }
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.bounded("current url", self.client.current_url())
            .await
            .to_string()
    }

    /// The path (and query) of the current URL.
    pub async fn path(&self) -> String {
        let url = self.bounded("current url", self.client.current_url()).await;
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The current page source.
    pub async fn source(&self) -> String {
        self.bounded("page source", self.client.source()).await
    }

    /// The value of the browser's cookie `name`, if it has one.
    pub async fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .await
            .into_iter()
            .find_map(|c| c.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    /// Every cookie of the browser, as `name=value`.
    pub async fn cookies(&self) -> Vec<String> {
        let cookies = self.bounded("cookies", self.client.get_all_cookies()).await;
        cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect()
    }

    /// The window's outer size (the page's viewport is smaller by the
    /// browser's own frame).
    pub async fn window_size(&self) -> (u64, u64) {
        self.bounded("window size", self.client.get_window_size())
            .await
    }

    /// Every page shown so far, in order.
    pub fn visits(&self) -> Vec<Visit> {
        self.visits.lock().expect("visits").clone()
    }

    /// Saves a PNG of the window as
    /// `target/console-screenshots/{test}-{name}.png`; returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.bounded("screenshot", self.client.screenshot()).await;
        assert!(
            png.starts_with(b"\x89PNG"),
            "{}: the screenshot {name} is not a PNG",
            self.test
        );
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("create the screenshot dir");
        let path = dir.join(format!("{}-{name}.png", self.test));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    /// Ends the WebDriver session (Chromium quits); the driver is stopped
    /// when the browser drops.
    pub async fn close(self) {
        let _ = tokio::time::timeout(WAIT, self.client.clone().close()).await;
    }

    /// The root element of the current document, to tell when it is gone.
    async fn document(&self) -> fantoccini::elements::Element {
        self.bounded("find html", self.client.find(Locator::Css("html")))
            .await
    }

    /// Waits until `old` (a previous document's root) is stale: the click
    /// or reload has replaced the document.
    async fn wait_stale(&self, old: fantoccini::elements::Element, what: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            match tokio::time::timeout(WAIT, old.tag_name()).await {
                Ok(Err(_)) => return,
                Ok(Ok(_)) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => panic!(
                    "{}: {what}: the page did not change within {WAIT:?} (still {})",
                    self.test,
                    self.url().await
                ),
            }
        }
    }

    /// Waits for the current document to have loaded, records it and
    /// returns its `data-page`.
    async fn loaded(&self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let state = self
                .bounded(
                    "document.readyState",
                    self.client.execute("return document.readyState", vec![]),
                )
                .await;
            if state == serde_json::Value::String("complete".to_string()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {} did not finish loading within {WAIT:?}",
                self.test,
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let visit = Visit {
            url: self.url().await,
            page: self.page().await,
            source: self.source().await,
            cookies: self.cookies().await,
        };
        let page = visit.page.clone();
        self.visits.lock().expect("visits").push(visit);
        page
    }
}

/// Chrome's options: the binary, headless, quiet on a closed network, a
/// fresh profile, the window size.
fn capabilities(chromium: &Path, user_data: &Path) -> Capabilities {
    let args = [
        "--headless=new".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--disable-dev-shm-usage".to_string(),
        format!("--user-data-dir={}", user_data.display()),
        format!("--window-size={WIDTH},{HEIGHT}"),
    ];
    let options = serde_json::json!({
        "binary": chromium.display().to_string(),
        "args": args,
    });
    let mut capabilities = Capabilities::new();
    capabilities.insert("browserName".to_string(), "chrome".into());
    capabilities.insert("goog:chromeOptions".to_string(), options);
    capabilities
}

/// `target/console-screenshots` (of `CARGO_TARGET_DIR` when set).
pub fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("console-screenshots")
}

/// The start of a page source, for a failure message.
fn excerpt(source: &str) -> String {
    let end = source
        .char_indices()
        .nth(3000)
        .map_or(source.len(), |(i, _)| i);
    source[..end].to_string()
}
