//! A raw HTTP/1.1 client for talking to a proxy: any header list (duplicate
//! names, 64 KiB values, non-UTF-8 bytes), one request per connection, and
//! the whole answer back (status, every header value, body).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

use super::headers::Headers;

/// How long one request may take, connection included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A request to send: method, path and headers exactly as given, in order.
#[derive(Clone, Debug)]
pub struct Request {
    method: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// What came back.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Every header in arrival order; a repeated name appears once per value.
    pub headers: Headers,
    /// The body, chunked encoding undone.
    pub body: Vec<u8>,
}

impl Request {
    /// A request with no headers; `Host` is added at send time unless set.
    pub fn new(method: &str, path: &str) -> Self {
        Request {
            method: method.to_string(),
            path: path.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `GET path`.
    pub fn get(path: &str) -> Self {
        Request::new("GET", path)
    }

    /// One more header; the same name again adds a second field. Any bytes
    /// but CR, LF, NUL and other controls (HTTP forbids them in a field).
    pub fn header(mut self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.headers
            .push((name.to_string(), value.as_ref().to_vec()));
        self
    }

    /// `Authorization: Bearer <key>`.
    pub fn bearer(self, key: &str) -> Self {
        self.header("authorization", format!("Bearer {key}"))
    }

    /// A request body (sent with its Content-Length).
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = body.as_ref().to_vec();
        self
    }

    /// Sends the request to `addr` on a new connection; panics on a
    /// connection error or after [`TIMEOUT`].
    pub async fn send(&self, addr: SocketAddr) -> Response {
        match tokio::time::timeout(TIMEOUT, self.exchange(addr)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => panic!("{} {} to {addr}: {e}", self.method, self.path),
            Err(_) => panic!(
                "{} {} to {addr}: no answer in {TIMEOUT:?}",
                self.method, self.path
            ),
        }
    }

    /// Like [`Request::send`], but a refused or reset connection is an `Err`.
    pub async fn try_send(&self, addr: SocketAddr) -> Result<Response, String> {
        match tokio::time::timeout(TIMEOUT, self.exchange(addr)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer in {TIMEOUT:?}")),
        }
    }

    /// Connect, send, read the whole answer.
    async fn exchange(&self, addr: SocketAddr) -> Result<Response, String> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let answer = sender
            .send_request(self.to_http(addr))
            .await
            .map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        let headers = answer.headers().iter().collect();
        let body = answer
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?;
        Ok(Response {
            status,
            headers,
            body: body.to_bytes().to_vec(),
        })
    }

    /// The `http` request, with `Host` added when the caller set none.
    fn to_http(&self, addr: SocketAddr) -> http::Request<Full<Bytes>> {
        let mut request = http::Request::builder()
            .method(self.method.as_str())
            .uri(self.path.as_str())
            .body(Full::new(Bytes::from(self.body.clone())))
            .expect("method and path");
        let headers = request.headers_mut();
        if !self
            .headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            headers.insert(
                http::header::HOST,
                HeaderValue::from_str(&addr.to_string()).expect("host"),
            );
        }
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("header name");
            let value = HeaderValue::from_bytes(value).expect("header value without control bytes");
            headers.append(name, value);
        }
        request
    }
}

impl Response {
    /// The first value of the header `name`, as text (lossy); all of them
    /// are in [`Response::headers`].
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name)
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body when it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {} body is not JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }
}
