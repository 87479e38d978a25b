//! Partners, delegation grants, client ids and consent against the real
//! binary: Verify with on_behalf_of (whitelist, grant, the grant's scopes),
//! Klarna-style client ids bound to API keys, KlickTipp's consent flow end to
//! end (developer key + customer key, approval, denial, expiry, revocation),
//! and who may register partners and answer consent requests.

use std::time::Duration;

use credd::api::pb;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::http_auth::{
    self, Http, LAGERMAN, MYPRODUCT, assert_allowed, assert_refused, basic, create_accounts,
    create_grant, register_partner, revoke_grant, unissued_client_id,
};
use crate::support::{self, Daemon, Partners};

const PARTNER: &str = "partner-app";
const CUSTOMER: &str = "customer-shop";
const PREFIX: &str = "https://partner.example/";
const REDIRECT: &str = "https://partner.example/klicktipp-api?customerkey=";

/// A Verify request with on_behalf_of.
fn on_behalf(secret: &str, on_behalf_of: &str, scopes: &[&str]) -> pb::VerifyRequest {
    pb::VerifyRequest {
        on_behalf_of: on_behalf_of.to_string(),
        ..support::verify_req(secret, "", scopes)
    }
}

/// A Verify request with a client id.
fn with_client_id(secret: &str, client_id: &str) -> pb::VerifyRequest {
    pb::VerifyRequest {
        client_id: client_id.to_string(),
        ..support::verify_req(secret, "", &[])
    }
}

async fn ask(
    verifier: &mut CredentialVerifierClient<Channel>,
    request: pb::VerifyRequest,
) -> pb::VerifyResponse {
    verifier.verify(request).await.expect("verify").into_inner()
}

async fn pair(
    verifier: &mut CredentialVerifierClient<Channel>,
    developer_key: &str,
    customer_key: &str,
    scopes: &[&str],
) -> pb::VerifyPartnerPairResponse {
    verifier
        .verify_partner_pair(pb::VerifyPartnerPairRequest {
            developer_key: developer_key.to_string(),
            customer_key: customer_key.to_string(),
            required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        })
        .await
        .expect("verify partner pair")
        .into_inner()
}

fn consent_request(
    partner: &str,
    customer: &str,
    redirect: &str,
) -> pb::CreateConsentRequestRequest {
    pb::CreateConsentRequestRequest {
        partner_account_id: partner.to_string(),
        customer_account_id: customer.to_string(),
        redirect_url: redirect.to_string(),
        scopes: vec!["orders:read".to_string()],
        lifetime: None,
        environment: pb::Environment::Unspecified.into(),
    }
}

async fn create_consent(
    partners: &mut Partners,
    partner: &str,
    customer: &str,
) -> pb::CreateConsentRequestResponse {
    partners
        .create_consent_request(consent_request(partner, customer, REDIRECT))
        .await
        .expect("create consent request")
        .into_inner()
}

async fn get_consent(partners: &mut Partners, id: &str) -> pb::ConsentRequest {
    partners
        .get_consent_request(pb::GetConsentRequestRequest { id: id.to_string() })
        .await
        .expect("get consent request")
        .into_inner()
        .consent
        .expect("consent")
}

fn approve(id: &str) -> pb::ApproveConsentRequest {
    pb::ApproveConsentRequest { id: id.to_string() }
}

fn deny(id: &str) -> pb::DenyConsentRequest {
    pb::DenyConsentRequest {
        id: id.to_string(),
        reason: "not now".to_string(),
    }
}

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

