//! The console's principals and reads: an admin key signs in as gRPC
//! accepts it and its session ends when the key is revoked or its secret
//! rotated away; a user signs in only with the ADMIN role, acts only on
//! their account, and loses the console when demoted, disabled or logged
//! out; the overview counts, lists what expires and turns inactive, and is
//! served from its cache until the cache ages.

use zeroize::Zeroizing;

use super::users::cheap;
use super::*;
use crate::engine::{ConsolePrincipal, NewAdminKey, NewUser, UserUpdate};
use crate::lifecycle::UserRole;

async fn admin_key(h: &Harness, account: Option<&str>) -> Secret {
    let (_, secret) = h
        .engine
        .create_admin_key(
            &admin(),
            NewAdminKey {
                account_id: account.map(str::to_string),
                name: "console".to_string(),
                scopes: strings(&["credentials:read", "credentials:write", "audit:read"]),
                ..NewAdminKey::default()
            },
        )
        .await
        .unwrap();
    secret
}

async fn shop_user(h: &Harness, name: &str, role: UserRole) {
    h.engine
        .create_user(
            &admin(),
            NewUser {
                account_id: "shop".to_string(),
                username: name.to_string(),
                role,
                email: format!("{name}@shop.example"),
                password: Some(Zeroizing::new("password one".to_string())),
            },
        )
        .await
        .unwrap();
}

async fn sign_in(h: &Harness, name: &str) -> Result<(Actor, ConsolePrincipal), Error> {
    h.engine
        .console_user_sign_in(
            "shop",
            name,
            Zeroizing::new("password one".to_string()),
            None,
        )
        .await
}

/// The actor of a console signed in with a new key confined to acme.
async fn acme_console(h: &Harness) -> Actor {
    let secret = admin_key(h, Some("acme")).await;
    let (actor, _) = h
        .engine
        .console_key_sign_in(secret.expose(), None, String::new())
        .unwrap();
    actor
}

fn acts(h: &Harness, principal: &ConsolePrincipal) -> Option<Actor> {
    h.engine
        .console_actor(principal, "req".to_string())
        .unwrap()
}

#[tokio::test]
async fn an_admin_key_session_ends_with_its_key() {
    let h = harness();
    let secret = admin_key(&h, None).await;
    let (actor, principal) = h
        .engine
        .console_key_sign_in(secret.expose(), None, "req".to_string())
        .unwrap();
    assert!(actor.holds(Scope::CredentialsWrite));
    assert_eq!(acts(&h, &principal).unwrap().id, actor.id);
    assert!(matches!(
        h.engine
            .console_key_sign_in("credd_live_adm_nope", None, String::new()),
        Err(Error::Unauthenticated(_))
    ));
    // Rotated: the old secret works through the window; completed: gone.
    h.engine.rotate(&admin(), &actor.id, None).await.unwrap();
    assert!(acts(&h, &principal).is_some(), "inside the rotation window");
    h.engine
        .complete_rotation(&admin(), &actor.id)
        .await
        .unwrap();
    assert!(
        acts(&h, &principal).is_none(),
        "its secret was rotated away"
    );
    let secret = admin_key(&h, None).await;
    let (actor, principal) = h
        .engine
        .console_key_sign_in(secret.expose(), None, String::new())
        .unwrap();
    h.engine.revoke(&admin(), &actor.id, "gone").await.unwrap();
    assert!(acts(&h, &principal).is_none(), "revoked");
    assert!(matches!(
        h.engine
            .console_key_sign_in(secret.expose(), None, String::new()),
        Err(Error::Unauthenticated(_))
    ));
}

#[tokio::test]
async fn only_admin_users_sign_in_and_only_for_their_account() {
    let mut h = harness();
    cheap(&mut h);
    shop_user(&h, "ann", UserRole::Admin).await;
    shop_user(&h, "bob", UserRole::ApiUser).await;
    let (own, _) = h.create("shop").await;
    let (other, _) = h.create("acme").await;
    assert!(matches!(
        sign_in(&h, "bob").await,
        Err(Error::PermissionDenied(m)) if m.contains("ADMIN")
    ));
    assert!(matches!(
        h.engine
            .console_user_sign_in("shop", "ann", Zeroizing::new("wrong".to_string()), None)
            .await,
        Err(Error::Unauthenticated(_))
    ));
    let (actor, principal) = sign_in(&h, "ann").await.unwrap();
    assert_eq!(actor.id, "user:shop-ann");
    let actor = acts(&h, &principal).unwrap();
    assert!(h.engine.get(&actor, &own.record.id).is_ok());
    assert!(matches!(
        h.engine.get(&actor, &other.record.id),
        Err(Error::PermissionDenied(_))
    ));
    h.engine
        .revoke(&actor, &own.record.id, "console")
        .await
        .unwrap();
    let events = h
        .engine
        .list_audit(&admin(), &AuditQuery::default())
        .unwrap()
        .events;
    assert!(
        events
            .iter()
            .any(|e| e.action == "credential.revoke" && e.actor == "user:shop-ann")
    );
    // Demoted: the console session ends with the next request.
    h.engine
        .update_user(
            &admin(),
            "shop",
            "ann",
            UserUpdate {
                role: Some(UserRole::ApiUser),
                ..UserUpdate::default()
            },
        )
        .await
        .unwrap();
    assert!(acts(&h, &principal).is_none());
}

