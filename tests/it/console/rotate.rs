//! Rotating through the console: the confirm page, the one-time reveal of
//! the new secret (which then verifies over gRPC), and a reload of the
//! revealed page that no longer shows it.

use credd::api::pb;

use crate::support;

/// Rotate → confirm → revealed: `#new-secret` is shown once, verifies as
/// VALID, and a reload shows `#gone` and no secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_reveals_the_new_secret_once() {
    let console = super::start();
    let mut admin = console.daemon.admin().await;
    let mut verifier = console.daemon.verifier().await;
    let (cred, old_secret) =
        support::create(&mut admin, support::api_key("acme", "rotating")).await;
    let Some(browser) = console.browser("rotate").await else {
        return;
    };
    assert_eq!(
        super::sign_in_key(&browser, &console.admin_key()).await,
        "overview"
    );

    let page = format!("/console/credentials/{}", cred.id);
    assert_eq!(browser.goto(&page).await, "credential");
    assert_eq!(
        browser.attr("#action-rotate", "href").await.as_deref(),
        Some(format!("{page}/confirm/rotate").as_str())
    );
    assert_eq!(browser.click("#action-rotate").await, "confirm");
    assert_eq!(browser.path().await, format!("{page}/confirm/rotate"));
    assert_eq!(
        browser.attr("#confirm", "action").await.map(|a| {
            // The DOM property is absolute; the attribute as written.
            a.trim_start_matches(browser.base()).to_string()
        }),
        Some(format!("{page}/rotate"))
    );
    browser.screenshot("confirm").await;

    assert_eq!(browser.click("#confirm-submit").await, "revealed");
    assert_eq!(browser.path().await, format!("{page}/revealed"));
    let secret = browser.text("#new-secret").await;
    assert!(!secret.is_empty(), "#new-secret is empty");
    assert_ne!(secret, old_secret, "the revealed secret is the old one");
    assert_eq!(
        browser.attr("#copy", "data-copy").await.as_deref(),
        Some("new-secret")
    );
    browser.screenshot("revealed").await;

    let answer = support::verify(&mut verifier, &secret, "acme", &["orders:read"]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "the revealed secret over gRPC Verify"
    );
    assert_eq!(answer.credential_id, cred.id);

    // Shown once: a reload has no secret.
    assert_eq!(browser.reload().await, "revealed");
    assert!(
        browser.exists("#gone").await,
        "the reloaded revealed page has no #gone"
    );
    assert!(
        !browser.exists("#new-secret").await,
        "the reloaded revealed page still has #new-secret"
    );
    assert!(
        !browser.source().await.contains(&secret),
        "the reloaded revealed page still holds the secret"
    );
    browser.screenshot("revealed-gone").await;

    // The credential's page, after.
    assert_eq!(browser.goto(&page).await, "credential");
    assert!(
        !browser.source().await.contains(&secret),
        "the credential page holds the new secret"
    );
    browser.close().await;
}
