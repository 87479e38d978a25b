//! Every admin RPC against callers without the right key: no key, a wrong,
//! malformed or revoked key, a key lacking the scope or confined to another
//! account; nothing changes.

use super::*;

/// Calls every admin RPC (CredentialAdmin, AdminKeyAdmin, AuditLog) once with
/// the given clients against `target` (a credential) and `key_id` (an admin
/// key); returns each RPC's name and status code.
async fn call_every_rpc(
    admin: &mut Admin,
    keys: &mut AdminKeys,
    audit: &mut Audit,
    target: &pb::Credential,
    key_id: &str,
) -> Vec<(&'static str, Code)> {
    fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
        r.map_or_else(|s| s.code(), |_| Code::Ok)
    }
    let id = target.id.clone();
    let account = target.account_id.clone();
    vec![
        (
            "CreateCredential",
            code(
                admin
                    .create_credential(support::api_key(&account, "intruder"))
                    .await,
            ),
        ),
        (
            "GetCredential",
            code(
                admin
                    .get_credential(pb::GetCredentialRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "ListCredentials",
            code(
                admin
                    .list_credentials(pb::ListCredentialsRequest {
                        account_id: account.clone(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "UpdateCredential",
            code(
                admin
                    .update_credential(pb::UpdateCredentialRequest {
                        id: id.clone(),
                        name: Some("renamed".to_string()),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "RotateCredential",
            code(
                admin
                    .rotate_credential(pb::RotateCredentialRequest {
                        id: id.clone(),
                        window: None,
                    })
                    .await,
            ),
        ),
        (
            "CompleteRotation",
            code(
                admin
                    .complete_rotation(pb::CompleteRotationRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "DisableCredential",
            code(
                admin
                    .disable_credential(pb::DisableCredentialRequest {
                        id: id.clone(),
                        reason: "x".to_string(),
                    })
                    .await,
            ),
        ),
        (
            "ReactivateCredential",
            code(
                admin
                    .reactivate_credential(pb::ReactivateCredentialRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "RevokeCredential",
            code(
                admin
                    .revoke_credential(pb::RevokeCredentialRequest {
                        id: id.clone(),
                        reason: "x".to_string(),
                    })
                    .await,
            ),
        ),
        (
            "DeleteCredential",
            code(
                admin
                    .delete_credential(pb::DeleteCredentialRequest { id: id.clone() })
                    .await,
            ),
        ),
        (
            "GetUsage",
            code(
                admin
                    .get_usage(pb::GetUsageRequest {
                        credential_id: id.clone(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "UpdateCredits",
            code(
                admin
                    .update_credits(pb::UpdateCreditsRequest {
                        id: id.clone(),
                        change: Some(pb::update_credits_request::Change::Set(5)),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
        (
            "CreateAdminKey",
            code(
                keys.create_admin_key(pb::CreateAdminKeyRequest {
                    name: "sneaky".to_string(),
                    scopes: vec!["admin:manage".to_string()],
                    ..Default::default()
                })
                .await,
            ),
        ),
        (
            "GetAdminKey",
            code(
                keys.get_admin_key(pb::GetAdminKeyRequest {
                    id: key_id.to_string(),
                })
                .await,
            ),
        ),
        (
            "ListAdminKeys",
            code(
                keys.list_admin_keys(pb::ListAdminKeysRequest::default())
                    .await,
            ),
        ),
        (
            "RevokeAdminKey",
            code(
                keys.revoke_admin_key(pb::RevokeAdminKeyRequest {
                    id: key_id.to_string(),
                    reason: "x".to_string(),
                })
                .await,
            ),
        ),
        (
            "ListAuditEvents",
            code(
                audit
                    .list_audit_events(pb::ListAuditEventsRequest {
                        account_id: account.clone(),
                        ..Default::default()
                    })
                    .await,
            ),
        ),
    ]
}

/// Everything an outsider could have changed, read with the bootstrap key
/// (admin keys without their last use: reading the snapshot uses one).
async fn snapshot(daemon: &Daemon) -> (Vec<pb::Credential>, Vec<pb::Credential>) {
    let mut admin = daemon.admin().await;
    let credentials = admin
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .credentials
        .into_iter()
        .map(support::steady)
        .collect();
    let mut keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let admin_keys = keys
        .list_admin_keys(pb::ListAdminKeysRequest::default())
        .await
        .expect("list admin keys")
        .into_inner()
        .admin_keys
        .into_iter()
        .map(|k| pb::Credential {
            last_used_at: None,
            ..support::steady(k)
        })
        .collect();
    (credentials, admin_keys)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_rpc_refuses_callers_without_the_right_key() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let root = daemon.admin_key();
    let mut admin = daemon.admin().await;
    let mut keys = daemon.admin_keys_as(Some(&root)).await;
    let (acme_cred, _) = support::create(&mut admin, support::api_key("acme", "acme key")).await;
    let (globex_cred, _) =
        support::create(&mut admin, support::api_key("globex", "globex key")).await;
    let (revoked_id, revoked) =
        admin_key(&mut keys, "", &["credentials:read", "credentials:write"]).await;
    keys.revoke_admin_key(pb::RevokeAdminKeyRequest {
        id: revoked_id.clone(),
        reason: "rotated out".to_string(),
    })
    .await
    .expect("revoke admin key");
    let (_, nothing) = admin_key(&mut keys, "", &["verify"]).await;
    let (_, acme_only) = admin_key(
        &mut keys,
        "acme",
        &["credentials:read", "credentials:write", "audit:read"],
    )
    .await;
    let (victim_id, _) = admin_key(&mut keys, "", &["credentials:read"]).await;
    let before = snapshot(&daemon).await;

    let unknown = support::flip_char(&root);
    let well_formed_unknown = {
        // Same shape and a valid checksum would need credd's own code; a
        // key of another daemon is the realistic "wrong key".
        let other_dir = support::temp_dir();
        let other = support::start(other_dir.path(), CONFIG);
        other.admin_key()
    };
    let cases: Vec<(&str, Option<String>, Code)> = vec![
        ("no key", None, Code::Unauthenticated),
        ("a mistyped key", Some(unknown), Code::Unauthenticated),
        (
            "another daemon's key",
            Some(well_formed_unknown),
            Code::Unauthenticated,
        ),
        (
            "not a key at all",
            Some("hunter2".to_string()),
            Code::Unauthenticated,
        ),
        ("a revoked key", Some(revoked), Code::Unauthenticated),
        (
            "a key without the scopes",
            Some(nothing),
            Code::PermissionDenied,
        ),
    ];
    for (what, key, expected) in cases {
        let key = key.as_deref();
        let mut admin = daemon.admin_as(key).await;
        let mut keys = daemon.admin_keys_as(key).await;
        let mut audit = daemon.audit_as(key).await;
        for (rpc, code) in
            call_every_rpc(&mut admin, &mut keys, &mut audit, &globex_cred, &victim_id).await
        {
            assert_eq!(code, expected, "{rpc} with {what}");
        }
    }
    // The account-scoped key on another account's credential: denied for
    // every RPC (the admin-key RPCs need a global key).
    let key = Some(acme_only.as_str());
    let results = call_every_rpc(
        &mut daemon.admin_as(key).await,
        &mut daemon.admin_keys_as(key).await,
        &mut daemon.audit_as(key).await,
        &globex_cred,
        &victim_id,
    )
    .await;
    for (rpc, code) in results {
        assert_eq!(
            code,
            Code::PermissionDenied,
            "{rpc} with acme's key on globex"
        );
    }
    // A malformed header is refused the same way.
    let mut raw = pb::credential_admin_client::CredentialAdminClient::with_interceptor(
        daemon.channel().await,
        support::Bearer::raw(&format!("Basic {root}")),
    );
    support::expect_code(
        raw.get_credential(pb::GetCredentialRequest {
            id: acme_cred.id.clone(),
        })
        .await,
        Code::Unauthenticated,
        "Basic instead of Bearer",
    );

    assert_eq!(
        snapshot(&daemon).await,
        before,
        "a refused call changed something"
    );
}
