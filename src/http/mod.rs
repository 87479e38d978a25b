//! The HTTP listener (`[http] listen`, off by default): the forward-auth
//! endpoint `/v1/check` that nginx `auth_request`, Traefik `ForwardAuth`
//! and Caddy `forward_auth` call, GitHub's secret-scanning reports at
//! `/v1/leaks/github` (`leaks`, when `[leaks] github_public_keys` is set),
//! and `/healthz`. Built on axum, the HTTP
//! stack tonic already brings; every answer, errors included, is JSON.
//! Like the gRPC server, it stops taking connections when asked and lets
//! requests in flight finish.

mod check;
mod console;
pub mod leaks;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::serve::IncomingStream;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::GatewayConfig;
use crate::engine::Engine;

/// What the handlers share.
#[derive(Clone)]
struct State {
    engine: Arc<Engine>,
    config: Arc<GatewayConfig>,
    /// The leak-report endpoint's keys and settings; `None`: off (404).
    leaks: Option<Arc<leaks::GithubLeaks>>,
}

/// What the HTTP listener serves besides `/v1/check` and `/healthz`.
pub struct Extras {
    /// The leak-report endpoint's keys and settings; `None`: off (404).
    pub leaks: Option<Arc<leaks::GithubLeaks>>,
    /// `[console]`.
    pub console: crate::config::ConsoleConfig,
}

/// The peer address of a connection, plain or TLS (the console's sign-in
/// throttle reads it through `ConnectInfo<Peer>`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, tls::PlainListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tls::PlainListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, tls::TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tls::TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The running HTTP listener.
pub struct HttpServer {
    task: JoinHandle<std::io::Result<()>>,
    local: SocketAddr,
}

impl HttpServer {
    /// Serves `/v1/check`, `/healthz` and, as `extras` says,
    /// `/v1/leaks/github` and the console, on `listener`, over TLS with
    /// `tls`, until `stop` resolves.
    ///
    /// # Errors
    /// The listener's address cannot be read.
    pub fn start(
        engine: Arc<Engine>,
        config: Arc<GatewayConfig>,
        extras: Extras,
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        stop: tokio::sync::oneshot::Receiver<()>,
    ) -> std::io::Result<HttpServer> {
        let local = listener.local_addr()?;
        let console = console::router(engine.clone(), &extras.console, tls.is_some());
        let app = router(State {
            engine,
            config,
            leaks: extras.leaks,
        })
        .merge(console);
        let stop = async {
            let _ = stop.await;
        };
        let task = match tls {
            Some(tls) => {
                let listener = tls::TlsListener::new(listener, tls)?;
                tokio::spawn(async move {
                    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
                        .with_graceful_shutdown(stop)
                        .await
                })
            }
            None => {
                let listener = tls::PlainListener(listener);
                tokio::spawn(async move {
                    axum::serve(listener, app.into_make_service_with_connect_info::<Peer>())
                        .with_graceful_shutdown(stop)
                        .await
                })
            }
        };
        Ok(HttpServer { task, local })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits up to `grace` for requests in flight after a stop, then
    /// abandons them. Returns whether it stopped by itself, and how.
    pub async fn drain(mut self, grace: Duration) -> Option<Result<(), String>> {
        match tokio::time::timeout(grace, &mut self.task).await {
            Ok(Ok(result)) => Some(result.map_err(|e| e.to_string())),
            Ok(Err(e)) => Some(Err(e.to_string())),
            Err(_) => {
                self.task.abort();
                None
            }
        }
    }
}

fn router(state: State) -> Router {
    let mut router = Router::new()
        .route("/v1/check", any(check::check))
        .route("/healthz", get(healthz));
    if state.leaks.is_some() {
        router = router.route(leaks::PATH, any(leaks::github));
    }
    router.fallback(not_found).with_state(state)
}

/// The listener answers: the baseline the bench compares `/v1/check` with.
/// 200 `serving`; 503 `not_serving` while a cluster node's replica is past
/// its staleness fence (load balancers move on, as with gRPC health).
async fn healthz(axum::extract::State(state): axum::extract::State<State>) -> Response {
    match state.engine.store().check_fresh() {
        Ok(()) => json(StatusCode::OK, &serde_json::json!({ "status": "serving" })),
        Err(e) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({ "status": "not_serving", "message": e.to_string() }),
        ),
    }
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        &serde_json::json!({
            "code": "NOT_FOUND",
            "message": "no such endpoint; proxies call /v1/check",
        }),
    )
}

/// A JSON answer.
fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
