//! How every console page is answered: the HTML shell (header, navigation,
//! sign-out form), the security headers every answer carries, and the
//! error pages, including the mapping of the engine's errors to statuses.
//! Markup is maud's: every interpolated value is HTML-escaped.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use maud::{DOCTYPE, Markup, html};

use crate::engine::Error;
use crate::lifecycle::{Kind, Status};

/// The console's Content-Security-Policy: its own stylesheet and script,
/// nothing inline, nothing from elsewhere, no framing.
pub(super) const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Who is signed in and the CSRF token, for the header of every page.
pub(super) struct Chrome<'a> {
    pub who: &'a str,
    pub csrf: &'a str,
}

/// A whole page: `name` is `data-page`, `chrome` the signed-in header.
pub(super) fn document(
    status: StatusCode,
    name: &str,
    title: &str,
    chrome: Option<&Chrome>,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · credd" }
                link rel="stylesheet" href="/console/assets/console.css";
                script src="/console/assets/console.js" defer {}
            }
            body {
                header {
                    a.brand href="/console/" { "credd" }
                    @if let Some(chrome) = chrome {
                        nav {
                            a #nav-overview href="/console/" { "Overview" }
                            a #nav-accounts href="/console/accounts" { "Accounts" }
                            a #nav-credentials href="/console/credentials" { "Credentials" }
                            a #nav-audit href="/console/audit" { "Audit log" }
                            a #nav-notices href="/console/notices" { "Notices" }
                            a #nav-webhooks href="/console/webhooks" { "Webhooks" }
                            a #nav-partners href="/console/partners" { "Partners" }
                        }
                        span #who { (chrome.who) }
                        form #signout method="post" action="/console/signout" {
                            input type="hidden" name="csrf" value=(chrome.csrf);
                            button #signout-submit type="submit" { "Sign out" }
                        }
                    }
                }
                main #page data-page=(name) {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    with_headers(status, markup.into_string())
}

/// `body` as HTML with the headers every console answer carries.
pub(super) fn with_headers(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// An error page: the status and a message saying what was wrong.
pub(super) fn error(status: StatusCode, message: &str, chrome: Option<&Chrome>) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    document(
        status,
        "error",
        title,
        chrome,
        html! {
            p #status { (status.as_u16()) }
            p #error { (message) }
            p { a href="/console/" { "Back to the overview" } }
        },
    )
}

/// The status a refusal of the engine answers with; the message is the
/// engine's, which never carries a secret.
pub(super) fn status_of(error: &Error) -> StatusCode {
    match error {
        Error::InvalidArgument(_) | Error::UnknownRateLimit(_) => StatusCode::BAD_REQUEST,
        Error::NotFound { .. }
        | Error::AccountNotFound { .. }
        | Error::UserNotFound { .. }
        | Error::NoSuch(_) => StatusCode::NOT_FOUND,
        Error::AlreadyExists(_) | Error::FailedPrecondition(_) | Error::QuotaExceeded { .. } => {
            StatusCode::CONFLICT
        }
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::Contention { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Error::Storage(_) | Error::Random(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The error page of an engine error.
pub(super) fn engine_error(failure: &Error, chrome: Option<&Chrome>) -> Response {
    let status = status_of(failure);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(error = %failure, "console request failed");
    }
    with_retry_after(error(status, &failure.to_string(), chrome), failure)
}

/// `response` with `Retry-After` when `failure` says how long to wait.
pub(super) fn with_retry_after(mut response: Response, failure: &Error) -> Response {
    if let Error::Throttled { retry_after } = failure {
        // Rounded up: a client that waits this long is let in.
        let seconds = (retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0)).max(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A 303 to `to`.
pub(super) fn see_other(to: &str) -> Response {
    let mut response = with_headers(StatusCode::SEE_OTHER, String::new());
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// A time as the console shows it.
pub(super) fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An optional time, or a dash.
pub(super) fn when_or_never(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_string(), when)
}

/// A status as the console (and the API) names it.
pub(super) fn status_name(status: Status) -> &'static str {
    match status {
        Status::Active => "ACTIVE",
        Status::Disabled => "DISABLED",
        Status::Expired => "EXPIRED",
        Status::Revoked => "REVOKED",
    }
}

/// A kind as the filter names it.
pub(super) fn kind_name(kind: Kind) -> &'static str {
    kind.snake_name()
}

/// The link to a credential's page.
pub(super) fn credential_link(id: &str) -> Markup {
    html! { a href={ "/console/credentials/" (id) } { (id) } }
}
