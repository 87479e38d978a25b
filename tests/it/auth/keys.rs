//! Admin keys in use: an account key managing its own account, revocation
//! taking effect on the next call, and the bootstrap key file.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_key_manages_its_own_account() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let mut root_admin = daemon.admin().await;
    let (globex_cred, _) =
        support::create(&mut root_admin, support::api_key("globex", "theirs")).await;
    let mut keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let (key_id, acme_key) = admin_key(
        &mut keys,
        "acme",
        &["credentials:read", "credentials:write"],
    )
    .await;
    let listed = keys
        .list_admin_keys(pb::ListAdminKeysRequest {
            account_id: "acme".to_string(),
            ..Default::default()
        })
        .await
        .expect("list acme's management keys")
        .into_inner()
        .admin_keys;
    assert_eq!(
        listed.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        [key_id.as_str()]
    );

    let mut acme = daemon.admin_as(Some(&acme_key)).await;
    let (own, secret) = support::create(&mut acme, support::api_key("acme", "ours")).await;
    let verdict = support::verify(&mut daemon.verifier().await, &secret, "", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);
    // Listing without an account lists its own.
    let page = acme
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("list own")
        .into_inner();
    assert_eq!(
        page.credentials
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        [own.id.as_str()]
    );
    acme.rotate_credential(pb::RotateCredentialRequest {
        id: own.id.clone(),
        window: None,
    })
    .await
    .expect("rotate own");
    acme.revoke_credential(pb::RevokeCredentialRequest {
        id: own.id.clone(),
        reason: "done".to_string(),
    })
    .await
    .expect("revoke own");

    let status = support::expect_code(
        acme.create_credential(support::api_key("globex", "theirs too"))
            .await,
        Code::PermissionDenied,
        "create for another account",
    );
    assert!(status.message().contains("globex"), "{}", status.message());
    support::expect_code(
        acme.list_credentials(pb::ListCredentialsRequest {
            account_id: "globex".to_string(),
            ..Default::default()
        })
        .await,
        Code::PermissionDenied,
        "list another account",
    );
    support::expect_code(
        acme.revoke_credential(pb::RevokeCredentialRequest {
            id: globex_cred.id.clone(),
            reason: String::new(),
        })
        .await,
        Code::PermissionDenied,
        "revoke another account's credential",
    );
    assert_eq!(
        support::get(&mut root_admin, &globex_cred.id).await.status,
        pb::Status::Active as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_admin_key_takes_effect_on_the_next_call() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let mut keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let (id, key) = admin_key(&mut keys, "", &["credentials:read"]).await;
    let mut admin = daemon.admin_as(Some(&key)).await;
    admin
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("works before revocation");
    let revoked = keys
        .revoke_admin_key(pb::RevokeAdminKeyRequest {
            id,
            reason: "leaked".to_string(),
        })
        .await
        .expect("revoke")
        .into_inner()
        .admin_key
        .expect("admin key");
    assert_eq!(revoked.status, pb::Status::Revoked as i32);
    support::expect_code(
        admin
            .list_credentials(pb::ListCredentialsRequest::default())
            .await,
        Code::Unauthenticated,
        "the same connection right after revocation",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_key_is_written_once_with_mode_0600() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let path = daemon.data_dir.join("admin.key");
    let mode = std::fs::metadata(&path)
        .expect("key file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "admin.key mode {mode:o}");
    let key = daemon.admin_key();
    assert!(key.starts_with("credd_live_admin_"), "format of the key");
    let modified = std::fs::metadata(&path).expect("key file").modified().ok();
    // The key is logged by path, never by value.
    assert!(daemon.logs().contains("admin.key"));
    assert!(!daemon.logs().contains(&key), "the admin key was logged");
    // It holds every scope.
    let mut keys = daemon.admin_keys_as(Some(&key)).await;
    let listed = keys
        .list_admin_keys(pb::ListAdminKeysRequest::default())
        .await
        .expect("list")
        .into_inner()
        .admin_keys;
    assert_eq!(listed.len(), 1);
    let mut scopes = listed[0].scopes.clone();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "accounts:read",
            "accounts:write",
            "admin:manage",
            "audit:read",
            "credentials:read",
            "credentials:write",
            "partners:read",
            "partners:write",
            "verify",
            "webhooks:read",
            "webhooks:write"
        ]
    );

    daemon.terminate(Duration::from_secs(20));
    daemon.restart();
    daemon.kill9();
    daemon.restart();
    assert_eq!(daemon.admin_key(), key, "the key file was rewritten");
    assert_eq!(
        std::fs::metadata(&path).expect("key file").modified().ok(),
        modified
    );
    daemon
        .admin()
        .await
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("the bootstrap key still works after restarts");
}
