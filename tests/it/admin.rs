//! CredentialAdmin over real gRPC: each RPC's happy path and its documented error codes, quotas, health and reflection.

use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support::{self, UNKNOWN_ID};

/// One day in seconds.
const DAY: i64 = 86_400;

fn lifetime(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
}

async fn list_account(admin: &mut support::Admin, account: &str) -> pb::ListCredentialsResponse {
    admin
        .list_credentials(pb::ListCredentialsRequest {
            account_id: account.to_string(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
}

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
    assert_eq!(got.credential.as_ref(), Some(&cred));
    let listed = list_account(&mut admin, "acme").await;
    assert_eq!(listed.credentials, std::slice::from_ref(&cred));
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

/// Update changes exactly the fields that are set (name, description, scopes, expires_at, notify_emails), Verify sees the new scopes and expiry, and bad updates are refused without changing anything.
#[tokio::test(flavor = "multi_thread")]
async fn update_changes_each_field() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (original, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;
    let id = original.id.clone();
    let update = |request: pb::UpdateCredentialRequest| pb::UpdateCredentialRequest {
        id: id.clone(),
        ..request
    };

    let cred = admin
        .update_credential(update(pb::UpdateCredentialRequest {
            name: Some("renamed".to_string()),
            ..Default::default()
        }))
        .await
        .expect("update name")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(cred.name, "renamed");
    assert_eq!(cred.description, original.description);
    assert_eq!(cred.scopes, original.scopes);
    assert_eq!(cred.expires_at, original.expires_at);
    assert_eq!(cred.notify_emails, original.notify_emails);

    let cred = admin
        .update_credential(update(pb::UpdateCredentialRequest {
            description: Some("pays the invoices".to_string()),
            ..Default::default()
        }))
        .await
        .expect("update description")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(cred.description, "pays the invoices");
    assert_eq!(cred.name, "renamed");

    let cred = admin
        .update_credential(update(pb::UpdateCredentialRequest {
            scopes: Some(pb::StringList {
                values: vec!["reports:read".to_string()],
            }),
            ..Default::default()
        }))
        .await
        .expect("update scopes")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(cred.scopes, ["reports:read"]);
    let answer = support::verify(&mut verifier, &secret, "", &["orders:read"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::InsufficientScope);
    let answer = support::verify(&mut verifier, &secret, "", &["reports:read"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);

    let cred = admin
        .update_credential(update(pb::UpdateCredentialRequest {
            notify_emails: Some(pb::StringList {
                values: vec!["a@example.com".to_string(), "b@example.com".to_string()],
            }),
            ..Default::default()
        }))
        .await
        .expect("update notify_emails")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(cred.notify_emails, ["a@example.com", "b@example.com"]);

    let new_expiry = support::unix_now() + 30 * DAY;
    let cred = admin
        .update_credential(update(pb::UpdateCredentialRequest {
            expires_at: at(new_expiry),
            ..Default::default()
        }))
        .await
        .expect("update expires_at")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(
        cred.expires_at.as_ref().map(|t| t.seconds),
        Some(new_expiry)
    );
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.expires_at.map(|t| t.seconds), Some(new_expiry));

    let cleared = admin
        .update_credential(update(pb::UpdateCredentialRequest {
            notify_emails: Some(pb::StringList { values: vec![] }),
            ..Default::default()
        }))
        .await
        .expect("clear notify_emails")
        .into_inner()
        .credential
        .expect("credential");
    assert!(cleared.notify_emails.is_empty());
    assert_eq!(support::get(&mut admin, &id).await, cleared);

    let refused = [
        (
            "expires_at beyond the maximum lifetime",
            pb::UpdateCredentialRequest {
                expires_at: at(support::unix_now() + 3651 * DAY),
                ..Default::default()
            },
            "expires_at",
        ),
        (
            "expires_at in the past",
            pb::UpdateCredentialRequest {
                expires_at: at(support::unix_now() - 60),
                ..Default::default()
            },
            "expires_at",
        ),
        (
            "name of 201 characters",
            pb::UpdateCredentialRequest {
                name: Some("n".repeat(201)),
                ..Default::default()
            },
            "name",
        ),
        (
            "bad e-mail",
            pb::UpdateCredentialRequest {
                notify_emails: Some(pb::StringList {
                    values: vec!["nobody".to_string()],
                }),
                ..Default::default()
            },
            "nobody",
        ),
    ];
    for (what, request, named) in refused {
        let status = support::expect_code(
            admin.update_credential(update(request)).await,
            Code::InvalidArgument,
            what,
        );
        assert!(
            status.message().contains(named),
            "{what}: {}",
            status.message()
        );
    }
    assert_eq!(
        support::get(&mut admin, &id).await,
        cleared,
        "a refused update changed the credential"
    );

    support::expect_code(
        admin
            .update_credential(pb::UpdateCredentialRequest {
                id: UNKNOWN_ID.to_string(),
                name: Some("x".to_string()),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "update of an unknown id",
    );
    support::expect_code(
        admin
            .update_credential(pb::UpdateCredentialRequest {
                id: "cred_nope".to_string(),
                name: Some("x".to_string()),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "update of a malformed id",
    );
}

/// Revoke makes a credential REVOKED with its reason, Verify answers REVOKED, and revoking again changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn revoke_is_final_and_idempotent() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let revoked = admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: cred.id.clone(),
            reason: "leaked in a log".to_string(),
        })
        .await
        .expect("revoke")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(revoked.status(), pb::Status::Revoked);
    assert_eq!(revoked.status_reason, "leaked in a log");
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);
    assert_eq!(answer.credential_id, cred.id);

    let again = admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: cred.id.clone(),
            reason: "second time".to_string(),
        })
        .await
        .expect("revoke again")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(again, revoked, "a second revoke changed the credential");
    assert_eq!(support::get(&mut admin, &cred.id).await, revoked);

    support::expect_code(
        admin
            .disable_credential(pb::DisableCredentialRequest {
                id: cred.id.clone(),
                reason: String::new(),
            })
            .await,
        Code::FailedPrecondition,
        "disable of a revoked credential",
    );
    support::expect_code(
        admin
            .revoke_credential(pb::RevokeCredentialRequest {
                id: UNKNOWN_ID.to_string(),
                reason: String::new(),
            })
            .await,
        Code::NotFound,
        "revoke of an unknown id",
    );
}

/// Disable makes a credential DISABLED with reason ADMIN (Verify answers DISABLED), and Reactivate brings it back to ACTIVE and VALID.
#[tokio::test(flavor = "multi_thread")]
async fn disable_then_reactivate() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "svc")).await;

    let disabled = admin
        .disable_credential(pb::DisableCredentialRequest {
            id: cred.id.clone(),
            reason: "customer asked".to_string(),
        })
        .await
        .expect("disable")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(disabled.status(), pb::Status::Disabled);
    assert_eq!(disabled.disabled_reason(), pb::DisabledReason::Admin);
    assert_eq!(disabled.status_reason, "customer asked");
    assert_eq!(support::get(&mut admin, &cred.id).await, disabled);
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Disabled);
    assert_eq!(answer.disabled_reason(), pb::DisabledReason::Admin);

    let before = support::unix_now();
    let active = admin
        .reactivate_credential(pb::ReactivateCredentialRequest {
            id: cred.id.clone(),
        })
        .await
        .expect("reactivate")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(active.status(), pb::Status::Active);
    assert_eq!(active.disabled_reason(), pb::DisabledReason::Unspecified);
    let reactivated_at = active.reactivated_at.expect("reactivated_at").seconds;
    assert!(reactivated_at >= before && reactivated_at <= support::unix_now());
    let answer = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);

    support::expect_code(
        admin
            .disable_credential(pb::DisableCredentialRequest {
                id: UNKNOWN_ID.to_string(),
                reason: String::new(),
            })
            .await,
        Code::NotFound,
        "disable of an unknown id",
    );
    support::expect_code(
        admin
            .reactivate_credential(pb::ReactivateCredentialRequest {
                id: UNKNOWN_ID.to_string(),
            })
            .await,
        Code::NotFound,
        "reactivate of an unknown id",
    );
}

