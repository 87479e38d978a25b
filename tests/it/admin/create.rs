//! Create and Get over real gRPC: the secret returned once in its format,
//! malformed requests refused by field, unknown and malformed ids.

use super::*;

/// Create answers with the full credential and the plaintext secret in the documented format; Get and List show the same credential and never the secret.
#[tokio::test(flavor = "multi_thread")]
async fn create_returns_the_secret_once_and_get_and_list_never_do() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;

    let before = support::unix_now();
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "billing")).await;
    let after = support::unix_now();

    assert!(
        secret.starts_with("credd_live_api_"),
        "format of a live API key"
    );
    let tail = &secret["credd_live_api_".len()..];
    assert_eq!(
        tail.len(),
        30,
        "24 random characters and a 6-character checksum"
    );
    assert!(tail.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert!(
        cred.id.starts_with("cred_") && cred.id.len() == 31,
        "{}",
        cred.id
    );
    assert_eq!(cred.account_id, "acme");
    assert_eq!(cred.kind(), pb::Kind::ApiKey);
    assert_eq!(cred.environment(), pb::Environment::Live);
    assert_eq!(cred.name, "billing");
    assert_eq!(cred.description, "billing for tests");
    assert_eq!(cred.scopes, ["orders:read", "orders:write"]);
    assert_eq!(cred.notify_emails, ["ops@example.com"]);
    assert_eq!(cred.status(), pb::Status::Active);
    assert_eq!(cred.disabled_reason(), pb::DisabledReason::Unspecified);
    assert_eq!(
        cred.secret_hint,
        format!("credd_live_api_...{}", &secret[secret.len() - 4..])
    );
    let created_at = cred.created_at.expect("created_at").seconds;
    assert!((before..=after).contains(&created_at));
    let expires_at = cred.expires_at.expect("expires_at").seconds;
    assert!(
        (expires_at - created_at - 365 * DAY).abs() <= 1,
        "default lifetime is 365 days"
    );
    assert!(cred.last_used_at.is_none());
    assert!(cred.rotation_retires_at.is_none());

    let got = admin
        .get_credential(pb::GetCredentialRequest {
            id: cred.id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    let steady = support::steady(cred.clone());
    assert_eq!(
        got.credential.clone().map(support::steady),
        Some(steady.clone())
    );
    let listed = list_account(&mut admin, "acme").await;
    let shown: Vec<_> = listed
        .credentials
        .iter()
        .cloned()
        .map(support::steady)
        .collect();
    assert_eq!(shown, [steady]);
    for shown in [format!("{got:?}"), format!("{listed:?}")] {
        assert!(!shown.contains(&secret), "a response repeats the secret");
        assert!(
            !shown.contains(tail),
            "a response repeats the secret's body"
        );
    }

    let (pass, pass_secret) = support::create(&mut admin, support::passcode("acme", "p")).await;
    assert!(
        pass_secret.starts_with("credd_test_pass_"),
        "format of a test passcode"
    );
    assert_eq!(pass.kind(), pb::Kind::Passcode);
    assert_eq!(pass.environment(), pb::Environment::Test);
    assert_ne!(pass_secret, secret);
}

/// Malformed create requests are INVALID_ARGUMENT with the offending field in the message, and create nothing; the limits themselves are accepted.
#[tokio::test(flavor = "multi_thread")]
async fn create_refuses_malformed_requests() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let base = support::api_key("acme", "svc");
    let scopes = |n: usize| (0..n).map(|i| format!("scope{i}")).collect::<Vec<_>>();
    let cases = [
        (
            "missing name",
            pb::CreateCredentialRequest {
                name: String::new(),
                ..base.clone()
            },
            "name",
        ),
        (
            "blank name",
            pb::CreateCredentialRequest {
                name: "   ".to_string(),
                ..base.clone()
            },
            "name",
        ),
        (
            "missing account id",
            pb::CreateCredentialRequest {
                account_id: String::new(),
                ..base.clone()
            },
            "account_id",
        ),
        (
            "bad account id",
            pb::CreateCredentialRequest {
                account_id: "acme corp/1".to_string(),
                ..base.clone()
            },
            "account_id",
        ),
        (
            "unknown kind",
            pb::CreateCredentialRequest {
                kind: 99,
                ..base.clone()
            },
            "kind",
        ),
        (
            "unspecified kind",
            pb::CreateCredentialRequest {
                kind: pb::Kind::Unspecified.into(),
                ..base.clone()
            },
            "kind",
        ),
        (
            "unspecified environment",
            pb::CreateCredentialRequest {
                environment: pb::Environment::Unspecified.into(),
                ..base.clone()
            },
            "environment",
        ),
        (
            "name of 201 characters",
            pb::CreateCredentialRequest {
                name: "n".repeat(201),
                ..base.clone()
            },
            "name",
        ),
        (
            "description of 1001 characters",
            pb::CreateCredentialRequest {
                description: "d".repeat(1001),
                ..base.clone()
            },
            "description",
        ),
        (
            "65 scopes",
            pb::CreateCredentialRequest {
                scopes: scopes(65),
                ..base.clone()
            },
            "scopes",
        ),
        (
            "scope with a space",
            pb::CreateCredentialRequest {
                scopes: vec!["orders read".to_string()],
                ..base.clone()
            },
            "scopes",
        ),
        (
            "bad e-mail",
            pb::CreateCredentialRequest {
                notify_emails: vec!["ops@example.com".to_string(), "not-an-address".to_string()],
                ..base.clone()
            },
            "not-an-address",
        ),
        (
            "lifetime over the maximum",
            pb::CreateCredentialRequest {
                lifetime: lifetime(3651 * DAY),
                ..base.clone()
            },
            "lifetime",
        ),
        (
            "negative lifetime",
            pb::CreateCredentialRequest {
                lifetime: lifetime(-5),
                ..base.clone()
            },
            "lifetime",
        ),
    ];
    for (what, request, named) in cases {
        let status = support::expect_code(
            admin.create_credential(request).await,
            Code::InvalidArgument,
            what,
        );
        assert!(
            status.message().contains(named),
            "{what}: message {:?} should name {named:?}",
            status.message()
        );
    }
    assert!(
        list_account(&mut admin, "acme")
            .await
            .credentials
            .is_empty(),
        "a refused create stored something"
    );

    let at_limits = pb::CreateCredentialRequest {
        name: "n".repeat(200),
        description: "d".repeat(1000),
        scopes: scopes(64),
        lifetime: lifetime(3649 * DAY),
        ..base.clone()
    };
    let (cred, _) = support::create(&mut admin, at_limits).await;
    assert_eq!(cred.scopes.len(), 64);
    let lived =
        cred.expires_at.expect("expires_at").seconds - cred.created_at.expect("created_at").seconds;
    assert!(
        (lived - 3649 * DAY).abs() <= 1,
        "the lifetime asked for is used"
    );
}

/// Get answers NOT_FOUND for a well-formed id nobody issued and INVALID_ARGUMENT for strings that are not credential ids.
#[tokio::test(flavor = "multi_thread")]
async fn get_unknown_and_malformed_ids() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    support::create(&mut admin, support::api_key("acme", "svc")).await;

    let status = support::expect_code(
        admin
            .get_credential(pb::GetCredentialRequest {
                id: UNKNOWN_ID.to_string(),
            })
            .await,
        Code::NotFound,
        "unknown id",
    );
    assert!(
        status.message().contains(UNKNOWN_ID),
        "{}",
        status.message()
    );
    for bad in [
        "",
        "cred_123",
        "nonsense",
        "cred_01ARZ3NDEKTSV4RRFFQ69G5FA!",
    ] {
        support::expect_code(
            admin
                .get_credential(pb::GetCredentialRequest {
                    id: bad.to_string(),
                })
                .await,
            Code::InvalidArgument,
            bad,
        );
    }
}
