//! Named rate limits through the real daemon: rules set by CreateCredential,
//! UpdateCredential and the account calls, shown by Get; Verify naming them
//! gets each one's remaining and reset, RATE_LIMITED with retry_after when
//! one is spent, all or nothing; bad rules and names are INVALID_ARGUMENT
//! and change nothing.

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;
use tonic::Code;

use crate::support::{self, Bearer};

fn rule(name: &str, limit: u32, seconds: i64) -> pb::RateLimitRule {
    pb::RateLimitRule {
        name: name.to_string(),
        limit,
        duration: Some(prost_types::Duration { seconds, nanos: 0 }),
    }
}

fn ask(name: &str, cost: Option<u32>) -> pb::RateLimitRequest {
    pb::RateLimitRequest {
        name: name.to_string(),
        cost,
    }
}

fn verify_named(secret: &str, limits: Vec<pb::RateLimitRequest>) -> pb::VerifyRequest {
    pb::VerifyRequest {
        secret: secret.to_string(),
        rate_limits: limits,
        ..Default::default()
    }
}

fn remaining(response: &pb::VerifyResponse) -> Vec<(String, u32)> {
    response
        .rate_limits
        .iter()
        .map(|s| (s.name.clone(), s.remaining))
        .collect()
}

/// Create with two limits, Verify naming both until the small one is spent:
/// RATE_LIMITED with retry_after, the other one untouched; Update replaces
/// the rules and Get shows them; an account rule is shared.
#[tokio::test(flavor = "multi_thread")]
async fn named_limits_round_trip() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(
        &mut admin,
        pb::CreateCredentialRequest {
            rate_limits: vec![rule("hour", 100, 3600), rule("burst", 2, 60)],
            ..support::api_key("acme", "metered")
        },
    )
    .await;
    assert_eq!(cred.rate_limits.len(), 2);
    assert_eq!(
        support::get(&mut admin, &cred.id).await.rate_limits,
        cred.rate_limits
    );

    let both = || vec![ask("hour", Some(5)), ask("burst", None)];
    let first = verifier
        .verify(verify_named(&secret, both()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.result(), pb::VerifyResult::Valid);
    assert_eq!(
        remaining(&first),
        vec![("hour".to_string(), 95), ("burst".to_string(), 1)]
    );
    assert_eq!(first.rate_limits[0].limit, 100);
    let reset = first.rate_limits[1].reset.expect("reset");
    assert!((59..=60).contains(&reset.seconds), "{reset:?}");
    verifier
        .verify(verify_named(&secret, both()))
        .await
        .unwrap();
    for _ in 0..3 {
        let refused = verifier
            .verify(verify_named(&secret, both()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(refused.result(), pb::VerifyResult::RateLimited);
        let wait = refused.retry_after.expect("retry_after");
        assert!((58..=60).contains(&wait.seconds), "{wait:?}");
        // All or nothing: the hour limit kept its 90.
        assert_eq!(
            remaining(&refused),
            vec![("hour".to_string(), 90), ("burst".to_string(), 0)]
        );
    }
    // Without names the limits do not apply.
    let plain = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(plain.result(), pb::VerifyResult::Valid);
    assert!(plain.rate_limits.is_empty());

    let updated = admin
        .update_credential(pb::UpdateCredentialRequest {
            id: cred.id.clone(),
            rate_limits: Some(pb::RateLimitRules {
                rules: vec![rule("hour", 100, 3600), rule("burst", 50, 60)],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .credential
        .unwrap();
    assert_eq!(updated.rate_limits[1].limit, 50);
    let again = verifier
        .verify(verify_named(&secret, both()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.result(), pb::VerifyResult::Valid);
    assert_eq!(
        remaining(&again),
        vec![("hour".to_string(), 85), ("burst".to_string(), 47)]
    );

    // An account rule, shared by the account's credentials.
    let mut accounts = AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    );
    let account = accounts
        .update_account(pb::UpdateAccountRequest {
            id: "acme".to_string(),
            rate_limits: Some(pb::RateLimitRules {
                rules: vec![rule("tenant", 1, 600)],
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .account
        .unwrap();
    assert_eq!(account.rate_limits, vec![rule("tenant", 1, 600)]);
    let (_, other) = support::create(&mut admin, support::api_key("acme", "second")).await;
    let tenant = || vec![ask("tenant", None)];
    let ok = verifier
        .verify(verify_named(&other, tenant()))
        .await
        .unwrap();
    assert_eq!(ok.into_inner().result(), pb::VerifyResult::Valid);
    let spent = verifier
        .verify(verify_named(&secret, tenant()))
        .await
        .unwrap();
    assert_eq!(spent.into_inner().result(), pb::VerifyResult::RateLimited);
}

/// Limit 0, a 500 ms window, more than 16 rules, an unknown name, a cost
/// above the limit: INVALID_ARGUMENT naming the field, and nothing changed.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_refused_and_changes_nothing() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let half_second = pb::RateLimitRule {
        duration: Some(prost_types::Duration {
            seconds: 0,
            nanos: 500_000_000,
        }),
        ..rule("api", 1, 1)
    };
    let seventeen: Vec<_> = (0..17).map(|i| rule(&format!("l{i}"), 1, 1)).collect();
    for (rules, field) in [
        (vec![rule("api", 0, 60)], "rate_limits[0].limit"),
        (vec![half_second.clone()], "rate_limits[0].duration"),
        (seventeen, "at most 16"),
        (vec![rule("API key", 1, 60)], "rate_limits[0].name"),
    ] {
        let status = support::expect_code(
            admin
                .create_credential(pb::CreateCredentialRequest {
                    rate_limits: rules,
                    ..support::api_key("acme", "bad")
                })
                .await,
            Code::InvalidArgument,
            field,
        );
        assert!(status.message().contains(field), "{}", status.message());
    }
    let listed = admin
        .list_credentials(pb::ListCredentialsRequest {
            account_id: "acme".to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(listed.credentials.is_empty(), "a refused create left a key");

    let (cred, secret) = support::create(
        &mut admin,
        pb::CreateCredentialRequest {
            rate_limits: vec![rule("api", 2, 60)],
            ..support::api_key("acme", "good")
        },
    )
    .await;
    let status = support::expect_code(
        admin
            .update_credential(pb::UpdateCredentialRequest {
                id: cred.id.clone(),
                rate_limits: Some(pb::RateLimitRules {
                    rules: vec![half_second],
                }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "update with 500ms",
    );
    assert!(
        status.message().contains("duration"),
        "{}",
        status.message()
    );
    assert_eq!(
        support::get(&mut admin, &cred.id).await.rate_limits,
        vec![rule("api", 2, 60)]
    );

    for (limits, field) in [
        (vec![ask("nope", None)], "rate_limits[0].name"),
        (vec![ask("api", Some(3))], "rate_limits[0].cost"),
        (vec![ask("api", Some(2_000_000_000))], "rate_limits[0].cost"),
    ] {
        let status = support::expect_code(
            verifier.verify(verify_named(&secret, limits)).await,
            Code::InvalidArgument,
            field,
        );
        assert!(status.message().contains(field), "{}", status.message());
    }
    // Nothing was spent by the refused calls; a check (cost 0) spends nothing.
    let check = verifier
        .verify(verify_named(&secret, vec![ask("api", Some(0))]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(remaining(&check), vec![("api".to_string(), 2)]);
}

/// Through `/v1/check`: the route names the limit (`rate_limits` parameter
/// or `X-Credd-Rate-Limits` header), an allowed answer carries the tightest
/// limit's `RateLimit-*` headers, the request past it is a 429 with
/// `Retry-After`, and an unknown name is the route's misconfiguration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forward_auth_names_limits_and_reports_them() {
    use crate::gateway::harness::client::Request;

    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
    let http = daemon.http_addr.expect("http listener");
    let mut admin = daemon.admin().await;
    let mut request = support::api_key("acme", "limited");
    request.rate_limits = vec![pb::RateLimitRule {
        name: "api".to_string(),
        limit: 2,
        duration: Some(prost_types::Duration {
            seconds: 60,
            nanos: 0,
        }),
    }];
    let (_, key) = support::create(&mut admin, request).await;

    let first = Request::get("/v1/check?rate_limits=api")
        .bearer(&key)
        .send(http)
        .await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.header("ratelimit-limit").as_deref(), Some("2"));
    assert_eq!(first.header("ratelimit-remaining").as_deref(), Some("1"));
    let second = Request::get("/v1/check")
        .bearer(&key)
        .header("x-credd-rate-limits", "api")
        .send(http)
        .await;
    assert_eq!(second.status, 200, "{}", second.text());
    assert_eq!(second.header("ratelimit-remaining").as_deref(), Some("0"));
    let third = Request::get("/v1/check?rate_limits=api")
        .bearer(&key)
        .send(http)
        .await;
    assert_eq!(third.status, 429, "{}", third.text());
    assert!(third.header("retry-after").is_some());
    let unknown = Request::get("/v1/check?rate_limits=nope")
        .bearer(&key)
        .send(http)
        .await;
    assert_eq!(unknown.status, 500, "{}", unknown.text());
    assert_eq!(unknown.json()["code"], "GATEWAY_MISCONFIGURED");
}
