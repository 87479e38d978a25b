//! 13's browser: one keep-alive HTTP/1.1 connection to the console, the
//! sign-in through the form, timed GETs with the session cookie, and the
//! refresh loop (the overview, its stylesheet and script, once a second).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// `OVERVIEW_TTL` of `src/engine/overview.rs` (not exported).
pub(super) const OVERVIEW_TTL: Duration = Duration::from_secs(10);
/// A request not answered by then counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The browser's refresh interval.
pub(super) const TICK: Duration = Duration::from_secs(1);
const ASSETS: [&str; 2] = ["/console/assets/console.css", "/console/assets/console.js"];

/// What came back.
struct Answer {
    status: u16,
    cookies: Vec<String>,
    body: Bytes,
}

/// One keep-alive HTTP/1.1 connection, opened again after an error.
struct Client {
    addr: SocketAddr,
    send: Option<SendRequest<Full<Bytes>>>,
}

impl Client {
    async fn exchange(&mut self, request: hyper::Request<Full<Bytes>>) -> Result<Answer, String> {
        if self.send.is_none() {
            let tcp = tokio::net::TcpStream::connect(self.addr)
                .await
                .map_err(|e| e.to_string())?;
            tcp.set_nodelay(true).map_err(|e| e.to_string())?;
            let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            self.send = Some(send);
        }
        let send = self.send.as_mut().expect("connected");
        send.ready().await.map_err(|e| e.to_string())?;
        let response = send
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let cookies = response
            .headers()
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(Answer {
            status,
            cookies,
            body,
        })
    }

    /// `method path` with `cookie` (a `name=value` pair) and a form body.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        form: Option<String>,
    ) -> Result<Answer, String> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "credd");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if form.is_some() {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| e.to_string())?;
        let answer = match tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer to {path} within {REQUEST_TIMEOUT:?}")),
        };
        if answer.is_err() {
            self.send = None;
        }
        answer
    }
}

/// The `name=value` pair of cookie `name` among `Set-Cookie` values.
fn cookie_pair(set_cookies: &[String], name: &str) -> Option<String> {
    let prefix = format!("{name}=");
    set_cookies
        .iter()
        .find(|c| c.starts_with(&prefix))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// A signed-in browser: its connection, its session cookie, and when the
/// engine last computed the overview (as this browser saw it answered).
pub(super) struct Browser {
    client: Client,
    cookie: String,
    pub(super) computed: Option<Instant>,
}

/// One GET, timed.
pub(super) struct Fetch {
    pub(super) ns: u64,
    pub(super) ok: bool,
    pub(super) uncached: bool,
    pub(super) body: Bytes,
}

impl Browser {
    /// Signs in with `admin_key` through the form, as a browser does.
    pub(super) async fn sign_in(addr: SocketAddr, admin_key: &str) -> Browser {
        let mut client = Client { addr, send: None };
        let form = client
            .call(Method::GET, "/console/signin", None, None)
            .await
            .expect("sign-in form");
        assert_eq!(form.status, 200, "GET /console/signin");
        let pre = cookie_pair(&form.cookies, "credd_console_pre").expect("pre-session cookie");
        let token = pre.split_once('=').map_or("", |(_, v)| v).to_string();
        let page = String::from_utf8_lossy(&form.body);
        assert!(
            page.contains(&format!("name=\"csrf\" value=\"{token}\"")),
            "the form's hidden csrf field is the cookie's value"
        );
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", &token)
            .append_pair("admin_key", admin_key)
            .finish();
        let answer = client
            .call(Method::POST, "/console/signin/key", Some(&pre), Some(body))
            .await
            .expect("sign-in");
        assert_eq!(
            answer.status,
            303,
            "POST /console/signin/key: {}",
            String::from_utf8_lossy(&answer.body)
        );
        let cookie = cookie_pair(&answer.cookies, "credd_console").expect("session cookie");
        Browser {
            client,
            cookie,
            computed: None,
        }
    }

    /// GET `path` with the session cookie; 200 is ok.
    pub(super) async fn get(&mut self, path: &str) -> Fetch {
        let t0 = Instant::now();
        let answer = self
            .client
            .call(Method::GET, path, Some(&self.cookie), None)
            .await;
        let ns = t0.elapsed().as_nanos() as u64;
        match answer {
            Ok(a) => Fetch {
                ns,
                ok: a.status == 200,
                uncached: false,
                body: a.body,
            },
            Err(e) => {
                eprintln!("[bench]   GET {path}: {e}");
                Fetch {
                    ns,
                    ok: false,
                    uncached: false,
                    body: Bytes::new(),
                }
            }
        }
    }

    /// Whether the engine's overview has expired by now.
    fn expired(&self) -> bool {
        self.computed.is_none_or(|at| at.elapsed() >= OVERVIEW_TTL)
    }

    /// `GET /console/`; `uncached` when the engine computed it for this
    /// request (its cached one had expired).
    pub(super) async fn overview(&mut self) -> Fetch {
        let uncached = self.expired();
        let mut fetch = self.get("/console/").await;
        if uncached && fetch.ok {
            self.computed = Some(Instant::now());
        }
        fetch.uncached = uncached;
        fetch
    }
}

/// The browser's refreshes from `start` until `end` (at most `max`), one
/// every [`TICK`]: the overview, then its stylesheet and script.
pub(super) async fn browse(
    mut browser: Browser,
    start: Instant,
    end: Instant,
    max: usize,
) -> (Browser, Vec<(Fetch, Vec<Fetch>)>) {
    tokio::time::sleep_until(start.into()).await;
    let mut refreshes = Vec::new();
    let mut next = start;
    for _ in 0..max {
        if Instant::now() >= end {
            break;
        }
        let page = browser.overview().await;
        let mut assets = Vec::new();
        for path in ASSETS {
            assets.push(browser.get(path).await);
        }
        refreshes.push((page, assets));
        next += TICK;
        if next >= end {
            break;
        }
        tokio::time::sleep_until(next.into()).await;
    }
    (browser, refreshes)
}
