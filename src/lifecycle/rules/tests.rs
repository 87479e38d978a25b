use super::*;
use crate::lifecycle::fixtures::*;
use crate::lifecycle::*;

use chrono::Duration;

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
