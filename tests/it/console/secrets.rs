//! Secret hygiene of the console: after signing in with the admin key and
//! as a user, browsing every page, filtering and rotating, no issued secret
//! (nor the admin key, nor the user's password) is in any page source,
//! cookie or URL the browser saw, except the new secret on the one revealed
//! page; nor in the daemon's log or data directory.

use credd::api::pb;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaves_the_revealed_page() {
    let console = super::start();
    console.create_account("acme").await;
    console
        .create_user("acme", "alice", pb::UserRole::Admin)
        .await;
    let mut admin = console.daemon.admin().await;
    let mut secrets = Vec::new();
    let mut ids = Vec::new();
    for (request, name) in [
        (super::expiring("acme", "soon", 10), "soon"),
        (support::api_key("acme", "plain"), "plain"),
        (support::passcode("globex", "code"), "code"),
    ] {
        let (cred, secret) = support::create(&mut admin, request).await;
        assert_eq!(cred.name, name);
        ids.push(cred.id);
        secrets.push(secret);
    }
    // A rotation over gRPC too: its new secret is never the console's.
    let rotated = admin
        .rotate_credential(pb::RotateCredentialRequest {
            id: ids[1].clone(),
            window: None,
        })
        .await
        .expect("rotate over gRPC")
        .into_inner();
    secrets.push(rotated.secret);
    let admin_key = console.admin_key();
    let Some(browser) = console.browser("secrets").await else {
        return;
    };

    assert_eq!(super::sign_in_key(&browser, &admin_key).await, "overview");
    let mut paths = vec![
        "/console/".to_string(),
        "/console/credentials".to_string(),
        "/console/credentials?account=acme&status=active&kind=api_key".to_string(),
        "/console/credentials?expiring_within=30d".to_string(),
        "/console/credentials?inactive_for=60d".to_string(),
        "/console/audit".to_string(),
        "/console/notices".to_string(),
        "/console/webhooks".to_string(),
        "/console/partners".to_string(),
    ];
    for id in &ids {
        paths.push(format!("/console/credentials/{id}"));
        paths.push(format!("/console/audit?credential={id}"));
        for action in ["rotate", "revoke", "disable"] {
            paths.push(format!("/console/credentials/{id}/confirm/{action}"));
        }
    }
    for path in &paths {
        let page = browser.goto(path).await;
        assert_ne!(page, "error", "{path} is an error page");
        assert_ne!(page, "", "{path} is not a console page");
    }

    // The one reveal, through the console.
    let page = format!("/console/credentials/{}", ids[0]);
    assert_eq!(
        browser.goto(&format!("{page}/confirm/rotate")).await,
        "confirm"
    );
    assert_eq!(browser.click("#confirm-submit").await, "revealed");
    let revealed_at = browser.visits().len() - 1;
    let new_secret = browser.text("#new-secret").await;
    assert!(!new_secret.is_empty());
    secrets.push(new_secret.clone());
    assert_eq!(browser.reload().await, "revealed");
    assert_eq!(browser.goto(&page).await, "credential");
    assert_eq!(browser.goto("/console/audit").await, "audit");
    assert_eq!(browser.click("#signout-submit").await, "signin");

    // A user session, too.
    assert_eq!(
        super::sign_in_user(&browser, "acme", "alice", super::PASSWORD).await,
        "overview"
    );
    for path in ["/console/credentials", "/console/audit", page.as_str()] {
        browser.goto(path).await;
    }
    assert_eq!(browser.click("#signout-submit").await, "signin");

    // What the browser saw.
    let mut everything = secrets.clone();
    everything.push(admin_key.clone());
    everything.push(super::PASSWORD.to_string());
    let visits = browser.visits();
    assert!(visits.len() > paths.len(), "{} pages seen", visits.len());
    for (at, visit) in visits.iter().enumerate() {
        for secret in &everything {
            let allowed = at == revealed_at && *secret == new_secret;
            if allowed {
                assert!(visit.source.contains(secret.as_str()));
                continue;
            }
            assert!(
                !visit.source.contains(secret.as_str()),
                "a secret is in the source of {} ({})",
                visit.url,
                visit.page
            );
            assert!(
                !visit.url.contains(secret.as_str()),
                "a secret is in the URL {}",
                visit.url
            );
            for cookie in &visit.cookies {
                assert!(
                    !cookie.contains(secret.as_str()),
                    "a secret is in a cookie on {}",
                    visit.url
                );
            }
        }
    }
    browser.close().await;

    // The daemon's log and files.
    let logs = console.daemon.logs();
    assert!(!logs.is_empty());
    for secret in &everything {
        assert!(
            !logs.contains(secret.as_str()),
            "a secret is in the daemon's log"
        );
    }
    // The data directory holds the bootstrap key's own file (admin.key);
    // every other secret must be absent from it.
    let mut not_in_files = secrets.clone();
    not_in_files.push(super::PASSWORD.to_string());
    support::assert_no_secret_in_files(&console.daemon.data_dir, &not_in_files);
    for (path, bytes) in support::all_files(&console.daemon.data_dir) {
        if path == console.daemon.admin_key_file() {
            continue;
        }
        let found = bytes
            .windows(admin_key.len())
            .any(|w| w == admin_key.as_bytes());
        assert!(!found, "the admin key is in {}", path.display());
    }
}
