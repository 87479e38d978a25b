//! The admin web console (`/console/` on the HTTP listener) end to end: the
//! real daemon with `[console] enabled = true`, data made over gRPC, and a
//! headless Chromium ([`browser`]) clicking through the pages of the HTML
//! contract (ids and `data-page` names). Where no browser is needed (status
//! codes, headers, CSRF refusals) a raw HTTP client talks to the listener.
//! Screenshots of the main pages land in `target/console-screenshots/`.
//!
//! One file per area: `harness_check` (the browser harness on `/healthz`),
//! `pages` (sign-in, the overview, every main page), `rotate` (the one-time
//! reveal), `revoke`, `tenancy` (a user of one account), `csrf`, `secrets`
//! (no secret anywhere but the revealed page), `bad_input` (4xx pages,
//! headers), `signout`.

pub mod browser;

mod bad_input;
mod csrf;
mod harness_check;
mod pages;
mod revoke;
mod rotate;
mod secrets;
mod signout;
mod tenancy;

use std::net::SocketAddr;

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;

use crate::gateway::harness::client::{Request, Response};
use crate::support::{self, Bearer, Daemon};
use browser::Browser;

/// The daemon's config: the HTTP listener with the console, and argon2 at
/// its cheapest (the tests sign users in).
pub const CONFIG: &str = r#"
[http]
listen = "127.0.0.1:0"

[console]
enabled = true

[users]
argon2_memory_kib = 64
argon2_iterations = 1
"#;

/// A user's password in these tests.
pub const PASSWORD: &str = "correct horse battery staple";

/// A daemon serving the console, in a directory of its own.
pub struct Console {
    /// The daemon (gRPC at `daemon.addr`).
    pub daemon: Daemon,
    /// Its HTTP listener, where the console is.
    pub http: SocketAddr,
    /// The test's directory (config, data, log); dropped last.
    _dir: tempfile::TempDir,
}

/// Starts credd with [`CONFIG`].
pub fn start() -> Console {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), CONFIG);
    let http = daemon.http_addr.expect("the HTTP listener is configured");
    Console {
        daemon,
        http,
        _dir: dir,
    }
}

impl Console {
    /// A browser on the console, or `None` when the test is skipped (no
    /// chromedriver or Chromium outside CI).
    pub async fn browser(&self, test: &str) -> Option<Browser> {
        Browser::open(self.http, test).await
    }

    /// The bootstrap admin key.
    pub fn admin_key(&self) -> String {
        self.daemon.admin_key()
    }

    /// The bootstrap key's id, read through AdminKeyAdmin.
    pub async fn admin_key_id(&self) -> String {
        let key = self.admin_key();
        let tail = &key[key.len() - 4..];
        let mut keys = self.daemon.admin_keys_as(Some(&key)).await;
        keys.list_admin_keys(pb::ListAdminKeysRequest::default())
            .await
            .expect("list admin keys")
            .into_inner()
            .admin_keys
            .into_iter()
            .find(|k| k.name == "bootstrap" && k.secret_hint.ends_with(tail))
            .expect("the bootstrap key")
            .id
    }

    /// Creates the account `id` over gRPC.
    pub async fn create_account(&self, id: &str) {
        let mut accounts = AccountAdminClient::with_interceptor(
            self.daemon.channel().await,
            Bearer::new(Some(&self.admin_key())),
        );
        accounts
            .create_account(pb::CreateAccountRequest {
                id: id.to_string(),
                display_name: format!("{id} inc."),
                ..Default::default()
            })
            .await
            .expect("create account");
    }

    /// Creates a user with [`PASSWORD`] and `role` in `account`.
    pub async fn create_user(&self, account: &str, username: &str, role: pb::UserRole) {
        let mut users = self.daemon.users().await;
        users
            .create_user(pb::CreateUserRequest {
                account_id: account.to_string(),
                username: username.to_string(),
                role: role.into(),
                email: format!("{username}@{account}.example"),
                password: PASSWORD.to_string(),
            })
            .await
            .expect("create user");
    }

    /// `GET path` on the HTTP listener, with the console session cookie
    /// `session` when given.
    pub async fn get(&self, path: &str, session: Option<&str>) -> Response {
        let mut request = Request::get(path);
        if let Some(session) = session {
            request = request.header("cookie", format!("credd_console={session}"));
        }
        request.send(self.http).await
    }

