//! Delegation in the engine: Verify's `on_behalf_of` against partners and
//! grants, and the HTTP authorisation rules end to end.

use super::*;

/// on_behalf_of: not a partner, a partner without a grant, a granted
/// partner, a grant narrowing the scopes, expiry and revocation.
#[tokio::test]
async fn delegation_rules() {
    let h = harness();
    let (_, product_key) = h.create("MYPRODUCT").await;
    let (_, _client_key) = h.create("LAGERMAN").await;
    let read = strings(&["orders:read"]);
    let act = |scopes: &[String]| h.verify_as(&product_key, None, Some("LAGERMAN"), scopes);
    assert_eq!(act(&[]).outcome, VerifyOutcome::PartnerNotWhitelisted);
    h.engine
        .register_partner(&admin(), "MYPRODUCT", "My Product", &[])
        .await
        .unwrap();
    assert_eq!(act(&[]).outcome, VerifyOutcome::NotDelegated);
    let mut with_lifetime = grant("MYPRODUCT", "LAGERMAN", &["orders:read"]);
    with_lifetime.lifetime = Some(Duration::days(30));
    let g = h
        .engine
        .create_grant(&admin(), with_lifetime)
        .await
        .unwrap();
    let v = act(&read);
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }), "{v:?}");
    assert_eq!(
        v.acting_for,
        Some(ActingFor {
            account_id: "LAGERMAN".to_string(),
            grant_id: Some(g.id.clone()),
        })
    );
    assert_eq!(v.credential.unwrap().account_id, "MYPRODUCT");
    // The key holds orders:write but the grant does not allow it.
    assert_eq!(
        act(&strings(&["orders:write"])).outcome,
        VerifyOutcome::InsufficientScope
    );
    // Acting for its own account needs no grant.
    let own = h.verify_as(&product_key, None, Some("MYPRODUCT"), &[]);
    assert!(matches!(own.outcome, VerifyOutcome::Valid { .. }));
    // A second live grant for the pair is refused.
    assert!(matches!(
        h.engine
            .create_grant(&admin(), grant("MYPRODUCT", "LAGERMAN", &[]))
            .await,
        Err(Error::AlreadyExists(_))
    ));
    h.clock.advance(Duration::days(30));
    assert_eq!(act(&read).outcome, VerifyOutcome::NotDelegated);
    assert_eq!(
        h.engine
            .get_grant(&admin(), &g.id)
            .unwrap()
            .status_at(h.engine.now()),
        GrantStatus::Expired
    );
    let again = h
        .engine
        .create_grant(&admin(), grant("MYPRODUCT", "LAGERMAN", &[]))
        .await
        .unwrap();
    assert!(matches!(act(&read).outcome, VerifyOutcome::Valid { .. }));
    h.engine
        .revoke_grant(&admin(), &again.id, "contract ended")
        .await
        .unwrap();
    assert_eq!(act(&read).outcome, VerifyOutcome::NotDelegated);
    // A wrong key stays NOT_FOUND whatever it claims to act for.
    let (_, stray) = h.create("STRAY").await;
    let unknown = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    assert_eq!(
        h.verify_as(&unknown, None, Some("LAGERMAN"), &[]).outcome,
        VerifyOutcome::NotFound
    );
    assert_eq!(
        h.verify_as(&stray, None, Some("LAGERMAN"), &[]).outcome,
        VerifyOutcome::PartnerNotWhitelisted
    );
    let listed = h
        .engine
        .list_grants(
            &admin(),
            &GrantQuery {
                partner_account_id: Some("MYPRODUCT".into()),
                include_ended: true,
                ..GrantQuery::default()
            },
        )
        .unwrap()
        .0;
    assert_eq!(listed.len(), 2);
}

