//! Named rate limits through the gateway decision: a route names them, an
//! allowed request answers with the tightest limit's `RateLimit-*`
//! headers, the request past the limit is a 429 with `Retry-After`, and a
//! route naming a limit badly is the proxy's misconfiguration.

use std::time::Duration as StdDuration;

use super::gateway::{bearer_request, header};
use super::*;
use crate::lifecycle::rate_limits::RateLimitRule;

fn ask(h: &Harness, key: &Secret, limits: &str) -> GatewayAnswer {
    let authorization = format!("Bearer {}", key.expose());
    let request = GatewayRequest {
        rate_limits: vec![("rate_limits", limits.to_string())],
        ..bearer_request(&authorization)
    };
    h.engine.check_gateway(&request).unwrap()
}

#[tokio::test]
async fn named_limits_at_the_gateway() {
    let h = harness();
    let mut new = new_cred("acme", Kind::ApiKey);
    new.rate_limits = vec![RateLimitRule {
        name: "api".to_string(),
        limit: 2,
        duration: StdDuration::from_secs(60),
    }];
    let (_, key) = h.engine.create(&admin(), new).await.unwrap();

    for left in ["1", "0"] {
        let GatewayAnswer::Allowed(allowed) = ask(&h, &key, "api") else {
            panic!("within the limit");
        };
        assert_eq!(header(&allowed.response, "ratelimit-limit"), Some("2"));
        assert_eq!(header(&allowed.response, "ratelimit-remaining"), Some(left));
        assert_eq!(header(&allowed.response, "ratelimit-reset"), Some("60"));
    }
    let GatewayAnswer::Denied(denial) = ask(&h, &key, "api") else {
        panic!("past the limit");
    };
    assert_eq!((denial.status, denial.code), (429, "RATE_LIMITED"));
    assert_eq!(header(&denial.headers, "retry-after"), Some("60"));
    // A cost of 0 only checks; an unknown name or a bad cost is the
    // route's mistake: 500, never allowed.
    for bad in ["nope", "api:x"] {
        let GatewayAnswer::Denied(denial) = ask(&h, &key, bad) else {
            panic!("{bad}: refused");
        };
        assert_eq!(
            (denial.status, denial.code),
            (500, "GATEWAY_MISCONFIGURED"),
            "{bad}"
        );
    }
    // Without named limits nothing is added.
    let GatewayAnswer::Allowed(allowed) = ask(&h, &key, "") else {
        panic!("no limits named");
    };
    assert_eq!(header(&allowed.response, "ratelimit-limit"), None);
}
