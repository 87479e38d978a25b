//! The one decision behind Envoy's ext_authz `Check` and the HTTP
//! forward-auth endpoint: the request's headers judged by the same code as
//! VerifyHttpAuthorization (`verify_http`), turned into what the proxy does:
//! the `x-credd-*` headers the upstream receives, the headers the client's
//! response gains, or the refusal (`lifecycle::gateway`). Transports read
//! the headers and write the answer; nothing here knows a wire format.

use std::time::Duration;

use tracing::debug;

use super::{Engine, Error, HttpVerdict, Verification, validate};
use crate::config::GatewayConfig;
use crate::lifecycle::VerifyOutcome;
use crate::lifecycle::gateway::{self, Denial, Proxy};
use crate::lifecycle::http_auth::{HttpHeaders, Refusal};
use crate::lifecycle::rate_limit_headers;
use crate::lifecycle::rate_limits::LimitRequest;
use crate::lifecycle::scope_expr::ScopeExpr;

/// A proxy's question.
#[derive(Debug)]
pub struct GatewayRequest<'a> {
    /// The credential headers, by the names configured in `[gateway]`, or
    /// why they could not be read ([`read_headers`]).
    pub headers: Result<HttpHeaders<'a>, String>,
    /// The scopes the route needs (`credd_scopes`, or the scopes header).
    pub required_scopes: Vec<String>,
    /// The scope expressions the route needs, each with where it came from
    /// (`credd_scope_query`, the `scope_query` parameter, the
    /// `x-credd-scope-query` header): all must hold, as must
    /// `required_scopes`; an empty one is none.
    pub scope_query: Vec<(&'static str, String)>,
    /// Named rate limits the route applies, each text with where it came
    /// from (`credd_rate_limits`, the `rate_limits` parameter, the
    /// `x-credd-rate-limits` header): `name` or `name:cost`, comma-separated.
    pub rate_limits: Vec<(&'static str, String)>,
    /// Which proxy asks.
    pub proxy: Proxy,
    /// Tell unknown, expired, disabled and revoked keys apart in refusals.
    pub reveal: bool,
    /// The client's mTLS identity as the proxy reports it (Envoy's
    /// `source.principal`); None when the transport cannot tell.
    pub principal: Option<&'a str>,
    /// `[gateway] metadata_headers`: which top-level metadata keys an
    /// allowed request forwards, and in which `x-credd-*` header each.
    pub metadata_headers: &'a [(String, String)],
}

/// What the proxy does with the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayAnswer {
    /// Pass it on.
    Allowed(Allowed),
    /// Refuse it.
    Denied(Denial),
}

/// An allowed request's headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allowed {
    /// Set (overwriting) on the upstream request.
    pub upstream: Vec<(&'static str, String)>,
    /// Added to the response the client gets.
    pub response: Vec<(&'static str, String)>,
    /// Also set (overwriting) on the upstream request: the credential's
    /// metadata values in the headers `[gateway] metadata_headers` names
    /// (all `x-credd-*`).
    pub metadata: Vec<(String, String)>,
}

/// One request header as a transport found it.
#[derive(Debug, Clone, Copy)]
pub enum HeaderValue<'a> {
    /// Not sent.
    Absent,
    /// Sent once, as text.
    Text(&'a str),
    /// Sent more than once.
    Repeated,
    /// Not valid text (bytes outside visible ASCII and UTF-8).
    NotText,
}

/// The credential headers of a request, looked up by the names `config`
/// gives, or why they cannot be judged (a header sent twice or not text).
/// Scheme and contents are `http_auth`'s to judge.
///
/// # Errors
/// The reason, naming the header.
pub fn read_headers<'a>(
    config: &GatewayConfig,
    get: impl Fn(&str) -> HeaderValue<'a>,
) -> Result<HttpHeaders<'a>, String> {
    let read = |name: &str| match get(name) {
        HeaderValue::Absent => Ok(""),
        HeaderValue::Text(text) => Ok(text),
        HeaderValue::Repeated => Err(format!("the {name} header was sent more than once")),
        HeaderValue::NotText => Err(format!("the {name} header is not valid text")),
    };
    Ok(HttpHeaders {
        authorization: read("authorization")?,
        product_id: read(&config.product_id_header)?,
        client_id: read(&config.client_id_header)?,
        clevertap_account_id: read(&config.account_id_header)?,
        clevertap_passcode: read(&config.passcode_header)?,
        clevertap_partner: "",
        api_key: read(&config.api_key_header)?,
        bearer: true,
    })
}

impl GatewayAnswer {
    /// The outcome code for metrics and logs: `OK` or the refusal's code.
    pub fn code(&self) -> &'static str {
        match self {
            GatewayAnswer::Allowed(_) => "OK",
            GatewayAnswer::Denied(d) => d.code,
        }
    }
}

