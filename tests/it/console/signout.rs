//! Signed out: console pages redirect to the sign-in page, and after
//! `#signout`, or a new sign-in in the same browser, the old session
//! cookie no longer opens anything.

/// `/console/credentials` signed out lands on the sign-in page; the
/// session cookie is HttpOnly, SameSite=Strict, Path=/console; after
/// signing out, the old cookie is redirected like no cookie at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session() {
    let console = super::start();

    // Raw: 303 to the sign-in page, for a few pages.
    for path in ["/console/", "/console/credentials", "/console/audit"] {
        let answer = console.get(path, None).await;
        assert_eq!(answer.status, 303, "{path} signed out");
        assert_eq!(
            answer.header("location").as_deref(),
            Some("/console/signin"),
            "{path} signed out"
        );
    }
    // The cookie's attributes.
    let answer = console.raw_sign_in(&console.admin_key()).await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location").as_deref(), Some("/console/"));
    let header = super::set_cookie_header(&answer, "credd_console").expect("session cookie");
    let attributes: Vec<String> = header
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for wanted in ["httponly", "samesite=strict", "path=/console"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "the session cookie lacks {wanted}: {header}"
        );
    }
    assert!(
        !attributes.iter().any(|a| a == "secure"),
        "Secure on plain HTTP: {header}"
    );

    let Some(browser) = console.browser("signout").await else {
        return;
    };
    assert_eq!(browser.goto("/console/credentials").await, "signin");
    assert_eq!(browser.path().await, "/console/signin");

    assert_eq!(
        super::sign_in_key(&browser, &console.admin_key()).await,
        "overview"
    );
    let session = browser
        .cookie("credd_console")
        .await
        .expect("session cookie");
    assert_ne!(session, console.admin_key(), "the cookie is the admin key");
    let answer = console.get("/console/credentials", Some(&session)).await;
    assert_eq!(answer.status, 200, "the session cookie, raw");

    assert!(browser.exists("#signout").await);
    let page = browser.click("#signout-submit").await;
    assert_eq!(page, "signin", "after signing out");

    let answer = console.get("/console/credentials", Some(&session)).await;
    assert_eq!(answer.status, 303, "the old cookie after signing out");
    assert_eq!(
        answer.header("location").as_deref(),
        Some("/console/signin")
    );
    assert_eq!(browser.goto("/console/credentials").await, "signin");
    browser.close().await;
}

/// Signing in again in a browser that holds a session ends that session:
/// its cookie opens nothing afterwards, the new one does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_again_ends_the_old_session() {
    let console = super::start();
    let old = console.raw_session(&console.admin_key()).await;
    let page = console.get("/console/signin", Some(&old)).await;
    assert_eq!(page.status, 303, "signed in: the sign-in page redirects");
    let page = console.get("/console/signin", None).await;
    let pre = super::set_cookie(&page, "credd_console_pre").expect("pre cookie");
    let csrf = super::form_token(&page.text(), "signin-key");
    let answer = console
        .post_form(
            "/console/signin/key",
            Some(&format!("credd_console_pre={pre}; credd_console={old}")),
            &[("admin_key", &console.admin_key()), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    let new = super::set_cookie(&answer, "credd_console").expect("new session cookie");
    assert_ne!(new, old);
    assert_eq!(console.get("/console/", Some(&old)).await.status, 303);
    assert_eq!(console.get("/console/", Some(&new)).await.status, 200);
}
