//! Who may register partners and answer consent requests: account-scoped
//! admin keys act for their own account only.

use super::*;

/// An account-scoped (or, for "", global) admin key with `scopes`.
async fn admin_key(daemon: &Daemon, account: &str, scopes: &[&str]) -> String {
    let mut keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    keys.create_admin_key(pb::CreateAdminKeyRequest {
        account_id: account.to_string(),
        name: format!("{account} partners key"),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    })
    .await
    .expect("create admin key")
    .into_inner()
    .secret
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_keys_cannot_register_partners_or_answer_for_other_accounts() {
    const STRANGER: &str = "stranger";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let (_, developer_key) =
        support::create(&mut admin, support::api_key(PARTNER, "developer key")).await;
    create_accounts(&daemon, &[CUSTOMER, STRANGER]).await;
    register_partner(&mut partners, PARTNER, &[PREFIX]).await;
    let scopes = ["partners:read", "partners:write"];
    let partner_key = admin_key(&daemon, PARTNER, &scopes).await;
    let customer_key = admin_key(&daemon, CUSTOMER, &scopes).await;
    let stranger_key = admin_key(&daemon, STRANGER, &scopes).await;
    let reader_key = admin_key(&daemon, PARTNER, &["partners:read"]).await;
    let mut as_partner = daemon.partners_as(Some(&partner_key)).await;
    let mut as_customer = daemon.partners_as(Some(&customer_key)).await;
    let mut as_stranger = daemon.partners_as(Some(&stranger_key)).await;
    let mut as_reader = daemon.partners_as(Some(&reader_key)).await;
    let mut anonymous = daemon.partners_as(None).await;

    // Registering partners and creating grants: global keys only.
    for (what, client) in [
        ("the partner's own account key", &mut as_partner),
        ("the customer's account key", &mut as_customer),
    ] {
        support::expect_code(
            client
                .register_partner(pb::RegisterPartnerRequest {
                    account_id: STRANGER.to_string(),
                    display_name: "Stranger".to_string(),
                    redirect_prefixes: Vec::new(),
                })
                .await,
            Code::PermissionDenied,
            &format!("RegisterPartner with {what}"),
        );
        support::expect_code(
            client
                .create_grant(pb::CreateGrantRequest {
                    partner_account_id: PARTNER.to_string(),
                    client_account_id: CUSTOMER.to_string(),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            &format!("CreateGrant with {what}"),
        );
    }
    support::expect_code(
        anonymous
            .register_partner(pb::RegisterPartnerRequest {
                account_id: STRANGER.to_string(),
                ..Default::default()
            })
            .await,
        Code::Unauthenticated,
        "RegisterPartner without a key",
    );

    // The partner asks for its own account, not for another.
    let status = support::expect_code(
        as_reader
            .create_consent_request(consent_request(PARTNER, CUSTOMER, REDIRECT))
            .await,
        Code::PermissionDenied,
        "CreateConsentRequest with partners:read only",
    );
    assert!(
        status.message().contains("partners:write"),
        "{}",
        status.message()
    );
    support::expect_code(
        as_stranger
            .create_consent_request(consent_request(PARTNER, CUSTOMER, REDIRECT))
            .await,
        Code::PermissionDenied,
        "CreateConsentRequest for another account as partner",
    );
    let consent = create_consent(&mut as_partner, PARTNER, CUSTOMER)
        .await
        .consent
        .expect("consent");

    // Only the customer's account answers.
    for (what, client) in [
        ("the partner's key", &mut as_partner),
        ("a stranger's key", &mut as_stranger),
    ] {
        support::expect_code(
            client.approve_consent(approve(&consent.id)).await,
            Code::PermissionDenied,
            &format!("ApproveConsent with {what}"),
        );
        support::expect_code(
            client.deny_consent(deny(&consent.id)).await,
            Code::PermissionDenied,
            &format!("DenyConsent with {what}"),
        );
    }
    assert_eq!(
        get_consent(&mut partners, &consent.id).await.status(),
        pb::ConsentStatus::Pending,
        "refused answers change nothing"
    );
    let approved = as_customer
        .approve_consent(approve(&consent.id))
        .await
        .expect("the customer approves its own request")
        .into_inner();
    let (_, key) = approved
        .redirect_url
        .split_once("customerkey=")
        .expect("customerkey=");
    let key = key.to_string();
    let mut verifier = daemon.verifier().await;
    let answer = pair(&mut verifier, &developer_key, &key, &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.customer_account_id, CUSTOMER);

    // The grant's parties may revoke it; a stranger may not.
    let grant_id = approved.grant.expect("grant").id;
    let revoke = pb::RevokeGrantRequest {
        id: grant_id,
        reason: "done".to_string(),
    };
    let status = as_stranger.revoke_grant(revoke.clone()).await;
    assert!(
        matches!(
            status.as_ref().map_err(|s| s.code()),
            Err(Code::PermissionDenied | Code::NotFound)
        ),
        "RevokeGrant by a stranger: {status:?}"
    );
    let revoked = as_customer
        .revoke_grant(revoke)
        .await
        .expect("the customer revokes its grant")
        .into_inner()
        .grant
        .expect("grant");
    assert_eq!(revoked.status(), pb::GrantStatus::Revoked);
    assert_ne!(
        pair(&mut verifier, &developer_key, &key, &[])
            .await
            .result(),
        pb::VerifyResult::Valid
    );
    support::assert_no_secret_in_files(
        dir.path(),
        &[
            developer_key,
            key,
            partner_key,
            customer_key,
            stranger_key,
            reader_key,
        ],
    );
}
