//! Users, passcodes and sessions in the engine, with a manual clock.

use std::net::IpAddr;
use std::time::Duration as StdDuration;

use zeroize::Zeroizing;

use super::*;
use crate::lifecycle::{UserRole, UserStatus};

pub(super) fn cheap(h: &mut Harness) {
    let engine = Arc::get_mut(&mut h.engine).unwrap();
    engine.set_user_settings(UserSettings {
        argon2_memory_kib: 64,
        argon2_iterations: 1,
        ..UserSettings::default()
    });
}

/// Logs user `name` of account shop in with the right password.
pub(super) async fn login_as(
    h: &Harness,
    name: &str,
) -> Result<(crate::lifecycle::SessionRecord, Secret), Error> {
    h.engine
        .login(
            "shop",
            name,
            Zeroizing::new("password one".to_string()),
            None,
        )
        .await
}

pub(super) async fn user(h: &Harness, name: &str) {
    h.engine
        .create_user(
            &admin(),
            NewUser {
                account_id: "shop".to_string(),
                username: name.to_string(),
                role: UserRole::ApiUser,
                email: format!("{name}@shop.example"),
                password: Some(Zeroizing::new("password one".to_string())),
            },
        )
        .await
        .unwrap();
}

/// Sessions idle out and end at their lifetime by the clock; the sweep
/// removes them with an audit event, and touches keep them alive.
#[tokio::test]
async fn sessions_follow_the_clock_and_are_swept() {
    let mut h = harness();
    cheap(&mut h);
    user(&h, "api").await;
    let (session, token) = login_as(&h, "api").await.unwrap();
    assert_eq!(session.expires_at, t0() + Duration::hours(12));
    let verify = |h: &Harness| h.engine.verify(token.expose(), None, &[]).unwrap().outcome;
    assert!(matches!(verify(&h), VerifyOutcome::Valid { .. }));
    // Used every 20 minutes, it outlives the 30-minute idle timeout...
    for _ in 0..5 {
        h.clock.advance(Duration::minutes(20));
        assert!(matches!(verify(&h), VerifyOutcome::Valid { .. }));
    }
    // ...and survives a sweep while live (touches are written first).
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 0);
    h.clock.advance(Duration::minutes(31));
    assert_eq!(verify(&h), VerifyOutcome::Expired);
    assert_eq!(h.engine.sweep_sessions().await.unwrap(), 1);
    assert_eq!(verify(&h), VerifyOutcome::NotFound);
    let expired = h
        .engine
        .list_audit(
            &admin(),
            &AuditQuery {
                filter: AuditFilter {
                    action: Some("session.expire".to_string()),
                    ..AuditFilter::default()
                },
                ..AuditQuery::default()
            },
        )
        .unwrap();
    assert_eq!(expired.events.len(), 1);
    assert_eq!(expired.events[0].actor, "system");
}

/// A disabled user cannot log in (with the right password), and its live
/// sessions verify DISABLED; a wrong password and an unknown user are the
/// same error.
#[tokio::test]
async fn login_answers() {
    let mut h = harness();
    cheap(&mut h);
    user(&h, "api").await;
    let wrong = h
        .engine
        .login(
            "shop",
            "api",
            Zeroizing::new("password two".to_string()),
            None,
        )
        .await
        .unwrap_err();
    let unknown = login_as(&h, "ghost").await.unwrap_err();
    assert_eq!(wrong.to_string(), unknown.to_string());
    assert!(matches!(wrong, Error::Unauthenticated(_)));
    let (_, token) = login_as(&h, "api").await.unwrap();
    h.engine
        .set_user_status(&admin(), "shop", "api", UserStatus::Disabled)
        .await
        .unwrap();
    assert_eq!(
        h.engine.verify(token.expose(), None, &[]).unwrap().outcome,
        VerifyOutcome::Disabled(DisabledReason::UserDisabled)
    );
    let disabled = login_as(&h, "api").await.unwrap_err();
    assert!(
        matches!(disabled, Error::PermissionDenied(_)),
        "{disabled:?}"
    );
}

/// A user passcode carries its user; granting needs a user without one.
#[tokio::test]
async fn user_passcodes_belong_to_their_user() {
    let mut h = harness();
    cheap(&mut h);
    user(&h, "api").await;
    let (user, view, secret) = h
        .engine
        .grant_user_passcode(&admin(), "shop", "api", PasscodeValidity::Days(365))
        .await
        .unwrap();
    assert_eq!(user.passcode_id.as_deref(), Some(view.record.id.as_str()));
    assert_eq!(view.record.user.as_deref(), Some("api"));
    assert_eq!(view.record.expires_at, t0() + Duration::days(365));
    assert_eq!(view.record.notify_emails, strings(&["api@shop.example"]));
    let verification = h.engine.verify(secret.expose(), Some("shop"), &[]).unwrap();
    assert!(matches!(verification.outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(
        verification.credential.unwrap().user,
        Some(("api".to_string(), UserRole::ApiUser))
    );
    for bad in [0, 366] {
        let err = h
            .engine
            .reset_user_passcode(&admin(), "shop", "api", PasscodeValidity::Days(bad))
            .await;
        assert!(matches!(err, Err(Error::InvalidArgument(_))), "{err:?}");
    }
    // A refused reset leaves the old passcode working.
    let still = h.engine.verify(secret.expose(), Some("shop"), &[]).unwrap();
    assert!(matches!(still.outcome, VerifyOutcome::Valid { .. }));
}

/// Users are listed in pages with opaque tokens.
#[tokio::test]
async fn users_are_listed_in_pages() {
    let mut h = harness();
    cheap(&mut h);
    for name in ["ann", "bob", "cy"] {
        user(&h, name).await;
    }
    let (first, token) = h.engine.list_users(&admin(), "shop", 2, None).unwrap();
    let names: Vec<&str> = first.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["ann", "bob"]);
    let token = token.expect("a second page");
    assert!(!token.contains("bob"), "the token is opaque");
    let (rest, last) = h
        .engine
        .list_users(&admin(), "shop", 2, Some(&token))
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].username, "cy");
    assert_eq!(last, None);
    assert!(
        h.engine
            .list_users(&admin(), "shop", 2, Some("bob"))
            .is_err()
    );
}