/// Reactivate is FAILED_PRECONDITION for a REVOKED credential and for an EXPIRED one (active or disabled before it expired), and the message says why.
#[tokio::test(flavor = "multi_thread")]
async fn reactivate_refuses_revoked_and_expired() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;

    let (revoked, _) = support::create(&mut admin, support::api_key("acme", "r")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("revoke");
    let status = support::expect_code(
        admin
            .reactivate_credential(pb::ReactivateCredentialRequest {
                id: revoked.id.clone(),
            })
            .await,
        Code::FailedPrecondition,
        "reactivate a revoked credential",
    );
    assert!(status.message().contains("revoked"), "{}", status.message());

    let short = |name: &str| pb::CreateCredentialRequest {
        lifetime: lifetime(2),
        ..support::api_key("acme", name)
    };
    let (expired, _) = support::create(&mut admin, short("e1")).await;
    let (disabled_then_expired, _) = support::create(&mut admin, short("e2")).await;
    admin
        .disable_credential(pb::DisableCredentialRequest {
            id: disabled_then_expired.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("disable");
    // Sleep until both have passed their expires_at.
    let expiry = disabled_then_expired.expires_at.expect("expires_at");
    let expiry = std::time::UNIX_EPOCH
        + Duration::new(
            u64::try_from(expiry.seconds).expect("after 1970"),
            u32::try_from(expiry.nanos).expect("nanos"),
        );
    let wait = expiry
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(wait + Duration::from_millis(300)).await;

    for cred in [&expired, &disabled_then_expired] {
        assert_eq!(
            support::get(&mut admin, &cred.id).await.status(),
            pb::Status::Expired
        );
        let status = support::expect_code(
            admin
                .reactivate_credential(pb::ReactivateCredentialRequest {
                    id: cred.id.clone(),
                })
                .await,
            Code::FailedPrecondition,
            "reactivate an expired credential",
        );
        assert!(status.message().contains("expired"), "{}", status.message());
        assert_eq!(
            support::get(&mut admin, &cred.id).await.status(),
            pb::Status::Expired,
            "a refused reactivate changed the status"
        );
    }
}

/// Delete removes the credential: Get and a second Delete answer NOT_FOUND, Verify of its secret NOT_FOUND, and List no longer shows it.
#[tokio::test(flavor = "multi_thread")]
async fn delete_removes_record_and_secret() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (gone, gone_secret) = support::create(&mut admin, support::api_key("acme", "gone")).await;
    let (kept, kept_secret) = support::create(&mut admin, support::api_key("acme", "kept")).await;

    admin
        .delete_credential(pb::DeleteCredentialRequest {
            id: gone.id.clone(),
        })
        .await
        .expect("delete");
    support::expect_code(
        admin
            .get_credential(pb::GetCredentialRequest {
                id: gone.id.clone(),
            })
            .await,
        Code::NotFound,
        "get after delete",
    );
    let answer = support::verify(&mut verifier, &gone_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);
    assert!(answer.credential_id.is_empty());
    support::expect_code(
        admin
            .delete_credential(pb::DeleteCredentialRequest {
                id: gone.id.clone(),
            })
            .await,
        Code::NotFound,
        "second delete",
    );
    let listed = list_account(&mut admin, "acme").await;
    let ids: Vec<_> = listed.credentials.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, [kept.id.as_str()]);
    let answer = support::verify(&mut verifier, &kept_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    support::expect_code(
        admin
            .delete_credential(pb::DeleteCredentialRequest {
                id: "x".to_string(),
            })
            .await,
        Code::InvalidArgument,
        "delete of a malformed id",
    );
}

/// With max_credentials_per_account = 3 the 4th create is RESOURCE_EXHAUSTED; DISABLED credentials count, REVOKED ones do not, and other accounts are unaffected.
#[tokio::test(flavor = "multi_thread")]
async fn quota_from_config() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[policy]\nmax_credentials_per_account = 3\n");
    let mut admin = daemon.admin().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            support::create(&mut admin, support::api_key("acme", &format!("k{i}")))
                .await
                .0
                .id,
        );
    }
    let status = support::expect_code(
        admin
            .create_credential(support::api_key("acme", "k3"))
            .await,
        Code::ResourceExhausted,
        "4th credential",
    );
    assert!(
        status.message().contains("acme") && status.message().contains('3'),
        "{}",
        status.message()
    );
    support::create(&mut admin, support::passcode("globex", "other account")).await;

    admin
        .disable_credential(pb::DisableCredentialRequest {
            id: ids[0].clone(),
            reason: String::new(),
        })
        .await
        .expect("disable");
    support::expect_code(
        admin
            .create_credential(support::passcode("acme", "k3"))
            .await,
        Code::ResourceExhausted,
        "a disabled credential still counts",
    );
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: ids[1].clone(),
            reason: String::new(),
        })
        .await
        .expect("revoke");
    support::create(&mut admin, support::passcode("acme", "k3")).await;
    support::expect_code(
        admin
            .create_credential(support::api_key("acme", "k4"))
            .await,
        Code::ResourceExhausted,
        "full again",
    );
    assert_eq!(list_account(&mut admin, "acme").await.credentials.len(), 4);
}

