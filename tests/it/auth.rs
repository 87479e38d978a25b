//! Admin-plane security against the real binary: every admin RPC without a
//! key, with a wrong, malformed or revoked key, with a key lacking the scope
//! and with a key confined to another account; the bootstrap key file; the
//! verifier's token mode; and the per-peer throttle on failed attempts.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use credd::api::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{self, Admin, AdminKeys, Audit, Daemon};

/// A generous throttle, so the refusal tests below are not cut short by it.
const CONFIG: &str = r#"
[auth]
failed_auth_burst = 100000
"#;

async fn admin_key(keys: &mut AdminKeys, account: &str, scopes: &[&str]) -> (String, String) {
    let response = keys
        .create_admin_key(pb::CreateAdminKeyRequest {
            account_id: account.to_string(),
            name: format!("key for {}", scopes.join(" ")),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
        .expect("create admin key")
        .into_inner();
    let key = response.admin_key.expect("admin key");
    assert_eq!(key.kind, pb::Kind::AdminKey as i32);
    assert!(response.secret.contains("_admin_"), "admin key format");
    (key.id, response.secret)
}

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
        .credentials;
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
            ..k
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_say_what_is_missing() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let mut keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let (reader_id, reader) = admin_key(&mut keys, "", &["credentials:read"]).await;
    let mut admin = daemon.admin_as(Some(&reader)).await;
    let status = support::expect_code(
        admin
            .create_credential(support::api_key("acme", "nope"))
            .await,
        Code::PermissionDenied,
        "create with a read-only key",
    );
    assert!(
        status.message().contains("credentials:write") && status.message().contains(&reader_id),
        "{}",
        status.message()
    );
    let status = support::expect_code(
        daemon
            .admin_as(None)
            .await
            .list_credentials(pb::ListCredentialsRequest::default())
            .await,
        Code::Unauthenticated,
        "no key",
    );
    assert!(status.message().contains("Bearer"), "{}", status.message());
    // Scopes of a new key are checked.
    let bad = keys
        .create_admin_key(pb::CreateAdminKeyRequest {
            name: "bad".to_string(),
            scopes: vec!["credentials:everything".to_string()],
            ..Default::default()
        })
        .await;
    let status = support::expect_code(bad, Code::InvalidArgument, "unknown scope");
    assert!(status.message().contains("credentials:everything"));
    let bad = keys
        .create_admin_key(pb::CreateAdminKeyRequest {
            account_id: "acme".to_string(),
            name: "bad".to_string(),
            scopes: vec!["admin:manage".to_string()],
            ..Default::default()
        })
        .await;
    support::expect_code(bad, Code::InvalidArgument, "admin:manage on an account key");
    // Admin keys are not credentials: Verify does not accept them, and
    // CreateCredential does not issue them.
    let verdict = support::verify(&mut daemon.verifier().await, &reader, "", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::NotFound as i32);
    let mut request = support::api_key("acme", "sneaky");
    request.kind = pb::Kind::AdminKey.into();
    support::expect_code(
        daemon.admin().await.create_credential(request).await,
        Code::InvalidArgument,
        "CreateCredential of an admin key",
    );
}

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
            "verify"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_verifier_needs_the_verify_scope() {
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        "[auth]\nverifier = \"token\"\nfailed_auth_burst = 100000\n",
    );
    let mut admin = daemon.admin().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acme", "k")).await;
    let mut keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let (_, verify_key) = admin_key(&mut keys, "", &["verify"]).await;
    let (_, read_key) = admin_key(&mut keys, "", &["credentials:read"]).await;
    let request = || support::verify_req(&secret, "", &[]);

    let mut open = daemon.verifier().await;
    support::expect_code(
        open.verify(request()).await,
        Code::Unauthenticated,
        "no key",
    );
    let verifier = |key: String| {
        let channel = daemon.channel();
        async move {
            pb::credential_verifier_client::CredentialVerifierClient::with_interceptor(
                channel.await,
                support::Bearer::new(Some(&key)),
            )
        }
    };
    support::expect_code(
        verifier(read_key).await.verify(request()).await,
        Code::PermissionDenied,
        "a key without verify",
    );
    let answer = verifier(verify_key)
        .await
        .verify(request())
        .await
        .expect("verify with a verify key")
        .into_inner();
    assert_eq!(answer.result, pb::VerifyResult::Valid as i32);
}

