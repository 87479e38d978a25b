//! Scope and rate-limit refusals of VerifyHttpAuthorization, each with its
//! HTTP status.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_and_rate_limit_refusals_carry_their_http_status() {
    const CT_ACCOUNT: &str = "W9R-486-4W5Z";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    create_limited_account(&daemon, "bursty", 2).await;
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let (_, bursty_key) = support::create(&mut admin, support::api_key("bursty", "k")).await;
    let (_, client_key) = support::create(&mut admin, support::api_key(LAGERMAN, "k")).await;
    let (_, product_key) = support::create(&mut admin, support::api_key(MYPRODUCT, "k")).await;
    let (_, passcode) = support::create(&mut admin, support::passcode(CT_ACCOUNT, "p")).await;
    register_partner(&mut partners, MYPRODUCT, &[]).await;
    create_grant(&mut partners, MYPRODUCT, LAGERMAN, &["orders:read"]).await;
    let mut http = Http::new(&daemon).await;
    http.secrets = vec![
        bursty_key.clone(),
        client_key.clone(),
        product_key.clone(),
        passcode.clone(),
    ];

    // Product level: the grant allows orders:read only, the key holds both.
    let mut request = headers(&basic(MYPRODUCT, &product_key), MYPRODUCT, LAGERMAN);
    request.required_scopes = vec!["orders:read".to_string()];
    assert_allowed(
        &http.ask(request.clone()).await,
        pb::AuthMode::Product,
        "a scope the grant allows",
    );
    request.required_scopes = vec!["orders:write".to_string()];
    assert_refused(
        &http.ask(request).await,
        pb::HttpAuthRefusal::InsufficientScope,
        403,
        "a scope the grant does not allow",
    );
    // CleverTap: a scope the passcode lacks.
    let mut request = clevertap(CT_ACCOUNT, &passcode, "");
    request.required_scopes = vec!["billing:write".to_string()];
    let answer = http.ask(request).await;
    assert_refused(
        &answer,
        pb::HttpAuthRefusal::InsufficientScope,
        403,
        "a scope the passcode lacks",
    );
    assert_eq!(answer.mode(), pb::AuthMode::Clevertap);
    // Malformed required scopes are the one gRPC error.
    let mut request = headers(&basic(LAGERMAN, &client_key), "", "");
    request.required_scopes = vec!["not a scope!".to_string()];
    support::expect_code(
        daemon
            .verifier()
            .await
            .verify_http_authorization(request)
            .await,
        tonic::Code::InvalidArgument,
        "a malformed required scope",
    );

    // A bucket of 2 at 1/s: five requests at once see at least one 429.
    let header = basic("bursty", &bursty_key);
    let mut limited = 0;
    let mut allowed = 0;
    for _ in 0..5 {
        let answer = http.ask(headers(&header, "", "")).await;
        if answer.allowed {
            assert_allowed(&answer, pb::AuthMode::Client, "within the bucket");
            allowed += 1;
        } else {
            assert_refused(
                &answer,
                pb::HttpAuthRefusal::RateLimited,
                429,
                "over the bucket",
            );
            let retry = answer.retry_after.expect("retry_after with 429");
            assert!(
                retry.seconds <= 1 && (retry.seconds > 0 || retry.nanos > 0),
                "{retry:?}"
            );
            limited += 1;
        }
    }
    assert!(
        allowed >= 2 && limited >= 1,
        "{allowed} allowed, {limited} limited"
    );
    support::assert_no_secret_in_files(dir.path(), &http.secrets);
}
