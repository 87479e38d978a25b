//! Input limits, checked before anything is stored: lengths, character sets,
//! e-mail syntax, id and page-token shapes. Messages say which field is wrong
//! and why, and never echo a secret.

use std::str::FromStr;

use chrono::Duration;

use super::Error;
use crate::lifecycle::scope_expr::{self, ScopeExpr};

/// Longest credential name, in characters.
pub const MAX_NAME: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION: usize = 1000;
/// Most scopes on one credential (and required in one Verify).
pub const MAX_SCOPES: usize = 64;
/// Longest scope, in characters.
pub const MAX_SCOPE: usize = 128;
/// Longest account id.
pub const MAX_ACCOUNT_ID: usize = 128;
/// Most contact addresses on one credential.
pub const MAX_EMAILS: usize = 32;
/// Longest revoke or disable reason, in characters.
pub const MAX_REASON: usize = 1000;
/// Largest metadata, in bytes of compact JSON.
pub const MAX_METADATA: usize = 8 * 1024;
/// Deepest nesting of metadata: the object itself is depth 1.
pub const MAX_METADATA_DEPTH: usize = 32;
/// Largest metadata text read at all, before normalising (whitespace
/// included); anything longer is refused unparsed.
const MAX_METADATA_INPUT: usize = 8 * MAX_METADATA;

const ID_PREFIX: &str = "cred_";
const ID_LEN: usize = ID_PREFIX.len() + 26;

fn invalid(message: String) -> Error {
    Error::InvalidArgument(message)
}

/// `[A-Za-z0-9._:-]{1,128}`.
pub fn account_id(field: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid(format!("{field} is required")));
    }
    if value.len() > MAX_ACCOUNT_ID {
        return Err(invalid(format!(
            "{field} is {} characters long, at most {MAX_ACCOUNT_ID} are allowed",
            value.len()
        )));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(invalid(format!(
            "{field} may only contain letters, digits and . _ : - (found {bad:?})"
        )));
    }
    Ok(())
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<(), Error> {
    if required && value.trim().is_empty() {
        return Err(invalid(format!("{field} is required")));
    }
    let n_chars = value.chars().count();
    if n_chars > max {
        return Err(invalid(format!(
            "{field} is {n_chars} characters long, at most {max} are allowed"
        )));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(invalid(format!("{field} contains control characters")));
    }
    Ok(())
}

/// 1..=200 characters, no control characters.
pub fn name(value: &str) -> Result<(), Error> {
    text("name", value, MAX_NAME, true)
}

/// Up to 1000 characters.
pub fn description(value: &str) -> Result<(), Error> {
    text("description", value, MAX_DESCRIPTION, false)
}

/// Up to 1000 characters.
pub fn reason(value: &str) -> Result<(), Error> {
    text("reason", value, MAX_REASON, false)
}

/// At most 64 scopes of 1..=128 visible ASCII characters; returns them
/// deduplicated, in the order given.
pub fn scopes(field: &str, values: &[String]) -> Result<Vec<String>, Error> {
    if values.len() > MAX_SCOPES {
        return Err(invalid(format!(
            "{field} has {} entries, at most {MAX_SCOPES} are allowed",
            values.len()
        )));
    }
    let mut unique: Vec<String> = Vec::with_capacity(values.len());
    for (idx, scope) in values.iter().enumerate() {
        if scope.is_empty() || scope.len() > MAX_SCOPE {
            return Err(invalid(format!(
                "{field}[{idx}] must be 1 to {MAX_SCOPE} characters long"
            )));
        }
        if !scope.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(invalid(format!(
                "{field}[{idx}] may only contain visible ASCII characters (no spaces)"
            )));
        }
        if !unique.contains(scope) {
            unique.push(scope.clone());
        }
    }
    Ok(unique)
}

/// A scope expression (`lifecycle::scope_expr`); empty means none. Parsed
/// once per request, before anything is looked up.
///
/// # Errors
/// `InvalidArgument` naming `field`, the column, what was expected there
/// and what was found.
pub fn scope_query(field: &str, text: &str) -> Result<Option<ScopeExpr>, Error> {
    if text.is_empty() {
        return Ok(None);
    }
    scope_expr::parse(text)
        .map(Some)
        .map_err(|e| invalid(format!("{field} is not a valid scope expression {e}")))
}

