//! `POST /v1/leaks/github`: GitHub's secret-scanning partner reports. The
//! body (at most `[leaks] max_body_bytes`) is checked against the signature
//! in `Github-Public-Key-Signature` with the key named by
//! `Github-Public-Key-Identifier` before it is parsed; then each token of
//! the JSON array `[{token, type, url, source}]` (at most `max_tokens`) is
//! handed to [`Engine::report_leak`] as `leak-report:github`, so a matching
//! key is revoked (or disabled, or flagged) and flushed before the answer.
//! The answer is GitHub's feedback array, `[{token_raw | token_hash,
//! token_type, label}]`. Every refusal is a JSON `{code, message}` and
//! changes nothing; no token is ever logged or put in an error.

mod keys;

pub use keys::{GithubKeys, SignatureRefusal};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio_stream::StreamExt;
use tracing::{error, info, warn};

use super::{State as Shared, json};
use crate::config::{LeakFeedback, LeaksConfig};
use crate::engine::{Actor, LeakReport};
use crate::secret;

/// The route.
pub const PATH: &str = "/v1/leaks/github";
/// The header naming the signing key.
pub const KEY_ID_HEADER: &str = "github-public-key-identifier";
/// The header holding the base64 DER signature.
pub const SIGNATURE_HEADER: &str = "github-public-key-signature";
/// Who a GitHub report acts as, in the audit log.
pub const ACTOR: &str = "leak-report:github";

/// The endpoint's keys and settings.
#[derive(Debug)]
pub struct GithubLeaks {
    /// The keys reports are signed with.
    pub keys: GithubKeys,
    /// `[leaks]`.
    pub config: LeaksConfig,
}

/// The endpoint as `[leaks]` configures it: `None` when off; the keys
/// file read and checked.
///
/// # Errors
/// The keys file cannot be read or used (the message names it).
pub fn load(config: &LeaksConfig) -> Result<Option<std::sync::Arc<GithubLeaks>>, String> {
    let Some(path) = &config.github_public_keys else {
        return Ok(None);
    };
    let keys = GithubKeys::load(path)?;
    info!(path = %path.display(), keys = keys.len(), action = config.action.name(), "leak reports accepted at {PATH}");
    Ok(Some(std::sync::Arc::new(GithubLeaks {
        keys,
        config: config.clone(),
    })))
}

/// One match as GitHub sends it; `type`, `url` and `source` may be missing
/// or null. Not `Debug`: it holds the token.
#[derive(Deserialize)]
struct Match {
    token: String,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    source: Option<String>,
}

/// Handles one report, whatever the method (anything but POST is a 405).
pub(super) async fn github(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(leaks) = state.leaks.clone() else {
        return refuse(StatusCode::NOT_FOUND, "NOT_FOUND", "leak reports are off");
    };
    if method != Method::POST {
        return refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "leak reports are POSTed",
        );
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(key_id), Some(signature)) = (header(KEY_ID_HEADER), header(SIGNATURE_HEADER)) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "UNSIGNED",
            "the Github-Public-Key-Identifier and Github-Public-Key-Signature headers are required",
        );
    };
    let limit = leaks.config.max_body_bytes;
    let body = match read_body(&headers, body, limit).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    if let Err(refusal) = leaks.keys.verify(key_id, signature, &body) {
        warn!(key_id, refusal = ?refusal, "leak report refused: signature");
        return match refusal {
            SignatureRefusal::UnknownKey => refuse(
                StatusCode::UNAUTHORIZED,
                "UNKNOWN_KEY",
                "Github-Public-Key-Identifier names none of the configured keys (leaks.github_public_keys)",
            ),
            SignatureRefusal::Undecodable => refuse(
                StatusCode::UNAUTHORIZED,
                "BAD_SIGNATURE",
                "Github-Public-Key-Signature is not base64 of a DER ECDSA signature",
            ),
            SignatureRefusal::Mismatch => refuse(
                StatusCode::UNAUTHORIZED,
                "BAD_SIGNATURE",
                "the signature does not verify the body with that key",
            ),
        };
    }
    let matches: Vec<Match> = match serde_json::from_slice(&body) {
        Ok(matches) => matches,
        // serde's own message can quote a value of the body: only its place.
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "MALFORMED",
                &format!(
                    "the body is not a JSON array of {{token, type, url, source}} objects ({:?} error at line {}, column {})",
                    e.classify(),
                    e.line(),
                    e.column()
                ),
            );
        }
    };
    if matches.len() > leaks.config.max_tokens {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_MANY_TOKENS",
            &format!(
                "a report carries at most {} tokens (leaks.max_tokens); this one has {}",
                leaks.config.max_tokens,
                matches.len()
            ),
        );
    }
    let mut actor = Actor::unrestricted(ACTOR);
    actor.request_id = ulid::Ulid::new().to_string();
    info!(key_id, tokens = matches.len(), request_id = %actor.request_id, "leak report received");
    let mut answers = Vec::with_capacity(matches.len());
    for m in &matches {
        let token_type = m.kind.clone().unwrap_or_default();
        let usable = !m.token.is_empty() && m.token.len() <= secret::MAX_SECRET_LEN;
        let positive = if usable {
            let report = LeakReport {
                secret: &m.token,
                source: m.source.as_deref().unwrap_or_default(),
                url: m.url.as_deref().unwrap_or_default(),
            };
            match state
                .engine
                .report_leak(&actor, &report, leaks.config.action)
                .await
            {
                Ok(result) => result.outcome.true_positive(),
                Err(e) => {
                    error!(error = %e, request_id = %actor.request_id, "leak report: cannot handle a token");
                    return refuse(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "UNAVAILABLE",
                        "the report could not be handled whole; send it again",
                    );
                }
            }
        } else {
            false
        };
        answers.push(feedback(
            leaks.config.github_feedback,
            m,
            token_type,
            positive,
        ));
    }
    json(StatusCode::OK, &serde_json::Value::Array(answers))
}

/// GitHub's feedback for one token.
fn feedback(
    form: LeakFeedback,
    m: &Match,
    token_type: String,
    positive: bool,
) -> serde_json::Value {
    let label = if positive {
        "true_positive"
    } else {
        "false_positive"
    };
    let mut entry = serde_json::Map::new();
    match form {
        LeakFeedback::Raw => {
            entry.insert("token_raw".into(), m.token.clone().into());
        }
        LeakFeedback::Hash => {
            let digest = secret::hex(&Sha256::digest(m.token.as_bytes()));
            entry.insert("token_hash".into(), digest.into());
        }
    }
    entry.insert("token_type".into(), token_type.into());
    entry.insert("label".into(), label.into());
    serde_json::Value::Object(entry)
}

/// The body, at most `limit` bytes: a larger one (by its Content-Length or
/// as it arrives) is a 413.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, Response> {
    let too_large = || {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "TOO_LARGE",
            &format!("a report is at most {limit} bytes (leaks.max_body_bytes)"),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut read = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            refuse(
                StatusCode::BAD_REQUEST,
                "UNREADABLE",
                "the body could not be read",
            )
        })?;
        if read.len() + chunk.len() > limit {
            return Err(too_large());
        }
        read.extend_from_slice(&chunk);
    }
    Ok(read)
}

/// A refusal: `{code, message}`.
fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    json(
        status,
        &serde_json::json!({ "code": code, "message": message }),
    )
}
