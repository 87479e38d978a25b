use super::*;
use crate::clock::{Clock, ManualClock};
use crate::lifecycle::*;

use chrono::Duration;

const ACCOUNT: &str = "acct_1";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn micro() -> Duration {
    Duration::microseconds(1)
}

fn secret_version(version: u32, retires_at: Option<DateTime<Utc>>) -> SecretVersion {
    SecretVersion {
        version,
        hash: [u8::try_from(version).unwrap(); 32],
        hint: format!("credd_live_api_...{version:04}"),
        created_at: at("2026-01-01T00:00:00Z"),
        retires_at,
    }
}

/// An ACTIVE API key of `ACCOUNT` with scopes `read` and `write`, one secret,
/// created at `created` and expiring at `expires_at`.
fn record(created: &str, expires_at: &str) -> CredentialRecord {
    CredentialRecord {
        id: "cred_01TEST".to_string(),
        account_id: ACCOUNT.to_string(),
        kind: Kind::ApiKey,
        environment: Environment::Live,
        name: "test key".to_string(),
        description: "for unit tests".to_string(),
        scopes: vec!["read".to_string(), "write".to_string()],
        status: Status::Active,
        disabled_reason: None,
        status_reason: String::new(),
        created_at: at(created),
        updated_at: at(created),
        expires_at: at(expires_at),
        last_used_at: None,
        reactivated_at: None,
        notify_emails: vec!["ops@example.com".to_string()],
        versions: vec![secret_version(1, None)],
        expiry_warned_for: None,
        scheduled: Vec::new(),
        user: None,
        client_id: None,
        grant_id: None,
    }
}

/// A record with an open rotation: version 1 retires at `retires_at`,
/// version 2 is current.
fn rotated(created: &str, expires_at: &str, retires_at: &str) -> CredentialRecord {
    let mut r = record(created, expires_at);
    r.versions = vec![
        secret_version(1, Some(at(retires_at))),
        secret_version(2, None),
    ];
    r
}

fn scopes(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_string()).collect()
}

fn deadline(when: &str, event: DeadlineEvent) -> Deadline {
    Deadline {
        at: at(when),
        event,
    }
}

// ---- effective_status ----------------------------------------------------

/// ACTIVE stays ACTIVE until one microsecond before `expires_at` and is
/// EXPIRED exactly at it and after.
#[test]
fn effective_status_active_expires_exactly_at_deadline() {
    let r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    let exp = r.expires_at;
    assert_eq!(effective_status(&r, r.created_at), Status::Active);
    assert_eq!(
        effective_status(&r, exp - Duration::seconds(1)),
        Status::Active
    );
    assert_eq!(effective_status(&r, exp - micro()), Status::Active);
    assert_eq!(effective_status(&r, exp), Status::Expired);
    assert_eq!(effective_status(&r, exp + micro()), Status::Expired);
    assert_eq!(
        effective_status(&r, exp + Duration::days(400)),
        Status::Expired
    );
}

/// A DISABLED credential past `expires_at` is EXPIRED; before it, DISABLED.
#[test]
fn effective_status_disabled_expires() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.status = Status::Disabled;
    r.disabled_reason = Some(DisabledReason::Inactivity);
    assert_eq!(
        effective_status(&r, r.expires_at - micro()),
        Status::Disabled
    );
    assert_eq!(effective_status(&r, r.expires_at), Status::Expired);
}

/// REVOKED stays REVOKED past `expires_at`; a stored EXPIRED stays EXPIRED
/// even at a time before `expires_at`.
#[test]
fn effective_status_final_states_stay() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.status = Status::Revoked;
    assert_eq!(
        effective_status(&r, r.expires_at - micro()),
        Status::Revoked
    );
    assert_eq!(effective_status(&r, r.expires_at), Status::Revoked);
    assert_eq!(
        effective_status(&r, r.expires_at + Duration::days(3650)),
        Status::Revoked
    );
    r.status = Status::Expired;
    assert_eq!(effective_status(&r, r.created_at), Status::Expired);
    assert_eq!(effective_status(&r, r.expires_at), Status::Expired);
}

// ---- is_live -------------------------------------------------------------

