//! Signing in with an admin key and walking the main pages: the overview
//! shows a credential expiring in ten days in `#expiring`, the navigation
//! leads to every page, and each main page is saved as a screenshot
//! (`target/console-screenshots/pages-*.png`) for a reviewer.

use credd::api::pb;

use crate::support;

/// The bootstrap admin key signs in through `#signin-key`; the overview
/// lists the credential expiring in ten days (and not the one expiring in a
/// year); the credentials list, a credential's page, audit, notices,
/// webhooks and partners (a partner and its grant) are reached through the
/// links and captured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_signs_in_and_walks_every_page() {
    let console = super::start();
    let mut admin = console.daemon.admin().await;
    let (soon, _) = support::create(&mut admin, super::expiring("acme", "expires-soon", 10)).await;
    let (later, _) = support::create(&mut admin, support::api_key("acme", "expires-later")).await;
    let (other, _) = support::create(&mut admin, support::passcode("globex", "globex-pass")).await;
    // A partner with a grant from acme, for the partners page.
    let mut partners = console.daemon.partners().await;
    partners
        .register_partner(pb::RegisterPartnerRequest {
            account_id: "partner-app".to_string(),
            display_name: "Partner App".to_string(),
            redirect_prefixes: vec!["https://partner.example/".to_string()],
        })
        .await
        .expect("register a partner");
    partners
        .create_grant(pb::CreateGrantRequest {
            partner_account_id: "partner-app".to_string(),
            client_account_id: "acme".to_string(),
            scopes: vec!["orders:read".to_string()],
            lifetime: None,
        })
        .await
        .expect("a grant");
    let Some(browser) = console.browser("pages").await else {
        return;
    };

    assert_eq!(browser.goto("/console/signin").await, "signin");
    assert!(browser.exists("#signin-key").await);
    assert!(browser.exists("#signin-user").await);
    browser.screenshot("signin").await;

    let page = super::sign_in_key(&browser, &console.admin_key()).await;
    assert_eq!(page, "overview", "after signing in with the admin key");
    assert_eq!(browser.path().await, "/console/");
    let key_id = console.admin_key_id().await;
    let who = browser.text("#who").await;
    assert!(
        who.contains(&key_id),
        "#who is {who:?}, the key is {key_id}"
    );
    assert!(
        browser.cookie("credd_console").await.is_some(),
        "no session cookie after signing in"
    );

    // The overview: counts, and the credential expiring within 30 days.
    let active = browser
        .text("#counts tr[data-status=\"ACTIVE\"] td.count")
        .await;
    let active: u64 = active
        .parse()
        .unwrap_or_else(|_| panic!("#counts ACTIVE is {active:?}"));
    assert!(active >= 3, "#counts ACTIVE is {active}, three were made");
    let row = format!("#expiring tr[data-id=\"{}\"]", soon.id);
    assert!(
        browser.exists(&row).await,
        "{} (expires in 10 days) is not in #expiring",
        soon.id
    );
    assert_eq!(
        browser.attr(&format!("{row} a"), "href").await.as_deref(),
        Some(format!("/console/credentials/{}", soon.id).as_str())
    );
    assert!(
        !browser
            .exists(&format!("#expiring tr[data-id=\"{}\"]", later.id))
            .await,
        "{} expires in a year, yet is in #expiring",
        later.id
    );
    assert!(browser.exists("#inactive").await);
    assert!(browser.exists("#notices-queued").await);
    assert!(browser.exists("#notices-failed").await);
    assert!(browser.exists("#webhooks-failing").await);
    browser.screenshot("overview").await;

    // The credentials list, through the navigation.
    assert_eq!(browser.click("#nav-credentials").await, "credentials");
    for (cred, status) in [(&soon, "ACTIVE"), (&later, "ACTIVE"), (&other, "ACTIVE")] {
        let row = format!("#credentials tr[data-id=\"{}\"]", cred.id);
        assert_eq!(
            browser.attr(&row, "data-status").await.as_deref(),
            Some(status),
            "{} in #credentials",
            cred.id
        );
    }
    assert!(browser.exists("#filter").await);
    browser.screenshot("credentials").await;

    // One credential, through its link in the list.
    let link = format!(
        "#credentials tr[data-id=\"{}\"] a[href=\"/console/credentials/{}\"]",
        soon.id, soon.id
    );
    assert_eq!(browser.click(&link).await, "credential");
    assert_eq!(
        browser.path().await,
        format!("/console/credentials/{}", soon.id)
    );
    assert_eq!(browser.text("#details #status").await, "ACTIVE");
    assert_eq!(browser.text("#details #name").await, "expires-soon");
    assert_eq!(browser.text("#details #account").await, "acme");
    assert!(!browser.text("#details #expires-at").await.is_empty());
    assert!(browser.exists("#history").await);
    assert!(browser.exists("#usage-chart").await);
    assert!(browser.exists("#action-rotate").await);
    assert!(browser.exists("#action-revoke").await);
    browser.screenshot("credential").await;

    // A filter: expiring within 30 days lists the ten-day one only.
    assert_eq!(
        browser
            .goto("/console/credentials?expiring_within=30d")
            .await,
        "credentials"
    );
    assert!(
        browser
            .exists(&format!("#credentials tr[data-id=\"{}\"]", soon.id))
            .await
    );
    assert!(
        !browser
            .exists(&format!("#credentials tr[data-id=\"{}\"]", later.id))
            .await,
        "?expiring_within=30d lists a key expiring in a year"
    );

    // Audit: the creations are there.
    assert_eq!(browser.click("#nav-audit").await, "audit");
    let mut actions = Vec::new();
    for cell in browser.find_all("#audit tr[data-seq] td.action").await {
        actions.push(cell.text().await.expect("action").trim().to_string());
    }
    assert!(
        actions.iter().any(|a| a == "credential.create"),
        "#audit actions: {actions:?}"
    );
    browser.screenshot("audit").await;

    assert_eq!(browser.click("#nav-notices").await, "notices");
    assert!(browser.exists("#notices").await);
    browser.screenshot("notices").await;

    assert_eq!(browser.click("#nav-webhooks").await, "webhooks");
    assert!(browser.exists("#webhooks").await);
    browser.screenshot("webhooks").await;

    assert_eq!(browser.click("#nav-partners").await, "partners");
    let partners = browser.text("#partners").await;
    assert!(partners.contains("partner-app"), "#partners: {partners}");
    let grants = browser.text("#grants").await;
    assert!(
        grants.contains("partner-app") && grants.contains("acme"),
        "#grants: {grants}"
    );
    browser.screenshot("partners").await;

    // Accounts (not in the contract's list; captured when linked).
    if browser.exists("#nav-accounts").await {
        browser.click("#nav-accounts").await;
        browser.screenshot("accounts").await;
    }

    assert_eq!(browser.click("#nav-overview").await, "overview");
    browser.close().await;
}