/// Whether `id` has the client-id shape `^credd_(live|test)_client_[0-9A-Za-z]{30}$`.
fn is_client_id(id: &str, environment: &str) -> bool {
    let Some(body) = id.strip_prefix(&format!("credd_{environment}_client_")) else {
        return false;
    };
    body.len() == 30 && body.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_on_behalf_of_needs_a_whitelisted_partner_and_a_live_grant() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let mut verifier = daemon.verifier().await;
    let (product_cred, product_key) =
        support::create(&mut admin, support::api_key(MYPRODUCT, "product")).await;
    let (_, client_key) = support::create(&mut admin, support::api_key(LAGERMAN, "own")).await;
    create_accounts(&daemon, &["globex"]).await;

    // Not a partner yet.
    let answer = ask(&mut verifier, on_behalf(&product_key, LAGERMAN, &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::PartnerNotWhitelisted);
    support::expect_code(
        partners
            .create_grant(pb::CreateGrantRequest {
                partner_account_id: MYPRODUCT.to_string(),
                client_account_id: LAGERMAN.to_string(),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "a grant for an account that is not a partner",
    );
    let partner = register_partner(&mut partners, MYPRODUCT, &[]).await;
    assert_eq!(partner.account_id, MYPRODUCT);
    support::expect_code(
        partners
            .register_partner(pb::RegisterPartnerRequest {
                account_id: MYPRODUCT.to_string(),
                ..Default::default()
            })
            .await,
        Code::AlreadyExists,
        "registering a partner twice",
    );
    let answer = ask(&mut verifier, on_behalf(&product_key, LAGERMAN, &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotDelegated);

    // A grant limited to orders:read.
    let grant = create_grant(&mut partners, MYPRODUCT, LAGERMAN, &["orders:read"]).await;
    assert_eq!(grant.partner_account_id, MYPRODUCT);
    assert_eq!(grant.client_account_id, LAGERMAN);
    assert_eq!(grant.scopes, ["orders:read"]);
    let answer = ask(
        &mut verifier,
        on_behalf(&product_key, LAGERMAN, &["orders:read"]),
    )
    .await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.account_id, MYPRODUCT, "the key's own account");
    assert_eq!(answer.credential_id, product_cred.id);
    assert_eq!(answer.acting_for_account_id, LAGERMAN);
    assert_eq!(answer.grant_id, grant.id);
    // The partner and its grant survive a kill -9.
    daemon.kill9();
    daemon.restart();
    let mut partners = daemon.partners().await;
    let mut verifier = daemon.verifier().await;
    let answer = ask(&mut verifier, on_behalf(&product_key, LAGERMAN, &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid, "after a restart");
    assert_eq!(answer.grant_id, grant.id);
    let answer = ask(
        &mut verifier,
        on_behalf(&product_key, LAGERMAN, &["orders:write"]),
    )
    .await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::InsufficientScope,
        "the key holds orders:write, the grant does not allow it"
    );
    // A bad key stays NOT_FOUND, whatever on_behalf_of says.
    for bad in [support::flip_char(&product_key), "hunter2".to_string()] {
        let answer = ask(&mut verifier, on_behalf(&bad, LAGERMAN, &[])).await;
        assert_eq!(answer.result(), pb::VerifyResult::NotFound);
        assert!(answer.grant_id.is_empty() && answer.acting_for_account_id.is_empty());
    }
    // Its own account: plain VALID, no grant.
    let answer = ask(&mut verifier, on_behalf(&product_key, MYPRODUCT, &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.acting_for_account_id, MYPRODUCT);
    assert!(answer.grant_id.is_empty());
    // The client is not a partner: it cannot act for the product.
    let answer = ask(&mut verifier, on_behalf(&client_key, MYPRODUCT, &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::PartnerNotWhitelisted);

    // A grant without scopes lets the key's own scopes apply.
    let open = create_grant(&mut partners, MYPRODUCT, "globex", &[]).await;
    let answer = ask(
        &mut verifier,
        on_behalf(&product_key, "globex", &["orders:write"]),
    )
    .await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.grant_id, open.id);
    let answer = ask(
        &mut verifier,
        on_behalf(&product_key, "globex", &["billing:write"]),
    )
    .await;
    assert_eq!(answer.result(), pb::VerifyResult::InsufficientScope);

    // Grant rules.
    support::expect_code(
        partners
            .create_grant(pb::CreateGrantRequest {
                partner_account_id: MYPRODUCT.to_string(),
                client_account_id: LAGERMAN.to_string(),
                ..Default::default()
            })
            .await,
        Code::AlreadyExists,
        "a second live grant for the pair",
    );
    support::expect_code(
        partners
            .create_grant(pb::CreateGrantRequest {
                partner_account_id: MYPRODUCT.to_string(),
                client_account_id: MYPRODUCT.to_string(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "a grant from a partner to itself",
    );

    // Revocation takes effect at once and is idempotent.
    let revoked = revoke_grant(&mut partners, &grant.id).await;
    assert_eq!(revoked.status(), pb::GrantStatus::Revoked);
    let answer = ask(&mut verifier, on_behalf(&product_key, LAGERMAN, &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotDelegated);
    let again = revoke_grant(&mut partners, &grant.id).await;
    assert_eq!(again.status(), pb::GrantStatus::Revoked);
    let listed = partners
        .list_grants(pb::ListGrantsRequest {
            partner_account_id: MYPRODUCT.to_string(),
            include_ended: true,
            ..Default::default()
        })
        .await
        .expect("list grants")
        .into_inner()
        .grants;
    let mut ids: Vec<&str> = listed.iter().map(|g| g.id.as_str()).collect();
    let sorted = {
        let mut s = ids.clone();
        s.sort_unstable();
        s
    };
    assert_eq!(ids, sorted, "grants are listed in id order");
    ids.sort_unstable();
    let mut expected = vec![grant.id.as_str(), open.id.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // Removing the partner revokes its remaining grant and un-whitelists it.
    let removed = partners
        .remove_partner(pb::RemovePartnerRequest {
            account_id: MYPRODUCT.to_string(),
            reason: "contract ended".to_string(),
        })
        .await
        .expect("remove partner")
        .into_inner();
    assert_eq!(removed.grants_revoked, 1);
    let answer = ask(&mut verifier, on_behalf(&product_key, "globex", &[])).await;
    assert_eq!(answer.result(), pb::VerifyResult::PartnerNotWhitelisted);
    support::assert_no_secret_in_files(dir.path(), &[product_key, client_key]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ids_bind_api_keys_and_revoking_one_disables_its_keys() {
    const MERCHANT: &str = "klarna-merchant";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut client_ids = daemon.client_ids().await;
    let mut verifier = daemon.verifier().await;
    let create_client_id =
        |account: &str, environment: pb::Environment| pb::CreateClientIdRequest {
            account_id: account.to_string(),
            environment: environment.into(),
            name: format!("{account} checkout"),
            description: "web shop".to_string(),
        };

    let first = client_ids
        .create_client_id(create_client_id(MERCHANT, pb::Environment::Unspecified))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert!(is_client_id(&first.id, "live"), "{}", first.id);
    assert_eq!(first.account_id, MERCHANT);
    assert_eq!(first.environment(), pb::Environment::Live);
    assert_eq!(first.status(), pb::ClientIdStatus::Active);
    let second = client_ids
        .create_client_id(create_client_id(MERCHANT, pb::Environment::Live))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert_ne!(second.id, first.id);
    let test_env = client_ids
        .create_client_id(create_client_id(MERCHANT, pb::Environment::Test))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert!(is_client_id(&test_env.id, "test"), "{}", test_env.id);
    let foreign = client_ids
        .create_client_id(create_client_id("other-merchant", pb::Environment::Live))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    let got = client_ids
        .get_client_id(pb::GetClientIdRequest {
            id: first.id.clone(),
        })
        .await
        .expect("get client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert_eq!(got, first);
    support::expect_code(
        client_ids
            .get_client_id(pb::GetClientIdRequest {
                id: unissued_client_id(),
            })
            .await,
        Code::NotFound,
        "an unknown client id",
    );
    support::expect_code(
        client_ids
            .get_client_id(pb::GetClientIdRequest {
                id: "not-a-client-id".to_string(),
            })
            .await,
        Code::InvalidArgument,
        "a malformed client id",
    );
    let listed = client_ids
        .list_client_ids(pb::ListClientIdsRequest {
            account_id: MERCHANT.to_string(),
            ..Default::default()
        })
        .await
        .expect("list client ids")
        .into_inner()
        .client_ids;
    assert_eq!(listed.len(), 3);

    // A key bound to the first client id.
    let mut request = support::api_key(MERCHANT, "bound");
    request.client_id = first.id.clone();
    let (bound, bound_key) = support::create(&mut admin, request).await;
    assert_eq!(bound.client_id, first.id);
    let (_, unbound_key) = support::create(&mut admin, support::api_key(MERCHANT, "free")).await;
    for (what, mut request, client_id, code) in [
        (
            "a passcode bound to a client id",
            support::passcode(MERCHANT, "p"),
            test_env.id.clone(),
            Code::InvalidArgument,
        ),
        (
            "another account's client id",
            support::api_key(MERCHANT, "x"),
            foreign.id.clone(),
            Code::InvalidArgument,
        ),
        (
            "a test client id on a live key",
            support::api_key(MERCHANT, "y"),
            test_env.id.clone(),
            Code::InvalidArgument,
        ),
        (
            "an unknown client id",
            support::api_key(MERCHANT, "z"),
            unissued_client_id(),
            Code::NotFound,
        ),
    ] {
        request.client_id = client_id;
        support::expect_code(admin.create_credential(request).await, code, what);
    }

    // Verify with client ids.
    let answer = ask(&mut verifier, with_client_id(&bound_key, &first.id)).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.client_id, first.id);
    assert_eq!(answer.account_id, MERCHANT);
    let answer = ask(&mut verifier, with_client_id(&bound_key, "")).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.client_id, first.id, "the key's bound client id");
    for (what, client_id) in [
        ("another client id of the same account", second.id.clone()),
        ("another account's client id", foreign.id.clone()),
        ("an unknown client id", unissued_client_id()),
    ] {
        let answer = ask(&mut verifier, with_client_id(&bound_key, &client_id)).await;
        assert_eq!(answer.result(), pb::VerifyResult::AccountMismatch, "{what}");
    }
    let answer = ask(&mut verifier, with_client_id(&unbound_key, &second.id)).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "an unbound key with its account's client id"
    );
    assert!(answer.client_id.is_empty());
    support::expect_code(
        verifier
            .verify(with_client_id(&bound_key, "not-a-client-id"))
            .await,
        Code::InvalidArgument,
        "Verify with a malformed client id",
    );

    // Basic client-level authentication with the client id as ClientId.
    let mut http = Http::new(&daemon).await;
    http.secrets = vec![bound_key.clone(), unbound_key.clone()];
    let answer = http
        .ask(http_auth::headers(&basic(&first.id, &bound_key), "", ""))
        .await;
    assert_allowed(
        &answer,
        pb::AuthMode::Client,
        "Basic <client id>:<bound key>",
    );
    assert_eq!(answer.principal_id, first.id);
    assert_eq!(answer.principal_account_id, MERCHANT);
    assert_refused(
        &http
            .ask(http_auth::headers(&basic(&second.id, &bound_key), "", ""))
            .await,
        pb::HttpAuthRefusal::InvalidCredentials,
        401,
        "Basic <other client id>:<bound key>",
    );

    // Revoking the client id disables the keys bound to it.
    let revoke = pb::RevokeClientIdRequest {
        id: first.id.clone(),
        reason: "integration retired".to_string(),
    };
    let revoked = client_ids
        .revoke_client_id(revoke.clone())
        .await
        .expect("revoke client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert_eq!(revoked.status(), pb::ClientIdStatus::Revoked);
    let again = client_ids
        .revoke_client_id(revoke)
        .await
        .expect("revoke client id again")
        .into_inner()
        .client_id
        .expect("client id");
    assert_eq!(again.status(), pb::ClientIdStatus::Revoked);
    for client_id in [first.id.as_str(), ""] {
        let answer = ask(&mut verifier, with_client_id(&bound_key, client_id)).await;
        assert_eq!(
            answer.result(),
            pb::VerifyResult::Disabled,
            "client id {client_id:?}"
        );
        assert_eq!(answer.disabled_reason(), pb::DisabledReason::ClientRevoked);
    }
    let answer = ask(&mut verifier, with_client_id(&unbound_key, "")).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid, "an unbound key");
    assert_refused(
        &http
            .ask(http_auth::headers(&basic(&first.id, &bound_key), "", ""))
            .await,
        pb::HttpAuthRefusal::CredentialNotActive,
        401,
        "Basic with a revoked client id",
    );
    let mut request = support::api_key(MERCHANT, "late");
    request.client_id = first.id.clone();
    support::expect_code(
        admin.create_credential(request).await,
        Code::FailedPrecondition,
        "binding a key to a revoked client id",
    );
    support::assert_no_secret_in_files(dir.path(), &http.secrets);
}

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