/// With the built-in defaults an account holds 100 live credentials and the 101st create is RESOURCE_EXHAUSTED.
#[tokio::test(flavor = "multi_thread")]
async fn default_quota_is_100() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    // Ten concurrent callers on one account: the quota check and the group
    // commit must both hold under concurrency.
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..10 {
        let mut admin = admin.clone();
        tasks.spawn(async move {
            for i in 0..10 {
                admin
                    .create_credential(support::api_key("acme", &format!("k{worker}-{i}")))
                    .await
                    .expect("create within the quota");
            }
        });
    }
    let joined = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(result) = tasks.join_next().await {
            result.expect("create task");
        }
    })
    .await;
    assert!(joined.is_ok(), "concurrent creates did not all return");
    let status = support::expect_code(
        admin
            .create_credential(support::api_key("acme", "one too many"))
            .await,
        Code::ResourceExhausted,
        "101st credential",
    );
    assert!(status.message().contains("100"), "{}", status.message());
    assert_eq!(
        list_account(&mut admin, "acme").await.credentials.len(),
        100
    );
}

/// The standard gRPC health service reports both credd services as SERVING.
#[tokio::test(flavor = "multi_thread")]
async fn health_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut health = HealthClient::new(daemon.channel().await);
    for service in ["credd.v1.CredentialVerifier", "credd.v1.CredentialAdmin"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .expect("health check")
            .into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service}");
    }
    support::expect_code(
        health
            .check(HealthCheckRequest {
                service: "credd.v1.NoSuchService".to_string(),
            })
            .await,
        Code::NotFound,
        "health of an unknown service",
    );
}

