//! What a proxy is told, as pure functions: the code, status, message and
//! headers of a refusal (Envoy ext_authz and HTTP forward auth answer alike),
//! the `Deprecation`/`Sunset` headers of a key inside its rotation window,
//! the rate-limit headers, the names of the `x-credd-*` headers the upstream
//! receives, and how a route's required scopes are written. Which credential
//! the headers hold and what Verify answers is `http_auth`'s and the
//! engine's; carrying the answer over the wire is the transports'.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::http_auth::{AuthMode, Refusal};

/// Every header credd sets for the upstream starts with this; a client's
/// own headers with this prefix never reach the upstream.
pub const UPSTREAM_PREFIX: &str = "x-credd-";

/// The account that owns the key.
pub const ACCOUNT: &str = "x-credd-account";
/// The credential's id.
pub const CREDENTIAL_ID: &str = "x-credd-credential-id";
/// `api_key`, `passcode`, `session` or `customer_key`.
pub const KIND: &str = "x-credd-kind";
/// The credential's scopes, space-separated.
pub const SCOPES: &str = "x-credd-scopes";
/// A user passcode's or session's user id.
pub const USER: &str = "x-credd-user";
/// The account a partner's key acts for.
pub const ACTING_FOR: &str = "x-credd-acting-for";
/// The partner account whose key acts for another.
pub const PARTNER: &str = "x-credd-partner";
/// A refusal's code (also on allowed answers' absence: never set then).
pub const CODE: &str = "x-credd-code";
/// A refusal's message, plain ASCII without quotes (for nginx's JSON body).
pub const MESSAGE: &str = "x-credd-message";

/// Every `x-credd-*` header credd may set on the upstream request.
pub const UPSTREAM_HEADERS: [&str; 7] = [
    ACCOUNT,
    CREDENTIAL_ID,
    KIND,
    SCOPES,
    USER,
    ACTING_FOR,
    PARTNER,
];

/// Longest metadata value forwarded as a header, in bytes.
pub const MAX_METADATA_HEADER: usize = 1024;

/// Why a metadata value is not forwarded as a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataSkip {
    /// The value holds control characters (a header cannot carry them).
    ControlCharacters,
    /// The value is longer than [`MAX_METADATA_HEADER`] bytes.
    TooLong(usize),
}

/// The header value a metadata value is forwarded as: a string as it is,
/// any other JSON value as compact JSON; or why it is not forwarded.
pub fn metadata_header_value(value: &serde_json::Value) -> Result<String, MetadataSkip> {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.len() > MAX_METADATA_HEADER {
        return Err(MetadataSkip::TooLong(text.len()));
    }
    if text.chars().any(char::is_control) {
        return Err(MetadataSkip::ControlCharacters);
    }
    Ok(text)
}

/// The route-level key under which Envoy's `context_extensions` carry the
/// scopes a route needs.
pub const SCOPES_EXTENSION: &str = "credd_scopes";

/// The route-level key under which Envoy's `context_extensions` carry a
/// scope expression the route needs (`lifecycle::scope_expr`).
pub const SCOPE_QUERY_EXTENSION: &str = "credd_scope_query";

/// The `/v1/check` query parameter carrying a scope expression.
pub const SCOPE_QUERY_PARAM: &str = "scope_query";

/// The `/v1/check` request header carrying a scope expression.
pub const SCOPE_QUERY_HEADER: &str = "x-credd-scope-query";

/// Which proxy asks: nginx's `auth_request` turns any status but 2xx, 401
/// and 403 into a 500, so it is told about a rate limit with a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Proxy {
    /// Envoy, Traefik, Caddy: every status as it is.
    #[default]
    Standard,
    /// nginx `auth_request`.
    Nginx,
}

/// A refusal as a proxy answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// 401, 403, 429 (403 for nginx) or 500.
    pub status: u16,
    /// The machine-readable code (`INVALID_CREDENTIALS`, ...).
    pub code: &'static str,
    /// For the JSON body; never a key, plain ASCII without quotes.
    pub message: String,
    /// Response headers besides the body's content type.
    pub headers: Vec<(&'static str, String)>,
}

impl Denial {
    /// A refusal with `status`, `code` and `message` (plain text), whose
    /// headers repeat the code and the message.
    fn new(status: u16, code: &'static str, message: String) -> Denial {
        Denial {
            status,
            code,
            headers: vec![(CODE, code.to_string()), (MESSAGE, message.clone())],
            message,
        }
    }
}

