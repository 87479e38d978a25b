//! Servers and connections: a tonic router served on 127.0.0.1 the way the
//! daemon serves it, and the HTTP/2 channels the load uses.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use credd::api::VerifierService;
use credd::engine::Engine;
use tokio::runtime::Runtime;
use tonic::transport::server::Router;
use tonic::transport::{Channel, Endpoint};

/// A router served on 127.0.0.1:0 the way the daemon serves it
/// (`serve_with_incoming_shutdown` over a bound `TcpListener`).
pub(crate) struct Served {
    pub(crate) addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), tonic::transport::Error>>>,
}

/// Serves `router` as the daemon does: TCP_NODELAY on every accepted socket.
pub(crate) fn serve(rt: &Runtime, router: Router) -> Served {
    serve_with(rt, router, true)
}

/// [`serve`]; without `nodelay`, accepted sockets keep Nagle's algorithm on
/// (a diagnostic variant: the daemon sets TCP_NODELAY).
pub(crate) fn serve_with(rt: &Runtime, router: Router, nodelay: bool) -> Served {
    use tokio_stream::StreamExt;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(move |stream| {
        if nodelay && let Ok(stream) = &stream {
            let _ = stream.set_nodelay(true);
        }
        stream
    });
    let task = rt.spawn(router.serve_with_incoming_shutdown(incoming, async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

impl Served {
    pub(crate) fn shutdown(mut self, rt: &Runtime) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ =
                rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), task).await });
        }
    }
}

pub(crate) async fn connect(addr: SocketAddr, n: usize) -> Vec<Channel> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect");
        channels.push(channel);
    }
    channels
}

/// Separate HTTP/2 connections for a concurrency level.
pub(crate) fn channels_for(concurrency: usize) -> usize {
    concurrency.clamp(1, 4)
}

/// The real `VerifierService` over `engine`, as a router to serve.
pub(crate) fn verifier_router(engine: &Arc<Engine>) -> Router {
    tonic::transport::Server::builder()
        .add_service(VerifierService::new(engine.clone(), false).into_server())
}
