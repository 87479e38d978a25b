//! Envoy's external authorization service
//! (`envoy.service.auth.v3.Authorization/Check`): reads the credential
//! headers from the `CheckRequest` (the `header_map` when Envoy sends raw
//! headers, else the `headers` map) and the route's required scopes from
//! `context_extensions["credd_scopes"]`, asks [`Engine::check_gateway`],
//! and answers with an `OkHttpResponse` (credd's `x-credd-*` headers set
//! with `OVERWRITE_IF_EXISTS_OR_ADD`, every other `x-credd-*` header the
//! client sent and, by default, the credential headers removed) or a
//! `DeniedHttpResponse` (status, headers, JSON body). When credd cannot
//! decide, `Check` fails with UNAVAILABLE and Envoy refuses the request
//! (`failure_mode_allow: false`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tonic::{Request, Response, Status};
use tracing::{instrument, warn};

use super::envoy::config::core::v3::header_value_option::HeaderAppendAction;
use super::envoy::config::core::v3::{HeaderValue as EnvoyHeader, HeaderValueOption};
use super::envoy::google::rpc::Status as RpcStatus;
use super::envoy::service::auth::v3::authorization_server::{Authorization, AuthorizationServer};
use super::envoy::service::auth::v3::check_response::HttpResponse;
use super::envoy::service::auth::v3::{
    CheckRequest, CheckResponse, DeniedHttpResponse, OkHttpResponse,
};
use super::envoy::r#type::v3::HttpStatus;
use crate::config::GatewayConfig;
use crate::engine::{Allowed, Engine, GatewayAnswer, GatewayRequest, HeaderValue, read_headers};
use crate::lifecycle::gateway::{self, Denial, Proxy};
use crate::lifecycle::rate_limit_headers;
use crate::telemetry;

/// gRPC's OK, PERMISSION_DENIED and UNAUTHENTICATED codes for
/// `CheckResponse.status`.
const OK: i32 = 0;
const PERMISSION_DENIED: i32 = 7;
const UNAUTHENTICATED: i32 = 16;

/// The `Authorization` service.
pub struct ExtAuthzService {
    engine: Arc<Engine>,
    config: Arc<GatewayConfig>,
    token_required: bool,
}

impl ExtAuthzService {
    /// The service over `engine`; with `token_required` Envoy must send an
    /// admin key with the `verify` scope (`initial_metadata`).
    pub fn new(engine: Arc<Engine>, config: Arc<GatewayConfig>, token_required: bool) -> Self {
        Self {
            engine,
            config,
            token_required,
        }
    }

    /// As a tonic server.
    pub fn into_server(self) -> AuthorizationServer<Self> {
        AuthorizationServer::new(self)
    }
}

/// The request headers as Envoy sent them, borrowed from the request:
/// the `headers` map (lowercase names; repeats joined with commas), or the
/// raw `header_map` (`encode_raw_headers`: repeats apart, values as bytes).
enum Headers<'a> {
    None,
    Map(&'a HashMap<String, String>),
    Raw(&'a [EnvoyHeader]),
}

impl<'a> Headers<'a> {
    fn of(request: &'a CheckRequest) -> Headers<'a> {
        let http = request
            .attributes
            .as_ref()
            .and_then(|a| a.request.as_ref())
            .and_then(|r| r.http.as_ref());
        let Some(http) = http else {
            return Headers::None;
        };
        match http.header_map.as_ref().map(|m| m.headers.as_slice()) {
            Some(raw) if !raw.is_empty() => Headers::Raw(raw),
            _ => Headers::Map(&http.headers),
        }
    }

    fn lookup(&self, name: &str) -> HeaderValue<'a> {
        match self {
            Headers::None => HeaderValue::Absent,
            Headers::Map(map) => map
                .get(name)
                .map_or(HeaderValue::Absent, |v| HeaderValue::Text(v)),
            Headers::Raw(raw) => {
                let mut found = raw.iter().filter(|h| h.key.eq_ignore_ascii_case(name));
                match (found.next(), found.next()) {
                    (None, _) => HeaderValue::Absent,
                    (Some(_), Some(_)) => HeaderValue::Repeated,
                    (Some(h), None) if h.raw_value.is_empty() => HeaderValue::Text(&h.value),
                    (Some(h), None) => std::str::from_utf8(&h.raw_value)
                        .map_or(HeaderValue::NotText, HeaderValue::Text),
                }
            }
        }
    }

    /// Every header name sent, as sent.
    fn names(&self) -> Vec<&'a str> {
        match self {
            Headers::None => Vec::new(),
            Headers::Map(map) => map.keys().map(String::as_str).collect(),
            Headers::Raw(raw) => raw.iter().map(|h| h.key.as_str()).collect(),
        }
    }
}

