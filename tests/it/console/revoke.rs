//! Revoking through the console: the next gRPC Verify refuses the key, and
//! the credential's history names the signed-in admin key as the actor.

use credd::api::pb;

use crate::support;

/// Revoke → confirm (with a reason) → the credential page says REVOKED with
/// a flash; Verify answers REVOKED; `#history` starts with
/// `credential.revoke` by the bootstrap key's id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_through_the_console_is_refused_by_verify() {
    let console = super::start();
    let mut admin = console.daemon.admin().await;
    let mut verifier = console.daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, support::api_key("acme", "doomed")).await;
    assert_eq!(
        support::verify(&mut verifier, &secret, "acme", &[])
            .await
            .result(),
        pb::VerifyResult::Valid
    );
    let key_id = console.admin_key_id().await;
    let Some(browser) = console.browser("revoke").await else {
        return;
    };
    assert_eq!(
        super::sign_in_key(&browser, &console.admin_key()).await,
        "overview"
    );

    let page = format!("/console/credentials/{}", cred.id);
    assert_eq!(browser.goto(&page).await, "credential");
    assert_eq!(browser.click("#action-revoke").await, "confirm");
    assert_eq!(browser.path().await, format!("{page}/confirm/revoke"));
    if browser.exists("#confirm [name=\"reason\"]").await {
        browser
            .fill("#confirm [name=\"reason\"]", "leaked in a test")
            .await;
    }
    assert_eq!(browser.click("#confirm-submit").await, "credential");
    assert_eq!(browser.path().await, page, "after the revocation");
    assert!(browser.exists("#flash").await, "no #flash after revoking");
    assert_eq!(browser.text("#details #status").await, "REVOKED");
    assert!(
        !browser.exists("#action-revoke").await,
        "a revoked credential still offers #action-revoke"
    );

    let answer = support::verify(&mut verifier, &secret, "acme", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked, "Verify after");
    assert_eq!(
        support::get(&mut admin, &cred.id).await.status(),
        pb::Status::Revoked
    );

    // The history, newest first: the revocation, by the signed-in key.
    let rows = browser.find_all("#history tr").await;
    let mut events = Vec::new();
    for row in rows {
        let cells = |css: &'static str| {
            let row = row.clone();
            async move {
                match row.find(fantoccini::Locator::Css(css)).await {
                    Ok(cell) => Some(cell.text().await.expect("cell text").trim().to_string()),
                    Err(_) => None,
                }
            }
        };
        if let (Some(action), Some(actor)) = (cells("td.action").await, cells("td.actor").await) {
            events.push((action, actor));
        }
    }
    assert!(!events.is_empty(), "#history has no events");
    assert_eq!(
        events[0],
        ("credential.revoke".to_string(), key_id.clone()),
        "the newest event of #history (all: {events:?})"
    );
    assert!(
        events
            .iter()
            .any(|(action, _)| action == "credential.create"),
        "#history lacks the creation: {events:?}"
    );
    browser.screenshot("revoked").await;
    browser.close().await;
}
