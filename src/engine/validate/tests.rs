//! Input limits: each refusal names its field.

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