/// The Basic-auth seed's two modes against real keys, and the CleverTap
/// connect call's partner rule.
#[tokio::test]
async fn http_rules_end_to_end() {
    let h = harness();
    let (_, client_key) = h.create("LAGERMAN").await;
    let (_, product_key) = h.create("MYPRODUCT").await;
    h.engine
        .register_partner(&admin(), "MYPRODUCT", "", &[])
        .await
        .unwrap();
    let g = h
        .engine
        .create_grant(&admin(), grant("MYPRODUCT", "LAGERMAN", &[]))
        .await
        .unwrap();

    let client_auth = basic("LAGERMAN", client_key.expose());
    let v = h
        .engine
        .verify_http(
            &HttpHeaders {
                authorization: &client_auth,
                ..HttpHeaders::default()
            },
            &[],
        )
        .unwrap();
    assert_eq!(
        (v.mode, v.refusal, v.http_status),
        (Some(AuthMode::Client), None, 200)
    );
    assert_eq!(v.acting_for_account_id, "LAGERMAN");

    let product_auth = basic("MYPRODUCT", product_key.expose());
    let product = HttpHeaders {
        authorization: &product_auth,
        product_id: "MYPRODUCT",
        client_id: "LAGERMAN",
        ..HttpHeaders::default()
    };
    let v = h.engine.verify_http(&product, &[]).unwrap();
    assert_eq!(
        (v.mode, v.refusal, v.http_status),
        (Some(AuthMode::Product), None, 200)
    );
    assert_eq!(
        (
            v.principal_account_id.as_str(),
            v.acting_for_account_id.as_str(),
            v.grant_id.as_str()
        ),
        ("MYPRODUCT", "LAGERMAN", g.id.as_str())
    );

    // The client's key presented as the product's: wrong id for the key.
    let swapped = basic("MYPRODUCT", client_key.expose());
    let v = h
        .engine
        .verify_http(
            &HttpHeaders {
                authorization: &swapped,
                ..product
            },
            &[],
        )
        .unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::InvalidCredentials), 401)
    );

    h.engine.revoke_grant(&admin(), &g.id, "").await.unwrap();
    let v = h.engine.verify_http(&product, &[]).unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::NotDelegated), 403)
    );

    let seed = HttpHeaders {
        authorization: "Basic TEFHRVJNQU46ODdiYTg3NGI4YTUwNDliZWFkYzk3MTA5ODQ2MDY3MTU=",
        ..HttpHeaders::default()
    };
    let v = h.engine.verify_http(&seed, &[]).unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::InvalidCredentials), 401)
    );

    let mut passcode = new_cred("CT-ACCOUNT", Kind::Passcode);
    passcode.scopes = Vec::new();
    let (_, pass) = h.engine.create(&admin(), passcode).await.unwrap();
    let clevertap = |passcode: &'static str, partner: &'static str| HttpHeaders {
        clevertap_account_id: "CT-ACCOUNT",
        clevertap_passcode: passcode,
        clevertap_partner: partner,
        ..HttpHeaders::default()
    };
    let secret: &'static str = Box::leak(pass.expose().to_string().into_boxed_str());
    let v = h.engine.verify_http(&clevertap(secret, ""), &[]).unwrap();
    assert_eq!((v.mode, v.http_status), (Some(AuthMode::CleverTap), 200));
    let v = h
        .engine
        .verify_http(&clevertap("wrong", "MYPRODUCT"), &[])
        .unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::InvalidCredentials), 400)
    );
    let v = h.engine.verify_http(&clevertap("wrong", ""), &[]).unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::InvalidCredentials), 401)
    );
    let v = h
        .engine
        .verify_http(&clevertap(secret, "adjust"), &[])
        .unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::PartnerNotWhitelisted), 403)
    );
    assert!(
        v.reason.contains("Partner not whitelisted: adjust"),
        "{}",
        v.reason
    );
}

/// Acting for another account, the grant's scopes must satisfy the scope
/// expression as well as the key's: the key holds orders:read and
/// orders:write, the grant allows orders:read.
#[tokio::test]
async fn delegation_and_scope_query() {
    let h = harness();
    let (_, product_key) = h.create("MYPRODUCT").await;
    h.engine
        .register_partner(&admin(), "MYPRODUCT", "My Product", &[])
        .await
        .unwrap();
    h.engine
        .create_grant(&admin(), grant("MYPRODUCT", "LAGERMAN", &["orders:read"]))
        .await
        .unwrap();
    let act = |query: &str| {
        let parsed = crate::engine::validate::scope_query("scope_query", query).unwrap();
        h.engine
            .verify_query(&VerifyQuery {
                secret: product_key.expose(),
                on_behalf_of: Some("LAGERMAN"),
                scope_query: parsed.as_ref(),
                ..VerifyQuery::default()
            })
            .unwrap()
            .outcome
    };
    assert!(matches!(
        act("orders:read AND (orders:write OR orders:read)"),
        VerifyOutcome::Valid { .. }
    ));
    assert_eq!(
        act("orders:write OR admin"),
        VerifyOutcome::InsufficientScope
    );
    assert_eq!(
        act("orders:read AND orders:write"),
        VerifyOutcome::InsufficientScope
    );
}