impl Engine {
    /// Judges a proxied request. A refusal is an answer, not an error.
    ///
    /// # Errors
    /// A storage failure: credd cannot decide, and the transport must make
    /// the proxy refuse.
    pub fn check_gateway(&self, request: &GatewayRequest<'_>) -> Result<GatewayAnswer, Error> {
        let headers = match &request.headers {
            Ok(headers) => headers,
            Err(reason) => {
                return Ok(GatewayAnswer::Denied(gateway::deny(
                    Refusal::MalformedCredentials,
                    None,
                    reason,
                    request.reveal,
                    request.proxy,
                    None,
                )));
            }
        };
        let asked = scope_query(&request.scope_query)
            .and_then(|query| Ok((query, limit_requests(&request.rate_limits)?)));
        let verdict = match asked.and_then(|(query, limits)| {
            self.verify_http_with(headers, &request.required_scopes, query.as_ref(), &limits)
        }) {
            Ok(verdict) => verdict,
            Err(Error::InvalidArgument(reason) | Error::UnknownRateLimit(reason)) => {
                return Ok(GatewayAnswer::Denied(gateway::misconfigured(&reason)));
            }
            Err(e) => return Err(e),
        };
        let answer = match verdict.refusal {
            Some(refusal) => GatewayAnswer::Denied(gateway::deny(
                refusal,
                verdict.mode,
                &verdict.reason,
                request.reveal,
                request.proxy,
                retry_after(verdict.verification.as_ref()),
            )),
            None => match self.principal_refusal(&verdict, request.principal) {
                Some(denial) => GatewayAnswer::Denied(denial),
                None => GatewayAnswer::Allowed(allowed(&verdict, request.metadata_headers)),
            },
        };
        debug!(mode = ?verdict.mode, code = answer.code(), "gateway check");
        Ok(answer)
    }
}

impl Engine {
    /// A partner that registered mTLS identities accepts its keys only
    /// from a client with one of them.
    fn principal_refusal(&self, verdict: &HttpVerdict, principal: Option<&str>) -> Option<Denial> {
        let partner = self.partners.partner(&verdict.principal_account_id)?;
        (!partner.accepts_principal(principal)).then(gateway::principal_mismatch)
    }
}

/// The route's scope expressions, parsed and joined: all must hold.
fn scope_query(sources: &[(&'static str, String)]) -> Result<Option<ScopeExpr>, Error> {
    let mut parts = Vec::new();
    for (source, text) in sources {
        parts.extend(validate::scope_query(source, text)?);
    }
    Ok(ScopeExpr::all_of(parts))
}

/// The route's named rate limits, parsed from every source.
fn limit_requests(sources: &[(&'static str, String)]) -> Result<Vec<LimitRequest>, Error> {
    let mut requests = Vec::new();
    for (source, text) in sources {
        requests.extend(rate_limit_headers::parse(source, text).map_err(Error::InvalidArgument)?);
    }
    Ok(requests)
}

fn retry_after(verification: Option<&Verification>) -> Option<Duration> {
    match verification?.outcome {
        VerifyOutcome::RateLimited { retry_after } => Some(retry_after),
        _ => None,
    }
}

/// The headers of an allowed request.
fn allowed(verdict: &HttpVerdict, metadata_headers: &[(String, String)]) -> Allowed {
    let mut answer = Allowed::default();
    let Some(verification) = &verdict.verification else {
        return answer;
    };
    if let Some(credential) = &verification.credential {
        let upstream = &mut answer.upstream;
        upstream.push((gateway::ACCOUNT, credential.account_id.clone()));
        upstream.push((gateway::CREDENTIAL_ID, credential.id.clone()));
        upstream.push((gateway::KIND, credential.kind.snake_name().to_string()));
        upstream.push((gateway::SCOPES, credential.scopes.join(" ")));
        if let Some((user, _)) = &credential.user {
            upstream.push((gateway::USER, user.clone()));
        }
        let acting = &verdict.acting_for_account_id;
        if !acting.is_empty() && *acting != credential.account_id {
            upstream.push((gateway::ACTING_FOR, acting.clone()));
            upstream.push((gateway::PARTNER, credential.account_id.clone()));
        }
        if let Some(metadata) = credential.metadata.as_deref() {
            answer.metadata = metadata_headers_of(metadata, metadata_headers);
        }
    }
    if let VerifyOutcome::Valid {
        retires_at: Some(t),
    } = verification.outcome
    {
        answer.response.extend(gateway::rotation_headers(t));
    }
    answer
        .response
        .extend(rate_limit_headers::headers(&verification.rate_limits));
    answer
}

/// The mapped keys of `metadata` (compact JSON object text) as headers;
/// a value that cannot be a header is left out, and logged at debug.
fn metadata_headers_of(metadata: &str, mapping: &[(String, String)]) -> Vec<(String, String)> {
    if mapping.is_empty() {
        return Vec::new();
    }
    let object = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(metadata)
    {
        Ok(object) => object,
        Err(e) => {
            debug!(error = %e, "stored metadata is not a JSON object; nothing forwarded");
            return Vec::new();
        }
    };
    let mut headers = Vec::new();
    for (key, header) in mapping {
        let Some(value) = object.get(key) else {
            continue;
        };
        match gateway::metadata_header_value(value) {
            Ok(text) => headers.push((header.clone(), text)),
            Err(why) => {
                debug!(key = %key, header = %header, why = ?why, "metadata value not forwarded")
            }
        }
    }
    headers
}