/// At most 32 syntactically valid addresses; returns them deduplicated.
pub fn emails(values: &[String]) -> Result<Vec<String>, Error> {
    if values.len() > MAX_EMAILS {
        return Err(invalid(format!(
            "notify_emails has {} entries, at most {MAX_EMAILS} are allowed",
            values.len()
        )));
    }
    let mut unique: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let shown: String = value.chars().take(254).collect();
        if value.len() > 254 || lettre::Address::from_str(value).is_err() {
            return Err(invalid(format!(
                "notify_emails: {shown:?} is not a valid e-mail address"
            )));
        }
        if !unique.contains(value) {
            unique.push(value.clone());
        }
    }
    Ok(unique)
}

/// Credential metadata: a JSON object of at most [`MAX_METADATA`] bytes as
/// compact JSON, nested at most [`MAX_METADATA_DEPTH`] deep. Returns its
/// compact form (key order kept), or None for "" and `{}` (no metadata).
pub fn metadata(value: &str) -> Result<Option<String>, Error> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    let too_big = |n: usize| {
        invalid(format!(
            "metadata is {n} bytes long, at most {MAX_METADATA} bytes (as compact JSON) are allowed"
        ))
    };
    if value.len() > MAX_METADATA_INPUT {
        return Err(too_big(value.len()));
    }
    let parsed: serde_json::Value = serde_json::from_str(value)
        .map_err(|e| invalid(format!("metadata is not valid JSON: {e}")))?;
    let serde_json::Value::Object(object) = &parsed else {
        return Err(invalid(format!(
            "metadata must be a JSON object, not {}",
            json_type(&parsed)
        )));
    };
    if object.is_empty() {
        return Ok(None);
    }
    if depth(&parsed) > MAX_METADATA_DEPTH {
        return Err(invalid(format!(
            "metadata is nested more than {MAX_METADATA_DEPTH} levels deep"
        )));
    }
    let compact = parsed.to_string();
    if compact.len() > MAX_METADATA {
        return Err(too_big(compact.len()));
    }
    Ok(Some(compact))
}

/// What kind of JSON value `value` is, for an error message.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Nesting depth: a scalar is 0, an array or object one more than its
/// deepest member.
fn depth(value: &serde_json::Value) -> usize {
    let deepest =
        |values: &mut dyn Iterator<Item = &serde_json::Value>| values.map(depth).max().unwrap_or(0);
    match value {
        serde_json::Value::Array(items) => 1 + deepest(&mut items.iter()),
        serde_json::Value::Object(map) => 1 + deepest(&mut map.values()),
        _ => 0,
    }
}

/// A new credential id: `cred_` and a ULID (sorts by creation time).
pub fn new_credential_id() -> String {
    format!("{ID_PREFIX}{}", ulid::Ulid::new())
}

/// `cred_` followed by 26 Crockford base32 characters.
pub fn credential_id(value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(invalid("id is required".to_string()));
    }
    let well_formed = value.len() == ID_LEN
        && value.starts_with(ID_PREFIX)
        && ulid::Ulid::from_string(&value[ID_PREFIX.len()..]).is_ok();
    if !well_formed {
        return Err(invalid(format!(
            "id {} is not a credential id (expected cred_ followed by 26 characters)",
            shown_id(value)
        )));
    }
    Ok(())
}

/// How a malformed id is named in an error message: quoted and cut to 64
/// characters, or, when it has the shape of a credd secret (a key pasted
/// where an id belongs), only by its hint, so the message never echoes it.
pub fn shown_id(value: &str) -> String {
    if crate::secret::peek_shape(value).is_ok() {
        format!("(a secret, {})", crate::secret::hint_of(value))
    } else {
        let cut: String = value.chars().take(64).collect();
        format!("{cut:?}")
    }
}

/// Encodes the last id of a page as an opaque token.
pub fn page_token(last_id: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("v1:{last_id}"))
}

