//! 6b: `/v1/check` against `/healthz` on the daemon's HTTP listener, each
//! caller on its own HTTP/1.1 keep-alive connection (hyper's client).

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;

use super::CONCURRENCY;
use crate::harness::load::{Op, alternate_probed, other_process_cpu_secs};
use crate::harness::settings::Settings;
use crate::harness::stats::Stats;

pub(super) type Conn = Arc<Mutex<SendRequest<Empty<Bytes>>>>;

/// One keep-alive connection per caller.
pub(super) async fn connections(addr: SocketAddr) -> Vec<Conn> {
    let mut conns = Vec::with_capacity(CONCURRENCY);
    for _ in 0..CONCURRENCY {
        conns.push(open(addr).await);
    }
    conns
}

/// One keep-alive connection to `addr`.
pub(super) async fn open(addr: SocketAddr) -> Conn {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("http handshake");
    tokio::spawn(conn);
    Arc::new(Mutex::new(send))
}

/// GET `path` on caller `w`'s connection, with `x-api-key` from `key`.
pub(super) fn op(conns: Vec<Conn>, path: &'static str, keys: Option<Arc<Vec<String>>>) -> Op {
    Arc::new(move |w, n| {
        let conn = conns[w % conns.len()].clone();
        let mut request = hyper::Request::get(path).header("host", "credd");
        if let Some(keys) = &keys {
            let key = &keys[(w * 7919 + n as usize) % keys.len()];
            request = request.header("x-api-key", key.as_str());
        }
        let request = request.body(Empty::new()).expect("request");
        Box::pin(async move {
            let mut send = conn.lock().await;
            let Ok(response) = send.send_request(request).await else {
                return false;
            };
            let ok = response.status() == 200;
            ok && response.into_body().collect().await.is_ok()
        })
    })
}

/// `/healthz` and `/v1/check` in alternating segments; each with credd's
/// CPU microseconds per call.
pub(super) async fn measure(
    s: &Settings,
    addr: SocketAddr,
    keys: Arc<Vec<String>>,
    pid: u32,
) -> ((Stats, f64), (Stats, f64)) {
    let conns = connections(addr).await;
    let health = op(conns.clone(), "/healthz", None);
    let check = op(conns, "/v1/check", Some(keys));
    alternate_probed(s, CONCURRENCY, health, check, &|| {
        other_process_cpu_secs(pid)
    })
    .await
}
