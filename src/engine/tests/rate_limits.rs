//! Named rate limits through the engine with a manual clock: credential and
//! account rules, all or nothing, a refusal for another reason spending
//! nothing, bad rules and names refused changing nothing, the account's
//! default bucket applied as before when no names are given, and idle
//! windows forgotten.

use std::time::Duration as StdDuration;

use super::*;
use crate::lifecycle::{LimitRequest, RateLimitRule};

fn rule(name: &str, limit: u32, secs: u64) -> RateLimitRule {
    RateLimitRule {
        name: name.to_string(),
        limit,
        duration: StdDuration::from_secs(secs),
    }
}

fn ask(name: &str, cost: u32) -> LimitRequest {
    LimitRequest {
        name: name.to_string(),
        cost,
    }
}

impl Harness {
    async fn create_limited(&self, account: &str, rules: Vec<RateLimitRule>) -> Secret {
        let new = NewCredential {
            rate_limits: rules,
            ..new_cred(account, Kind::ApiKey)
        };
        self.engine.create(&admin(), new).await.unwrap().1
    }

    fn verify_limits(&self, secret: &Secret, limits: &[LimitRequest]) -> Verification {
        self.engine
            .verify_query(&VerifyQuery {
                secret: secret.expose(),
                rate_limits: limits,
                ..VerifyQuery::default()
            })
            .unwrap()
    }

    fn verify_limits_err(&self, secret: &Secret, limits: &[LimitRequest]) -> String {
        match self.engine.verify_query(&VerifyQuery {
            secret: secret.expose(),
            rate_limits: limits,
            ..VerifyQuery::default()
        }) {
            Err(Error::InvalidArgument(message) | Error::UnknownRateLimit(message)) => message,
            other => panic!(
                "expected INVALID_ARGUMENT, got {:?}",
                other.map(|v| v.outcome)
            ),
        }
    }
}

fn remaining(v: &Verification) -> Vec<(String, u32)> {
    v.rate_limits
        .iter()
        .map(|s| (s.name.clone(), s.remaining))
        .collect()
}

/// The second limit exhausted: nothing is spent on the first, the answer
/// is RATE_LIMITED with the second's reset, and after its window both are
/// counted again.
#[tokio::test]
async fn all_or_nothing_across_two_limits() {
    let h = harness();
    let secret = h
        .create_limited("acme", vec![rule("minute", 10, 60), rule("burst", 2, 10)])
        .await;
    let both = [ask("minute", 1), ask("burst", 1)];
    for left in [1, 0] {
        let v = h.verify_limits(&secret, &both);
        assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
        assert_eq!(v.rate_limits[1].remaining, left);
    }
    h.clock.advance(Duration::seconds(4));
    for _ in 0..5 {
        let v = h.verify_limits(&secret, &both);
        assert_eq!(
            v.outcome,
            VerifyOutcome::RateLimited {
                retry_after: StdDuration::from_secs(6)
            }
        );
        assert_eq!(
            remaining(&v),
            vec![("minute".to_string(), 8), ("burst".to_string(), 0)]
        );
        assert_eq!(v.rate_limits[1].reset, StdDuration::from_secs(6));
    }
    // The first limit alone still has its 8.
    let v = h.verify_limits(&secret, &[ask("minute", 0)]);
    assert_eq!(v.rate_limits[0].remaining, 8);
    h.clock.advance(Duration::seconds(6));
    let v = h.verify_limits(&secret, &both);
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(
        remaining(&v),
        vec![("minute".to_string(), 7), ("burst".to_string(), 1)]
    );
}

/// An account's rule is shared by its credentials; a credential's rule of
/// the same name replaces it for that credential and counts on its own.
#[tokio::test]
async fn account_rules_are_shared_and_credential_rules_come_first() {
    let h = harness();
    let mut new = NewAccount {
        id: "acme".to_string(),
        ..NewAccount::default()
    };
    new.rate_limits = vec![rule("api", 3, 60)];
    h.engine.create_account(&admin(), new).await.unwrap();
    let (_, first) = h.create("acme").await;
    let (_, second) = h.create("acme").await;
    let own = h.create_limited("acme", vec![rule("api", 100, 60)]).await;
    let api = [ask("api", 1)];
    for secret in [&first, &second, &first] {
        assert!(matches!(
            h.verify_limits(secret, &api).outcome,
            VerifyOutcome::Valid { .. }
        ));
    }
    assert!(matches!(
        h.verify_limits(&second, &api).outcome,
        VerifyOutcome::RateLimited { .. }
    ));
    let v = h.verify_limits(&own, &api);
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(remaining(&v), vec![("api".to_string(), 99)]);
}

/// A request refused for another reason spends nothing; a Verify naming no
/// limits applies none of them and reports none.
#[tokio::test]
async fn a_refused_or_unnamed_request_spends_nothing() {
    let h = harness();
    let (view, secret) = {
        let new = NewCredential {
            rate_limits: vec![rule("api", 1, 60)],
            ..new_cred("acme", Kind::ApiKey)
        };
        h.engine.create(&admin(), new).await.unwrap()
    };
    let insufficient = h
        .engine
        .verify_query(&VerifyQuery {
            secret: secret.expose(),
            required_scopes: &strings(&["admin"]),
            rate_limits: &[ask("api", 1)],
            ..VerifyQuery::default()
        })
        .unwrap();
    assert_eq!(insufficient.outcome, VerifyOutcome::InsufficientScope);
    assert!(insufficient.rate_limits.is_empty());
    for _ in 0..3 {
        let v = h.verify_limits(&secret, &[]);
        assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
        assert!(v.rate_limits.is_empty());
    }
    let v = h.verify_limits(&secret, &[ask("api", 1)]);
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(remaining(&v), vec![("api".to_string(), 0)]);
    // Revoked: refused as REVOKED, not RATE_LIMITED, and nothing spent.
    h.engine
        .revoke(&admin(), &view.record.id, "leaked")
        .await
        .unwrap();
    assert_eq!(
        h.verify_limits(&secret, &[ask("api", 1)]).outcome,
        VerifyOutcome::Revoked
    );
}