/// The code a refusal is reported with.
pub fn code(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::MissingCredentials => "MISSING_CREDENTIALS",
        Refusal::UnsupportedScheme
        | Refusal::MalformedBase64
        | Refusal::MalformedCredentials
        | Refusal::ProductIdMismatch
        | Refusal::MissingClientId
        | Refusal::MixedModes => "MALFORMED_CREDENTIALS",
        Refusal::InvalidCredentials | Refusal::CredentialNotActive => "INVALID_CREDENTIALS",
        Refusal::PartnerNotWhitelisted => "PARTNER_NOT_WHITELISTED",
        Refusal::NotDelegated => "NOT_DELEGATED",
        Refusal::InsufficientScope => "INSUFFICIENT_SCOPE",
        Refusal::RateLimited => "RATE_LIMITED",
        Refusal::UsageExceeded => "USAGE_EXCEEDED",
    }
}

/// How a refusal is answered. `reason` is the engine's explanation; unless
/// `reveal` is set, a refused key's state (unknown, expired, disabled,
/// revoked) is not told apart. `retry_after` comes with a rate limit.
pub fn deny(
    refusal: Refusal,
    mode: Option<AuthMode>,
    reason: &str,
    reveal: bool,
    proxy: Proxy,
    retry_after: Option<Duration>,
) -> Denial {
    let status = match refusal.http_status(false) {
        429 if proxy == Proxy::Nginx => 403,
        status => status,
    };
    let hidden = matches!(
        refusal,
        Refusal::InvalidCredentials | Refusal::CredentialNotActive
    ) && !reveal;
    let message = if hidden {
        "the credential is missing, incorrect or not active".to_string()
    } else {
        plain(reason)
    };
    let mut denial = Denial::new(status, code(refusal), message);
    let headers = &mut denial.headers;
    if status == 401 {
        headers.push(("www-authenticate", challenge(mode).to_string()));
    }
    if let Some(wait) = retry_after.filter(|_| refusal == Refusal::RateLimited) {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let secs = secs.max(1);
        headers.push(("retry-after", secs.to_string()));
        headers.push(("ratelimit-remaining", "0".to_string()));
        headers.push(("ratelimit-reset", secs.to_string()));
    }
    denial
}

/// The answer when credd cannot decide (a storage error, shutdown): the
/// proxy must refuse.
pub fn unavailable() -> Denial {
    let message = "credd cannot decide now; try again".to_string();
    Denial::new(503, "UNAVAILABLE", message)
}

/// The answer when a partner's key arrives without one of the partner's
/// registered mTLS client identities.
pub fn principal_mismatch() -> Denial {
    let message = "the client certificate is not one this partner registered".to_string();
    Denial::new(403, "PRINCIPAL_MISMATCH", message)
}

/// The answer when the proxy's own configuration is wrong (a malformed
/// required scope or scope expression): refused, and the operator is told.
pub fn misconfigured(reason: &str) -> Denial {
    let message = plain(&format!("the proxy's credd settings are wrong: {reason}"));
    Denial::new(500, "GATEWAY_MISCONFIGURED", message)
}

/// The `WWW-Authenticate` challenge for the mode the request was in.
fn challenge(mode: Option<AuthMode>) -> &'static str {
    match mode {
        Some(AuthMode::Client | AuthMode::Product) => "Basic realm=\"credd\", charset=\"UTF-8\"",
        _ => "Bearer realm=\"credd\"",
    }
}

/// `text` as printable ASCII without quotes or backslashes, so it fits
/// in a header and, unescaped, in a JSON string.
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            c if c.is_ascii_graphic() || c == ' ' => c,
            _ => '?',
        })
        .take(512)
        .collect()
}

/// The `{code, message}` JSON body of a refusal.
pub fn body(code: &str, message: &str) -> String {
    serde_json::json!({ "code": code, "message": message }).to_string()
}

