use super::*;
use crate::clock::{Clock, ManualClock};
use crate::lifecycle::fixtures::*;

use chrono::Duration;

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

// ---- window_end, start, complete ----------------------------------------

/// No window asked: the policy's default; a positive one up to the maximum
/// is taken as asked; zero, negative and over-maximum are refused.
#[test]
fn window_end_defaults_and_bounds() {
    let policy = Policy::standard();
    let now = at("2026-03-01T00:00:00Z");
    assert_eq!(
        window_end(&policy, None, now),
        Ok(at("2026-03-08T00:00:00Z"))
    );
    assert_eq!(
        window_end(&policy, Some(Duration::hours(1)), now),
        Ok(at("2026-03-01T01:00:00Z"))
    );
    assert_eq!(
        window_end(&policy, Some(Duration::days(30)), now),
        Ok(at("2026-03-31T00:00:00Z"))
    );
    for bad in [Duration::zero(), Duration::seconds(-1)] {
        assert_eq!(
            window_end(&policy, Some(bad), now),
            Err(WindowError::NotPositive)
        );
    }
    let over = window_end(&policy, Some(Duration::days(30) + micro()), now);
    assert_eq!(
        over,
        Err(WindowError::OverMaximum(policy.rotation_max_window))
    );
    assert_eq!(
        over.unwrap_err().to_string(),
        format!(
            "window exceeds the maximum of {}",
            policy.rotation_max_window
        )
    );
}

/// Starting a rotation keeps the old secret until the window's end and adds
/// the next version; the record never holds more than two secrets.
#[test]
fn start_adds_the_next_version_and_retires_the_old_at_window_end() {
    let r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let now = at("2026-03-01T00:00:00Z");
    let end = at("2026-03-08T00:00:00Z");
    let new = start(&r, secret_version(9, None), end, now).unwrap();
    let versions: Vec<(u32, Option<DateTime<Utc>>)> = new
        .versions
        .iter()
        .map(|v| (v.version, v.retires_at))
        .collect();
    assert_eq!(versions, vec![(1, Some(end)), (2, None)]);
    assert_eq!(
        rotation_state(&new, now),
        RotationState::Open {
            older_version: 1,
            retires_at: end
        }
    );
}

/// A second rotation while the window is open is refused; once it lapsed,
/// the lapsed secret is dropped first, so two secrets remain.
#[test]
fn start_refuses_an_open_window_and_drops_a_lapsed_one() {
    let r = rotated(
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        "2026-03-08T00:00:00Z",
    );
    let during = at("2026-03-07T23:59:59Z");
    assert_eq!(
        start(&r, secret_version(9, None), during, during),
        Err(RotationRefusal::AlreadyOpen(at("2026-03-08T00:00:00Z")))
    );
    let after = at("2026-03-08T00:00:00Z");
    let end = at("2026-03-15T00:00:00Z");
    let new = start(&r, secret_version(9, None), end, after).unwrap();
    let versions: Vec<(u32, Option<DateTime<Utc>>)> = new
        .versions
        .iter()
        .map(|v| (v.version, v.retires_at))
        .collect();
    assert_eq!(versions, vec![(2, Some(end)), (3, None)]);
}

/// Only an ACTIVE credential rotates: disabled, revoked and expired (also
/// when only `now` makes it expired) are refused with their status.
#[test]
fn start_refuses_a_credential_that_is_not_active() {
    let now = at("2026-03-01T00:00:00Z");
    let mut r = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    for status in [Status::Disabled, Status::Revoked] {
        r.status = status;
        assert_eq!(
            start(&r, secret_version(9, None), now, now),
            Err(RotationRefusal::NotActive(status))
        );
    }
    let old = record("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
    assert_eq!(
        start(&old, secret_version(9, None), now, now),
        Err(RotationRefusal::NotActive(Status::Expired))
    );
}

/// Completing drops the older secret of an open or lapsed window, and is
/// refused when there is no rotation.
#[test]
fn complete_drops_the_older_secret() {
    let r = rotated(
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
        "2026-03-08T00:00:00Z",
    );
    for now in [at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z")] {
        let (new, older) = complete(&r, now).unwrap();
        assert_eq!(older, 1);
        let versions: Vec<u32> = new.versions.iter().map(|v| v.version).collect();
        assert_eq!(versions, vec![2]);
        assert_eq!(complete(&new, now), Err(RotationRefusal::NotInProgress));
    }
}
