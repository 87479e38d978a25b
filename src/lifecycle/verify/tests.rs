use super::*;
use crate::clock::{Clock, ManualClock};
use crate::lifecycle::fixtures::*;
use crate::lifecycle::*;

use chrono::Duration;

// ---- decide_verify -------------------------------------------------------

/// A valid current secret verifies with and without the matching account,
/// and with a subset of its scopes; `retires_at` is None.
#[test]
fn verify_valid_current_secret() {
    let r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let v = &r.versions[0];
    let now = at("2026-05-01T00:00:00Z");
    let valid = VerifyOutcome::Valid { retires_at: None };
    assert_eq!(decide_verify(&r, v, None, &[], now), valid);
    assert_eq!(decide_verify(&r, v, Some(ACCOUNT), &[], now), valid);
    assert_eq!(
        decide_verify(&r, v, Some(ACCOUNT), &scopes(&["read"]), now),
        valid
    );
    assert_eq!(
        decide_verify(&r, v, None, &scopes(&["write", "read"]), now),
        valid
    );
}

/// The older secret of a rotation verifies as superseded (with its
/// `retires_at`) until one microsecond before the window ends, and is
/// NOT_FOUND exactly at the end, while the new secret stays valid.
#[test]
fn verify_superseded_secret_until_window_end() {
    let r = rotated(
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        "2026-03-08T00:00:00Z",
    );
    let retires_at = at("2026-03-08T00:00:00Z");
    let (old, new) = (&r.versions[0], &r.versions[1]);
    let clock = ManualClock::new(at("2026-03-01T00:00:00Z"));
    assert_eq!(
        decide_verify(&r, old, Some(ACCOUNT), &[], clock.now()),
        VerifyOutcome::Valid {
            retires_at: Some(retires_at)
        }
    );
    clock.set(retires_at - micro());
    assert_eq!(
        decide_verify(&r, old, None, &[], clock.now()),
        VerifyOutcome::Valid {
            retires_at: Some(retires_at)
        }
    );
    clock.advance(micro());
    assert_eq!(
        decide_verify(&r, old, None, &[], clock.now()),
        VerifyOutcome::NotFound
    );
    assert_eq!(
        decide_verify(&r, new, None, &[], clock.now()),
        VerifyOutcome::Valid { retires_at: None }
    );
}

/// A retired older secret is NOT_FOUND before anything else is considered:
/// wrong account, revoked, expired or missing scopes do not leak through.
#[test]
fn verify_retired_secret_is_not_found_first() {
    let mut r = rotated(
        "2026-01-01T00:00:00Z",
        "2026-03-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    );
    r.status = Status::Revoked;
    let old = r.versions[0].clone();
    let now = at("2026-04-01T00:00:00Z");
    assert_eq!(
        decide_verify(&r, &old, Some("acct_other"), &scopes(&["admin"]), now),
        VerifyOutcome::NotFound
    );
    assert_eq!(
        decide_verify(&r, &old, None, &[], at("2026-02-01T00:00:00Z")),
        VerifyOutcome::NotFound
    );
}

/// A wrong account id gives ACCOUNT_MISMATCH whatever the state: active,
/// revoked, expired or disabled, and even with missing scopes.
#[test]
fn verify_wrong_account_before_state() {
    let base = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    let v = base.versions[0].clone();
    let before = at("2026-05-01T00:00:00Z");
    let after = at("2026-07-01T00:00:00Z");
    let wrong = Some("acct_2");
    assert_eq!(
        decide_verify(&base, &v, wrong, &[], before),
        VerifyOutcome::AccountMismatch
    );
    assert_eq!(
        decide_verify(&base, &v, wrong, &[], after),
        VerifyOutcome::AccountMismatch
    );
    let mut revoked = base.clone();
    revoked.status = Status::Revoked;
    assert_eq!(
        decide_verify(&revoked, &v, wrong, &[], before),
        VerifyOutcome::AccountMismatch
    );
    let mut disabled = base.clone();
    disabled.status = Status::Disabled;
    disabled.disabled_reason = Some(DisabledReason::Admin);
    assert_eq!(
        decide_verify(&disabled, &v, wrong, &scopes(&["admin"]), before),
        VerifyOutcome::AccountMismatch
    );
    // An empty account id is a different account too.
    assert_eq!(
        decide_verify(&base, &v, Some(""), &[], before),
        VerifyOutcome::AccountMismatch
    );
}

/// REVOKED wins over expiry and scopes.
#[test]
fn verify_revoked() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.status = Status::Revoked;
    let v = r.versions[0].clone();
    assert_eq!(
        decide_verify(&r, &v, Some(ACCOUNT), &[], at("2026-02-01T00:00:00Z")),
        VerifyOutcome::Revoked
    );
    assert_eq!(
        decide_verify(&r, &v, None, &scopes(&["admin"]), r.expires_at),
        VerifyOutcome::Revoked
    );
}

