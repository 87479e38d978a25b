//! The gateway decision (`check_gateway`): what an allowed request carries
//! upstream, how refusals look, and that headers the transport could not
//! read or a proxy's bad scopes are refused, never passed.

use super::*;
use crate::config::GatewayConfig;
use crate::lifecycle::gateway::{self, Proxy};
use crate::lifecycle::http_auth::HttpHeaders;

fn bearer(value: &str) -> String {
    format!("Bearer {value}")
}

/// A request presenting `authorization` (a bearer key) through a standard
/// proxy, asking nothing else: each test sets the fields it is about.
pub(super) fn bearer_request(authorization: &str) -> GatewayRequest<'_> {
    GatewayRequest {
        headers: Ok(HttpHeaders {
            authorization,
            bearer: true,
            ..HttpHeaders::default()
        }),
        required_scopes: Vec::new(),
        scope_query: Vec::new(),
        rate_limits: Vec::new(),
        proxy: Proxy::Standard,
        reveal: false,
        principal: None,
        metadata_headers: &[],
    }
}

fn ask(h: &Harness, authorization: &str, scopes: &[&str], reveal: bool) -> GatewayAnswer {
    let request = GatewayRequest {
        required_scopes: strings(scopes),
        reveal,
        ..bearer_request(authorization)
    };
    h.engine.check_gateway(&request).unwrap()
}

/// The value of header `name` among `headers`.
pub(super) fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

/// A good key is allowed with the x-credd-* headers for the upstream.
#[tokio::test]
async fn allowed_key_carries_its_facts() {
    let h = harness();
    let (view, key) = h.create("acme").await;
    let GatewayAnswer::Allowed(allowed) = ask(&h, &bearer(key.expose()), &[], false) else {
        panic!("a good key is allowed");
    };
    assert_eq!(header(&allowed.upstream, gateway::ACCOUNT), Some("acme"));
    assert_eq!(
        header(&allowed.upstream, gateway::CREDENTIAL_ID),
        Some(view.record.id.as_str())
    );
    assert_eq!(header(&allowed.upstream, gateway::KIND), Some("api_key"));
    assert_eq!(header(&allowed.upstream, gateway::ACTING_FOR), None);
    assert!(allowed.response.is_empty(), "no rotation, no extra headers");
}

/// Unknown and revoked keys get the same 401 unless revealing is allowed.
#[tokio::test]
async fn refused_keys_look_alike() {
    let h = harness();
    let (view, key) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &view.record.id, "leaked")
        .await
        .unwrap();
    let revoked = ask(&h, &bearer(key.expose()), &[], false);
    let unknown = ask(&h, &bearer("credd_live_api_nope"), &[], false);
    let (GatewayAnswer::Denied(revoked), GatewayAnswer::Denied(unknown)) = (revoked, unknown)
    else {
        panic!("both refused");
    };
    assert_eq!((revoked.status, revoked.code), (401, "INVALID_CREDENTIALS"));
    assert_eq!(revoked.message, unknown.message);
    let GatewayAnswer::Denied(told) = ask(&h, &bearer(key.expose()), &[], true) else {
        panic!("refused");
    };
    assert!(told.message.contains("revoked"), "{}", told.message);
    assert!(!told.message.contains(key.expose()));
}

/// A missing scope is 403; a malformed one is the proxy's error (500).
#[tokio::test]
async fn scopes() {
    let h = harness();
    let (_, key) = h.create("acme").await;
    let GatewayAnswer::Denied(d) = ask(&h, &bearer(key.expose()), &["orders:delete"], false) else {
        panic!("refused");
    };
    assert_eq!((d.status, d.code), (403, "INSUFFICIENT_SCOPE"));
    let GatewayAnswer::Denied(d) = ask(&h, &bearer(key.expose()), &["bad scope!"], false) else {
        panic!("refused");
    };
    assert_eq!((d.status, d.code), (500, "GATEWAY_MISCONFIGURED"));
}

/// The older secret of a rotation gets Deprecation and Sunset.
#[tokio::test]
async fn rotation_window_sunset() {
    let h = harness();
    let (view, old) = h.create("acme").await;
    let (_, new) = h
        .engine
        .rotate(&admin(), &view.record.id, Some(Duration::days(7)))
        .await
        .unwrap();
    let GatewayAnswer::Allowed(allowed) = ask(&h, &bearer(old.expose()), &[], false) else {
        panic!("the old key works in its window");
    };
    let sunset = header(&allowed.response, "sunset").expect("sunset");
    assert!(sunset.ends_with(" GMT"), "{sunset}");
    assert!(header(&allowed.response, "deprecation").is_some());
    let GatewayAnswer::Allowed(allowed) = ask(&h, &bearer(new.expose()), &[], false) else {
        panic!("the new key works");
    };
    assert!(allowed.response.is_empty());
}

/// Headers the transport could not read are refused as malformed.
#[tokio::test]
async fn unreadable_headers() {
    let h = harness();
    let config = GatewayConfig::default();
    let repeated = read_headers(&config, |name| {
        if name == "authorization" {
            HeaderValue::Repeated
        } else {
            HeaderValue::Absent
        }
    });
    let request = GatewayRequest {
        headers: repeated,
        required_scopes: Vec::new(),
        scope_query: Vec::new(),
        rate_limits: Vec::new(),
        proxy: Proxy::Nginx,
        reveal: false,
        principal: None,
        metadata_headers: &[],
    };
    let GatewayAnswer::Denied(d) = h.engine.check_gateway(&request).unwrap() else {
        panic!("refused");
    };
    assert_eq!((d.status, d.code), (401, "MALFORMED_CREDENTIALS"));
    assert!(d.message.contains("more than once"), "{}", d.message);
    let api_key = read_headers(&config, |name| match name {
        "x-api-key" => HeaderValue::Text("k"),
        _ => HeaderValue::Absent,
    })
    .unwrap();
    assert_eq!(api_key.api_key, "k");
}

/// A partner with registered mTLS identities: its keys pass only with one.
#[tokio::test]
async fn partner_mtls_identity() {
    let h = harness();
    let (_, key) = h.create("MYPRODUCT").await;
    h.engine
        .register_partner(&admin(), "MYPRODUCT", "", &[])
        .await
        .unwrap();
    let authorization = bearer(key.expose());
    let ask_as = |principal: Option<&'static str>| {
        let request = GatewayRequest {
            principal,
            ..bearer_request(&authorization)
        };
        h.engine.check_gateway(&request).unwrap().code()
    };
    assert_eq!(ask_as(None), "OK", "no identity registered: no requirement");
    let update = PartnerUpdate {
        mtls_identities: Some(strings(&["spiffe://example.org/myproduct"])),
        ..PartnerUpdate::default()
    };
    let updated = h
        .engine
        .update_partner(&admin(), "MYPRODUCT", update)
        .await
        .unwrap();
    assert_eq!(updated.mtls_identities.len(), 1);
    assert_eq!(ask_as(Some("spiffe://example.org/myproduct")), "OK");
    assert_eq!(
        ask_as(Some("spiffe://example.org/other")),
        "PRINCIPAL_MISMATCH"
    );
    assert_eq!(
        ask_as(None),
        "PRINCIPAL_MISMATCH",
        "unknown identity: refused"
    );
    let bad = PartnerUpdate {
        mtls_identities: Some(strings(&["bad\nidentity\u{1}"])),
        ..PartnerUpdate::default()
    };
    assert!(matches!(
        h.engine.update_partner(&admin(), "MYPRODUCT", bad).await,
        Err(Error::InvalidArgument(_))
    ));
}
