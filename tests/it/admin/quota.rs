//! The per-account quota over real gRPC: from the config and the built-in
//! default of 100.

use super::*;

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
