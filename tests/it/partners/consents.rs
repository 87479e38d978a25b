//! KlickTipp's consent flow end to end against the real binary: developer key
//! and customer key, approval, denial, revocation, and expiry after the TTL.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_flow_issues_a_customer_key_that_works_only_with_the_developer_key() {
    const SECOND_CUSTOMER: &str = "customer-two";
    const OTHER_PARTNER: &str = "other-partner";
    const THIRD_CUSTOMER: &str = "customer-three";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let mut verifier = daemon.verifier().await;
    let (developer, developer_key) =
        support::create(&mut admin, support::api_key(PARTNER, "developer key")).await;
    let (_, other_developer_key) =
        support::create(&mut admin, support::api_key(OTHER_PARTNER, "developer key")).await;
    let (_, unlisted_key) =
        support::create(&mut admin, support::api_key("not-a-partner", "key")).await;
    create_accounts(&daemon, &[CUSTOMER, SECOND_CUSTOMER, THIRD_CUSTOMER]).await;
    let mut secrets = vec![
        developer_key.clone(),
        other_developer_key.clone(),
        unlisted_key.clone(),
    ];

    // Only a registered partner may ask.
    support::expect_code(
        partners
            .create_consent_request(consent_request(PARTNER, CUSTOMER, REDIRECT))
            .await,
        Code::FailedPrecondition,
        "a consent request from an account that is not a partner",
    );
    register_partner(&mut partners, PARTNER, &[PREFIX]).await;
    register_partner(&mut partners, OTHER_PARTNER, &[]).await;
    for (what, redirect) in [
        (
            "a prefix that is not whitelisted",
            "https://evil.example/klicktipp-api?customerkey=",
        ),
        ("plain http", "http://example.com/"),
        (
            "http to the partner's host",
            "http://partner.example/klicktipp-api",
        ),
        ("a fragment", "https://partner.example/cb#frag"),
        ("user and password", "https://user:pw@partner.example/cb"),
    ] {
        let status = support::expect_code(
            partners
                .create_consent_request(consent_request(PARTNER, CUSTOMER, redirect))
                .await,
            Code::InvalidArgument,
            what,
        );
        assert!(
            status.message().contains("redirect_url"),
            "{what}: {}",
            status.message()
        );
    }
    support::expect_code(
        partners
            .create_consent_request(consent_request(PARTNER, PARTNER, REDIRECT))
            .await,
        Code::InvalidArgument,
        "a partner asking itself",
    );

    // Ask, then approve.
    let created = create_consent(&mut partners, PARTNER, CUSTOMER).await;
    let consent = created.consent.expect("consent");
    assert!(consent.id.starts_with("consent_"), "{}", consent.id);
    assert_eq!(consent.status(), pb::ConsentStatus::Pending);
    assert_eq!(consent.partner_account_id, PARTNER);
    assert_eq!(consent.customer_account_id, CUSTOMER);
    assert_eq!(consent.redirect_url, REDIRECT);
    assert_eq!(created.approval_path, format!("/consent/{}", consent.id));
    let ttl = consent.expires_at.expect("expires_at").seconds
        - consent.created_at.expect("created_at").seconds;
    assert!(
        (3599..=3601).contains(&ttl),
        "default consent_ttl 1h: {ttl}"
    );
    let answer = pair(&mut verifier, &developer_key, "hunter2", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);

    let approved = partners
        .approve_consent(approve(&consent.id))
        .await
        .expect("approve consent")
        .into_inner();
    let (_, customer_key) = approved
        .redirect_url
        .split_once("customerkey=")
        .expect("customerkey= in the redirect");
    let customer_key = customer_key.to_string();
    secrets.push(customer_key.clone());
    assert_eq!(approved.redirect_url, format!("{REDIRECT}{customer_key}"));
    assert!(
        customer_key.starts_with("credd_live_cust_") && customer_key.len() == 46,
        "customer key format"
    );
    let key_cred = approved.customer_key.expect("customer key credential");
    assert_eq!(key_cred.kind(), pb::Kind::CustomerKey);
    assert_eq!(key_cred.account_id, CUSTOMER);
    let grant = approved.grant.expect("grant");
    assert_eq!(grant.origin(), pb::GrantOrigin::Consent);
    assert_eq!(grant.status(), pb::GrantStatus::Active);
    assert_eq!(grant.partner_account_id, PARTNER);
    assert_eq!(grant.client_account_id, CUSTOMER);
    assert_eq!(grant.scopes, ["orders:read"]);
    assert_eq!(grant.consent_id, consent.id);
    assert_eq!(grant.customer_key_id, key_cred.id);
    assert_eq!(key_cred.grant_id, grant.id);
    let answered = approved.consent.expect("consent");
    assert_eq!(answered.status(), pb::ConsentStatus::Approved);
    assert_eq!(answered.grant_id, grant.id);
    assert_eq!(
        get_consent(&mut partners, &consent.id).await.status(),
        pb::ConsentStatus::Approved
    );

    // The pair works; either key alone does not.
    let answer = pair(
        &mut verifier,
        &developer_key,
        &customer_key,
        &["orders:read"],
    )
    .await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.partner_account_id, PARTNER);
    assert_eq!(answer.customer_account_id, CUSTOMER);
    assert_eq!(answer.grant_id, grant.id);
    assert_eq!(answer.developer_key_id, developer.id);
    assert_eq!(answer.customer_key_id, key_cred.id);
    assert_eq!(answer.grant_scopes, ["orders:read"]);
    let answer = pair(
        &mut verifier,
        &developer_key,
        &customer_key,
        &["orders:write"],
    )
    .await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::InsufficientScope,
        "a scope the grant does not allow"
    );
    let alone = support::verify(&mut verifier, &customer_key, "", &[]).await;
    assert_eq!(
        alone.result(),
        pb::VerifyResult::NotFound,
        "a customer key alone"
    );
    let alone = support::verify(&mut verifier, &customer_key, CUSTOMER, &[]).await;
    assert_eq!(
        alone.result(),
        pb::VerifyResult::NotFound,
        "with its account"
    );
    for (what, developer, customer) in [
        ("an empty developer key", "", customer_key.as_str()),
        ("an empty customer key", developer_key.as_str(), ""),
    ] {
        support::expect_code(
            verifier
                .verify_partner_pair(pb::VerifyPartnerPairRequest {
                    developer_key: developer.to_string(),
                    customer_key: customer.to_string(),
                    required_scopes: Vec::new(),
                })
                .await,
            Code::InvalidArgument,
            what,
        );
    }
    let flipped = support::flip_char(&customer_key);
    let answer = pair(&mut verifier, &developer_key, &flipped, &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::NotFound,
        "a garbled customer key"
    );
    let answer = pair(
        &mut verifier,
        &support::flip_char(&developer_key),
        &customer_key,
        &[],
    )
    .await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::NotFound,
        "a garbled developer key"
    );
    let answer = pair(&mut verifier, &other_developer_key, &customer_key, &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::NotDelegated,
        "another partner's developer key"
    );
    let answer = pair(&mut verifier, &unlisted_key, &customer_key, &[]).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::PartnerNotWhitelisted,
        "a developer key of an account that is not a partner"
    );

    // Answered once only; a new request for a pair with a live grant fails too.
    let status = support::expect_code(
        partners.approve_consent(approve(&consent.id)).await,
        Code::FailedPrecondition,
        "a second approval",
    );
    assert!(
        status.message().contains("approved"),
        "{}",
        status.message()
    );
    support::expect_code(
        partners.deny_consent(deny(&consent.id)).await,
        Code::FailedPrecondition,
        "denying an approved request",
    );
    let repeat = create_consent(&mut partners, PARTNER, CUSTOMER)
        .await
        .consent
        .expect("consent");
    support::expect_code(
        partners.approve_consent(approve(&repeat.id)).await,
        Code::FailedPrecondition,
        "approving while the pair has a live grant",
    );

    // Denial.
    let other = create_consent(&mut partners, PARTNER, SECOND_CUSTOMER)
        .await
        .consent
        .expect("consent");
    let denied = partners
        .deny_consent(deny(&other.id))
        .await
        .expect("deny consent")
        .into_inner();
    assert_eq!(
        denied.consent.expect("consent").status(),
        pb::ConsentStatus::Denied
    );
    assert!(
        denied.redirect_url.starts_with(PREFIX)
            && denied.redirect_url.contains("error=access_denied"),
        "{}",
        denied.redirect_url
    );
    assert!(!denied.redirect_url.contains("_cust_"));
    let status = support::expect_code(
        partners.approve_consent(approve(&other.id)).await,
        Code::FailedPrecondition,
        "approving a denied request",
    );
    assert!(status.message().contains("denied"), "{}", status.message());
    assert_eq!(
        get_consent(&mut partners, &other.id).await.status(),
        pb::ConsentStatus::Denied
    );

    // Revoking the grant ends the pair at once and revokes the customer key.
    let revoked = revoke_grant(&mut partners, &grant.id).await;
    assert_eq!(revoked.status(), pb::GrantStatus::Revoked);
    let answer = pair(&mut verifier, &developer_key, &customer_key, &[]).await;
    assert_ne!(answer.result(), pb::VerifyResult::Valid, "after revocation");
    assert!(
        matches!(
            answer.result(),
            pb::VerifyResult::NotDelegated | pb::VerifyResult::Revoked
        ),
        "{answer:?}"
    );
    assert_eq!(
        support::get(&mut admin, &key_cred.id).await.status(),
        pb::Status::Revoked
    );

    // UpdatePartner replaces the prefixes and the name the dialog shows.
    let updated = partners
        .update_partner(pb::UpdatePartnerRequest {
            account_id: OTHER_PARTNER.to_string(),
            display_name: Some("Other Partner GmbH".to_string()),
            redirect_prefixes: Some(pb::StringList {
                values: vec!["https://other.example/".to_string()],
            }),
            mtls_identities: None,
        })
        .await
        .expect("update partner")
        .into_inner()
        .partner
        .expect("partner");
    assert_eq!(updated.redirect_prefixes, ["https://other.example/"]);
    support::expect_code(
        partners
            .create_consent_request(consent_request(OTHER_PARTNER, CUSTOMER, REDIRECT))
            .await,
        Code::InvalidArgument,
        "a prefix the update removed",
    );
    let asked = partners
        .create_consent_request(consent_request(
            OTHER_PARTNER,
            CUSTOMER,
            "https://other.example/cb",
        ))
        .await
        .expect("a prefix the update added")
        .into_inner()
        .consent
        .expect("consent");
    assert_eq!(asked.partner_display_name, "Other Partner GmbH");

    // A consent with a lifetime: the grant and the customer key end with it.
    let mut request = consent_request(PARTNER, THIRD_CUSTOMER, "https://partner.example/cb");
    request.lifetime = Some(prost_types::Duration {
        seconds: 30 * 86_400,
        nanos: 0,
    });
    let third = partners
        .create_consent_request(request)
        .await
        .expect("create consent request")
        .into_inner()
        .consent
        .expect("consent");
    let approved = partners
        .approve_consent(approve(&third.id))
        .await
        .expect("approve")
        .into_inner();
    let (base, third_key) = approved
        .redirect_url
        .split_once("customerkey=")
        .expect("customerkey=");
    let third_key = third_key.to_string();
    secrets.push(third_key.clone());
    assert!(base.starts_with("https://partner.example/cb"), "{base}");
    let third_grant = approved.grant.expect("grant");
    let third_cred = approved.customer_key.expect("customer key");
    let in_30_days = support::unix_now() + 30 * 86_400;
    for (what, at) in [
        ("grant", third_grant.expires_at),
        ("customer key", third_cred.expires_at),
    ] {
        let at = at.expect("expires_at").seconds;
        assert!((in_30_days - 60..=in_30_days + 60).contains(&at), "{what}");
    }
    let answer = pair(&mut verifier, &developer_key, &third_key, &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert!(
        answer.expires_at.expect("expires_at").seconds
            <= third_grant.expires_at.expect("grant expiry").seconds
    );

    // Removing the partner revokes its live grant and that grant's key.
    let removed = partners
        .remove_partner(pb::RemovePartnerRequest {
            account_id: PARTNER.to_string(),
            reason: "offboarded".to_string(),
        })
        .await
        .expect("remove partner")
        .into_inner();
    assert_eq!(removed.grants_revoked, 1, "only the live grant");
    assert_ne!(
        pair(&mut verifier, &developer_key, &third_key, &[])
            .await
            .result(),
        pb::VerifyResult::Valid
    );
    assert_eq!(
        support::get(&mut admin, &third_cred.id).await.status(),
        pb::Status::Revoked
    );
    support::expect_code(
        partners
            .create_consent_request(consent_request(PARTNER, CUSTOMER, REDIRECT))
            .await,
        Code::FailedPrecondition,
        "a removed partner asking",
    );

    support::assert_no_secret_in_files(dir.path(), &secrets);
    let logs = daemon.logs();
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a key was logged");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_consent_requests_expire_after_the_ttl() {
    let dir = support::temp_dir();
    let daemon = support::start_with_env(dir.path(), "", &[("CREDD_PARTNERS_CONSENT_TTL", "2s")]);
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let (_, developer_key) =
        support::create(&mut admin, support::api_key(PARTNER, "developer key")).await;
    create_accounts(&daemon, &[CUSTOMER]).await;
    register_partner(&mut partners, PARTNER, &[PREFIX]).await;
    let created = create_consent(&mut partners, PARTNER, CUSTOMER).await;
    let consent = created.consent.expect("consent");
    assert_eq!(consent.status(), pb::ConsentStatus::Pending);
    let ttl = consent.expires_at.expect("expires_at").seconds
        - consent.created_at.expect("created_at").seconds;
    assert!((1..=3).contains(&ttl), "consent_ttl of 2s: {ttl}");
    let denied_later = create_consent(&mut partners, PARTNER, CUSTOMER)
        .await
        .consent
        .expect("consent");

    tokio::time::sleep(Duration::from_millis(3000)).await;
    assert_eq!(
        get_consent(&mut partners, &consent.id).await.status(),
        pb::ConsentStatus::Expired
    );
    let status = support::expect_code(
        partners.approve_consent(approve(&consent.id)).await,
        Code::FailedPrecondition,
        "approving an expired request",
    );
    assert!(status.message().contains("expired"), "{}", status.message());
    support::expect_code(
        partners.deny_consent(deny(&denied_later.id)).await,
        Code::FailedPrecondition,
        "denying an expired request",
    );
    assert_eq!(
        get_consent(&mut partners, &consent.id).await.status(),
        pb::ConsentStatus::Expired,
        "still expired after the refused approval"
    );
    let grants = partners
        .list_grants(pb::ListGrantsRequest {
            partner_account_id: PARTNER.to_string(),
            include_ended: true,
            ..Default::default()
        })
        .await
        .expect("list grants")
        .into_inner()
        .grants;
    assert!(grants.is_empty(), "no grant from an expired request");
    support::assert_no_secret_in_files(dir.path(), &[developer_key]);
}
