//! A user session: a user with role ADMIN of one account signs in through
//! `#signin-user` and sees that account only; another account's credential
//! is a 403 page that says so and shows nothing of it.

use credd::api::pb;

use crate::support;

/// alice, ADMIN of acme, opens acme's credential but not globex's (403,
/// `#error`, none of its details); the list holds acme's only. A wrong
/// password is a sign-in page with `#error`; a user of role MEMBER cannot
/// sign in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_admin_sees_only_their_account() {
    let console = super::start();
    console.create_account("acme").await;
    console.create_account("globex").await;
    console
        .create_user("acme", "alice", pb::UserRole::Admin)
        .await;
    console
        .create_user("acme", "bob", pb::UserRole::Member)
        .await;
    let mut admin = console.daemon.admin().await;
    let (own, _) = support::create(&mut admin, support::api_key("acme", "acme-key")).await;
    let (foreign, _) = support::create(&mut admin, support::api_key("globex", "globex-key")).await;
    let Some(browser) = console.browser("tenancy").await else {
        return;
    };

    // A wrong password: the sign-in page again, with an error.
    let page = super::sign_in_user(&browser, "acme", "alice", "not the password").await;
    assert_eq!(page, "signin", "a wrong password");
    assert!(
        browser.exists("#error").await,
        "no #error for a wrong password"
    );
    assert!(browser.cookie("credd_console").await.is_none());
    // A user who is not an ADMIN of the account.
    let page = super::sign_in_user(&browser, "acme", "bob", super::PASSWORD).await;
    assert_ne!(page, "overview", "a MEMBER signed in to the console");
    assert!(browser.exists("#error").await, "no #error for a MEMBER");

    let page = super::sign_in_user(&browser, "acme", "alice", super::PASSWORD).await;
    assert_eq!(page, "overview", "alice (ADMIN of acme) signing in");
    let who = browser.text("#who").await;
    assert!(
        who.contains("alice") && who.contains("acme"),
        "#who is {who:?}"
    );

    // The other account's credential: 403, said on the page.
    let foreign_page = format!("/console/credentials/{}", foreign.id);
    assert_eq!(browser.goto(&foreign_page).await, "error");
    assert_eq!(browser.text("p#status").await, "403");
    let error = browser.text("#error").await;
    assert!(
        error.to_ascii_lowercase().contains("account"),
        "#error does not say the credential is another account's: {error:?}"
    );
    let source = browser.source().await;
    assert!(
        !source.contains("globex-key"),
        "the 403 page shows the foreign credential's name"
    );
    browser.screenshot("forbidden").await;
    let session = browser
        .cookie("credd_console")
        .await
        .expect("session cookie");
    let answer = console.get(&foreign_page, Some(&session)).await;
    let raw_error = super::assert_error_page(&answer, 403, "another account's credential");
    assert!(!raw_error.contains("globex-key"));
    for action in ["rotate", "revoke"] {
        let path = format!("{foreign_page}/confirm/{action}");
        let answer = console.get(&path, Some(&session)).await;
        super::assert_error_page(&answer, 403, &path);
    }

    // Their own account's credential.
    assert_eq!(
        browser
            .goto(&format!("/console/credentials/{}", own.id))
            .await,
        "credential"
    );
    assert_eq!(browser.text("#details #name").await, "acme-key");
    assert_eq!(browser.text("#details #account").await, "acme");

    // The list: acme's only, even when asked for globex.
    assert_eq!(browser.goto("/console/credentials").await, "credentials");
    assert!(
        browser
            .exists(&format!("#credentials tr[data-id=\"{}\"]", own.id))
            .await
    );
    assert!(
        !browser
            .exists(&format!("#credentials tr[data-id=\"{}\"]", foreign.id))
            .await,
        "alice's list holds globex's credential"
    );
    let page = browser.goto("/console/credentials?account=globex").await;
    if page == "credentials" {
        assert!(
            !browser
                .exists(&format!("#credentials tr[data-id=\"{}\"]", foreign.id))
                .await,
            "?account=globex shows alice globex's credential"
        );
    } else {
        assert_eq!(page, "error", "?account=globex for alice");
        assert_eq!(browser.text("p#status").await, "403");
    }
    browser.close().await;
}
