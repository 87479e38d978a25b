//! Bad input, over raw HTTP with a console session: an unknown id (404), a
//! malformed id (400), a malformed filter (400 naming the field), a query
//! string over 2048 bytes (414) and an unknown path (404) are each the
//! contract's HTML error page, never a 500; and every page carries the
//! contract's security headers.

use crate::support;

/// The error pages for bad input, each a clear 4xx with `#error`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_4xx_page() {
    let console = super::start();
    let mut admin = console.daemon.admin().await;
    let (cred, _) = support::create(&mut admin, support::api_key("acme", "present")).await;
    let session = console.raw_session(&console.admin_key()).await;
    let long = format!("/console/credentials?account={}", "a".repeat(2100));
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        (
            format!("/console/credentials/{}", support::UNKNOWN_ID),
            404,
            None,
        ),
        (
            format!(
                "/console/credentials/{}/confirm/rotate",
                support::UNKNOWN_ID
            ),
            404,
            None,
        ),
        ("/console/credentials/not-an-id".to_string(), 400, None),
        (
            "/console/credentials/not-an-id/confirm/revoke".to_string(),
            400,
            None,
        ),
        (
            "/console/credentials?expiring_within=banana".to_string(),
            400,
            Some("expiring_within"),
        ),
        (
            "/console/credentials?inactive_for=-3d".to_string(),
            400,
            Some("inactive_for"),
        ),
        (
            "/console/credentials?status=sleepy".to_string(),
            400,
            Some("status"),
        ),
        (
            "/console/credentials?kind=spoon".to_string(),
            400,
            Some("kind"),
        ),
        (long, 414, None),
        ("/console/no-such-page".to_string(), 404, None),
        (
            format!("/console/credentials/{}/confirm/explode", cred.id),
            404,
            None,
        ),
    ];
    for (path, status, field) in cases {
        let shown: String = path.chars().take(80).collect();
        let answer = console.get(&path, Some(&session)).await;
        let error = super::assert_error_page(&answer, status, &shown);
        if let Some(field) = field {
            assert!(
                error.contains(field),
                "{shown}: #error does not name the field {field}: {error:?}"
            );
        }
        assert_security_headers(&answer, &shown);
    }
    // The credential itself is fine.
    let answer = console
        .get(&format!("/console/credentials/{}", cred.id), Some(&session))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
}

/// Every page (the sign-in page, a signed-in page, an error page, the
/// redirect of a signed-out request) has the contract's headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_has_the_security_headers() {
    let console = super::start();
    let signin = console.get("/console/signin", None).await;
    assert_eq!(signin.status, 200);
    assert_security_headers(&signin, "/console/signin");
    let session = console.raw_session(&console.admin_key()).await;
    for path in [
        "/console/",
        "/console/credentials",
        "/console/audit",
        "/console/nowhere",
    ] {
        let answer = console.get(path, Some(&session)).await;
        assert!(answer.status < 500, "{path}: {}", answer.status);
        assert_security_headers(&answer, path);
    }
    let css = console.get("/console/assets/console.css", None).await;
    assert_eq!(css.status, 200, "the stylesheet");
    let js = console.get("/console/assets/console.js", None).await;
    assert_eq!(js.status, 200, "the script");
}

/// The headers of the contract's "Every page".
fn assert_security_headers(answer: &crate::gateway::harness::client::Response, what: &str) {
    let expect = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("cache-control", "no-store"),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
    ];
    for (name, value) in expect {
        assert_eq!(
            answer.header(name).as_deref(),
            Some(value),
            "{what}: header {name}"
        );
    }
}

/// A method a page does not take answers 405 with `Allow`; failed admin
/// key sign-ins from one peer end in 429 with `Retry-After`, the right key
/// included, each an error page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_methods_and_throttled_sign_ins_say_what_to_do() {
    let console = super::start();
    let session = console.raw_session(&console.admin_key()).await;
    let cookie = format!("credd_console={session}");
    let answer = console
        .post_form("/console/audit", Some(&cookie), &[("a", "b")])
        .await;
    super::assert_error_page(&answer, 405, "POST /console/audit");
    let allow = answer.header("allow").unwrap_or_default();
    assert!(allow.contains("GET"), "Allow: {allow:?}");
    assert_security_headers(&answer, "405");

    let mut throttled = None;
    for attempt in 0..10 {
        let answer = console.raw_sign_in("credd_live_adm_wrongwrongwrong").await;
        match answer.status {
            401 => continue,
            429 => {
                throttled = Some(answer);
                break;
            }
            other => panic!("failed sign-in {attempt}: {other}: {}", answer.text()),
        }
    }
    let answer = throttled.expect("failed sign-ins are throttled");
    let wait: u64 = answer
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in seconds");
    assert!(wait >= 1, "Retry-After {wait}");
    let right = console.raw_sign_in(&console.admin_key()).await;
    assert_eq!(right.status, 429, "the right key while throttled");
    assert!(right.header("retry-after").is_some());
}