/// A client id presented with a session token must be one of the session's
/// account's client ids.
#[tokio::test]
async fn sessions_check_a_presented_client_id() {
    let mut h = harness();
    cheap(&mut h);
    user(&h, "api").await;
    let (_, token) = login_as(&h, "api").await.unwrap();
    let client = |account: &str| crate::engine::NewClientId {
        account_id: account.to_string(),
        environment: Environment::Live,
        name: String::new(),
        description: String::new(),
    };
    let own = h
        .engine
        .create_client_id(&admin(), client("shop"))
        .await
        .unwrap()
        .id;
    let foreign = h
        .engine
        .create_client_id(&admin(), client("other"))
        .await
        .unwrap()
        .id;
    let with_client = |id: &str| {
        h.engine
            .verify_query(&VerifyQuery {
                secret: token.expose(),
                client_id: Some(id),
                ..VerifyQuery::default()
            })
            .unwrap()
            .outcome
    };
    assert!(matches!(with_client(&own), VerifyOutcome::Valid { .. }));
    assert_eq!(with_client(&foreign), VerifyOutcome::AccountMismatch);
}

/// `login_free_attempts` failures are free; the attempt after the N-th is
/// refused even with the right password, whether the failures were counted
/// for the user or for the peer address.
#[tokio::test]
async fn the_throttle_refuses_the_attempt_after_the_free_failures() {
    let mut h = harness();
    {
        let engine = Arc::get_mut(&mut h.engine).unwrap();
        engine.set_user_settings(UserSettings {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            login_free_attempts: 3,
            login_backoff: StdDuration::from_secs(60),
            ..UserSettings::default()
        });
    }
    user(&h, "api").await;
    user(&h, "other").await;
    let attempt = |name: &'static str, password: &'static str, peer: [u8; 4]| {
        let engine = Arc::clone(&h.engine);
        async move {
            engine
                .login(
                    "shop",
                    name,
                    Zeroizing::new(password.to_string()),
                    Some(IpAddr::from(peer)),
                )
                .await
        }
    };
    // The user's count: three failures from three addresses.
    for n in 1..=3 {
        let err = attempt("api", "wrong", [10, 0, 0, n]).await.unwrap_err();
        assert!(
            matches!(err, Error::Unauthenticated(_)),
            "failure {n}: {err:?}"
        );
    }
    let err = attempt("api", "password one", [10, 0, 0, 4])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    // The peer's count: three failures for three users, then the right
    // password of a fourth user from the same address is refused too.
    for name in ["ghost1", "ghost2", "ghost3"] {
        let err = attempt(name, "wrong", [10, 0, 1, 1]).await.unwrap_err();
        assert!(matches!(err, Error::Unauthenticated(_)), "{name}: {err:?}");
    }
    let err = attempt("other", "password one", [10, 0, 1, 1])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err:?}");
    // Two failures leave the third attempt free.
    let err = attempt("other", "wrong", [10, 0, 2, 1]).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    let err = attempt("other", "wrong", [10, 0, 2, 1]).await.unwrap_err();
    assert!(matches!(err, Error::Unauthenticated(_)), "{err:?}");
    attempt("other", "password one", [10, 0, 2, 1])
        .await
        .expect("the third attempt after two failures");
}

/// A session holds no scopes: any scope expression is INSUFFICIENT_SCOPE,
/// as a required scope is.
#[tokio::test]
async fn sessions_satisfy_no_scope_query() {
    let mut h = harness();
    cheap(&mut h);
    user(&h, "api").await;
    let (_, token) = login_as(&h, "api").await.unwrap();
    let with_query = |query: &str| {
        let parsed = crate::engine::validate::scope_query("scope_query", query).unwrap();
        h.engine
            .verify_query(&VerifyQuery {
                secret: token.expose(),
                scope_query: parsed.as_ref(),
                ..VerifyQuery::default()
            })
            .unwrap()
            .outcome
    };
    assert!(matches!(with_query(""), VerifyOutcome::Valid { .. }));
    assert_eq!(with_query("a OR b"), VerifyOutcome::InsufficientScope);
}
