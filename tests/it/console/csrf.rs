//! CSRF: a console form posted with the session cookie but without its
//! token, or with a wrong one, is a 403 page naming the token, and changes
//! nothing; the same form posted by the browser then works. The sign-in
//! forms' double-submit token is checked too.

use credd::api::pb;

use crate::support;

/// A disable posted without `csrf` and with a wrong one: 403, `#error`
/// about the CSRF token, the credential still ACTIVE over gRPC; the
/// browser's own post of the confirm form then disables it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_without_its_token_is_refused() {
    let console = super::start();
    let mut admin = console.daemon.admin().await;
    let (cred, _) = support::create(&mut admin, support::api_key("acme", "guarded")).await;
    let Some(browser) = console.browser("csrf").await else {
        return;
    };
    assert_eq!(
        super::sign_in_key(&browser, &console.admin_key()).await,
        "overview"
    );
    let page = format!("/console/credentials/{}", cred.id);
    assert_eq!(
        browser.goto(&format!("{page}/confirm/disable")).await,
        "confirm"
    );
    let token = browser
        .attr("#confirm input[name=\"csrf\"]", "value")
        .await
        .expect("the confirm form's csrf value");
    assert!(!token.is_empty());
    let session = browser
        .cookie("credd_console")
        .await
        .expect("the session cookie");
    let cookie = format!("credd_console={session}");
    let post = format!("{page}/disable");

    let wrong = wrong_token(&token);
    let cases: [(&str, Vec<(&str, &str)>); 3] = [
        ("no csrf field", vec![("reason", "forged")]),
        ("a wrong csrf", vec![("reason", "forged"), ("csrf", &wrong)]),
        ("an empty csrf", vec![("reason", "forged"), ("csrf", "")]),
    ];
    for (what, fields) in cases {
        let answer = console.post_form(&post, Some(&cookie), &fields).await;
        let error = super::assert_error_page(&answer, 403, what);
        assert!(
            error.to_ascii_lowercase().contains("csrf"),
            "{what}: #error does not name the CSRF token: {error:?}"
        );
        assert_eq!(
            support::get(&mut admin, &cred.id).await.status(),
            pb::Status::Active,
            "{what}: the credential changed"
        );
    }
    // Another action's form, too.
    let answer = console
        .post_form(&format!("{page}/revoke"), Some(&cookie), &[])
        .await;
    super::assert_error_page(&answer, 403, "revoke without csrf");
    assert_eq!(
        support::get(&mut admin, &cred.id).await.status(),
        pb::Status::Active,
        "revoke without csrf changed the credential"
    );

    // The session was good all along: the browser's post works.
    assert_eq!(browser.click("#confirm-submit").await, "credential");
    assert_eq!(browser.text("#details #status").await, "DISABLED");
    assert_eq!(
        support::get(&mut admin, &cred.id).await.status(),
        pb::Status::Disabled
    );
    browser.close().await;
}

/// One refused sign-in: what it is, its Cookie header, its form fields.
type Case<'a> = (&'a str, Option<&'a str>, Vec<(&'a str, &'a str)>);

/// The sign-in forms: the right admin key posted without the pre-session
/// cookie and token, or with a token that is not the cookie's, is refused
/// with 403, an `#error` naming the token and no session cookie.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_without_its_token_is_refused() {
    let console = super::start();
    let key = console.admin_key();
    let page = console.get("/console/signin", None).await;
    assert_eq!(page.status, 200);
    let pre = super::set_cookie(&page, "credd_console_pre").expect("the pre-session cookie");
    let token = super::form_token(&page.text(), "signin-key");
    let pre_cookie = format!("credd_console_pre={pre}");
    let wrong = wrong_token(&token);

    let cases: [Case; 4] = [
        ("no cookie, no token", None, vec![("admin_key", &key)]),
        (
            "a token but no cookie",
            None,
            vec![("admin_key", &key), ("csrf", &token)],
        ),
        (
            "the cookie but no token",
            Some(&pre_cookie),
            vec![("admin_key", &key)],
        ),
        (
            "the cookie and a wrong token",
            Some(&pre_cookie),
            vec![("admin_key", &key), ("csrf", &wrong)],
        ),
    ];
    for (what, cookie, fields) in cases {
        let answer = console
            .post_form("/console/signin/key", cookie, &fields)
            .await;
        assert_sign_in_refused(&answer, what);
        assert!(
            super::set_cookie(&answer, "credd_console").is_none(),
            "{what}: a session cookie was set"
        );
    }
    // The user form likewise.
    let answer = console
        .post_form(
            "/console/signin/user",
            Some(&pre_cookie),
            &[
                ("account_id", "acme"),
                ("username", "alice"),
                ("password", super::PASSWORD),
            ],
        )
        .await;
    assert_sign_in_refused(&answer, "the user form without a token");
    // With both, it works.
    let answer = console
        .post_form(
            "/console/signin/key",
            Some(&pre_cookie),
            &[("admin_key", &key), ("csrf", &token)],
        )
        .await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert!(super::set_cookie(&answer, "credd_console").is_some());
}

/// A refused sign-in post: 403 and an `#error` naming the CSRF token, on
/// the error page or on the sign-in page shown again (the contract has
/// wrong keys answered with the sign-in page, CSRF refusals with 403).
fn assert_sign_in_refused(answer: &crate::gateway::harness::client::Response, what: &str) {
    let body = answer.text();
    assert_eq!(answer.status, 403, "{what}: status; body:\n{body}");
    if body.contains("data-page=\"error\"") {
        let error = super::assert_error_page(answer, 403, what);
        assert!(
            error.to_ascii_lowercase().contains("csrf"),
            "{what}: {error}"
        );
        return;
    }
    assert!(
        body.contains("data-page=\"signin\""),
        "{what}: neither the error nor the sign-in page:\n{body}"
    );
    let error = regex::Regex::new(r#"(?s)<p[^>]*id="error"[^>]*>(.*?)</p>"#)
        .expect("regex")
        .captures(&body)
        .unwrap_or_else(|| panic!("{what}: no <p id=\"error\">:\n{body}"))[1]
        .to_ascii_lowercase();
    assert!(error.contains("csrf"), "{what}: #error is {error:?}");
}

/// `token` with its last character changed (same length and alphabet).
fn wrong_token(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let last = chars.last_mut().expect("a non-empty token");
    *last = if *last == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