#[tokio::test]
async fn signing_out_ends_the_login_session() {
    let mut h = harness();
    cheap(&mut h);
    shop_user(&h, "ann", UserRole::Admin).await;
    let (_, principal) = sign_in(&h, "ann").await.unwrap();
    assert!(acts(&h, &principal).is_some());
    let token = principal.login_token().unwrap();
    assert!(h.engine.logout(&token).await.unwrap());
    assert!(acts(&h, &principal).is_none());
}

#[tokio::test]
async fn the_overview_counts_and_lists_and_is_cached() {
    let h = harness();
    let (soon, _) = h
        .engine
        .create(
            &admin(),
            NewCredential {
                lifetime: Some(Duration::days(10)),
                ..new_cred("acme", Kind::ApiKey)
            },
        )
        .await
        .unwrap();
    let (revoked, _) = h.create("acme").await;
    h.engine
        .revoke(&admin(), &revoked.record.id, "x")
        .await
        .unwrap();
    h.create("other").await;
    let all = h.engine.overview(&admin()).unwrap();
    assert_eq!(all.counts, [2, 0, 0, 1]);
    assert_eq!(all.expiring_total, 1);
    assert_eq!(all.expiring[0].id, soon.record.id);
    assert_eq!(all.turning_inactive_total, 0, "two months away");
    // Cached: a new credential shows only once the cache has aged.
    h.create("acme").await;
    h.clock.advance(Duration::seconds(9));
    assert_eq!(h.engine.overview(&admin()).unwrap().counts[0], 2);
    h.clock.advance(Duration::seconds(1));
    assert_eq!(h.engine.overview(&admin()).unwrap().counts[0], 3);
    // A clock gone back does not keep an overview from the future.
    h.clock.advance(Duration::seconds(-5));
    h.create("acme").await;
    assert_eq!(h.engine.overview(&admin()).unwrap().counts[0], 4);
    h.clock.advance(Duration::seconds(5));
    // Seven weeks on, the unused active keys turn inactive within 30 days.
    h.clock.advance(Duration::weeks(7));
    let later = h.engine.overview(&admin()).unwrap();
    assert_eq!(later.turning_inactive_total, 3, "{later:?}");
    // An account-scoped key sees its account only; without the scope, none.
    let scoped = acme_console(&h).await;
    assert_eq!(
        h.engine
            .overview(&scoped)
            .unwrap()
            .counts
            .iter()
            .sum::<u64>(),
        4
    );
    let reader = Actor::admin_key("k", [Scope::AuditRead], None, String::new());
    assert!(matches!(
        h.engine.overview(&reader),
        Err(Error::PermissionDenied(_))
    ));
}

/// An account-scoped overview counts its account's notices only.
#[tokio::test]
async fn the_overview_counts_the_notices_of_its_accounts() {
    let h = harness();
    let (acme, _) = h.create("acme").await;
    h.create("other").await;
    h.create("other").await;
    h.clock.set(acme.record.expires_at - Duration::days(29));
    h.engine.sweep().await.unwrap();
    let outbox = h.engine.store().outbox().unwrap();
    let of = |account: &str| outbox.iter().filter(|n| n.account_id == account).count() as u64;
    assert!(of("acme") > 0 && of("other") > of("acme"), "{outbox:?}");
    let all = h.engine.overview(&admin()).unwrap();
    assert_eq!(all.notices_queued, outbox.len() as u64);
    let scoped = acme_console(&h).await;
    assert_eq!(
        h.engine.overview(&scoped).unwrap().notices_queued,
        of("acme")
    );
}

#[tokio::test]
async fn failed_key_sign_ins_from_one_peer_are_throttled() {
    let h = harness();
    let secret = admin_key(&h, None).await;
    let peer = Some("192.0.2.7".parse().unwrap());
    let free = UserSettings::default().login_free_attempts;
    for _ in 0..free {
        assert!(matches!(
            h.engine
                .console_key_sign_in("credd_live_adm_nope", peer, String::new()),
            Err(Error::Unauthenticated(_))
        ));
    }
    assert!(matches!(
        h.engine
            .console_key_sign_in(secret.expose(), peer, String::new()),
        Err(Error::Throttled { .. })
    ));
    let elsewhere = Some("192.0.2.8".parse().unwrap());
    assert!(
        h.engine
            .console_key_sign_in(secret.expose(), elsewhere, String::new())
            .is_ok()
    );
}