/// gRPC reflection lists the admin, verifier and health services and serves the file declaring CredentialAdmin.
#[tokio::test(flavor = "multi_thread")]
async fn reflection_lists_services() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut client = ServerReflectionClient::new(daemon.channel().await);
    let requests = vec![
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        },
        ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "credd.v1.CredentialAdmin".to_string(),
            )),
        },
    ];
    let mut answers = client
        .server_reflection_info(tokio_stream::iter(requests))
        .await
        .expect("reflection")
        .into_inner();

    let first = answers
        .message()
        .await
        .expect("first answer")
        .expect("an answer");
    let Some(MessageResponse::ListServicesResponse(list)) = first.message_response else {
        panic!("expected a service list, got {first:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in [
        "credd.v1.CredentialAdmin",
        "credd.v1.CredentialVerifier",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }

    let second = answers
        .message()
        .await
        .expect("second answer")
        .expect("an answer");
    let Some(MessageResponse::FileDescriptorResponse(files)) = second.message_response else {
        panic!("expected a file descriptor, got {second:?}");
    };
    assert!(!files.file_descriptor_proto.is_empty());
}

/// Concurrent writes on many accounts all return: durable writes share
/// flushes (group commit) instead of hanging or serialising.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_writes_all_return() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let admin = daemon.admin().await;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let mut admin = admin.clone();
        tasks.spawn(async move {
            for i in 0..10 {
                let created = admin
                    .create_credential(support::api_key(&format!("acct{worker}"), &format!("k{i}")))
                    .await
                    .expect("create")
                    .into_inner();
                let id = created.credential.expect("credential").id;
                admin
                    .revoke_credential(pb::RevokeCredentialRequest {
                        id,
                        reason: "test".into(),
                    })
                    .await
                    .expect("revoke");
            }
        });
    }
    let joined = tokio::time::timeout(Duration::from_secs(60), async {
        let mut n_done = 0;
        while let Some(result) = tasks.join_next().await {
            result.expect("write task");
            n_done += 1;
        }
        n_done
    })
    .await;
    assert_eq!(joined.ok(), Some(8), "concurrent writes did not all return");
}
