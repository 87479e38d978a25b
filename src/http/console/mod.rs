//! The admin console (`[console] enabled`): server-rendered pages at
//! `/console/` on the HTTP listener, for administrators signed in with an
//! admin key or as an account user with the `ADMIN` role. Every page reads
//! and acts through the engine's use cases with the signed-in [`Actor`], so
//! the console can do exactly what that key or user may do over gRPC, and
//! the audit log records who did it. Reading works without JavaScript; the
//! one script copies the revealed secret. See `session` for the cookies and
//! CSRF tokens, `page` for the headers every answer carries.

mod accounts;
mod actions;
mod assets;
mod audit;
mod chart;
mod credential;
mod credentials;
mod form;
mod notices;
mod overview;
mod page;
mod partners;
mod session;
mod signin;
mod webhooks;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{get, post};

use crate::config::ConsoleConfig;
use crate::engine::{Actor, Engine};
use page::Chrome;
use session::{ConsoleSession, Sessions};

/// Longest query string a console page reads; longer answers 414.
const MAX_QUERY_BYTES: usize = 2048;
/// Rows a read-only page (notices, webhooks, deliveries, partners) shows.
const ROWS: usize = 200;

/// What the console's handlers share.
#[derive(Clone)]
pub(super) struct Console {
    engine: Arc<Engine>,
    sessions: Arc<Sessions>,
}

/// The signed-in caller of one request.
pub(super) struct Signed {
    actor: Actor,
    session: Arc<Mutex<ConsoleSession>>,
    who: String,
    csrf: String,
}

impl Signed {
    fn chrome(&self) -> Chrome<'_> {
        Chrome {
            who: &self.who,
            csrf: &self.csrf,
        }
    }

    /// A page (200) for this caller, in the shell with its navigation.
    fn page(&self, name: &str, title: &str, body: maud::Markup) -> Response {
        page::document(StatusCode::OK, name, title, Some(&self.chrome()), body)
    }

    /// The flash message left by the last action, taken.
    fn take_flash(&self) -> Option<String> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flash
            .take()
    }

    fn set_flash(&self, message: String) {
        self.session.lock().unwrap_or_else(|e| e.into_inner()).flash = Some(message);
    }
}

/// A handler that takes a [`Signed`] runs only for a signed-in caller; any
/// other request gets the 303 to the sign-in page.
impl axum::extract::FromRequestParts<Console> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        console: &Console,
    ) -> Result<Self, Response> {
        console.signed(&parts.headers).map_err(|answer| *answer)
    }
}

impl Console {
    /// The signed-in caller, or the answer for one who is not: a 303 to the
    /// sign-in page (also when the key or user behind the session may no
    /// longer act, which ends the session).
    fn signed(&self, headers: &HeaderMap) -> Result<Signed, Box<Response>> {
        let session = self
            .sessions
            .find(headers)
            .ok_or_else(|| Box::new(page::see_other("/console/signin")))?;
        let request_id = ulid::Ulid::new().to_string();
        let (principal, csrf) = {
            let guard = session.lock().unwrap_or_else(|e| e.into_inner());
            (guard.principal.clone(), guard.csrf.clone())
        };
        // The session is not held while the engine reads the store.
        let actor = self
            .engine
            .console_actor(&principal, request_id)
            .map_err(|e| Box::new(page::engine_error(&e, None)))?;
        let who = principal.label();
        let Some(actor) = actor else {
            self.sessions.end(headers);
            return Err(Box::new(page::see_other("/console/signin")));
        };
        Ok(Signed {
            actor,
            session,
            who,
            csrf,
        })
    }
}

/// The console's routes, or none when it is off.
pub(super) fn router(engine: Arc<Engine>, config: &ConsoleConfig, tls: bool) -> Router {
    if !config.enabled {
        return Router::new();
    }
    let state = Console {
        engine,
        sessions: Arc::new(Sessions::new(
            config.idle_timeout,
            config.max_lifetime,
            tls || config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
        )),
    };
    Router::new()
        .route("/console", get(|| async { page::see_other("/console/") }))
        .route("/console/", get(overview::page))
        .route("/console/signin", get(signin::form))
        .route("/console/signin/key", post(signin::with_key))
        .route("/console/signin/user", post(signin::with_password))
        .route("/console/signout", post(signin::sign_out))
        .route("/console/accounts", get(accounts::page))
        .route("/console/credentials", get(credentials::page))
        .route("/console/credentials/{id}", get(credential::page))
        .route(
            "/console/credentials/{id}/confirm/{action}",
            get(actions::confirm),
        )
        .route("/console/credentials/{id}/revealed", get(actions::revealed))
        .route("/console/credentials/{id}/{action}", post(actions::act))
        .route("/console/audit", get(audit::page))
        .route("/console/notices", get(notices::page))
        .route("/console/webhooks", get(webhooks::page))
        .route("/console/webhooks/{id}", get(webhooks::deliveries))
        .route("/console/partners", get(partners::page))
        .route("/console/assets/{file}", get(assets::serve))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(axum::middleware::from_fn(guard))
        .with_state(state)
}

/// Refuses what no console page reads: query strings over
/// [`MAX_QUERY_BYTES`] (414). Turns the refusals axum answers by itself
/// (a path segment that is not UTF-8, a method a route does not take, a
/// body over the limit) into the console's error page with its headers.
async fn guard(request: Request, next: Next) -> Response {
    let query = request.uri().query().map_or(0, str::len);
    if query > MAX_QUERY_BYTES {
        return page::error(
            StatusCode::URI_TOO_LONG,
            &format!("the query string is {query} bytes long; at most {MAX_QUERY_BYTES} are read"),
            None,
        );
    }
    let response = next.run(request).await;
    let status = response.status();
    let allow = response.headers().get(axum::http::header::ALLOW).cloned();
    let html = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if html || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body);
    let message = match text.trim() {
        "" => status
            .canonical_reason()
            .unwrap_or("refused")
            .to_lowercase(),
        said => said.to_string(),
    };
    let mut answer = page::error(status, &message, None);
    if let Some(allow) = allow {
        answer
            .headers_mut()
            .insert(axum::http::header::ALLOW, allow);
    }
    answer
}

async fn not_found() -> Response {
    page::error(StatusCode::NOT_FOUND, "no such console page", None)
}