/// An ACTIVE secret is EXPIRED exactly at `expires_at` (no sweep needed),
/// and valid one microsecond before, as a manual clock crosses the edge.
#[test]
fn verify_expired_exactly_at_expires_at() {
    let r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    let v = &r.versions[0];
    let clock = ManualClock::new(r.expires_at - Duration::seconds(1));
    assert_eq!(
        decide_verify(&r, v, None, &[], clock.now()),
        VerifyOutcome::Valid { retires_at: None }
    );
    clock.advance(Duration::seconds(1) - micro());
    assert_eq!(
        decide_verify(&r, v, None, &[], clock.now()),
        VerifyOutcome::Valid { retires_at: None }
    );
    clock.advance(micro());
    assert_eq!(
        decide_verify(&r, v, Some(ACCOUNT), &[], clock.now()),
        VerifyOutcome::Expired
    );
    // Expired wins over a missing scope.
    assert_eq!(
        decide_verify(&r, v, None, &scopes(&["admin"]), clock.now()),
        VerifyOutcome::Expired
    );
    // A stored EXPIRED is expired even before `expires_at`.
    let mut stored = r.clone();
    stored.status = Status::Expired;
    assert_eq!(
        decide_verify(&stored, v, None, &[], at("2026-02-01T00:00:00Z")),
        VerifyOutcome::Expired
    );
}

/// DISABLED answers with its reason (ADMIN when none is recorded), before
/// scopes are looked at; a disabled credential past expiry is EXPIRED.
#[test]
fn verify_disabled_with_reason() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.status = Status::Disabled;
    let v = r.versions[0].clone();
    let now = at("2026-03-01T00:00:00Z");
    r.disabled_reason = Some(DisabledReason::Inactivity);
    assert_eq!(
        decide_verify(&r, &v, None, &[], now),
        VerifyOutcome::Disabled(DisabledReason::Inactivity)
    );
    r.disabled_reason = Some(DisabledReason::Admin);
    assert_eq!(
        decide_verify(&r, &v, Some(ACCOUNT), &scopes(&["admin"]), now),
        VerifyOutcome::Disabled(DisabledReason::Admin)
    );
    r.disabled_reason = None;
    assert_eq!(
        decide_verify(&r, &v, None, &[], now),
        VerifyOutcome::Disabled(DisabledReason::Admin)
    );
    assert_eq!(
        decide_verify(&r, &v, None, &[], r.expires_at - micro()),
        VerifyOutcome::Disabled(DisabledReason::Admin)
    );
    assert_eq!(
        decide_verify(&r, &v, None, &[], r.expires_at),
        VerifyOutcome::Expired
    );
}

/// A scope the credential lacks gives INSUFFICIENT_SCOPE, even when the
/// others are present; scope names match exactly.
#[test]
fn verify_missing_scope() {
    let r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let v = &r.versions[0];
    let now = at("2026-02-01T00:00:00Z");
    for required in [
        scopes(&["admin"]),
        scopes(&["read", "admin"]),
        scopes(&["Read"]),
        scopes(&["rea"]),
        scopes(&[""]),
    ] {
        assert_eq!(
            decide_verify(&r, v, Some(ACCOUNT), &required, now),
            VerifyOutcome::InsufficientScope,
            "{required:?}"
        );
    }
    let mut none = r.clone();
    none.scopes.clear();
    assert_eq!(
        decide_verify(&none, v, None, &scopes(&["read"]), now),
        VerifyOutcome::InsufficientScope
    );
    assert_eq!(
        decide_verify(&none, v, None, &[], now),
        VerifyOutcome::Valid { retires_at: None }
    );
}

/// A superseded secret lacking a scope is INSUFFICIENT_SCOPE, and with its
/// scopes VALID with `retires_at` set.
#[test]
fn verify_superseded_scopes() {
    let r = rotated(
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        "2026-03-08T00:00:00Z",
    );
    let old = &r.versions[0];
    let now = at("2026-03-07T23:59:59Z");
    assert_eq!(
        decide_verify(&r, old, None, &scopes(&["admin"]), now),
        VerifyOutcome::InsufficientScope
    );
    assert_eq!(
        decide_verify(&r, old, Some(ACCOUNT), &scopes(&["write"]), now),
        VerifyOutcome::Valid {
            retires_at: Some(at("2026-03-08T00:00:00Z"))
        }
    );
}

// ---- decide: the facts beyond the record ----------------------------------