/// The response headers telling a client that its key is being rotated
/// away: `Deprecation` (RFC 9745) and `Sunset` (RFC 8594), both at the
/// moment the presented secret stops working.
pub fn rotation_headers(retires_at: DateTime<Utc>) -> [(&'static str, String); 2] {
    [
        ("deprecation", format!("@{}", retires_at.timestamp())),
        (
            "sunset",
            retires_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        ),
    ]
}

/// The scopes a route needs, written space- or comma-separated.
pub fn scopes_from(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Whether a request header is one of credd's (a client must not send it).
pub fn is_credd_header(name: &str) -> bool {
    name.len() >= UPSTREAM_PREFIX.len()
        && name[..UPSTREAM_PREFIX.len()].eq_ignore_ascii_case(UPSTREAM_PREFIX)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// Unknown and revoked look alike unless revealing is allowed.
    #[test]
    fn refused_keys_look_alike() {
        let revoked = deny(
            Refusal::CredentialNotActive,
            Some(AuthMode::Key),
            "the key has been revoked",
            false,
            Proxy::Standard,
            None,
        );
        let unknown = deny(
            Refusal::InvalidCredentials,
            Some(AuthMode::Key),
            "the key is missing or incorrect",
            false,
            Proxy::Standard,
            None,
        );
        assert_eq!(revoked, unknown);
        assert_eq!(revoked.status, 401);
        assert!(
            revoked
                .headers
                .iter()
                .any(|(n, _)| *n == "www-authenticate")
        );
        let told = deny(
            Refusal::CredentialNotActive,
            Some(AuthMode::Key),
            "the key has been revoked",
            true,
            Proxy::Standard,
            None,
        );
        assert_eq!(told.message, "the key has been revoked");
    }

    /// 429 with Retry-After, or 403 for nginx, which maps it back.
    #[test]
    fn rate_limits() {
        let wait = Some(Duration::from_millis(1500));
        let standard = deny(
            Refusal::RateLimited,
            None,
            "too many",
            false,
            Proxy::Standard,
            wait,
        );
        assert_eq!((standard.status, standard.code), (429, "RATE_LIMITED"));
        assert!(standard.headers.contains(&("retry-after", "2".to_string())));
        let nginx = deny(
            Refusal::RateLimited,
            None,
            "too many",
            false,
            Proxy::Nginx,
            wait,
        );
        assert_eq!(nginx.status, 403);
        assert!(nginx.headers.contains(&(CODE, "RATE_LIMITED".to_string())));
        let scope = deny(
            Refusal::InsufficientScope,
            None,
            "no",
            false,
            Proxy::Nginx,
            None,
        );
        assert_eq!(scope.status, 403);
        assert!(!scope.headers.iter().any(|(n, _)| *n == "www-authenticate"));
    }

    /// Messages are safe in a header and in nginx's unescaped JSON.
    #[test]
    fn messages_are_plain() {
        let d = deny(
            Refusal::PartnerNotWhitelisted,
            None,
            "Partner \"x\\y\" not\nwhitelisted: é",
            false,
            Proxy::Standard,
            None,
        );
        assert_eq!(d.message, "Partner 'x'y' not?whitelisted: ?");
        let json: serde_json::Value = serde_json::from_str(&body(d.code, &d.message)).unwrap();
        assert_eq!(json["code"], "PARTNER_NOT_WHITELISTED");
    }

    #[test]
    fn rotation_and_scopes() {
        let t = Utc.with_ymd_and_hms(2026, 12, 24, 10, 0, 0).unwrap();
        let [deprecation, sunset] = rotation_headers(t);
        assert_eq!(deprecation.1, format!("@{}", t.timestamp()));
        assert_eq!(sunset.1, "Thu, 24 Dec 2026 10:00:00 GMT");
        assert_eq!(
            scopes_from(" orders:read, orders:write\tx "),
            ["orders:read", "orders:write", "x"]
        );
        assert!(is_credd_header("X-Credd-Account"));
        assert!(!is_credd_header("x-cred"));
    }

    /// Strings as they are, other values as compact JSON; control
    /// characters and over-long values are not forwarded.
    #[test]
    fn metadata_values() {
        let value = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap();
        let header = |text: &str| metadata_header_value(&value(text));
        assert_eq!(header(r#""pro plan""#), Ok("pro plan".to_string()));
        assert_eq!(header("42"), Ok("42".to_string()));
        assert_eq!(header("true"), Ok("true".to_string()));
        assert_eq!(
            header(r#"{"a": [1, "x"]}"#),
            Ok(r#"{"a":[1,"x"]}"#.to_string())
        );
        assert_eq!(header(r#""a\r\nb""#), Err(MetadataSkip::ControlCharacters));
        assert_eq!(header(r#""tab\tx""#), Err(MetadataSkip::ControlCharacters));
        // Inside JSON text a newline is escaped, so an object carries none.
        assert_eq!(header(r#"{"a":"x\ny"}"#), Ok(r#"{"a":"x\ny"}"#.to_string()));
        let long = format!("\"{}\"", "x".repeat(MAX_METADATA_HEADER));
        assert_eq!(header(&long), Ok("x".repeat(MAX_METADATA_HEADER)));
        let longer = format!("\"{}\"", "x".repeat(MAX_METADATA_HEADER + 1));
        assert_eq!(
            header(&longer),
            Err(MetadataSkip::TooLong(MAX_METADATA_HEADER + 1))
        );
    }
}