/// Unknown names, impossible costs and bad rules are INVALID_ARGUMENT and
/// change nothing: no window is opened, no record written.
#[tokio::test]
async fn bad_input_changes_nothing() {
    let h = harness();
    let secret = h.create_limited("acme", vec![rule("api", 2, 60)]).await;
    let message = h.verify_limits_err(&secret, &[ask("api", 1), ask("nope", 1)]);
    assert!(message.contains("rate_limits[1].name"), "{message}");
    let message = h.verify_limits_err(&secret, &[ask("api", 3)]);
    assert!(message.contains("rate_limits[0].cost"), "{message}");
    let message = h.verify_limits_err(&secret, &[ask("api", 1), ask("api", 1)]);
    assert!(message.contains("twice"), "{message}");
    let message = h.verify_limits_err(&secret, &[ask("default", 1)]);
    assert!(message.contains("default"), "{message}");
    assert_eq!(h.engine.limits.len(), 0);
    let v = h.verify_limits(&secret, &[ask("api", 1)]);
    assert_eq!(remaining(&v), vec![("api".to_string(), 1)]);

    let audits = h.audits();
    for rules in [
        vec![rule("api", 0, 60)],
        vec![RateLimitRule {
            duration: StdDuration::from_millis(500),
            ..rule("api", 1, 1)
        }],
        (0..17).map(|i| rule(&format!("l{i}"), 1, 1)).collect(),
        vec![rule("default", 1, 1)],
    ] {
        let new = NewCredential {
            rate_limits: rules,
            ..new_cred("acme", Kind::ApiKey)
        };
        assert!(matches!(
            h.engine.create(&admin(), new).await,
            Err(Error::InvalidArgument(_) | Error::UnknownRateLimit(_))
        ));
    }
    assert_eq!(h.audits(), audits, "a refused create wrote something");
}

/// The account's `rate_limit` bucket still applies to every Verify, with
/// and without names; naming `default` (cost 1) is accepted and adds nothing.
#[tokio::test]
async fn the_default_bucket_applies_as_before() {
    let h = harness();
    let new = NewAccount {
        id: "acme".to_string(),
        rate_limit: Some(RateLimit {
            per_second: 1,
            burst: 2,
        }),
        ..NewAccount::default()
    };
    h.engine.create_account(&admin(), new).await.unwrap();
    let secret = h.create_limited("acme", vec![rule("api", 100, 60)]).await;
    let named = [ask("api", 1), ask("default", 1)];
    let first = h.verify_limits(&secret, &named);
    assert!(matches!(first.outcome, VerifyOutcome::Valid { .. }));
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    // The bucket (real time, burst 2) is spent: RATE_LIMITED, and the named
    // limit was not spent by the refused request.
    let v = h.verify_limits(&secret, &named);
    assert!(matches!(v.outcome, VerifyOutcome::RateLimited { .. }));
    assert!(v.rate_limits.is_empty());
    h.clock.advance(Duration::seconds(1));
    std::thread::sleep(StdDuration::from_millis(1100));
    let v = h.verify_limits(&secret, &named);
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(remaining(&v), vec![("api".to_string(), 98)]);
}

/// Windows over are dropped once a shard has grown: memory follows the
/// windows in use, not every key ever limited.
#[tokio::test]
async fn idle_windows_are_forgotten() {
    let h = harness();
    let counters = &h.engine.limits;
    let limit = [crate::lifecycle::rate_limits::Applied {
        owner: crate::lifecycle::rate_limits::Owner::Credential,
        rule: rule("api", 5, 1),
        cost: 1,
    }];
    for i in 0..5000 {
        counters.apply("acme", &format!("cred_{i}"), &limit, t0());
    }
    assert_eq!(counters.len(), 5000);
    let later = t0() + Duration::seconds(2);
    for i in 0..4000 {
        counters.apply("acme", &format!("new_{i}"), &limit, later);
    }
    assert!(counters.len() < 5000, "{} windows kept", counters.len());
}

/// Updating a credential's rules replaces them; an empty list clears them
/// and the name is then unknown.
#[tokio::test]
async fn update_replaces_and_clears_rules() {
    let h = harness();
    let (view, secret) = {
        let new = NewCredential {
            rate_limits: vec![rule("api", 1, 60)],
            ..new_cred("acme", Kind::ApiKey)
        };
        h.engine.create(&admin(), new).await.unwrap()
    };
    let update = |rules| CredentialUpdate {
        rate_limits: Some(rules),
        ..CredentialUpdate::default()
    };
    let updated = h
        .engine
        .update(&admin(), &view.record.id, update(vec![rule("api", 5, 60)]))
        .await
        .unwrap();
    assert_eq!(updated.record.rate_limits, vec![rule("api", 5, 60)]);
    let v = h.verify_limits(&secret, &[ask("api", 1)]);
    assert_eq!(remaining(&v), vec![("api".to_string(), 4)]);
    h.engine
        .update(&admin(), &view.record.id, update(Vec::new()))
        .await
        .unwrap();
    assert!(
        h.verify_limits_err(&secret, &[ask("api", 1)])
            .contains("api")
    );
}