/// Facts for [`decide`], with a log of what was asked.
#[derive(Default)]
struct FakeFacts {
    clients: Vec<ClientIdRecord>,
    gate: Option<AccountGate>,
    user: Option<Option<UserStatus>>,
    asked: Vec<String>,
}

impl VerifyFacts for FakeFacts {
    type Error = String;

    fn client(&mut self, id: &str) -> Result<Option<ClientIdRecord>, String> {
        self.asked.push(format!("client {id}"));
        Ok(self.clients.iter().find(|c| c.id == id).cloned())
    }

    fn account_gate(&mut self) -> Option<AccountGate> {
        self.asked.push("gate".to_string());
        self.gate
    }

    fn user(&mut self, username: &str) -> Result<Option<UserStatus>, String> {
        self.asked.push(format!("user {username}"));
        self.user.ok_or_else(|| "no user fact".to_string())
    }
}

fn client(id: &str, account: &str, status: ClientIdStatus) -> ClientIdRecord {
    ClientIdRecord {
        id: id.to_string(),
        account_id: account.to_string(),
        environment: Environment::Live,
        name: String::new(),
        description: String::new(),
        status,
        status_reason: String::new(),
        created_at: at("2026-01-01T00:00:00Z"),
        revoked_at: None,
    }
}

const NOW: &str = "2026-03-01T00:00:00Z";
const VALID: VerifyOutcome = VerifyOutcome::Valid { retires_at: None };

fn decide_with(
    r: &CredentialRecord,
    presented: &Presented<'_>,
    facts: &mut FakeFacts,
) -> VerifyOutcome {
    decide(r, &r.versions[0], presented, at(NOW), facts).unwrap()
}

/// A foreign secret (another account presented) learns nothing: no client,
/// account or user is looked up, and no budget is spent.
#[test]
fn decide_asks_nothing_for_a_foreign_secret() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    r.user = Some("ann".to_string());
    r.client_id = Some("client_1".to_string());
    let mut facts = FakeFacts::default();
    let presented = Presented {
        account_id: Some("acct_other"),
        client_id: Some("client_1"),
        ..Presented::default()
    };
    assert_eq!(
        decide_with(&r, &presented, &mut facts),
        VerifyOutcome::AccountMismatch
    );
    assert!(facts.asked.is_empty(), "{:?}", facts.asked);
}

/// A client id of another account (or another client than the key's bound
/// one) is ACCOUNT_MISMATCH, before the budget is spent.
#[test]
fn decide_client_of_another_account_is_a_mismatch() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let mut facts = FakeFacts {
        clients: vec![
            client("client_other", "acct_other", ClientIdStatus::Active),
            client("client_1", ACCOUNT, ClientIdStatus::Active),
            client("client_2", ACCOUNT, ClientIdStatus::Active),
        ],
        gate: Some(AccountGate::Open(AccountStatus::Active)),
        ..FakeFacts::default()
    };
    let other = Presented {
        client_id: Some("client_other"),
        ..Presented::default()
    };
    assert_eq!(
        decide_with(&r, &other, &mut facts),
        VerifyOutcome::AccountMismatch
    );
    r.client_id = Some("client_1".to_string());
    let second = Presented {
        client_id: Some("client_2"),
        ..Presented::default()
    };
    assert_eq!(
        decide_with(&r, &second, &mut facts),
        VerifyOutcome::AccountMismatch
    );
    assert!(
        !facts.asked.contains(&"gate".to_string()),
        "{:?}",
        facts.asked
    );
    let bound = Presented {
        client_id: Some("client_1"),
        ..Presented::default()
    };
    assert_eq!(decide_with(&r, &bound, &mut facts), VALID);
}

/// The account's spent budget wins over every state of a credential of the
/// account (the caller showed its secret); a suspended account disables
/// what would verify but keeps final states.
#[test]
fn decide_account_gate_precedence() {
    let retry = std::time::Duration::from_millis(250);
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    r.status = Status::Revoked;
    let mut limited = FakeFacts {
        gate: Some(AccountGate::Limited(retry)),
        ..FakeFacts::default()
    };
    let plain = Presented::default();
    assert_eq!(
        decide_with(&r, &plain, &mut limited),
        VerifyOutcome::RateLimited { retry_after: retry }
    );
    assert_eq!(
        limited.asked,
        vec!["gate".to_string()],
        "the budget is asked once"
    );
    let mut suspended = FakeFacts {
        gate: Some(AccountGate::Open(AccountStatus::Suspended)),
        ..FakeFacts::default()
    };
    assert_eq!(
        decide_with(&r, &plain, &mut suspended),
        VerifyOutcome::Revoked
    );
    r.status = Status::Active;
    assert_eq!(
        decide_with(&r, &plain, &mut suspended),
        VerifyOutcome::Disabled(DisabledReason::AccountSuspended)
    );
}