#[tonic::async_trait]
impl Authorization for ExtAuthzService {
    #[instrument(level = "debug", skip_all, fields(rpc = "Check"))]
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        let started = Instant::now();
        if self.token_required {
            self.engine.allow_verify(&super::auth::actor(&request)?)?;
        }
        let check = request.into_inner();
        let headers = Headers::of(&check);
        let required_scopes = check
            .attributes
            .as_ref()
            .and_then(|a| a.context_extensions.get(gateway::SCOPES_EXTENSION))
            .map(|s| gateway::scopes_from(s))
            .unwrap_or_default();
        let scope_query = check
            .attributes
            .as_ref()
            .and_then(|a| a.context_extensions.get(gateway::SCOPE_QUERY_EXTENSION))
            .map(|q| vec![(gateway::SCOPE_QUERY_EXTENSION, q.clone())])
            .unwrap_or_default();
        let rate_limits = check
            .attributes
            .as_ref()
            .and_then(|a| {
                a.context_extensions
                    .get(rate_limit_headers::RATE_LIMITS_EXTENSION)
            })
            .map(|l| vec![(rate_limit_headers::RATE_LIMITS_EXTENSION, l.clone())])
            .unwrap_or_default();
        let question = GatewayRequest {
            headers: read_headers(&self.config, |name| headers.lookup(name)),
            required_scopes,
            scope_query,
            rate_limits,
            proxy: Proxy::Standard,
            reveal: self.config.reveal_reason,
            principal: check
                .attributes
                .as_ref()
                .and_then(|a| a.source.as_ref())
                .map(|peer| peer.principal.as_str())
                .filter(|p| !p.is_empty()),
            metadata_headers: &self.config.metadata_headers,
        };
        let answer = match self.engine.check_gateway(&question) {
            Ok(answer) => answer,
            Err(e) => {
                warn!(error = %e, "ext_authz check: cannot decide, refusing");
                telemetry::gateway_check("ext_authz", "UNAVAILABLE", started.elapsed());
                return Err(Status::unavailable("credd cannot decide now; try again"));
            }
        };
        telemetry::gateway_check("ext_authz", answer.code(), started.elapsed());
        let response = match answer {
            GatewayAnswer::Allowed(allowed) => self.allowed(&headers, allowed),
            GatewayAnswer::Denied(denial) => denied(denial),
        };
        Ok(Response::new(response))
    }
}

impl ExtAuthzService {
    /// OK: credd's headers set, spoofed and credential headers removed.
    fn allowed(&self, headers: &Headers<'_>, allowed: Allowed) -> CheckResponse {
        let set: Vec<&str> = allowed
            .upstream
            .iter()
            .map(|(n, _)| *n)
            .chain(allowed.metadata.iter().map(|(n, _)| n.as_str()))
            .collect();
        let credential = [
            "authorization",
            self.config.api_key_header.as_str(),
            self.config.passcode_header.as_str(),
        ];
        let is = |n: &str, list: &[&str]| list.iter().any(|c| c.eq_ignore_ascii_case(n));
        let mut remove: Vec<String> = headers
            .names()
            .into_iter()
            .filter(|n| {
                (gateway::is_credd_header(n) && !is(n, &set))
                    || (self.config.strip_credentials && is(n, &credential))
            })
            .map(str::to_ascii_lowercase)
            .collect();
        remove.sort();
        remove.dedup();
        let mut upstream = options(allowed.upstream);
        upstream.extend(options(allowed.metadata));
        CheckResponse {
            status: Some(rpc_status(OK)),
            http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
                headers: upstream,
                headers_to_remove: remove,
                response_headers_to_add: options(allowed.response),
            })),
            ..CheckResponse::default()
        }
    }
}

/// A refusal: Envoy answers the client with this status, headers and body.
fn denied(denial: Denial) -> CheckResponse {
    let code = if denial.status == 401 {
        UNAUTHENTICATED
    } else {
        PERMISSION_DENIED
    };
    let body = gateway::body(denial.code, &denial.message);
    let mut headers = denial.headers;
    headers.push(("content-type", "application/json".to_string()));
    CheckResponse {
        status: Some(rpc_status(code)),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus {
                code: i32::from(denial.status),
            }),
            headers: options(headers),
            body,
        })),
        ..CheckResponse::default()
    }
}

fn rpc_status(code: i32) -> RpcStatus {
    RpcStatus {
        code,
        ..RpcStatus::default()
    }
}

/// Headers that replace any of the same name.
fn options<N: Into<String>>(headers: Vec<(N, String)>) -> Vec<HeaderValueOption> {
    headers
        .into_iter()
        .map(|(key, value)| HeaderValueOption {
            header: Some(EnvoyHeader {
                key: key.into(),
                value,
                ..EnvoyHeader::default()
            }),
            append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
            ..HeaderValueOption::default()
        })
        .collect()
}
