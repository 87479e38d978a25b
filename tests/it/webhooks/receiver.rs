//! A webhook receiver for the tests: a real HTTP/1.1 server on an
//! ephemeral loopback port that records every request (when it arrived,
//! its headers and raw body, and what it answered) and answers from a
//! programmable script ("500 for the next 3", "410", "429 with
//! Retry-After: 2"), then with a default answer (200 unless changed). It
//! can be taken down (the port closed, nothing listening) and brought up
//! again on the same port. Like a real receiver it deduplicates by
//! `webhook-id`: [`Receiver::accepted`] counts the 2xx answers per id.
//! Signatures are checked with the `standardwebhooks` crate, an oracle
//! independent of credd's own signing code.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// One answer the receiver gives.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
    /// How long to wait before answering.
    pub delay: Duration,
}

impl Reply {
    /// A bare status.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            delay: Duration::ZERO,
        }
    }

    /// A status with one extra header.
    pub fn with_header(status: u16, name: &str, value: &str) -> Reply {
        Reply {
            headers: vec![(name.to_string(), value.to_string())],
            ..Reply::status(status)
        }
    }

    /// 200 after `delay`.
    pub fn slow(delay: Duration) -> Reply {
        Reply {
            delay,
            ..Reply::status(200)
        }
    }

    /// A status with `Retry-After: seconds`.
    pub fn retry_after(status: u16, seconds: u64) -> Reply {
        Reply::with_header(status, "retry-after", &seconds.to_string())
    }
}

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    /// When it arrived (test clock).
    pub at: Instant,
    /// Its headers.
    pub headers: http::HeaderMap,
    /// Its raw body.
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub answered: u16,
}

impl Received {
    /// A header as text ("" when absent).
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// `webhook-id`.
    pub fn id(&self) -> String {
        self.header("webhook-id")
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.text()))
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body's `type`.
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }

    /// The signatures of `webhook-signature` (space-separated `v1,...`).
    pub fn signatures(&self) -> Vec<String> {
        self.header("webhook-signature")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// Checks the request with the standardwebhooks oracle and `secret`.
    pub fn verify(&self, secret: &str) -> Result<(), String> {
        verify_with(secret, &self.body, &self.headers)
    }

    /// Checks the request as if `webhook-signature` held only `signature`.
    pub fn verify_one(&self, secret: &str, signature: &str) -> Result<(), String> {
        let mut headers = self.headers.clone();
        headers.insert(
            "webhook-signature",
            signature.parse().expect("signature header"),
        );
        verify_with(secret, &self.body, &headers)
    }
}

/// The standardwebhooks crate's verdict on `body` and `headers`.
pub fn verify_with(secret: &str, body: &[u8], headers: &http::HeaderMap) -> Result<(), String> {
    standardwebhooks::Webhook::new(secret)
        .map_err(|e| format!("secret refused by the oracle: {e}"))?
        .verify(body, headers)
        .map_err(|e| format!("{e}"))
}

#[derive(Default)]
struct State {
    seen: Vec<Received>,
    script: VecDeque<Reply>,
    default: Option<Reply>,
}

/// The running receiver.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    server: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Starts listening on `127.0.0.1:0` (needs a tokio runtime).
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let state = Arc::new(Mutex::new(State::default()));
        let server = Some(tokio::spawn(serve(listener, state.clone())));
        Receiver {
            addr,
            state,
            server,
        }
    }

    /// Starts on a reserved port without listening ("down" from the start).
    pub async fn start_down() -> Receiver {
        let mut receiver = Receiver::start().await;
        receiver.down();
        receiver
    }

    /// The endpoint URL (`http://127.0.0.1:PORT/hook`).
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops listening: connections are refused until [`Receiver::up`].
    pub fn down(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }

    /// Listens again on the same port.
    pub async fn up(&mut self) {
        if self.server.is_some() {
            return;
        }
        let started = Instant::now();
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if started.elapsed() < Duration::from_secs(10) => {
                    eprintln!("receiver: rebinding {}: {e}", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("receiver: cannot listen on {} again: {e}", self.addr),
            }
        };
        self.server = Some(tokio::spawn(serve(listener, self.state.clone())));
    }

    /// Answers `reply` to the next `n` requests (after what is queued).
    pub fn then(&self, n: usize, reply: Reply) {
        let mut state = self.state.lock().expect("receiver state");
        state.script.extend(std::iter::repeat_n(reply, n));
    }

    /// Answers `reply` once the script is spent (instead of 200).
    pub fn always(&self, reply: Reply) {
        self.state.lock().expect("receiver state").default = Some(reply);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().expect("receiver state").seen.clone()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.state.lock().expect("receiver state").seen.len()
    }

    /// How many 2xx answers each `webhook-id` got: a real receiver acts
    /// on the first and drops the rest as duplicates.
    pub fn accepted(&self) -> BTreeMap<String, usize> {
        let mut ids = BTreeMap::new();
        for r in self.requests() {
            if (200..300).contains(&r.answered) {
                *ids.entry(r.id()).or_insert(0) += 1;
            }
        }
        ids
    }

    /// Waits up to `limit` for a request that `pick` accepts; returns it.
    pub async fn wait_for(
        &self,
        limit: Duration,
        what: &str,
        pick: impl Fn(&Received) -> bool,
    ) -> Received {
        let started = Instant::now();
        loop {
            if let Some(r) = self.requests().into_iter().find(|r| pick(r)) {
                return r;
            }
            assert!(
                started.elapsed() < limit,
                "{what}: no such request within {limit:?}; received: {:#?}",
                self.summary()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to `limit` until `done` holds for the requests so far.
    pub async fn wait_until(
        &self,
        limit: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let seen = self.requests();
            if done(&seen) {
                return seen;
            }
            assert!(
                started.elapsed() < limit,
                "{what}: not within {limit:?}; received: {:#?}",
                self.summary()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// (type, webhook-id, answer) of each request, for failure messages.
    pub fn summary(&self) -> Vec<(String, String, u16)> {
        self.requests()
            .iter()
            .map(|r| (r.event_type(), r.id(), r.answered))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.down();
    }
}

/// Accepts connections until aborted; aborting drops the JoinSet, which
/// ends every open connection too.
async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        let service = service_fn(move |request| answer(request, state.clone()));
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer(
    request: hyper::Request<Incoming>,
    state: Arc<Mutex<State>>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let reply = {
        let mut state = state.lock().expect("receiver state");
        let reply = state
            .script
            .pop_front()
            .or_else(|| state.default.clone())
            .unwrap_or_else(|| Reply::status(200));
        state.seen.push(Received {
            at,
            headers: parts.headers,
            body,
            answered: reply.status,
        });
        reply
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = hyper::Response::builder().status(reply.status);
    for (name, value) in &reply.headers {
        response = response.header(name, value);
    }
    Ok(response.body(Full::new(Bytes::new())).expect("response"))
}