/// Decodes a page token back to the id after which the next page starts.
pub fn parse_page_token(token: &str) -> Result<String, Error> {
    let id = decode_page_token(token, "")?;
    credential_id(&id).map_err(|_| bad_page_token())?;
    Ok(id)
}

/// The error for a page token this server did not issue.
pub fn bad_page_token() -> Error {
    invalid("page_token is not a token this server issued".to_string())
}

/// Decodes a token made by [`page_token`] from `<tag><position>` and
/// returns the position; a token with another tag is refused, so a token
/// of one listing cannot be replayed against another.
pub fn decode_page_token(token: &str, tag: &str) -> Result<String, Error> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad_page_token())?;
    let text = String::from_utf8(raw).map_err(|_| bad_page_token())?;
    text.strip_prefix("v1:")
        .and_then(|rest| rest.strip_prefix(tag))
        .map(str::to_string)
        .ok_or_else(bad_page_token)
}

/// `1..=1000`; 0 means the default of 100.
pub fn page_size(value: i64) -> Result<usize, Error> {
    match value {
        0 => Ok(100),
        1..=1000 => Ok(value as usize),
        _ => Err(invalid(format!(
            "page_size must be between 1 and 1000 (or 0 for 100), got {value}"
        ))),
    }
}

/// The longest span List filters over: 10 years of 365 days.
pub const MAX_LIST_SPAN_DAYS: i64 = 3650;

