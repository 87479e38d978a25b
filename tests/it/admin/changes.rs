//! Changing a credential over real gRPC: update field by field, revoke,
//! disable and reactivate, and delete, with their documented error codes.

use super::*;

fn at(seconds: i64) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds, nanos: 0 })
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
    assert_eq!(
        support::steady(support::get(&mut admin, &id).await),
        support::steady(cleared.clone())
    );

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
        support::steady(support::get(&mut admin, &id).await),
        support::steady(cleared),
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
    assert_eq!(
        support::steady(support::get(&mut admin, &cred.id).await),
        support::steady(disabled)
    );
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
