//! Users, user passcodes and login sessions against the real binary, with
//! argon2 cost lowered and session limits in seconds: CleverTap's user
//! passcodes (grant, reset, revoke; finite and infinite validity),
//! KlickTipp's login (logout, idle timeout, absolute lifetime, restart), the
//! same answer for a wrong password and an unknown user, and the throttle.

use std::time::Duration;

use credd::api::pb;
use credd::api::pb::session_auth_client::SessionAuthClient;
use credd::api::pb::user_admin_client::UserAdminClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::support::{self, Authed, Bearer, Daemon};

const CONFIG: &str = r#"
[users]
argon2_memory_kib = 64
argon2_iterations = 1

[sessions]
idle_timeout = "2s"
lifetime = "5s"
login_free_attempts = 3
login_backoff = "2s"
"#;

const PASSWORD: &str = "correct horse battery staple";

async fn users(daemon: &Daemon) -> UserAdminClient<Authed> {
    UserAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    )
}

async fn sessions(daemon: &Daemon) -> SessionAuthClient<Channel> {
    SessionAuthClient::new(daemon.channel().await)
}

async fn create_user(users: &mut UserAdminClient<Authed>, account: &str, name: &str) -> pb::User {
    users
        .create_user(pb::CreateUserRequest {
            account_id: account.to_string(),
            username: name.to_string(),
            role: pb::UserRole::ApiUser.into(),
            email: format!("{name}@{account}.example"),
            password: PASSWORD.to_string(),
        })
        .await
        .expect("create user")
        .into_inner()
        .user
        .expect("user")
}

fn passcode_request(
    account: &str,
    name: &str,
    days: u32,
    infinite: bool,
) -> pb::UserPasscodeRequest {
    pb::UserPasscodeRequest {
        account_id: account.to_string(),
        username: name.to_string(),
        validity_days: days,
        infinite,
    }
}

fn login(account: &str, name: &str, password: &str, ip: &str) -> pb::LoginRequest {
    pb::LoginRequest {
        account_id: account.to_string(),
        username: name.to_string(),
        password: password.to_string(),
        client_ip: ip.to_string(),
    }
}

