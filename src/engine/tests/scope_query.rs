//! Scope expressions in the engine: Verify's `scope_query` beside the
//! required scopes, parsed before any lookup (a malformed one is
//! INVALID_ARGUMENT and notes no use), and the gateway's expressions, whose
//! malformation is the proxy's misconfiguration.

use super::*;
use crate::engine::validate;
use crate::lifecycle::gateway;

impl Harness {
    /// Verify of `secret` with `required` scopes and the expression `query`.
    fn verify_scoped(
        &self,
        secret: &Secret,
        required: &[&str],
        query: &str,
    ) -> Result<Verification, Error> {
        let parsed = validate::scope_query("scope_query", query)?;
        self.engine.verify_query(&VerifyQuery {
            secret: secret.expose(),
            required_scopes: &strings(required),
            scope_query: parsed.as_ref(),
            ..VerifyQuery::default()
        })
    }
}

/// The key holds orders:read and orders:write: an expression it satisfies
/// is VALID, one it does not is INSUFFICIENT_SCOPE, and with a list both
/// must hold.
#[tokio::test]
async fn query_and_list_both_hold() {
    let h = harness();
    let (_, key) = h.create("acme").await;
    let outcome =
        |required: &[&str], query: &str| h.verify_scoped(&key, required, query).unwrap().outcome;
    let valid = VerifyOutcome::Valid { retires_at: None };
    let insufficient = VerifyOutcome::InsufficientScope;
    assert_eq!(
        outcome(&[], "orders:read AND (refunds:write OR orders:write)"),
        valid
    );
    assert_eq!(outcome(&[], "admin OR orders:read AND orders:write"), valid);
    assert_eq!(
        outcome(&[], "orders:read AND (refunds:write OR admin)"),
        insufficient
    );
    assert_eq!(
        outcome(&[], "(admin OR orders:read) AND refunds:write"),
        insufficient
    );
    assert_eq!(outcome(&["orders:write"], "admin OR orders:read"), valid);
    assert_eq!(outcome(&["admin"], "orders:read"), insufficient);
    assert_eq!(outcome(&["orders:read"], "admin"), insufficient);
}

/// A malformed expression is INVALID_ARGUMENT naming the field and the
/// column, before the key is looked up: even an unknown key gets it, and a
/// good key's use is not noted.
#[tokio::test]
async fn malformed_query_is_refused_before_lookup() {
    let h = harness();
    let (_, key) = h.create("acme").await;
    let pending = h.engine.pending_usage();
    for secret in [
        &key,
        &Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap(),
    ] {
        let Err(Error::InvalidArgument(message)) =
            h.verify_scoped(secret, &[], "orders:read AND (admin")
        else {
            panic!("a malformed expression is refused");
        };
        assert!(message.starts_with("scope_query "), "{message}");
        assert!(message.contains("at column 23"), "{message}");
    }
    assert_eq!(h.engine.pending_usage(), pending, "no use noted");
    h.verify_scoped(&key, &[], "orders:read").unwrap();
    assert_eq!(
        h.engine.pending_usage(),
        pending + 1,
        "a valid use is noted"
    );
}

fn ask(
    h: &Harness,
    key: &Secret,
    required: &[&str],
    queries: &[(&'static str, &str)],
) -> GatewayAnswer {
    let authorization = format!("Bearer {}", key.expose());
    let request = GatewayRequest {
        required_scopes: strings(required),
        scope_query: queries
            .iter()
            .map(|(source, text)| (*source, (*text).to_string()))
            .collect(),
        ..super::gateway::bearer_request(&authorization)
    };
    h.engine.check_gateway(&request).unwrap()
}

/// Through the gateway: every expression the proxy sent must hold, an empty
/// one is none, and a malformed one refuses the request as the proxy's
/// misconfiguration, naming where it came from and the column.
#[tokio::test]
async fn gateway_queries() {
    let h = harness();
    let (_, key) = h.create("acme").await;
    let ext = gateway::SCOPE_QUERY_EXTENSION;
    let header = gateway::SCOPE_QUERY_HEADER;
    assert_eq!(
        ask(&h, &key, &[], &[(ext, "orders:read OR admin")]).code(),
        "OK"
    );
    assert_eq!(ask(&h, &key, &[], &[(ext, "")]).code(), "OK");
    assert_eq!(
        ask(&h, &key, &[], &[(ext, "admin OR refunds:write")]).code(),
        "INSUFFICIENT_SCOPE"
    );
    let both = [(ext, "orders:read"), (header, "admin OR orders:write")];
    assert_eq!(ask(&h, &key, &[], &both).code(), "OK");
    let one_fails = [(ext, "orders:read"), (header, "admin")];
    assert_eq!(ask(&h, &key, &[], &one_fails).code(), "INSUFFICIENT_SCOPE");
    assert_eq!(
        ask(&h, &key, &["admin"], &[(ext, "orders:read")]).code(),
        "INSUFFICIENT_SCOPE"
    );
    let GatewayAnswer::Denied(d) = ask(&h, &key, &[], &[(header, "orders:read OR")]) else {
        panic!("a malformed expression never allows");
    };
    assert_eq!((d.status, d.code), (500, "GATEWAY_MISCONFIGURED"));
    assert!(d.message.contains("x-credd-scope-query"), "{}", d.message);
    assert!(d.message.contains("column 15"), "{}", d.message);
    let unknown = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    assert_eq!(
        ask(&h, &unknown, &[], &[(ext, "(a")]).code(),
        "GATEWAY_MISCONFIGURED"
    );
}