/// ACTIVE and DISABLED count against the quota until `expires_at` (exclusive);
/// EXPIRED and REVOKED never do.
#[test]
fn is_live_edges() {
    let exp = at("2026-06-01T00:00:00Z");
    for status in [Status::Active, Status::Disabled] {
        assert!(
            is_live(status, exp, exp - Duration::seconds(1)),
            "{status:?}"
        );
        assert!(is_live(status, exp, exp - micro()), "{status:?}");
        assert!(!is_live(status, exp, exp), "{status:?}");
        assert!(!is_live(status, exp, exp + micro()), "{status:?}");
    }
    for status in [Status::Expired, Status::Revoked] {
        assert!(
            !is_live(status, exp, exp - Duration::days(30)),
            "{status:?}"
        );
        assert!(!is_live(status, exp, exp), "{status:?}");
    }
}

// ---- inactive_since ------------------------------------------------------

/// Inactivity counts from the latest of creation, last use and reactivation.
#[test]
fn inactive_since_is_latest_of_three() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    assert_eq!(inactive_since(&r), at("2026-01-01T00:00:00Z"));

    r.last_used_at = Some(at("2026-02-01T00:00:00Z"));
    assert_eq!(inactive_since(&r), at("2026-02-01T00:00:00Z"));

    r.reactivated_at = Some(at("2026-04-01T00:00:00Z"));
    assert_eq!(inactive_since(&r), at("2026-04-01T00:00:00Z"));

    r.last_used_at = Some(at("2026-05-01T00:00:00Z"));
    assert_eq!(inactive_since(&r), at("2026-05-01T00:00:00Z"));

    // Never earlier than creation, whatever the other fields say.
    r.last_used_at = Some(at("2025-01-01T00:00:00Z"));
    r.reactivated_at = Some(at("2025-06-01T00:00:00Z"));
    assert_eq!(inactive_since(&r), at("2026-01-01T00:00:00Z"));

    // Reactivation alone.
    r.last_used_at = None;
    r.reactivated_at = Some(at("2026-03-03T03:03:03Z"));
    assert_eq!(inactive_since(&r), at("2026-03-03T03:03:03Z"));
}

// ---- rotation_state ------------------------------------------------------

/// One secret means no rotation, at any time.
#[test]
fn rotation_state_none_with_one_secret() {
    let r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    assert_eq!(rotation_state(&r, r.created_at), RotationState::None);
    assert_eq!(rotation_state(&r, r.expires_at), RotationState::None);
}

/// The window is open until one microsecond before `retires_at` and lapsed
/// exactly at it, as a manual clock moves across the edge.
#[test]
fn rotation_state_open_then_lapsed_at_retires_at() {
    let r = rotated(
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        "2026-03-08T12:00:00Z",
    );
    let retires_at = at("2026-03-08T12:00:00Z");
    let open = RotationState::Open {
        older_version: 1,
        retires_at,
    };
    let clock = ManualClock::new(at("2026-03-01T12:00:00Z"));
    assert_eq!(rotation_state(&r, clock.now()), open);
    clock.set(retires_at - Duration::seconds(1));
    assert_eq!(rotation_state(&r, clock.now()), open);
    clock.advance(Duration::seconds(1) - micro());
    assert_eq!(rotation_state(&r, clock.now()), open);
    clock.advance(micro());
    assert_eq!(clock.now(), retires_at);
    assert_eq!(
        rotation_state(&r, clock.now()),
        RotationState::Lapsed { older_version: 1 }
    );
    clock.advance(Duration::days(1));
    assert_eq!(
        rotation_state(&r, clock.now()),
        RotationState::Lapsed { older_version: 1 }
    );
}

/// The older secret is found by its `retires_at`, not by its position in the list.
#[test]
fn rotation_state_finds_older_version_anywhere() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    r.versions = vec![
        secret_version(8, None),
        secret_version(7, Some(at("2026-02-01T00:00:00Z"))),
    ];
    assert_eq!(
        rotation_state(&r, at("2026-01-15T00:00:00Z")),
        RotationState::Open {
            older_version: 7,
            retires_at: at("2026-02-01T00:00:00Z"),
        }
    );
}

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

// ---- next_deadlines ------------------------------------------------------