    /// `POST path` of a url-encoded form, with the headers a browser sends
    /// for a form of this origin, and `cookie` (a whole Cookie header).
    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> Response {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let origin = format!("http://{}", self.http);
        let mut request = Request::new("POST", path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", &origin)
            .header("referer", format!("{origin}{path}"))
            .header("sec-fetch-site", "same-origin")
            .body(body);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send(self.http).await
    }

    /// Signs in with `key` without a browser (the sign-in page's pre-session
    /// cookie and its form's token, then the form); returns the answer to
    /// the POST.
    pub async fn raw_sign_in(&self, key: &str) -> Response {
        let page = self.get("/console/signin", None).await;
        assert_eq!(page.status, 200, "GET /console/signin: {}", page.text());
        let pre = set_cookie(&page, "credd_console_pre").expect("the pre-session cookie");
        let csrf = form_token(&page.text(), "signin-key");
        self.post_form(
            "/console/signin/key",
            Some(&format!("credd_console_pre={pre}")),
            &[("admin_key", key), ("csrf", &csrf)],
        )
        .await
    }

    /// A console session of `key` made without a browser: the session
    /// cookie's value.
    pub async fn raw_session(&self, key: &str) -> String {
        let answer = self.raw_sign_in(key).await;
        assert_eq!(
            answer.status,
            303,
            "sign-in with the admin key: {}",
            answer.text()
        );
        set_cookie(&answer, "credd_console").expect("the session cookie")
    }
}

/// A credential of `account` that expires in `days` days.
pub fn expiring(account: &str, name: &str, days: i64) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        lifetime: Some(prost_types::Duration {
            seconds: days * 86_400,
            nanos: 0,
        }),
        ..support::api_key(account, name)
    }
}

/// Signs in through the form `#signin-key`; returns the `data-page` shown
/// after.
pub async fn sign_in_key(browser: &Browser, key: &str) -> String {
    assert_eq!(browser.goto("/console/signin").await, "signin");
    browser
        .fill("#signin-key input[name=\"admin_key\"]", key)
        .await;
    browser.click("#signin-key-submit").await
}

/// Signs in through the form `#signin-user`; returns the `data-page` shown
/// after.
pub async fn sign_in_user(
    browser: &Browser,
    account: &str,
    username: &str,
    password: &str,
) -> String {
    assert_eq!(browser.goto("/console/signin").await, "signin");
    browser
        .fill("#signin-user input[name=\"account_id\"]", account)
        .await;
    browser
        .fill("#signin-user input[name=\"username\"]", username)
        .await;
    browser
        .fill("#signin-user input[name=\"password\"]", password)
        .await;
    browser.click("#signin-user-submit").await
}

/// The value the answer's `Set-Cookie` gives the cookie `name`.
pub fn set_cookie(answer: &Response, name: &str) -> Option<String> {
    set_cookie_header(answer, name).map(|header| {
        let pair = header.split(';').next().unwrap_or_default();
        pair.split_once('=')
            .map(|(_, value)| value.trim().to_string())
            .unwrap_or_default()
    })
}

/// The whole `Set-Cookie` header that sets `name` (attributes included).
pub fn set_cookie_header(answer: &Response, name: &str) -> Option<String> {
    answer
        .headers
        .all("set-cookie")
        .into_iter()
        .map(|header| String::from_utf8_lossy(header).into_owned())
        .find(|header| header.trim_start().starts_with(&format!("{name}=")))
}

/// The `csrf` field of the form `id="{form}"` in `html`.
pub fn form_token(html: &str, form: &str) -> String {
    let start = html
        .find(&format!("id=\"{form}\""))
        .unwrap_or_else(|| panic!("no form #{form} in:\n{html}"));
    let rest = &html[start..];
    let end = rest.find("</form>").unwrap_or(rest.len());
    let input = regex::Regex::new(r#"<input[^>]*name="csrf"[^>]*>"#).expect("regex");
    let value = regex::Regex::new(r#"value="([^"]*)""#).expect("regex");
    let tag = input
        .find(&rest[..end])
        .unwrap_or_else(|| panic!("no csrf field in #{form}"))
        .as_str();
    value
        .captures(tag)
        .unwrap_or_else(|| panic!("the csrf field of #{form} has no value: {tag}"))[1]
        .to_string()
}

/// Asserts that `answer` is the contract's HTML error page for `status`:
/// that status, HTML, `data-page="error"`, `<p id="status">` and a
/// non-empty `<p id="error">`; returns the error text.
pub fn assert_error_page(answer: &Response, status: u16, what: &str) -> String {
    let body = answer.text();
    assert_eq!(answer.status, status, "{what}: status; body:\n{body}");
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: content-type {content_type:?}"
    );
    assert!(
        body.contains("data-page=\"error\""),
        "{what}: not the error page:\n{body}"
    );
    let shown = regex::Regex::new(r#"<p[^>]*id="status"[^>]*>\s*(\d+)\s*<"#)
        .expect("regex")
        .captures(&body)
        .unwrap_or_else(|| panic!("{what}: no <p id=\"status\">:\n{body}"))[1]
        .to_string();
    assert_eq!(shown, status.to_string(), "{what}: #status");
    let error = regex::Regex::new(r#"(?s)<p[^>]*id="error"[^>]*>(.*?)</p>"#)
        .expect("regex")
        .captures(&body)
        .unwrap_or_else(|| panic!("{what}: no <p id=\"error\">:\n{body}"))[1]
        .trim()
        .to_string();
    assert!(!error.is_empty(), "{what}: #error is empty");
    error
}