fn days_from_now(t: Option<prost_types::Timestamp>) -> i64 {
    (t.expect("timestamp").seconds - support::unix_now()) / 86_400
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_passcodes_are_granted_reset_and_revoked() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let mut users = users(&daemon).await;
    let mut verifier = daemon.verifier().await;
    let user = create_user(&mut users, "acme", "api-bot").await;
    assert_eq!(user.login_name, "acme-api-bot");
    assert!(user.has_password);
    let mut secrets = Vec::new();

    let granted = users
        .grant_user_passcode(passcode_request("acme", "api-bot", 30, false))
        .await
        .expect("grant")
        .into_inner();
    secrets.push(granted.secret.clone());
    let passcode = granted.passcode.expect("passcode");
    assert_eq!(passcode.kind, pb::Kind::Passcode as i32);
    assert_eq!(granted.user.expect("user").passcode_id, passcode.id);
    assert!((29..=30).contains(&days_from_now(passcode.expires_at)));
    let verdict = support::verify(&mut verifier, &granted.secret, "acme", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);
    assert_eq!(verdict.username, "api-bot");
    assert_eq!(verdict.user_role, pb::UserRole::ApiUser as i32);
    assert_eq!(
        support::verify(&mut verifier, &granted.secret, "globex", &[])
            .await
            .result,
        pb::VerifyResult::AccountMismatch as i32
    );
    support::expect_code(
        users
            .grant_user_passcode(passcode_request("acme", "api-bot", 30, false))
            .await,
        Code::FailedPrecondition,
        "a second grant",
    );
    for bad in [0, 366] {
        create_user(&mut users, "acme", &format!("bad-{bad}")).await;
        support::expect_code(
            users
                .grant_user_passcode(passcode_request("acme", &format!("bad-{bad}"), bad, false))
                .await,
            Code::InvalidArgument,
            &format!("validity of {bad} days"),
        );
    }

    // Reset: the new one works, the old one stops at once.
    let reset = users
        .reset_user_passcode(passcode_request("acme", "api-bot", 0, true))
        .await
        .expect("reset")
        .into_inner();
    secrets.push(reset.secret.clone());
    assert!((3649..=3650).contains(&days_from_now(reset.passcode.expect("p").expires_at)));
    assert_eq!(
        support::verify(&mut verifier, &granted.secret, "acme", &[])
            .await
            .result,
        pb::VerifyResult::Revoked as i32
    );
    assert_eq!(
        support::verify(&mut verifier, &reset.secret, "acme", &[])
            .await
            .result,
        pb::VerifyResult::Valid as i32
    );

    // A disabled user's passcode is DISABLED; enabled again, VALID.
    let disable = pb::SetUserStatusRequest {
        account_id: "acme".to_string(),
        username: "api-bot".to_string(),
    };
    users.disable_user(disable.clone()).await.expect("disable");
    let verdict = support::verify(&mut verifier, &reset.secret, "acme", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Disabled as i32);
    assert_eq!(
        verdict.disabled_reason,
        pb::DisabledReason::UserDisabled as i32
    );
    users.enable_user(disable).await.expect("enable");
    assert_eq!(
        support::verify(&mut verifier, &reset.secret, "acme", &[])
            .await
            .result,
        pb::VerifyResult::Valid as i32
    );

    // Revoke kills it.
    let revoked = users
        .revoke_user_passcode(pb::RevokeUserPasscodeRequest {
            account_id: "acme".to_string(),
            username: "api-bot".to_string(),
        })
        .await
        .expect("revoke")
        .into_inner();
    assert!(revoked.user.expect("user").passcode_id.is_empty());
    assert_eq!(
        support::verify(&mut verifier, &reset.secret, "acme", &[])
            .await
            .result,
        pb::VerifyResult::Revoked as i32
    );

    // Deleting a user revokes its passcode.
    let again = users
        .grant_user_passcode(passcode_request("acme", "api-bot", 7, false))
        .await
        .expect("grant again")
        .into_inner();
    secrets.push(again.secret.clone());
    users
        .delete_user(pb::DeleteUserRequest {
            account_id: "acme".to_string(),
            username: "api-bot".to_string(),
        })
        .await
        .expect("delete");
    let verdict = support::verify(&mut verifier, &again.secret, "acme", &[]).await;
    assert_eq!(
        verdict.result,
        pb::VerifyResult::Revoked as i32,
        "a deleted user's passcode is revoked, not unknown"
    );
    support::expect_code(
        users
            .get_user(pb::GetUserRequest {
                account_id: "acme".to_string(),
                username: "api-bot".to_string(),
            })
            .await,
        Code::NotFound,
        "a deleted user",
    );
    secrets.push(PASSWORD.to_string());
    support::assert_no_secret_in_files(dir.path(), &secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_log_in_out_idle_out_and_end() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), CONFIG);
    let mut users = users(&daemon).await;
    create_user(&mut users, "shop", "api").await;
    let mut auth = sessions(&daemon).await;
    let mut verifier = daemon.verifier().await;
    let mut tokens = Vec::new();

    let session = auth
        .login(login("shop", "api", PASSWORD, ""))
        .await
        .expect("login")
        .into_inner();
    tokens.push(session.session_token.clone());
    assert!(session.session_token.contains("_sess_"));
    let verdict = support::verify(&mut verifier, &session.session_token, "", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);
    assert_eq!(verdict.kind, pb::Kind::Session as i32);
    assert_eq!(verdict.account_id, "shop");
    assert_eq!(verdict.username, "api");
    assert_eq!(verdict.credential_id, session.session_id);
    let ended = auth
        .logout(pb::LogoutRequest {
            session_token: session.session_token.clone(),
        })
        .await
        .expect("logout")
        .into_inner();
    assert!(ended.ended);
    assert_eq!(
        support::verify(&mut verifier, &session.session_token, "", &[])
            .await
            .result,
        pb::VerifyResult::NotFound as i32,
        "a logged-out session"
    );

    // Idle timeout (2 s).
    let idle = auth
        .login(login("shop", "api", PASSWORD, ""))
        .await
        .expect("login")
        .into_inner();
    tokens.push(idle.session_token.clone());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        support::verify(&mut verifier, &idle.session_token, "", &[])
            .await
            .result,
        pb::VerifyResult::Expired as i32,
        "an idle session"
    );

    // Used every second, it still ends at its lifetime (5 s), and it
    // survives a kill -9 on the way. The clock starts before the login, so
    // the lifetime cannot have begun before it.
    let started = std::time::Instant::now();
    let busy = auth
        .login(login("shop", "api", PASSWORD, ""))
        .await
        .expect("login")
        .into_inner();
    tokens.push(busy.session_token.clone());
    daemon.kill9();
    daemon.restart();
    let mut verifier = daemon.verifier().await;
    let mut last_valid = Duration::ZERO;
    loop {
        let verdict = support::verify(&mut verifier, &busy.session_token, "", &[]).await;
        if verdict.result == pb::VerifyResult::Valid as i32 {
            last_valid = started.elapsed();
        } else {
            assert_eq!(verdict.result, pb::VerifyResult::Expired as i32);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "never ended");
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    assert!(
        last_valid >= Duration::from_secs(3) && started.elapsed() >= Duration::from_secs(5),
        "valid until {last_valid:?}, ended by {:?}",
        started.elapsed()
    );
    tokens.push(PASSWORD.to_string());
    support::assert_no_secret_in_files(dir.path(), &tokens);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_look_alike_and_are_throttled() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let mut users = users(&daemon).await;
    create_user(&mut users, "shop", "api").await;
    create_user(&mut users, "shop", "other").await;
    let mut auth = sessions(&daemon).await;

    let wrong = support::expect_code(
        auth.login(login("shop", "api", "not the password", "10.0.0.1"))
            .await,
        Code::Unauthenticated,
        "a wrong password",
    );
    let unknown = support::expect_code(
        auth.login(login("shop", "nobody", PASSWORD, "10.0.0.1"))
            .await,
        Code::Unauthenticated,
        "an unknown user",
    );
    let no_account = support::expect_code(
        auth.login(login("no-such-shop", "api", PASSWORD, "10.0.0.1"))
            .await,
        Code::Unauthenticated,
        "an unknown account",
    );
    assert_eq!(wrong.message(), unknown.message());
    assert_eq!(wrong.message(), no_account.message());

    // Three free failures for the user "api" (one above), then delays.
    support::expect_code(
        auth.login(login("shop", "api", "still wrong", "10.0.0.9"))
            .await,
        Code::Unauthenticated,
        "the second failure",
    );
    support::expect_code(
        auth.login(login("shop", "api", "wrong again", "10.0.0.9"))
            .await,
        Code::Unauthenticated,
        "the third failure, which starts the delay",
    );
    let throttled = support::expect_code(
        auth.login(login("shop", "api", PASSWORD, "10.0.0.9")).await,
        Code::ResourceExhausted,
        "even the right password while throttled",
    );
    let first_wait = throttled
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("retry info");
    assert!(first_wait <= Duration::from_secs(2), "{first_wait:?}");
    // Another user from another address is not affected.
    auth.login(login("shop", "other", PASSWORD, "10.0.0.2"))
        .await
        .expect("another user logs in");
    // After the wait, one more failure doubles the delay.
    tokio::time::sleep(first_wait + Duration::from_millis(100)).await;
    support::expect_code(
        auth.login(login("shop", "api", "wrong once more", "10.0.0.9"))
            .await,
        Code::Unauthenticated,
        "a failure after the wait",
    );
    let longer = support::expect_code(
        auth.login(login("shop", "api", PASSWORD, "10.0.0.9")).await,
        Code::ResourceExhausted,
        "the next attempt",
    )
    .get_details_retry_info()
    .and_then(|r| r.retry_delay)
    .expect("retry info");
    assert!(
        longer > Duration::from_secs(2),
        "{longer:?} should exceed the first delay"
    );
    assert!(!daemon.logs().contains(PASSWORD), "a password was logged");
}
