//! Accounts in the engine: quotas, suspension, rate limits, contacts and
//! the auto-create policy.

use super::*;

fn account(id: &str) -> NewAccount {
    NewAccount {
        id: id.to_string(),
        display_name: format!("{id} inc."),
        ..NewAccount::default()
    }
}

/// An account's quota override replaces the policy's; other accounts keep
/// the policy's.
#[tokio::test]
async fn quota_override_applies_to_its_account_only() {
    let h = limited(1);
    let mut big = account("big");
    big.max_live_credentials = Some(3);
    h.engine.create_account(&admin(), big).await.unwrap();
    for _ in 0..3 {
        h.create("big").await;
    }
    let err = h
        .engine
        .create(&admin(), new_cred("big", Kind::ApiKey))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::QuotaExceeded { limit: 3, .. }),
        "{err:?}"
    );
    h.create("small").await;
    let err = h
        .engine
        .create(&admin(), new_cred("small", Kind::ApiKey))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::QuotaExceeded { limit: 1, .. }),
        "{err:?}"
    );
}

/// A suspended account's credentials verify DISABLED (ACCOUNT_SUSPENDED)
/// without any credential changing; resuming brings them back.
#[tokio::test]
async fn suspension_disables_every_credential_of_the_account() {
    let h = harness();
    let (view, secret) = h.create("acme").await;
    let (_, other) = h.create("globex").await;
    h.engine
        .suspend_account(&admin(), "acme", "unpaid invoices")
        .await
        .unwrap();
    assert_eq!(
        h.outcome(&secret),
        VerifyOutcome::Disabled(DisabledReason::AccountSuspended)
    );
    assert!(matches!(h.outcome(&other), VerifyOutcome::Valid { .. }));
    let stored = h.engine.store().get(&view.record.id).unwrap().unwrap();
    assert_eq!(stored.status, Status::Active, "the record is untouched");
    let suspended = h.engine.get_account(&admin(), "acme").unwrap();
    assert_eq!(suspended.status, AccountStatus::Suspended);
    assert_eq!(suspended.status_reason, "unpaid invoices");
    h.engine.resume_account(&admin(), "acme").await.unwrap();
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
}

/// The bucket belongs to the account: more credentials do not add
/// capacity, and another account is not affected.
#[tokio::test]
async fn rate_limit_is_per_account() {
    let h = harness();
    let mut limited_account = account("limited");
    limited_account.rate_limit = Some(RateLimit {
        per_second: 1,
        burst: 5,
    });
    h.engine
        .create_account(&admin(), limited_account)
        .await
        .unwrap();
    let (_, first) = h.create("limited").await;
    let (_, second) = h.create("limited").await;
    let (_, free) = h.create("free").await;
    let mut valid = 0;
    let mut limited_answers = 0;
    for i in 0..20 {
        let secret = if i % 2 == 0 { &first } else { &second };
        match h.outcome(secret) {
            VerifyOutcome::Valid { .. } => valid += 1,
            VerifyOutcome::RateLimited { retry_after } => {
                assert!(retry_after <= std::time::Duration::from_secs(1));
                limited_answers += 1;
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(h.outcome(&free), VerifyOutcome::Valid { .. }));
    }
    assert!((5..=6).contains(&valid), "{valid} valid of 20");
    assert_eq!(valid + limited_answers, 20);
    // A changed limit takes effect at once.
    h.engine
        .update_account(
            &admin(),
            "limited",
            AccountUpdate {
                rate_limit: Some(None),
                ..AccountUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(matches!(h.outcome(&first), VerifyOutcome::Valid { .. }));
}

/// Unknown accounts are created with the first credential by default, and
/// refused when the policy says so.
#[tokio::test]
async fn auto_create_accounts_policy() {
    let h = harness();
    h.create("fresh").await;
    let fresh = h.engine.get_account(&admin(), "fresh").unwrap();
    assert_eq!(fresh.status, AccountStatus::Active);

    let mut policy = Policy::standard();
    policy.auto_create_accounts = false;
    let strict = harness_with(policy);
    let err = strict
        .engine
        .create(&admin(), new_cred("nobody", Kind::ApiKey))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AccountNotFound { .. }), "{err:?}");
    assert_eq!(strict.audits(), 0);
    strict
        .engine
        .create_account(&admin(), account("nobody"))
        .await
        .unwrap();
    strict.create("nobody").await;
    let again = strict
        .engine
        .create_account(&admin(), account("nobody"))
        .await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
}

/// Notices go to the credential's contacts and the account's, once each.
#[tokio::test]
async fn account_contacts_receive_notices() {
    let h = harness();
    let mut acme = account("acme");
    acme.contact_emails = strings(&["billing@acme.example", "OPS@example.com"]);
    h.engine.create_account(&admin(), acme).await.unwrap();
    let (view, _) = h.create("acme").await;
    h.clock.set(view.record.expires_at - Duration::days(29));
    h.engine.sweep().await.unwrap();
    let notices = h.engine.pending_notices(10).unwrap();
    assert!(!notices.is_empty());
    for (_, notice) in notices {
        assert_eq!(
            notice.recipients,
            strings(&["ops@example.com", "billing@acme.example"]),
            "{:?}",
            notice.kind
        );
    }
}

/// Account fields are checked, and only global keys with accounts:write
/// change accounts; an account key may read its own account.
#[tokio::test]
async fn account_changes_are_checked() {
    let h = harness();
    let mut bad = account("acme");
    bad.max_live_credentials = Some(0);
    assert!(matches!(
        h.engine.create_account(&admin(), bad).await,
        Err(Error::InvalidArgument(_))
    ));
    let mut bad = account("acme");
    bad.rate_limit = Some(RateLimit {
        per_second: 0,
        burst: 1,
    });
    assert!(matches!(
        h.engine.create_account(&admin(), bad).await,
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        h.engine
            .create_account(&admin(), account("has space"))
            .await,
        Err(Error::InvalidArgument(_))
    ));
    h.engine
        .create_account(&admin(), account("acme"))
        .await
        .unwrap();
    let (_, secret) = h
        .engine
        .create_admin_key(
            &admin(),
            NewAdminKey {
                account_id: Some("acme".to_string()),
                name: "acme".to_string(),
                scopes: strings(&["accounts:read", "credentials:read"]),
                ..NewAdminKey::default()
            },
        )
        .await
        .unwrap();
    let acme = h
        .engine
        .authenticate(secret.expose(), String::new())
        .unwrap()
        .unwrap();
    assert_eq!(h.engine.get_account(&acme, "acme").unwrap().id, "acme");
    assert!(matches!(
        h.engine.get_account(&acme, "globex"),
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        h.engine.suspend_account(&acme, "acme", "").await,
        Err(Error::PermissionDenied(_))
    ));
    assert!(matches!(
        h.engine.list_accounts(&acme, 0, None),
        Err(Error::PermissionDenied(_))
    ));
    let page = h.engine.list_accounts(&admin(), 1, None).unwrap();
    assert_eq!(page.accounts.len(), 1);
}