#[test]
fn an_open_verifier_on_a_network_address_is_refused() {
    let dir = support::temp_dir();
    let config = dir.path().join("credd.toml");
    std::fs::write(
        &config,
        "listen = \"0.0.0.0:0\"\n[auth]\nverifier = \"open\"\n",
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_credd"))
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run credd");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("auth.verifier") && stderr.contains("allow_open_verifier_on_network"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_are_throttled_per_peer() {
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        "[auth]\nfailed_auth_burst = 3\nfailed_auth_refill = \"60s\"\n",
    );
    let root = daemon.admin_key();
    let wrong = support::flip_char(&root);
    let list = || pb::ListCredentialsRequest::default();
    let mut guesser = daemon.admin_as(Some(&wrong)).await;
    for n in 1..=3 {
        support::expect_code(
            guesser.list_credentials(list()).await,
            Code::Unauthenticated,
            &format!("wrong key #{n}"),
        );
    }
    let status = support::expect_code(
        guesser.list_credentials(list()).await,
        Code::ResourceExhausted,
        "the fourth wrong key",
    );
    assert!(
        status.message().contains("retry in"),
        "{}",
        status.message()
    );
    let retry = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo in the status details");
    assert!(retry > Duration::from_secs(30), "{retry:?}");
    // Blocked means blocked: even the right key waits.
    support::expect_code(
        daemon.admin().await.list_credentials(list()).await,
        Code::ResourceExhausted,
        "the right key from the throttled peer",
    );
    // Another peer (127.0.0.2 is loopback too) is not slowed at all.
    let other_peer = tonic::transport::Channel::from_shared(daemon.url())
        .unwrap()
        .local_address(Some("127.0.0.2".parse().unwrap()))
        .connect()
        .await
        .expect("connect from 127.0.0.2");
    support::admin_on(other_peer, &root)
        .list_credentials(list())
        .await
        .expect("another peer with the right key");
}

