use super::*;
use crate::lifecycle::Span;
use crate::lifecycle::fixtures::*;

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// A key expiring 2026-06-01 under the standard policy (30-day window).
fn key() -> (CredentialRecord, Policy) {
    (
        record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"),
        Policy::standard(),
    )
}

// ---- expiry_outlook ---------------------------------------------------------

/// Before the window: time left, not soon. At the window's start exactly:
/// soon. One microsecond before expiry: soon, 1 µs left. At expiry and
/// after: nothing left, not soon.
#[test]
fn outlook_at_the_window_boundaries() {
    let (r, policy) = key();
    let start = r.expires_at - days(30);
    let before = record_outlook(&r, &policy, start - micro());
    assert_eq!(before.expires_in, Some(days(30) + micro()));
    assert!(!before.expiring_soon);
    let at_start = record_outlook(&r, &policy, start);
    assert_eq!(at_start.expires_in, Some(days(30)));
    assert!(at_start.expiring_soon);
    let last = record_outlook(&r, &policy, r.expires_at - micro());
    assert_eq!(last.expires_in, Some(micro()));
    assert!(last.expiring_soon);
    for now in [
        r.expires_at,
        r.expires_at + micro(),
        r.expires_at + days(400),
    ] {
        assert_eq!(
            record_outlook(&r, &policy, now),
            ExpiryOutlook::NONE,
            "{now}"
        );
    }
}

/// The window follows the policy, calendar months included.
#[test]
fn outlook_window_follows_the_policy() {
    let (r, mut policy) = key();
    policy.expiry_warning_before = Span::Fixed(days(7));
    assert!(!record_outlook(&r, &policy, r.expires_at - days(7) - micro()).expiring_soon);
    assert!(record_outlook(&r, &policy, r.expires_at - days(7)).expiring_soon);
    policy.expiry_warning_before = Span::Months(1);
    // One calendar month before 2026-06-01 is 2026-05-01 (31 days).
    assert!(!record_outlook(&r, &policy, at("2026-04-30T23:59:59Z")).expiring_soon);
    assert!(record_outlook(&r, &policy, at("2026-05-01T00:00:00Z")).expiring_soon);
}

/// DISABLED counts down like ACTIVE; REVOKED and a stored EXPIRED have
/// nothing left even before `expires_at`; a session is never "soon".
#[test]
fn outlook_by_status_and_kind() {
    let (mut r, policy) = key();
    let now = r.expires_at - days(3);
    r.status = Status::Disabled;
    assert_eq!(
        record_outlook(&r, &policy, now),
        ExpiryOutlook {
            expires_in: Some(days(3)),
            expiring_soon: true
        }
    );
    for status in [Status::Revoked, Status::Expired] {
        r.status = status;
        assert_eq!(record_outlook(&r, &policy, now), ExpiryOutlook::NONE);
    }
    let session = expiry_outlook(Kind::Session, Status::Active, r.expires_at, &policy, now);
    assert_eq!(session.expires_in, Some(days(3)));
    assert!(!session.expiring_soon);
}

// ---- expires_within -----------------------------------------------------------

/// `expires_at` exactly `span` ahead is within; a microsecond further is
/// not; once expired (or revoked) nothing is.
#[test]
fn expires_within_boundaries() {
    let (mut r, _) = key();
    let now = r.expires_at - days(10);
    assert!(expires_within(&r, days(10), now));
    assert!(!expires_within(&r, days(10) - micro(), now));
    assert!(expires_within(&r, days(3650), now));
    assert!(!expires_within(&r, days(1), r.expires_at));
    r.status = Status::Revoked;
    assert!(!expires_within(&r, days(10), now));
}

/// A span past the representable range saturates instead of panicking.
#[test]
fn expires_within_huge_span() {
    let (r, _) = key();
    assert!(expires_within(&r, Duration::MAX, r.created_at));
}

// ---- inactive_for -------------------------------------------------------------

/// Never used: counted from creation; used: from the last use; reactivated
/// later than the use: from the reactivation. Exactly `span` ago matches.
#[test]
fn inactive_for_counts_from_the_latest_activity() {
    let (mut r, _) = key();
    let created = r.created_at;
    assert!(inactive_for(&r, None, days(60), created + days(60)));
    assert!(!inactive_for(
        &r,
        None,
        days(60),
        created + days(60) - micro()
    ));
    let used = created + days(20);
    assert!(!inactive_for(&r, Some(used), days(60), created + days(60)));
    assert!(inactive_for(&r, Some(used), days(60), used + days(60)));
    r.reactivated_at = Some(created + days(50));
    assert!(!inactive_for(&r, Some(used), days(60), used + days(60)));
    assert!(inactive_for(&r, Some(used), days(60), created + days(110)));
}

/// The merged last use given by the caller wins over the record's own
/// (older) one; a span longer than all of time matches nothing.
#[test]
fn inactive_for_uses_the_callers_last_use() {
    let (mut r, _) = key();
    r.last_used_at = Some(r.created_at + days(1));
    let later = r.created_at + days(30);
    let now = r.created_at + days(61);
    assert!(inactive_for(&r, r.last_used_at, days(60), now));
    assert!(!inactive_for(&r, Some(later), days(60), now));
    assert!(!inactive_for(&r, None, Duration::MAX, now));
}

#[test]
fn inactivity_disable_at_counts_from_the_latest_activity_of_active_keys_only() {
    let policy = Policy::standard();
    let created = at("2026-01-01T00:00:00Z");
    let mut record = record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
    let used = at("2026-02-01T00:00:00Z");
    assert_eq!(
        inactivity_disable_at(&record, Status::Active, Some(used), &policy),
        Some(policy.inactivity_disable_after.after(used))
    );
    assert_eq!(
        inactivity_disable_at(&record, Status::Active, None, &policy),
        Some(policy.inactivity_disable_after.after(created))
    );
    assert_eq!(
        inactivity_disable_at(&record, Status::Disabled, None, &policy),
        None
    );
    record.kind = Kind::AdminKey;
    assert_eq!(
        inactivity_disable_at(&record, Status::Active, None, &policy),
        None
    );
}
