//! Verify with on_behalf_of against the real binary: the partner whitelist,
//! a live grant, and the grant's scopes.

use super::*;

/// A Verify request with on_behalf_of.
fn on_behalf(secret: &str, on_behalf_of: &str, scopes: &[&str]) -> pb::VerifyRequest {
    pb::VerifyRequest {
        on_behalf_of: on_behalf_of.to_string(),
        ..support::verify_req(secret, "", scopes)
    }
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