/// A List filter's span, when given: over zero and at most
/// [`MAX_LIST_SPAN_DAYS`] days.
pub fn list_span(field: &str, value: Option<Duration>) -> Result<(), Error> {
    match value {
        Some(span) if span <= Duration::zero() => Err(invalid(format!(
            "{field} must be longer than zero, got {}s",
            span.num_seconds()
        ))),
        Some(span) if span > Duration::days(MAX_LIST_SPAN_DAYS) => Err(invalid(format!(
            "{field} must be at most {MAX_LIST_SPAN_DAYS} days (10 years), got {} days",
            span.num_days()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Account ids outside `[A-Za-z0-9._:-]{1,128}` are refused with the field named.
    #[test]
    fn account_ids() {
        assert!(account_id("account_id", "acme-42.prod:eu_1").is_ok());
        for bad in ["", "has space", "ümlaut", &"a".repeat(129), "a/b"] {
            let err = account_id("account_id", bad).err().map(|e| e.to_string());
            assert!(
                err.as_deref().is_some_and(|m| m.contains("account_id")),
                "{bad:?}: {err:?}"
            );
        }
        assert!(account_id("account_id", &"a".repeat(128)).is_ok());
    }

    /// Lengths are counted in characters and the limit is inclusive.
    #[test]
    fn text_limits() {
        assert!(name(&"é".repeat(200)).is_ok());
        assert!(name(&"é".repeat(201)).is_err());
        assert!(name("  ").is_err());
        assert!(description(&"x".repeat(1000)).is_ok());
        assert!(description(&"x".repeat(1001)).is_err());
        assert!(name("bell\u{7}").is_err());
    }

    /// An empty scope query is none; a malformed one names the field and
    /// the column.
    #[test]
    fn scope_query_errors_name_field_and_column() {
        assert_eq!(scope_query("scope_query", "").ok(), Some(None));
        assert!(scope_query("scope_query", "a OR b").is_ok_and(|q| q.is_some()));
        let Err(Error::InvalidArgument(message)) = scope_query("scope_query", "a AND (b") else {
            panic!("a malformed expression is refused");
        };
        assert_eq!(
            message,
            "scope_query is not a valid scope expression at column 9: \
             expected AND, OR or ')' to close the '(' at column 7, found the end"
        );
    }

    /// Scope lists are bounded, entries are bounded and deduplicated.
    #[test]
    fn scope_limits() {
        let many: Vec<String> = (0..65).map(|i| format!("s{i}")).collect();
        assert!(scopes("scopes", &many).is_err());
        assert!(scopes("scopes", &many[..64]).is_ok());
        assert!(scopes("scopes", &["a b".to_string()]).is_err());
        assert!(scopes("scopes", &["x".repeat(129)]).is_err());
        assert_eq!(
            scopes("scopes", &["a".into(), "b".into(), "a".into()]).ok(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
    }

    /// A bad address is named in the error.
    #[test]
    fn email_addresses() {
        assert!(emails(&["ops@example.com".into()]).is_ok());
        let err = emails(&["ops@example.com".into(), "not-an-address".into()])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not-an-address"), "{err}");
    }

    /// Page tokens round-trip and foreign tokens are refused.
    #[test]
    fn page_tokens() {
        let id = new_credential_id();
        assert_eq!(parse_page_token(&page_token(&id)).ok(), Some(id));
        assert!(parse_page_token("garbage").is_err());
        assert!(parse_page_token("").is_err());
        assert_eq!(page_size(0).ok(), Some(100));
        assert!(page_size(1001).is_err());
        assert!(page_size(-1).is_err());
    }

    /// Ids must have the exact shape this server issues.
    #[test]
    fn credential_ids() {
        assert!(credential_id(&new_credential_id()).is_ok());
        assert!(credential_id("cred_123").is_err());
        assert!(credential_id("").is_err());
    }

    /// The refusal's message for metadata `value`, or "" when it is accepted.
    fn metadata_error(value: &str) -> String {
        metadata(value)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    /// Metadata is normalised to compact JSON with its key order kept; "" and
    /// `{}` are no metadata.
    #[test]
    fn metadata_normalised() {
        assert_eq!(
            metadata("{ \"plan\" : \"pro\",\n \"a\": [1, 2.5, {\"b\": null}] }").ok(),
            Some(Some(r#"{"plan":"pro","a":[1,2.5,{"b":null}]}"#.to_string()))
        );
        assert_eq!(metadata("").ok(), Some(None));
        assert_eq!(metadata(" { } ").ok(), Some(None));
        assert_eq!(
            metadata(r#"{"é":"\u00e9\n"}"#).ok(),
            Some(Some("{\"é\":\"é\\n\"}".to_string()))
        );
    }

    /// Not JSON, not an object, too big or too deep: refused, naming metadata
    /// and why.
    #[test]
    fn metadata_refused() {
        for (bad, why) in [
            ("{\"plan\":", "not valid JSON"),
            ("plan=pro", "not valid JSON"),
            ("{\"a\":1} trailing", "not valid JSON"),
            ("[1,2]", "an array"),
            ("\"pro\"", "a string"),
            ("42", "a number"),
            ("null", "null"),
            ("true", "a boolean"),
        ] {
            let err = metadata_error(bad);
            assert!(
                err.contains("metadata") && err.contains(why),
                "{bad:?}: {err}"
            );
        }
        let nested = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        assert!(metadata(&nested(MAX_METADATA_DEPTH)).is_ok());
        let err = metadata_error(&nested(MAX_METADATA_DEPTH + 1));
        assert!(
            err.contains("metadata") && err.contains("32 levels"),
            "{err}"
        );
        let err = metadata_error(&nested(200));
        assert!(err.contains("metadata"), "{err}");
    }

    /// 8 KiB of compact JSON is the limit, whatever whitespace came with it.
    #[test]
    fn metadata_size() {
        // {"k":"xxx..."} is 8 bytes of framing plus the value.
        let sized = |n: usize| format!("{{\"k\":\"{}\"}}", "x".repeat(n - 8));
        assert_eq!(sized(MAX_METADATA).len(), MAX_METADATA);
        assert!(metadata(&sized(MAX_METADATA)).is_ok());
        let err = metadata_error(&sized(MAX_METADATA + 1));
        assert!(
            err.contains("metadata is 8193 bytes") && err.contains("8192"),
            "{err}"
        );
        let padded = format!("{{\"k\":{}\"v\"}}", " ".repeat(2 * MAX_METADATA));
        assert_eq!(
            metadata(&padded).ok(),
            Some(Some(r#"{"k":"v"}"#.to_string()))
        );
        let huge = format!("{{\"k\":{}\"v\"}}", " ".repeat(10 * MAX_METADATA));
        assert!(metadata_error(&huge).contains("metadata is"));
    }
}
