//! The echo upstream behind the proxies: an HTTP/1.1 server in the test
//! process on an ephemeral loopback port that records every request it is
//! sent (method, path, headers as raw bytes, body) and answers 200 with a
//! small JSON body. Stopped on drop.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::headers::Headers;

/// One request the upstream received.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Path and query, as received.
    pub path: String,
    /// Every header in arrival order (names lower case), values as bytes.
    pub headers: Headers,
    /// The request body.
    pub body: Vec<u8>,
}

impl Seen {
    /// The first value of the header `name`, as text (lossy); all of them
    /// are in [`Seen::headers`].
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name)
    }
}

/// The running echo server.
pub struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    server: JoinHandle<()>,
}

impl Upstream {
    /// Starts the server on `127.0.0.1:0` (needs a tokio runtime).
    pub async fn start() -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind upstream");
        let addr = listener.local_addr().expect("upstream address");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let server = tokio::spawn(serve(listener, seen.clone()));
        Upstream { addr, seen, server }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its port (what the proxy configs point at).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().expect("upstream log").clone()
    }

    /// The most recent request, if any.
    pub fn last(&self) -> Option<Seen> {
        self.seen.lock().expect("upstream log").last().cloned()
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.seen.lock().expect("upstream log").len()
    }

    /// Forgets what was received so far.
    pub fn clear(&self) {
        self.seen.lock().expect("upstream log").clear();
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        // Dropping the accept loop drops its JoinSet, which ends every
        // connection still open (proxies keep them alive).
        self.server.abort();
    }
}

/// Accepts connections until aborted; each is served on its own task.
async fn serve(listener: TcpListener, seen: Arc<Mutex<Vec<Seen>>>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let seen = seen.clone();
        let service = service_fn(move |request| answer(request, seen.clone()));
        connections.spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Records the request and answers `{"upstream":"echo","path":...}`.
async fn answer(
    request: hyper::Request<Incoming>,
    seen: Arc<Mutex<Vec<Seen>>>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let headers = parts.headers.iter().collect();
    let reply = serde_json::json!({"upstream": "echo", "path": path}).to_string();
    seen.lock().expect("upstream log").push(Seen {
        method: parts.method.to_string(),
        path,
        headers,
        body,
    });
    let response = hyper::Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(reply)))
        .expect("response");
    Ok(response)
}
