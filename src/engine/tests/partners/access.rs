//! Who may do what with partners, grants and consent in the engine, and the
//! guard rails found in review.

use super::*;

/// Whitelisting needs a global key; an account key answers consent for its
/// own account only; removing a partner revokes its grants.
#[tokio::test]
async fn partner_access_rules() {
    let h = harness();
    h.create("PARTNER").await;
    h.create("CUSTOMER").await;
    let customer_admin = Actor::admin_key(
        "key_customer",
        [Scope::PartnersRead, Scope::PartnersWrite],
        Some("CUSTOMER".to_string()),
        String::new(),
    );
    let partner_admin = Actor::admin_key(
        "key_partner",
        [Scope::PartnersRead, Scope::PartnersWrite],
        Some("PARTNER".to_string()),
        String::new(),
    );
    assert!(matches!(
        h.engine
            .register_partner(&partner_admin, "PARTNER", "", &[])
            .await,
        Err(Error::PermissionDenied(_))
    ));
    h.engine
        .register_partner(&admin(), "PARTNER", "", &[])
        .await
        .unwrap();
    assert!(matches!(
        h.engine
            .create_consent(
                &customer_admin,
                consent("PARTNER", "CUSTOMER", "https://p.example/")
            )
            .await,
        Err(Error::PermissionDenied(_))
    ));
    let request = h
        .engine
        .create_consent(
            &partner_admin,
            consent("PARTNER", "CUSTOMER", "https://p.example/"),
        )
        .await
        .unwrap();
    assert!(matches!(
        h.engine.approve_consent(&partner_admin, &request.id).await,
        Err(Error::PermissionDenied(_))
    ));
    let approval = h
        .engine
        .approve_consent(&customer_admin, &request.id)
        .await
        .unwrap();
    assert!(
        h.engine
            .get_grant(&partner_admin, &approval.grant.id)
            .is_ok()
    );
    let stranger = Actor::admin_key(
        "key_stranger",
        [Scope::PartnersRead],
        Some("STRANGER".to_string()),
        String::new(),
    );
    assert!(matches!(
        h.engine.get_grant(&stranger, &approval.grant.id),
        Err(Error::PermissionDenied(_))
    ));
    assert!(
        h.engine
            .list_grants(&stranger, &GrantQuery::default())
            .unwrap()
            .0
            .is_empty()
    );
    assert_eq!(
        h.engine
            .remove_partner(&admin(), "PARTNER", "offboarded")
            .await
            .unwrap(),
        1
    );
    let grant = h.engine.get_grant(&admin(), &approval.grant.id).unwrap();
    assert_eq!(grant.status, GrantStatus::Revoked);
    assert_eq!(
        h.engine
            .get(&admin(), &approval.customer_key.record.id)
            .unwrap()
            .status,
        Status::Revoked
    );
    assert!(matches!(
        h.engine.get_partner(&admin(), "PARTNER"),
        Err(Error::NoSuch(_))
    ));
}

/// Review fixes: an id that is really a secret is never echoed; a partner
/// cannot act for a suspended account; an account-scoped key cannot bring a
/// new account into being through a consent request; the CleverTap pair
/// takes passcodes only, and the connect call's partner check comes first.
#[tokio::test]
async fn guard_rails() {
    let h = harness();
    let (_, key) = h.create("MYPRODUCT").await;
    for err in [
        h.engine.get_grant(&admin(), key.expose()).unwrap_err(),
        h.engine.get_client_id(&admin(), key.expose()).unwrap_err(),
        h.engine.get(&admin(), key.expose()).unwrap_err(),
    ] {
        let message = err.to_string();
        assert!(!message.contains(key.expose()), "{message}");
        assert!(message.contains("a secret"), "{message}");
    }

    h.engine
        .register_partner(&admin(), "MYPRODUCT", "", &[])
        .await
        .unwrap();
    h.engine
        .create_grant(&admin(), grant("MYPRODUCT", "LAGERMAN", &[]))
        .await
        .unwrap();
    h.engine
        .suspend_account(&admin(), "LAGERMAN", "unpaid")
        .await
        .unwrap();
    assert_eq!(
        h.verify_as(&key, None, Some("LAGERMAN"), &[]).outcome,
        VerifyOutcome::Disabled(DisabledReason::AccountSuspended)
    );

    let partner_admin = Actor::admin_key(
        "key_partner",
        [Scope::PartnersWrite],
        Some("MYPRODUCT".to_string()),
        String::new(),
    );
    assert!(matches!(
        h.engine
            .create_consent(
                &partner_admin,
                consent("MYPRODUCT", "NEWCOMER", "https://p.example/")
            )
            .await,
        Err(Error::AccountNotFound { .. })
    ));

    let (_, api_key) = h.create("CT").await;
    let api_key: &'static str = Box::leak(api_key.expose().to_string().into_boxed_str());
    let v = h
        .engine
        .verify_http(
            &HttpHeaders {
                clevertap_account_id: "CT",
                clevertap_passcode: api_key,
                ..HttpHeaders::default()
            },
            &[],
        )
        .unwrap();
    assert_eq!(v.refusal, Some(Refusal::InvalidCredentials));
    let v = h
        .engine
        .verify_http(
            &HttpHeaders {
                clevertap_account_id: "CT",
                clevertap_partner: "unknown-partner",
                ..HttpHeaders::default()
            },
            &[],
        )
        .unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::PartnerNotWhitelisted), 403)
    );
    let v = h
        .engine
        .verify_http(
            &HttpHeaders {
                clevertap_account_id: "CT",
                clevertap_partner: "MYPRODUCT",
                ..HttpHeaders::default()
            },
            &[],
        )
        .unwrap();
    assert_eq!(
        (v.refusal, v.http_status),
        (Some(Refusal::MalformedCredentials), 400)
    );
}
