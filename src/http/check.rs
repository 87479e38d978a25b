//! `/v1/check`, the forward-auth endpoint: reads the credential headers
//! and the route's required scopes (`scopes` query parameter, set in the
//! proxy's auth URL, and the scopes header) and scope expressions
//! (`scope_query` parameter and `x-credd-scope-query` header) and named
//! rate limits (`rate_limits` parameter and `x-credd-rate-limits` header), asks
//! [`Engine::check_gateway`], and answers 200 with the `x-credd-*` headers
//! or the refusal with its JSON body. nginx (`?proxy=nginx`, or any request
//! carrying `X-Original-URI`) is told about a rate limit with a 403. When
//! credd cannot decide, the answer is a 503: the proxy refuses.

use std::time::Instant;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::warn;

use super::State as Shared;
use crate::engine::{GatewayAnswer, GatewayRequest, HeaderValue, read_headers};
use crate::lifecycle::gateway::{self, Denial, Proxy};
use crate::lifecycle::rate_limit_headers;
use crate::telemetry;

/// Handles one forward-auth request, whatever its method.
pub(super) async fn check(
    State(state): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let config = &state.config;
    let mut asked = from_query(query.as_deref());
    if headers.contains_key("x-original-uri") {
        asked.proxy = Proxy::Nginx;
    }
    for value in headers.get_all(config.scopes_header.as_str()) {
        match value.to_str() {
            Ok(text) => asked.scopes.extend(gateway::scopes_from(text)),
            Err(_) => {
                let denial = gateway::misconfigured("the scopes header is not text");
                return finish(started, "GATEWAY_MISCONFIGURED", denied(denial));
            }
        }
    }
    for (name, into) in [
        (gateway::SCOPE_QUERY_HEADER, &mut asked.scope_query),
        (
            rate_limit_headers::RATE_LIMITS_HEADER,
            &mut asked.rate_limits,
        ),
    ] {
        for value in headers.get_all(name) {
            match value.to_str() {
                Ok(text) => into.push((name, text.to_string())),
                Err(_) => {
                    let denial = gateway::misconfigured(&format!("the {name} header is not text"));
                    return finish(started, "GATEWAY_MISCONFIGURED", denied(denial));
                }
            }
        }
    }
    let request = GatewayRequest {
        headers: read_headers(config, |name| lookup(&headers, name)),
        required_scopes: asked.scopes,
        scope_query: asked.scope_query,
        rate_limits: asked.rate_limits,
        proxy: asked.proxy,
        reveal: config.reveal_reason,
        // The proxy's client certificate is not visible here: a partner
        // that registered mTLS identities is refused on this path.
        principal: None,
        metadata_headers: &config.metadata_headers,
    };
    let answer = match state.engine.check_gateway(&request) {
        Ok(answer) => answer,
        Err(e) => {
            warn!(error = %e, "gateway check: cannot decide, refusing");
            return finish(started, "UNAVAILABLE", denied(gateway::unavailable()));
        }
    };
    let code = answer.code();
    let response = match answer {
        GatewayAnswer::Allowed(allowed) => {
            let mut response = (
                StatusCode::OK,
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                r#"{"code":"OK"}"#,
            )
                .into_response();
            let all = allowed.upstream.into_iter().chain(allowed.response);
            add_headers(&mut response, all);
            for (name, value) in allowed.metadata {
                if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), value.parse()) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        GatewayAnswer::Denied(denial) => denied(denial),
    };
    finish(started, code, response)
}

fn finish(started: Instant, code: &'static str, response: Response) -> Response {
    telemetry::gateway_check("http", code, started.elapsed());
    response
}

/// What a forward-auth request asks of the key.
#[derive(Default)]
struct Asked {
    /// Required scopes (every `scopes` parameter and the scopes header).
    scopes: Vec<String>,
    /// Scope expressions, each with its source.
    scope_query: Vec<(&'static str, String)>,
    /// Named rate limits, each text with its source.
    rate_limits: Vec<(&'static str, String)>,
    /// nginx (`proxy=nginx` or `X-Original-URI`) or any other proxy.
    proxy: Proxy,
}

/// What the query string asks: every `scopes`, `scope_query` and
/// `rate_limits` parameter, and `proxy=nginx`.
fn from_query(query: Option<&str>) -> Asked {
    let mut asked = Asked::default();
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "scopes" => asked.scopes.extend(gateway::scopes_from(&value)),
            gateway::SCOPE_QUERY_PARAM => {
                asked
                    .scope_query
                    .push((gateway::SCOPE_QUERY_PARAM, value.into_owned()));
            }
            rate_limit_headers::RATE_LIMITS_PARAM => {
                asked
                    .rate_limits
                    .push((rate_limit_headers::RATE_LIMITS_PARAM, value.into_owned()));
            }
            "proxy" if value == "nginx" => asked.proxy = Proxy::Nginx,
            _ => {}
        }
    }
    asked
}

fn lookup<'a>(headers: &'a HeaderMap, name: &str) -> HeaderValue<'a> {
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return HeaderValue::Absent;
    };
    if values.next().is_some() {
        return HeaderValue::Repeated;
    }
    match first.to_str() {
        Ok(text) => HeaderValue::Text(text),
        Err(_) => HeaderValue::NotText,
    }
}

/// A refusal: its status, headers and `{code, message}` body.
fn denied(denial: Denial) -> Response {
    let status = StatusCode::from_u16(denial.status).unwrap_or(StatusCode::FORBIDDEN);
    let body = gateway::body(denial.code, &denial.message);
    let mut response = (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response();
    add_headers(&mut response, denial.headers);
    response
}

fn add_headers(response: &mut Response, headers: impl IntoIterator<Item = (&'static str, String)>) {
    for (name, value) in headers {
        if let Ok(value) = value.parse() {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
}