/// A revoked client id, presented or bound (or a bound one that is gone),
/// disables a key that would verify or lacks a scope; it does not replace
/// the account's answers.
#[test]
fn decide_revoked_client_disables() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    r.client_id = Some("client_1".to_string());
    let mut facts = FakeFacts {
        clients: vec![client("client_1", ACCOUNT, ClientIdStatus::Revoked)],
        gate: Some(AccountGate::Open(AccountStatus::Active)),
        ..FakeFacts::default()
    };
    let client_revoked = VerifyOutcome::Disabled(DisabledReason::ClientRevoked);
    assert_eq!(
        decide_with(&r, &Presented::default(), &mut facts),
        client_revoked
    );
    let needs_admin = scopes(&["admin"]);
    let scoped = Presented {
        required_scopes: &needs_admin,
        ..Presented::default()
    };
    assert_eq!(decide_with(&r, &scoped, &mut facts), client_revoked);
    facts.clients.clear();
    assert_eq!(
        decide_with(&r, &Presented::default(), &mut facts),
        client_revoked
    );
    facts.gate = Some(AccountGate::Open(AccountStatus::Suspended));
    assert_eq!(
        decide_with(&r, &Presented::default(), &mut facts),
        VerifyOutcome::Disabled(DisabledReason::AccountSuspended)
    );
}

/// A user passcode answers for its user: gone is REVOKED (also over a
/// disable), disabled is DISABLED with reason USER_DISABLED.
#[test]
fn decide_user_gone_or_disabled() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    r.kind = Kind::Passcode;
    r.user = Some("ann".to_string());
    let mut facts = FakeFacts {
        user: Some(Some(UserStatus::Active)),
        ..FakeFacts::default()
    };
    let plain = Presented::default();
    assert_eq!(decide_with(&r, &plain, &mut facts), VALID);
    assert_eq!(
        facts.asked,
        vec!["gate".to_string(), "user ann".to_string()]
    );
    facts.user = Some(Some(UserStatus::Disabled));
    assert_eq!(
        decide_with(&r, &plain, &mut facts),
        VerifyOutcome::Disabled(DisabledReason::UserDisabled)
    );
    facts.user = Some(None);
    assert_eq!(decide_with(&r, &plain, &mut facts), VerifyOutcome::Revoked);
    r.status = Status::Disabled;
    assert_eq!(decide_with(&r, &plain, &mut facts), VerifyOutcome::Revoked);
    r.status = Status::Active;
    let mut expired = record("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
    expired.user = Some("ann".to_string());
    assert_eq!(
        decide_with(&expired, &plain, &mut facts),
        VerifyOutcome::Expired
    );
}

/// The scope query is step 4 beside the required scopes: both must hold;
/// state and account answers come first, and a suspended account or a
/// revoked client still replaces an unmet query as it does a missing scope.
#[test]
fn decide_scope_query() {
    let r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let open = || FakeFacts {
        gate: Some(AccountGate::Open(AccountStatus::Active)),
        ..FakeFacts::default()
    };
    let held = scope_expr::parse("read AND (admin OR write)").unwrap();
    let unheld = scope_expr::parse("admin OR (read AND delete)").unwrap();
    fn with<'a>(query: &'a scope_expr::ScopeExpr, required: &'a [String]) -> Presented<'a> {
        Presented {
            scope_query: Some(query),
            required_scopes: required,
            ..Presented::default()
        }
    }
    assert_eq!(decide_with(&r, &with(&held, &[]), &mut open()), VALID);
    let insufficient = VerifyOutcome::InsufficientScope;
    assert_eq!(
        decide_with(&r, &with(&unheld, &[]), &mut open()),
        insufficient
    );
    let admin = scopes(&["admin"]);
    assert_eq!(
        decide_with(&r, &with(&held, &admin), &mut open()),
        insufficient
    );
    let mut revoked = r.clone();
    revoked.status = Status::Revoked;
    assert_eq!(
        decide_with(&revoked, &with(&unheld, &[]), &mut open()),
        VerifyOutcome::Revoked
    );
    let foreign = Presented {
        account_id: Some("acct_other"),
        ..with(&unheld, &[])
    };
    assert_eq!(
        decide_with(&r, &foreign, &mut open()),
        VerifyOutcome::AccountMismatch
    );
    let mut suspended = FakeFacts {
        gate: Some(AccountGate::Open(AccountStatus::Suspended)),
        ..FakeFacts::default()
    };
    assert_eq!(
        decide_with(&r, &with(&unheld, &[]), &mut suspended),
        VerifyOutcome::Disabled(DisabledReason::AccountSuspended)
    );
}
