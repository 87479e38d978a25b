//! The verifier's token mode, the refusal of an open verifier on a network
//! address, and the per-peer throttle on failed attempts.

use super::*;

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
