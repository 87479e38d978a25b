//! Partners and delegation in the engine: client-id binding, grants and
//! Verify's `on_behalf_of`, the HTTP rules end to end, the consent flow, and
//! who may do what.

use super::*;
use crate::engine::{GrantQuery, NewClientId, NewConsent, NewGrant};
use crate::lifecycle::http_auth::{AuthMode, HttpHeaders, Refusal};
use crate::lifecycle::{ConsentStatus, GrantStatus};

fn basic(id: &str, key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"))
    )
}

fn grant(partner: &str, client: &str, scopes: &[&str]) -> NewGrant {
    NewGrant {
        partner_account_id: partner.to_string(),
        client_account_id: client.to_string(),
        scopes: strings(scopes),
        lifetime: None,
    }
}

fn consent(partner: &str, customer: &str, url: &str) -> NewConsent {
    NewConsent {
        partner_account_id: partner.to_string(),
        customer_account_id: customer.to_string(),
        redirect_url: url.to_string(),
        scopes: strings(&["orders:read"]),
        lifetime: None,
        environment: Environment::Live,
    }
}

impl Harness {
    async fn client_id(&self, account: &str) -> String {
        self.engine
            .create_client_id(
                &admin(),
                NewClientId {
                    account_id: account.to_string(),
                    environment: Environment::Live,
                    name: "shop".to_string(),
                    description: String::new(),
                },
            )
            .await
            .unwrap()
            .id
    }

    async fn bound_key(&self, account: &str, client: &str) -> Secret {
        let mut request = new_cred(account, Kind::ApiKey);
        request.client_id = Some(client.to_string());
        self.engine.create(&admin(), request).await.unwrap().1
    }

    fn verify_as(
        &self,
        secret: &Secret,
        client_id: Option<&str>,
        on_behalf_of: Option<&str>,
        scopes: &[String],
    ) -> Verification {
        self.engine
            .verify_query(&VerifyQuery {
                secret: secret.expose(),
                client_id,
                on_behalf_of,
                required_scopes: scopes,
                ..VerifyQuery::default()
            })
            .unwrap()
    }
}

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

/// Every file under `dir`, with its bytes.
fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap().flatten() {
                stack.push(entry.path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// An expiring grant warns both accounts' contacts once ahead of its expiry
/// and once when it expires, through the sweep and the outbox.
#[tokio::test]
async fn grant_expiry_notices() {
    use crate::engine::NewAccount;
    use crate::lifecycle::NoticeKind;
    let h = harness();
    for (id, contact) in [
        ("MYPRODUCT", "partner@example.com"),
        ("LAGERMAN", "client@example.com"),
    ] {
        h.engine
            .create_account(
                &admin(),
                NewAccount {
                    id: id.to_string(),
                    contact_emails: vec![contact.to_string()],
                    ..NewAccount::default()
                },
            )
            .await
            .unwrap();
    }
    h.engine
        .register_partner(&admin(), "MYPRODUCT", "", &[])
        .await
        .unwrap();
    let mut new = grant("MYPRODUCT", "LAGERMAN", &[]);
    new.lifetime = Some(Duration::days(40));
    let g = h.engine.create_grant(&admin(), new).await.unwrap();
    let grant_notices = |h: &Harness| -> Vec<NoticeKind> {
        h.engine
            .store()
            .outbox()
            .unwrap()
            .into_iter()
            .filter(|n| n.credential_id == g.id)
            .map(|n| n.kind)
            .collect()
    };
    h.engine.sweep().await.unwrap();
    assert!(grant_notices(&h).is_empty());
    h.clock.advance(Duration::days(10));
    h.engine.sweep().await.unwrap();
    h.engine.sweep().await.unwrap();
    assert_eq!(grant_notices(&h), vec![NoticeKind::GrantExpiringSoon]);
    let queued = h.engine.store().outbox().unwrap();
    let notice = queued.iter().find(|n| n.credential_id == g.id).unwrap();
    assert_eq!(
        notice.recipients,
        vec![
            "client@example.com".to_string(),
            "partner@example.com".to_string()
        ]
    );
    h.clock.advance(Duration::days(30));
    h.engine.sweep().await.unwrap();
    let mut kinds = grant_notices(&h);
    kinds.sort();
    assert_eq!(
        kinds,
        vec![NoticeKind::GrantExpiringSoon, NoticeKind::GrantExpired]
    );
    // A revoked grant warns no more.
    let later = h
        .engine
        .create_grant(&admin(), {
            let mut n = grant("MYPRODUCT", "LAGERMAN", &[]);
            n.lifetime = Some(Duration::days(1));
            n
        })
        .await
        .unwrap();
    h.engine
        .revoke_grant(&admin(), &later.id, "")
        .await
        .unwrap();
    h.engine.sweep().await.unwrap();
    assert!(
        h.engine
            .store()
            .outbox()
            .unwrap()
            .iter()
            .all(|n| n.credential_id != later.id)
    );
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

/// Client ids and grants page in id order with opaque tokens that belong to
/// their own listing.
#[tokio::test]
async fn listings_page() {
    let h = harness();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(h.client_id("LAGERMAN").await);
    }
    ids.sort();
    let (first, token) = h
        .engine
        .list_client_ids(&admin(), "LAGERMAN", 2, None)
        .unwrap();
    assert_eq!(
        first.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        ids[..2]
    );
    let token = token.expect("a second page");
    let (second, last) = h
        .engine
        .list_client_ids(&admin(), "LAGERMAN", 2, Some(&token))
        .unwrap();
    assert_eq!(
        (second.len(), second[0].id.as_str(), last),
        (1, ids[2].as_str(), None)
    );
    // A client-id token is not a grant token.
    assert!(matches!(
        h.engine.list_grants(
            &admin(),
            &GrantQuery {
                page_token: Some(token),
                ..GrantQuery::default()
            }
        ),
        Err(Error::InvalidArgument(_))
    ));
}
