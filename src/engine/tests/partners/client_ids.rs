//! Client ids in the engine: binding API keys to a client id, and what a
//! binding needs.

use super::*;

/// A bound key verifies with its own client id and refuses another; an
/// unbound key accepts any client id of its account; revoking the client id
/// disables the bound key, with or without the client id presented.
#[tokio::test]
async fn client_id_binding() {
    let h = harness();
    let shop = h.client_id("LAGERMAN").await;
    let pos = h.client_id("LAGERMAN").await;
    let foreign = h.client_id("OTHER").await;
    assert!(shop.starts_with("credd_live_client_"), "{shop}");
    let bound = h.bound_key("LAGERMAN", &shop).await;
    let (_, unbound) = h.create("LAGERMAN").await;

    let v = h.verify_as(&bound, Some(&shop), None, &[]);
    assert!(matches!(v.outcome, VerifyOutcome::Valid { .. }), "{v:?}");
    assert_eq!(
        v.credential.unwrap().client_id.as_deref(),
        Some(shop.as_str())
    );
    assert_eq!(
        h.verify_as(&bound, Some(&pos), None, &[]).outcome,
        VerifyOutcome::AccountMismatch
    );
    assert_eq!(
        h.verify_as(&bound, Some(&foreign), None, &[]).outcome,
        VerifyOutcome::AccountMismatch
    );
    assert!(matches!(
        h.verify_as(&unbound, Some(&pos), None, &[]).outcome,
        VerifyOutcome::Valid { .. }
    ));
    assert_eq!(
        h.verify_as(&unbound, Some(&foreign), None, &[]).outcome,
        VerifyOutcome::AccountMismatch
    );
    let unknown = crate::secret::new_client_id("credd", Environment::Live).unwrap();
    assert_eq!(
        h.verify_as(&unbound, Some(&unknown), None, &[]).outcome,
        VerifyOutcome::AccountMismatch
    );
    assert!(matches!(
        h.engine.verify_query(&VerifyQuery {
            secret: bound.expose(),
            client_id: Some("LAGERMAN"),
            ..VerifyQuery::default()
        }),
        Err(Error::InvalidArgument(_))
    ));

    h.engine
        .revoke_client_id(&admin(), &shop, "integration retired")
        .await
        .unwrap();
    let disabled = VerifyOutcome::Disabled(DisabledReason::ClientRevoked);
    assert_eq!(
        h.verify_as(&bound, Some(&shop), None, &[]).outcome,
        disabled
    );
    assert_eq!(h.verify_as(&bound, None, None, &[]).outcome, disabled);
    assert!(matches!(
        h.verify_as(&unbound, None, None, &[]).outcome,
        VerifyOutcome::Valid { .. }
    ));
}

/// Binding is for API keys of the same account and environment, to an
/// active client id.
#[tokio::test]
async fn client_id_binding_is_checked() {
    let h = harness();
    let shop = h.client_id("LAGERMAN").await;
    let mut passcode = new_cred("LAGERMAN", Kind::Passcode);
    passcode.client_id = Some(shop.clone());
    assert!(matches!(
        h.engine.create(&admin(), passcode).await,
        Err(Error::InvalidArgument(_))
    ));
    let mut other = new_cred("OTHER", Kind::ApiKey);
    other.client_id = Some(shop.clone());
    assert!(matches!(
        h.engine.create(&admin(), other).await,
        Err(Error::InvalidArgument(_))
    ));
    let mut test_env = new_cred("LAGERMAN", Kind::ApiKey);
    test_env.environment = Environment::Test;
    test_env.client_id = Some(shop.clone());
    assert!(matches!(
        h.engine.create(&admin(), test_env).await,
        Err(Error::InvalidArgument(_))
    ));
    h.engine
        .revoke_client_id(&admin(), &shop, "")
        .await
        .unwrap();
    let mut revoked = new_cred("LAGERMAN", Kind::ApiKey);
    revoked.client_id = Some(shop.clone());
    assert!(matches!(
        h.engine.create(&admin(), revoked).await,
        Err(Error::FailedPrecondition(_))
    ));
    let (page, next) = h
        .engine
        .list_client_ids(&admin(), "LAGERMAN", 0, None)
        .unwrap();
    assert_eq!((page.len(), next), (1, None));
    assert_eq!(page[0].status, crate::lifecycle::ClientIdStatus::Revoked);
}
