//! What a refusal says (the missing scope or account), and the account and
//! user services refusing callers without the right key.

use super::*;

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