/// The account and user services refuse callers without a key, with a
/// wrong key and with a key lacking their scopes, like the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_and_user_rpcs_refuse_callers_without_the_right_key() {
    use credd::api::pb::account_admin_client::AccountAdminClient;
    use credd::api::pb::user_admin_client::UserAdminClient;
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        "[auth]\nfailed_auth_burst = 100000\n[users]\nargon2_memory_kib = 64\nargon2_iterations = 1\n",
    );
    let root = daemon.admin_key();
    let mut keys = daemon.admin_keys_as(Some(&root)).await;
    let (_, reader) = admin_key(&mut keys, "", &["credentials:read"]).await;
    let mut accounts = AccountAdminClient::with_interceptor(
        daemon.channel().await,
        support::Bearer::new(Some(&root)),
    );
    accounts
        .create_account(pb::CreateAccountRequest {
            id: "acme".to_string(),
            ..Default::default()
        })
        .await
        .expect("create account");
    let mut users = UserAdminClient::with_interceptor(
        daemon.channel().await,
        support::Bearer::new(Some(&root)),
    );
    users
        .create_user(pb::CreateUserRequest {
            account_id: "acme".to_string(),
            username: "api".to_string(),
            role: pb::UserRole::ApiUser.into(),
            ..Default::default()
        })
        .await
        .expect("create user");
    let wrong = support::flip_char(&root);
    for (what, key, expected) in [
        ("no key", None, Code::Unauthenticated),
        ("a wrong key", Some(wrong.as_str()), Code::Unauthenticated),
        (
            "a key without the scopes",
            Some(reader.as_str()),
            Code::PermissionDenied,
        ),
    ] {
        let bearer = support::Bearer::new(key);
        let mut accounts =
            AccountAdminClient::with_interceptor(daemon.channel().await, bearer.clone());
        let mut users = UserAdminClient::with_interceptor(daemon.channel().await, bearer);
        let id = || "acme".to_string();
        let user = || pb::SetUserStatusRequest {
            account_id: id(),
            username: "api".to_string(),
        };
        let passcode = || pb::UserPasscodeRequest {
            account_id: id(),
            username: "api".to_string(),
            validity_days: 30,
            infinite: false,
        };
        fn code<T>(r: Result<tonic::Response<T>, tonic::Status>) -> Code {
            r.map_or_else(|s| s.code(), |_| Code::Ok)
        }
        let results = [
            (
                "CreateAccount",
                code(
                    accounts
                        .create_account(pb::CreateAccountRequest {
                            id: "other".to_string(),
                            ..Default::default()
                        })
                        .await,
                ),
            ),
            (
                "GetAccount",
                code(
                    accounts
                        .get_account(pb::GetAccountRequest { id: id() })
                        .await,
                ),
            ),
            (
                "ListAccounts",
                code(
                    accounts
                        .list_accounts(pb::ListAccountsRequest::default())
                        .await,
                ),
            ),
            (
                "UpdateAccount",
                code(
                    accounts
                        .update_account(pb::UpdateAccountRequest {
                            id: id(),
                            display_name: Some("x".to_string()),
                            ..Default::default()
                        })
                        .await,
                ),
            ),
            (
                "SuspendAccount",
                code(
                    accounts
                        .suspend_account(pb::SuspendAccountRequest {
                            id: id(),
                            reason: String::new(),
                        })
                        .await,
                ),
            ),
            (
                "ResumeAccount",
                code(
                    accounts
                        .resume_account(pb::ResumeAccountRequest { id: id() })
                        .await,
                ),
            ),
            (
                "CreateUser",
                code(
                    users
                        .create_user(pb::CreateUserRequest {
                            account_id: id(),
                            username: "x".to_string(),
                            role: pb::UserRole::Member.into(),
                            ..Default::default()
                        })
                        .await,
                ),
            ),
            (
                "GetUser",
                code(
                    users
                        .get_user(pb::GetUserRequest {
                            account_id: id(),
                            username: "api".to_string(),
                        })
                        .await,
                ),
            ),
            (
                "ListUsers",
                code(
                    users
                        .list_users(pb::ListUsersRequest {
                            account_id: id(),
                            ..Default::default()
                        })
                        .await,
                ),
            ),
            (
                "UpdateUser",
                code(
                    users
                        .update_user(pb::UpdateUserRequest {
                            account_id: id(),
                            username: "api".to_string(),
                            email: Some("a@b.example".to_string()),
                            ..Default::default()
                        })
                        .await,
                ),
            ),
            ("DisableUser", code(users.disable_user(user()).await)),
            ("EnableUser", code(users.enable_user(user()).await)),
            (
                "DeleteUser",
                code(
                    users
                        .delete_user(pb::DeleteUserRequest {
                            account_id: id(),
                            username: "api".to_string(),
                        })
                        .await,
                ),
            ),
            (
                "GrantUserPasscode",
                code(users.grant_user_passcode(passcode()).await),
            ),
            (
                "ResetUserPasscode",
                code(users.reset_user_passcode(passcode()).await),
            ),
            (
                "RevokeUserPasscode",
                code(
                    users
                        .revoke_user_passcode(pb::RevokeUserPasscodeRequest {
                            account_id: id(),
                            username: "api".to_string(),
                        })
                        .await,
                ),
            ),
        ];
        for (rpc, got) in results {
            assert_eq!(got, expected, "{rpc} with {what}");
        }
    }
    // Nothing changed.
    let account = accounts
        .get_account(pb::GetAccountRequest {
            id: "acme".to_string(),
        })
        .await
        .expect("get account")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(account.status, pb::AccountStatus::Active as i32);
    assert!(account.display_name.is_empty());
    let user = users
        .get_user(pb::GetUserRequest {
            account_id: "acme".to_string(),
            username: "api".to_string(),
        })
        .await
        .expect("the user is still there")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(user.status, pb::UserStatus::Active as i32);
    assert!(user.passcode_id.is_empty() && user.email.is_empty());
}