/// An ACTIVE credential created on 31 December has, earliest first: the
/// inactivity disable two calendar months later (28 February), the expiry
/// warning 30 days before expiry, and the expiry.
#[test]
fn deadlines_active_standard_policy() {
    let r = record("2026-12-31T10:00:00Z", "2027-12-31T10:00:00Z");
    assert_eq!(
        next_deadlines(&r, &Policy::standard()),
        vec![
            deadline("2027-02-28T10:00:00Z", DeadlineEvent::InactivityDisable),
            deadline("2027-12-01T10:00:00Z", DeadlineEvent::ExpiryWarning),
            deadline("2027-12-31T10:00:00Z", DeadlineEvent::Expire),
        ]
    );
}

/// Deadlines are sorted by time even when expiry comes before inactivity,
/// and the warning uses `expiry_warning_before` exactly (to the second).
#[test]
fn deadlines_sorted_earliest_first() {
    let r = record("2026-01-31T00:00:00Z", "2026-02-20T00:00:05Z");
    let mut policy = Policy::standard();
    policy.expiry_warning_before = Span::Fixed(Duration::seconds(10));
    let got = next_deadlines(&r, &policy);
    assert_eq!(
        got,
        vec![
            deadline("2026-02-19T23:59:55Z", DeadlineEvent::ExpiryWarning),
            deadline("2026-02-20T00:00:05Z", DeadlineEvent::Expire),
            deadline("2026-03-31T00:00:00Z", DeadlineEvent::InactivityDisable),
        ]
    );
    assert!(got.windows(2).all(|w| w[0].at <= w[1].at));
}

/// No expiry warning once it was queued for this `expires_at`; a warning
/// queued for an earlier expiry date does not suppress the new one.
#[test]
fn deadlines_omit_warning_already_sent() {
    let mut r = record("2026-12-31T10:00:00Z", "2027-12-31T10:00:00Z");
    r.expiry_warned_for = Some(r.expires_at);
    assert_eq!(
        next_deadlines(&r, &Policy::standard()),
        vec![
            deadline("2027-02-28T10:00:00Z", DeadlineEvent::InactivityDisable),
            deadline("2027-12-31T10:00:00Z", DeadlineEvent::Expire),
        ]
    );
    r.expiry_warned_for = Some(at("2027-06-30T10:00:00Z"));
    let got = next_deadlines(&r, &Policy::standard());
    assert!(
        got.contains(&deadline(
            "2027-12-01T10:00:00Z",
            DeadlineEvent::ExpiryWarning
        )),
        "{got:?}"
    );
    assert_eq!(got.len(), 3);
}

/// A DISABLED credential has the expiry warning, expiry, and deletion ten
/// calendar months after it became inactive, but no inactivity disable.
#[test]
fn deadlines_disabled_get_delete_not_disable() {
    let mut r = record("2026-03-31T08:00:00Z", "2028-01-01T00:00:00Z");
    r.status = Status::Disabled;
    r.disabled_reason = Some(DisabledReason::Inactivity);
    assert_eq!(
        next_deadlines(&r, &Policy::standard()),
        vec![
            deadline("2027-01-31T08:00:00Z", DeadlineEvent::InactivityDelete),
            deadline("2027-12-02T00:00:00Z", DeadlineEvent::ExpiryWarning),
            deadline("2028-01-01T00:00:00Z", DeadlineEvent::Expire),
        ]
    );
}

/// EXPIRED and REVOKED credentials have only the inactivity delete,
/// counted from their last activity.
#[test]
fn deadlines_final_states_only_delete() {
    for status in [Status::Expired, Status::Revoked] {
        let mut r = record("2026-01-15T00:00:00Z", "2026-06-01T00:00:00Z");
        r.status = status;
        assert_eq!(
            next_deadlines(&r, &Policy::standard()),
            vec![deadline(
                "2026-11-15T00:00:00Z",
                DeadlineEvent::InactivityDelete
            )],
            "{status:?}"
        );
        r.last_used_at = Some(at("2026-05-31T23:00:00Z"));
        assert_eq!(
            next_deadlines(&r, &Policy::standard()),
            vec![deadline(
                "2027-03-31T23:00:00Z",
                DeadlineEvent::InactivityDelete
            )],
            "{status:?}"
        );
    }
}

/// A successful use restarts the inactivity clock: the disable moves to two
/// calendar months after the last use (31 Dec 2027 -> 29 Feb 2028, a leap year).
#[test]
fn deadlines_use_resets_inactivity() {
    let mut r = record("2027-01-10T00:00:00Z", "2030-01-01T00:00:00Z");
    let policy = Policy::standard();
    let disable_at = |r: &CredentialRecord| {
        next_deadlines(r, &policy)
            .into_iter()
            .find(|d| d.event == DeadlineEvent::InactivityDisable)
            .map(|d| d.at)
    };
    assert_eq!(disable_at(&r), Some(at("2027-03-10T00:00:00Z")));
    r.last_used_at = Some(at("2027-12-31T12:34:56Z"));
    assert_eq!(disable_at(&r), Some(at("2028-02-29T12:34:56Z")));
}

