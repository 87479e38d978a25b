//! Signing in (an admin key, or an account user's password with the
//! `ADMIN` role) and out. The sign-in forms carry a double-submit token
//! (cookie `credd_console_pre` and a hidden field) so another site cannot
//! sign a browser in to a session of its choosing.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::{Markup, html};
use tracing::info;
use zeroize::Zeroizing;

use super::form::Fields;
use super::session::{PRE_COOKIE, cookie_value, random_token, token_matches};
use super::{Console, page};
use crate::engine::{ConsolePrincipal, Error};
use crate::http::Peer;

/// `GET /console/signin`: the two forms (or the overview when signed in).
pub(super) async fn form(State(console): State<Console>, headers: HeaderMap) -> Response {
    if console.signed(&headers).is_ok() {
        return page::see_other("/console/");
    }
    render(&console, StatusCode::OK, None)
}

/// `POST /console/signin/key`.
pub(super) async fn with_key(
    State(console): State<Console>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::body(&body);
    if let Err(refused) = check_pre(&console, &headers, &fields) {
        return *refused;
    }
    let Some(key) = fields
        .get("admin_key")
        .map(|k| Zeroizing::new(k.to_string()))
    else {
        return render(
            &console,
            StatusCode::BAD_REQUEST,
            Some("enter an admin key"),
        );
    };
    let request_id = ulid::Ulid::new().to_string();
    match console
        .engine
        .console_key_sign_in(&key, Some(peer.ip()), request_id)
    {
        Ok((_, principal)) => start(&console, &headers, principal).await,
        Err(e) => refused(&console, &e),
    }
}

/// `POST /console/signin/user`.
pub(super) async fn with_password(
    State(console): State<Console>,
    ConnectInfo(Peer(peer)): ConnectInfo<Peer>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::body(&body);
    if let Err(refused) = check_pre(&console, &headers, &fields) {
        return *refused;
    }
    let (Some(account), Some(username), Some(password)) = (
        fields.get("account_id"),
        fields.get("username"),
        fields.get_exact("password"),
    ) else {
        return render(
            &console,
            StatusCode::BAD_REQUEST,
            Some("enter the account, the username and the password"),
        );
    };
    let password = Zeroizing::new(password.to_string());
    match console
        .engine
        .console_user_sign_in(account, username, password, Some(peer.ip()))
        .await
    {
        Ok((_, principal)) => start(&console, &headers, principal).await,
        Err(e) => refused(&console, &e),
    }
}

/// `POST /console/signout`: ends the console session (and a user's login
/// session), whatever state it is in; a signed-in caller must send the
/// form's CSRF token.
pub(super) async fn sign_out(
    State(console): State<Console>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = Fields::body(&body);
    if let Ok(signed) = console.signed(&headers) {
        if let Err(refused) = super::form::check_csrf(&signed, &fields) {
            return *refused;
        }
    }
    if let Err(e) = end_session(&console, &headers).await {
        return page::engine_error(&e, None);
    }
    let mut response = page::see_other("/console/signin");
    let clear = console.sessions.cookie(super::session::COOKIE, "", Some(0));
    if let Ok(value) = HeaderValue::from_str(&clear) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Refuses a sign-in form whose token is not the pre-session cookie's.
fn check_pre(console: &Console, headers: &HeaderMap, fields: &Fields) -> Result<(), Box<Response>> {
    let expected = cookie_value(headers, PRE_COOKIE).unwrap_or_default();
    if token_matches(fields.get("csrf"), &expected) {
        return Ok(());
    }
    Err(Box::new(render(
        console,
        StatusCode::FORBIDDEN,
        Some("the form's CSRF token is missing or wrong; reload the page and try again"),
    )))
}

/// Ends the console session the request's cookie names, and a user's
/// login session with it.
async fn end_session(console: &Console, headers: &HeaderMap) -> Result<(), Error> {
    if let Some((who, token)) = console.sessions.sign_out(headers) {
        info!(who = %who, "console sign-out");
        if let Some(token) = token {
            console.engine.logout(&token).await?;
        }
    }
    Ok(())
}

/// A new session for `principal`, in place of any the browser held; when
/// none can be kept, a user's new login session is ended again.
async fn start(console: &Console, headers: &HeaderMap, principal: ConsolePrincipal) -> Response {
    let token = principal.login_token();
    if let Err(e) = end_session(console, headers).await {
        end_login(console, token).await;
        return page::engine_error(&e, None);
    }
    match console.sessions.start(principal) {
        Ok(cookie) => {
            let mut response = page::see_other("/console/");
            let clear = console.sessions.cookie(PRE_COOKIE, "", Some(0));
            for value in [cookie, clear] {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(message) => {
            end_login(console, token).await;
            render(console, StatusCode::SERVICE_UNAVAILABLE, Some(&message))
        }
    }
}

/// Ends a user's new login session that no console session will hold.
async fn end_login(console: &Console, token: Option<Zeroizing<String>>) {
    if let Some(token) = token {
        if let Err(e) = console.engine.logout(&token).await {
            tracing::warn!(error = %e, "console: a login session not kept was not ended");
        }
    }
}

fn refused(console: &Console, error: &Error) -> Response {
    info!(error = %error, "console sign-in refused");
    let status = page::status_of(error);
    let message = match error {
        Error::Unauthenticated(_) => {
            "the admin key, or the account, username or password, is wrong"
        }
        _ => &error.to_string(),
    };
    page::with_retry_after(render(console, status, Some(message)), error)
}

/// The sign-in page with a fresh double-submit token.
fn render(console: &Console, status: StatusCode, error: Option<&str>) -> Response {
    let Ok(token) = random_token() else {
        return page::error(StatusCode::SERVICE_UNAVAILABLE, "no randomness", None);
    };
    let mut response = page::document(status, "signin", "Sign in", None, forms(&token, error));
    let cookie = console.sessions.cookie(PRE_COOKIE, &token, None);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn forms(token: &str, error: Option<&str>) -> Markup {
    html! {
        @if let Some(error) = error {
            p #error .error { (error) }
        }
        section {
            h2 { "With an admin key" }
            form #signin-key method="post" action="/console/signin/key" {
                input type="hidden" name="csrf" value=(token);
                label { "Admin key " input type="password" name="admin_key" autocomplete="off" required; }
                button #signin-key-submit type="submit" { "Sign in" }
            }
        }
        section {
            h2 { "As an account administrator" }
            form #signin-user method="post" action="/console/signin/user" {
                input type="hidden" name="csrf" value=(token);
                label { "Account " input type="text" name="account_id" required; }
                label { "Username " input type="text" name="username" autocomplete="username" required; }
                label { "Password " input type="password" name="password" autocomplete="current-password" required; }
                button #signin-user-submit type="submit" { "Sign in" }
            }
        }
    }
}
