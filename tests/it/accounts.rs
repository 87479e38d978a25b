//! Accounts against the real binary: the quota override, suspension, the
//! per-account rate limit (a burst answered partly RATE_LIMITED while
//! another account is untouched), and the auto-create policy.

use std::time::Duration;

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;
use tonic::Code;

use crate::support::{self, Authed, Bearer, Daemon};

type Accounts = AccountAdminClient<Authed>;

async fn accounts(daemon: &Daemon) -> Accounts {
    AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    )
}

fn new_account(id: &str) -> pb::CreateAccountRequest {
    pb::CreateAccountRequest {
        id: id.to_string(),
        display_name: format!("{id} inc."),
        contact_emails: vec![format!("billing@{id}.example")],
        ..Default::default()
    }
}

/// CleverTap's promise: an account with a quota of 100 holds 100 passcodes,
/// however many account-scoped admin keys manage it; the 101st is refused,
/// and a rotation or a new admin key still works when it is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_keys_do_not_use_up_the_quota() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[policy]\nmax_credentials_per_account = 100\n");
    let mut admin = daemon.admin().await;
    let mut admin_keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let new_admin_key = |n: u32| pb::CreateAdminKeyRequest {
        account_id: "ct".to_string(),
        name: format!("ct self-service {n}"),
        scopes: vec![
            "credentials:read".to_string(),
            "credentials:write".to_string(),
        ],
        ..Default::default()
    };
    support::create(&mut admin, support::passcode("ct", "first")).await;
    for n in 0..2 {
        admin_keys
            .create_admin_key(new_admin_key(n))
            .await
            .expect("an account-scoped admin key");
    }
    let mut last = None;
    for n in 1..100 {
        last = Some(support::create(&mut admin, support::passcode("ct", &format!("p{n}"))).await);
    }
    let status = support::expect_code(
        admin
            .create_credential(support::passcode("ct", "one too many"))
            .await,
        Code::ResourceExhausted,
        "the 101st passcode",
    );
    assert!(status.message().contains("100"), "{}", status.message());
    // Full, the account still gets admin keys and rotates its passcodes.
    admin_keys
        .create_admin_key(new_admin_key(2))
        .await
        .expect("an admin key on a full account");
    let (last, _) = last.expect("created");
    admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: last.id,
            ..Default::default()
        })
        .await
        .expect("rotate on a full account");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_override_and_suspension() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[policy]\nmax_credentials_per_account = 5\n");
    let mut accounts = accounts(&daemon).await;
    let mut admin = daemon.admin().await;
    let mut request = new_account("small");
    request.max_live_credentials = 2;
    let created = accounts
        .create_account(request)
        .await
        .expect("create account")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(created.max_live_credentials, 2);
    assert_eq!(created.status, pb::AccountStatus::Active as i32);
    support::expect_code(
        accounts.create_account(new_account("small")).await,
        Code::AlreadyExists,
        "the same account twice",
    );

    let (first, secret) = support::create(&mut admin, support::api_key("small", "one")).await;
    support::create(&mut admin, support::api_key("small", "two")).await;
    let status = support::expect_code(
        admin
            .create_credential(support::api_key("small", "three"))
            .await,
        Code::ResourceExhausted,
        "a third credential over the override",
    );
    assert!(status.message().contains('2'), "{}", status.message());
    // Another account keeps the policy's five.
    for n in 0..3 {
        support::create(&mut admin, support::api_key("other", &format!("k{n}"))).await;
    }
    // Raising the override makes room at once.
    accounts
        .update_account(pb::UpdateAccountRequest {
            id: "small".to_string(),
            max_live_credentials: Some(3),
            ..Default::default()
        })
        .await
        .expect("raise quota");
    support::create(&mut admin, support::api_key("small", "three")).await;

    // Suspension: DISABLED with the reason, records untouched; resume.
    let mut verifier = daemon.verifier().await;
    let suspended = accounts
        .suspend_account(pb::SuspendAccountRequest {
            id: "small".to_string(),
            reason: "unpaid invoices".to_string(),
        })
        .await
        .expect("suspend")
        .into_inner()
        .account
        .expect("account");
    assert_eq!(suspended.status, pb::AccountStatus::Suspended as i32);
    let verdict = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Disabled as i32);
    assert_eq!(
        verdict.disabled_reason,
        pb::DisabledReason::AccountSuspended as i32
    );
    assert_eq!(verdict.account_id, "small");
    assert_eq!(
        support::get(&mut admin, &first.id).await.status,
        pb::Status::Active as i32,
        "suspension does not touch the credential"
    );
    accounts
        .resume_account(pb::ResumeAccountRequest {
            id: "small".to_string(),
        })
        .await
        .expect("resume");
    let verdict = support::verify(&mut verifier, &secret, "", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);

    // Every account RPC needs a key.
    let mut anonymous =
        AccountAdminClient::with_interceptor(daemon.channel().await, Bearer::new(None));
    support::expect_code(
        anonymous
            .get_account(pb::GetAccountRequest {
                id: "small".to_string(),
            })
            .await,
        Code::Unauthenticated,
        "GetAccount without a key",
    );
    support::expect_code(
        anonymous
            .suspend_account(pb::SuspendAccountRequest {
                id: "small".to_string(),
                reason: String::new(),
            })
            .await,
        Code::Unauthenticated,
        "SuspendAccount without a key",
    );
    let listed = accounts
        .list_accounts(pb::ListAccountsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .accounts;
    let ids: Vec<&str> = listed.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["other", "small"], "auto-created and created accounts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_on_one_account_is_rate_limited_and_another_is_not() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut accounts = accounts(&daemon).await;
    let mut request = new_account("bursty");
    request.rate_limit = Some(pb::RateLimit {
        requests_per_second: 2,
        burst: 10,
    });
    accounts.create_account(request).await.expect("create");
    let mut admin = daemon.admin().await;
    // Two keys of the limited account share its bucket.
    let (_, key_a) = support::create(&mut admin, support::api_key("bursty", "a")).await;
    let (_, key_b) = support::create(&mut admin, support::api_key("bursty", "b")).await;
    let (_, calm) = support::create(&mut admin, support::api_key("calm", "c")).await;

    // Connect first, then fire all at once.
    let mut verifiers = Vec::new();
    for _ in 0..40 {
        verifiers.push(daemon.verifier().await);
    }
    let started = std::time::Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (n, mut verifier) in verifiers.into_iter().enumerate() {
        let secret = match n % 4 {
            0 | 2 => calm.clone(),
            1 => key_a.clone(),
            _ => key_b.clone(),
        };
        tasks.spawn(async move {
            let verdict = support::verify(&mut verifier, &secret, "", &[]).await;
            (secret, verdict)
        });
    }
    let mut limited = 0;
    let mut bursty_valid = 0;
    while let Some(result) = tasks.join_next().await {
        let (secret, verdict) = result.expect("task");
        if secret == calm {
            assert_eq!(
                verdict.result,
                pb::VerifyResult::Valid as i32,
                "the other account was slowed"
            );
        } else if verdict.result == pb::VerifyResult::RateLimited as i32 {
            limited += 1;
            let retry = verdict.retry_after.expect("retry_after");
            let retry = Duration::new(retry.seconds as u64, retry.nanos as u32);
            assert!(retry <= Duration::from_secs(1), "{retry:?}");
            assert_eq!(verdict.account_id, "bursty");
        } else {
            assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);
            bursty_valid += 1;
        }
    }
    // A bucket of 10 refilling at 2/s: 10 at once, plus what refilled
    // while the burst was being answered.
    let refilled = (started.elapsed().as_secs_f64() * 2.0).ceil() as usize;
    assert!(
        (10..=10 + refilled).contains(&bursty_valid),
        "{bursty_valid} of 20 passed a bucket of 10 (+{refilled} refilled)"
    );
    assert_eq!(limited + bursty_valid, 20);
    // The bucket refills at its rate.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut verifier = daemon.verifier().await;
    let verdict = support::verify(&mut verifier, &key_a, "", &[]).await;
    assert_eq!(verdict.result, pb::VerifyResult::Valid as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_auto_create_an_unknown_account_is_not_found() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[policy]\nauto_create_accounts = false\n");
    let mut admin = daemon.admin().await;
    let status = support::expect_code(
        admin
            .create_credential(support::api_key("ghost", "k"))
            .await,
        Code::NotFound,
        "a credential for an unknown account",
    );
    assert!(
        status.message().contains("account ghost"),
        "{}",
        status.message()
    );
    let mut accounts = accounts(&daemon).await;
    accounts
        .create_account(new_account("ghost"))
        .await
        .expect("create account");
    support::create(&mut admin, support::api_key("ghost", "k")).await;
}
