//! The consent flow in the engine: request, approve, use, revoke, and an
//! unanswered request expiring.

use super::*;

/// Request, approve, use the pair, refuse a second answer, revoke the
/// grant (killing the customer key), and the customer key alone is nothing.
#[tokio::test]
async fn consent_flow() {
    let h = harness();
    let (_, developer) = h.create("PARTNER").await;
    let (_, other_developer) = h.create("RIVAL").await;
    h.engine
        .register_partner(
            &admin(),
            "PARTNER",
            "Partner App",
            &["https://partner.example/".into()],
        )
        .await
        .unwrap();
    h.engine
        .register_partner(&admin(), "RIVAL", "", &[])
        .await
        .unwrap();
    for bad in ["https://evil.example/cb", "http://partner.example/cb"] {
        assert!(matches!(
            h.engine
                .create_consent(&admin(), consent("PARTNER", "CUSTOMER", bad))
                .await,
            Err(Error::InvalidArgument(_))
        ));
    }
    let request = h
        .engine
        .create_consent(
            &admin(),
            consent(
                "PARTNER",
                "CUSTOMER",
                "https://partner.example/klicktipp-api?customerkey=",
            ),
        )
        .await
        .unwrap();
    assert_eq!(request.status, ConsentStatus::Pending);
    assert_eq!(request.expires_at, t0() + Duration::hours(1));

    let approval = h
        .engine
        .approve_consent(&admin(), &request.id)
        .await
        .unwrap();
    let key = approval.secret.expose().to_string();
    assert!(key.starts_with("credd_live_cust_"));
    assert_eq!(
        approval.redirect_url.as_str(),
        format!("https://partner.example/klicktipp-api?customerkey={key}")
    );
    assert!(!format!("{approval:?}").contains(&key));
    assert_eq!(approval.customer_key.record.kind, Kind::CustomerKey);
    assert_eq!(
        approval.grant.customer_key_id.as_deref(),
        Some(approval.customer_key.record.id.as_str())
    );

    let pair = h
        .engine
        .verify_pair(developer.expose(), &key, &strings(&["orders:read"]))
        .unwrap();
    assert!(
        matches!(pair.outcome, VerifyOutcome::Valid { .. }),
        "{pair:?}"
    );
    assert_eq!(pair.customer_account_id, "CUSTOMER");
    assert_eq!(pair.grant_id, approval.grant.id);
    assert_eq!(
        h.engine
            .verify_pair(developer.expose(), &key, &strings(&["orders:write"]))
            .unwrap()
            .outcome,
        VerifyOutcome::InsufficientScope
    );
    assert_eq!(
        h.engine
            .verify_pair(other_developer.expose(), &key, &[])
            .unwrap()
            .outcome,
        VerifyOutcome::NotDelegated
    );
    assert_eq!(
        h.engine.verify(&key, None, &[]).unwrap().outcome,
        VerifyOutcome::NotFound
    );
    assert_eq!(
        h.engine
            .verify_pair(&key, developer.expose(), &[])
            .unwrap()
            .outcome,
        VerifyOutcome::NotFound
    );
    assert!(matches!(
        h.engine.approve_consent(&admin(), &request.id).await,
        Err(Error::FailedPrecondition(m)) if m.contains("approved")
    ));
    // A new request for the same pair cannot be approved while the grant lives.
    let again = h
        .engine
        .create_consent(
            &admin(),
            consent("PARTNER", "CUSTOMER", "https://partner.example/cb"),
        )
        .await
        .unwrap();
    assert!(matches!(
        h.engine.approve_consent(&admin(), &again.id).await,
        Err(Error::FailedPrecondition(_))
    ));
    let (denied, redirect) = h
        .engine
        .deny_consent(&admin(), &again.id, "no thanks")
        .await
        .unwrap();
    assert_eq!(denied.status, ConsentStatus::Denied);
    assert_eq!(redirect, "https://partner.example/cb?error=access_denied");

    h.engine
        .revoke_grant(&admin(), &approval.grant.id, "customer left")
        .await
        .unwrap();
    assert_ne!(
        h.engine
            .verify_pair(developer.expose(), &key, &[])
            .unwrap()
            .outcome,
        VerifyOutcome::Valid { retires_at: None }
    );
    let stored = h
        .engine
        .get(&admin(), &approval.customer_key.record.id)
        .unwrap();
    assert_eq!(stored.status, Status::Revoked);
    // Nothing stored carries the customer key.
    for (path, bytes) in walk(h.dir.path()) {
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "{path:?} holds the customer key"
        );
    }
}

/// An unanswered request expires: Get shows EXPIRED, answers are refused,
/// and the sweep records it once.
#[tokio::test]
async fn consent_expiry() {
    let h = harness();
    h.create("PARTNER").await;
    h.engine
        .register_partner(&admin(), "PARTNER", "", &[])
        .await
        .unwrap();
    let request = h
        .engine
        .create_consent(
            &admin(),
            consent("PARTNER", "CUSTOMER", "http://localhost:8080/cb"),
        )
        .await
        .unwrap();
    h.clock.advance(Duration::hours(1));
    assert_eq!(
        h.engine.get_consent(&admin(), &request.id).unwrap().status,
        ConsentStatus::Expired
    );
    assert!(matches!(
        h.engine.approve_consent(&admin(), &request.id).await,
        Err(Error::FailedPrecondition(m)) if m.contains("expired")
    ));
    assert_eq!(h.engine.expire_consents().await.unwrap(), 1);
    assert_eq!(h.engine.expire_consents().await.unwrap(), 0);
    let stored = h.engine.store().get_consent(&request.id).unwrap().unwrap();
    assert_eq!(stored.status, ConsentStatus::Expired);
}