/// Reactivation restarts the inactivity clock: a reactivated credential is
/// disabled two months after the reactivation, not after its old last use.
#[test]
fn deadlines_reactivation_resets_inactivity() {
    let mut r = record("2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
    r.last_used_at = Some(at("2026-02-01T00:00:00Z"));
    r.reactivated_at = Some(at("2026-05-20T09:00:00Z"));
    let got = next_deadlines(&r, &Policy::standard());
    assert_eq!(
        got[0],
        deadline("2026-07-20T09:00:00Z", DeadlineEvent::InactivityDisable)
    );
    assert!(
        !got.iter()
            .any(|d| d.event == DeadlineEvent::InactivityDelete),
        "{got:?}"
    );
}

/// An open rotation window adds RotationEnd at the older secret's `retires_at`.
#[test]
fn deadlines_rotation_end_when_window_open() {
    let r = rotated(
        "2026-12-31T10:00:00Z",
        "2027-12-31T10:00:00Z",
        "2027-01-07T10:00:00Z",
    );
    assert_eq!(
        next_deadlines(&r, &Policy::standard()),
        vec![
            deadline("2027-01-07T10:00:00Z", DeadlineEvent::RotationEnd),
            deadline("2027-02-28T10:00:00Z", DeadlineEvent::InactivityDisable),
            deadline("2027-12-01T10:00:00Z", DeadlineEvent::ExpiryWarning),
            deadline("2027-12-31T10:00:00Z", DeadlineEvent::Expire),
        ]
    );
    let single = record("2026-12-31T10:00:00Z", "2027-12-31T10:00:00Z");
    assert!(
        !next_deadlines(&single, &Policy::standard())
            .iter()
            .any(|d| d.event == DeadlineEvent::RotationEnd)
    );
}

/// Deadlines at the same instant are ordered by event (Expire before RotationEnd).
#[test]
fn deadlines_ties_ordered_by_event() {
    let r = rotated(
        "2026-01-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
        "2026-02-01T00:00:00Z",
    );
    let got = next_deadlines(&r, &Policy::standard());
    assert_eq!(
        got,
        vec![
            deadline("2026-01-02T00:00:00Z", DeadlineEvent::ExpiryWarning),
            deadline("2026-02-01T00:00:00Z", DeadlineEvent::Expire),
            deadline("2026-02-01T00:00:00Z", DeadlineEvent::RotationEnd),
            deadline("2026-03-01T00:00:00Z", DeadlineEvent::InactivityDisable),
        ]
    );
}

/// Fixed-length inactivity spans (as end-to-end tests configure) are added
/// exactly, to the second.
#[test]
fn deadlines_with_second_spans() {
    let r = record("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z");
    let policy = Policy {
        default_lifetime: Span::Fixed(Duration::seconds(60)),
        max_lifetime: Span::Fixed(Duration::seconds(600)),
        inactivity_disable_after: Span::Fixed(Duration::seconds(5)),
        inactivity_delete_after: Span::Fixed(Duration::seconds(9)),
        expiry_warning_before: Span::Fixed(Duration::seconds(20)),
        rotation_default_window: Span::Fixed(Duration::seconds(3)),
        rotation_max_window: Span::Fixed(Duration::seconds(30)),
        max_credentials_per_account: 2,
        auto_create_accounts: true,
    };
    assert_eq!(
        next_deadlines(&r, &policy),
        vec![
            deadline("2026-01-01T00:00:05Z", DeadlineEvent::InactivityDisable),
            deadline("2026-01-01T00:00:40Z", DeadlineEvent::ExpiryWarning),
            deadline("2026-01-01T00:01:00Z", DeadlineEvent::Expire),
        ]
    );
    let mut disabled = r.clone();
    disabled.status = Status::Disabled;
    assert_eq!(
        next_deadlines(&disabled, &policy)[0],
        deadline("2026-01-01T00:00:09Z", DeadlineEvent::InactivityDelete)
    );
}
