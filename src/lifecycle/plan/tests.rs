use super::*;
use crate::lifecycle::fixtures::*;
use crate::lifecycle::*;

use chrono::Duration;

fn policy() -> Policy {
    Policy::standard()
}

fn notice(
    kind: NoticeKind,
    deadline: DateTime<Utc>,
    delete_at: Option<DateTime<Utc>>,
) -> PlannedNotice {
    PlannedNotice {
        kind,
        deadline,
        delete_at,
    }
}

/// Asserts that nothing is due: no steps, no notices, the record unchanged.
fn assert_nothing_due(r: &CredentialRecord, now: DateTime<Utc>) {
    let plan = plan_due(r, &policy(), now);
    assert!(plan.steps.is_empty(), "at {now}: {:?}", plan.steps);
    assert!(plan.notices.is_empty(), "at {now}: {:?}", plan.notices);
    assert_eq!(plan.record.as_ref(), Some(r), "at {now}");
}

/// The record a plan left, which must exist.
fn kept(plan: &Plan) -> &CredentialRecord {
    plan.record.as_ref().expect("the plan kept the record")
}

// ---- expiry ----------------------------------------------------------------

/// The "expiring soon" step is due exactly `expiry_warning_before` ahead of
/// `expires_at` (not 1 µs earlier), keeps the credential ACTIVE, records the
/// warned expiry, and queues a notice whose deadline is `expires_at`.
#[test]
fn warning_due_exactly_at_its_deadline() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.last_used_at = Some(at("2026-04-20T00:00:00Z"));
    let warn_at = at("2026-05-02T00:00:00Z");

    assert_nothing_due(&r, warn_at - micro());

    let plan = plan_due(&r, &policy(), warn_at);
    assert_eq!(plan.steps, vec![(Step::WarnExpiry, Status::Active)]);
    assert_eq!(
        plan.notices,
        vec![notice(NoticeKind::ExpiringSoon, r.expires_at, None)]
    );
    let after = kept(&plan);
    assert_eq!(after.status, Status::Active);
    assert_eq!(after.expiry_warned_for, Some(r.expires_at));
    assert!(
        !next_deadlines(after, &policy())
            .iter()
            .any(|d| d.event == DeadlineEvent::ExpiryWarning),
        "the warning is no longer scheduled once given"
    );
}

/// A warned credential expires exactly at `expires_at` (not 1 µs before),
/// becomes EXPIRED and queues one "expired" notice keyed on `expires_at`.
#[test]
fn expire_exactly_at_expires_at() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.last_used_at = Some(at("2026-05-20T00:00:00Z"));
    r.expiry_warned_for = Some(r.expires_at);

    assert_nothing_due(&r, r.expires_at - micro());

    let plan = plan_due(&r, &policy(), r.expires_at);
    assert_eq!(plan.steps, vec![(Step::Expire, Status::Expired)]);
    assert_eq!(
        plan.notices,
        vec![notice(NoticeKind::Expired, r.expires_at, None)]
    );
    let after = kept(&plan);
    assert_eq!(after.status, Status::Expired);
    assert_eq!(after.disabled_reason, None);
}

/// Catching up after `expires_at` has passed records the warning as given
/// (so it is never due again) but queues no "expiring soon" notice, then
/// expires the credential with an "expired" notice. 1 µs before `expires_at`
/// the same unwarned record gets its "expiring soon" notice and no expiry.
#[test]
fn catch_up_after_expiry_skips_warning_notice() {
    let mut r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    r.last_used_at = Some(at("2026-05-20T00:00:00Z"));

    for now in [r.expires_at, r.expires_at + Duration::days(3)] {
        let plan = plan_due(&r, &policy(), now);
        assert_eq!(
            plan.steps,
            vec![
                (Step::WarnExpiry, Status::Active),
                (Step::Expire, Status::Expired)
            ],
            "at {now}"
        );
        assert_eq!(
            plan.notices,
            vec![notice(NoticeKind::Expired, r.expires_at, None)],
            "at {now}"
        );
        let after = kept(&plan);
        assert_eq!(after.expiry_warned_for, Some(r.expires_at));
        assert_eq!(after.status, Status::Expired);
    }

    let plan = plan_due(&r, &policy(), r.expires_at - micro());
    assert_eq!(plan.steps, vec![(Step::WarnExpiry, Status::Active)]);
    assert_eq!(
        plan.notices,
        vec![notice(NoticeKind::ExpiringSoon, r.expires_at, None)]
    );
}

// ---- inactivity --------------------------------------------------------------

/// An ACTIVE credential never used is disabled (INACTIVITY) exactly
/// `inactivity_disable_after` after creation, not 1 µs before, with a notice
/// keyed on the disable time that carries the delete date
/// (`inactivity_delete_after` after the same start).
#[test]
fn unused_active_is_disabled_with_delete_date() {
    let r = record("2026-01-10T08:00:00Z", "2027-01-01T00:00:00Z");
    let disable_at = at("2026-03-10T08:00:00Z");

    assert_nothing_due(&r, disable_at - micro());

    let plan = plan_due(&r, &policy(), disable_at);
    assert_eq!(
        plan.steps,
        vec![(Step::DisableInactivity, Status::Disabled)]
    );
    assert_eq!(
        plan.notices,
        vec![notice(
            NoticeKind::DisabledInactivity,
            disable_at,
            Some(at("2026-11-10T08:00:00Z"))
        )]
    );
    let after = kept(&plan);
    assert_eq!(after.status, Status::Disabled);
    assert_eq!(after.disabled_reason, Some(DisabledReason::Inactivity));
    assert!(
        after.status_reason.contains("2026-01-10 08:00:00"),
        "{}",
        after.status_reason
    );
    assert_eq!(
        next_deadlines(after, &policy())
            .iter()
            .find(|d| d.event == DeadlineEvent::InactivityDelete)
            .map(|d| d.at),
        Some(at("2026-11-10T08:00:00Z"))
    );
}

/// Calendar months clamp at month end: created 2026-12-31, two months later
/// is 2027-02-28 (disable) and ten months later 2027-10-31 (delete date).
#[test]
fn month_end_arithmetic() {
    let r = record("2026-12-31T00:00:00Z", "2028-06-01T00:00:00Z");
    let disable_at = at("2027-02-28T00:00:00Z");

    assert_nothing_due(&r, disable_at - micro());

    let plan = plan_due(&r, &policy(), disable_at);
    assert_eq!(
        plan.steps,
        vec![(Step::DisableInactivity, Status::Disabled)]
    );
    assert_eq!(
        plan.notices,
        vec![notice(
            NoticeKind::DisabledInactivity,
            disable_at,
            Some(at("2027-10-31T00:00:00Z"))
        )]
    );
    let disabled = kept(&plan).clone();
    assert_nothing_due(&disabled, at("2027-10-31T00:00:00Z") - micro());
    let plan = plan_due(&disabled, &policy(), at("2027-10-31T00:00:00Z"));
    assert_eq!(plan.steps, vec![(Step::DeleteInactivity, Status::Disabled)]);
    assert_eq!(plan.record, None);
}

/// A use restarts the inactivity clock: nothing happens at the time measured
/// from creation; the disable falls due `inactivity_disable_after` after the
/// last use, and the delete date is measured from the use as well.
#[test]
fn use_restarts_the_clock() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-06-01T00:00:00Z");
    r.last_used_at = Some(at("2026-02-15T12:00:00Z"));
    let disable_at = at("2026-04-15T12:00:00Z");

    assert_nothing_due(&r, at("2026-03-01T00:00:00Z"));
    assert_nothing_due(&r, disable_at - micro());

    let plan = plan_due(&r, &policy(), disable_at);
    assert_eq!(
        plan.steps,
        vec![(Step::DisableInactivity, Status::Disabled)]
    );
    assert_eq!(
        plan.notices,
        vec![notice(
            NoticeKind::DisabledInactivity,
            disable_at,
            Some(at("2026-12-15T12:00:00Z"))
        )]
    );
}

/// A reactivation restarts the inactivity clock even when the last use was
/// earlier, for the disable of an ACTIVE credential and for the deletion of
/// one disabled again afterwards.
#[test]
fn reactivation_restarts_the_clock() {
    let mut r = record("2026-01-01T00:00:00Z", "2027-06-01T00:00:00Z");
    r.last_used_at = Some(at("2026-01-05T00:00:00Z"));
    r.reactivated_at = Some(at("2026-03-20T00:00:00Z"));
    let disable_at = at("2026-05-20T00:00:00Z");

    assert_nothing_due(&r, at("2026-03-05T00:00:00Z"));
    assert_nothing_due(&r, disable_at - micro());
    let plan = plan_due(&r, &policy(), disable_at);
    assert_eq!(
        plan.steps,
        vec![(Step::DisableInactivity, Status::Disabled)]
    );
    assert_eq!(
        plan.notices,
        vec![notice(
            NoticeKind::DisabledInactivity,
            disable_at,
            Some(at("2027-01-20T00:00:00Z"))
        )]
    );

    // Disabled by an admin after the reactivation: deletion is measured
    // from the reactivation, not from the earlier use.
    let mut admin_disabled = r.clone();
    admin_disabled.status = Status::Disabled;
    admin_disabled.disabled_reason = Some(DisabledReason::Admin);
    admin_disabled.expiry_warned_for = Some(admin_disabled.expires_at);
    assert_nothing_due(&admin_disabled, at("2026-11-05T00:00:00Z"));
    assert_nothing_due(&admin_disabled, at("2027-01-20T00:00:00Z") - micro());
    let plan = plan_due(&admin_disabled, &policy(), at("2027-01-20T00:00:00Z"));
    assert_eq!(plan.steps, vec![(Step::DeleteInactivity, Status::Disabled)]);
    assert_eq!(plan.record, None);
}

// ---- ordering ------------------------------------------------------------------

/// Expiry falling due before inactivity: warning, then expiry; the EXPIRED
/// credential is not also disabled, and gets no "disabled" notice.
#[test]
fn expiry_before_inactivity() {
    let r = record("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
    let plan = plan_due(&r, &policy(), at("2026-03-15T00:00:00Z"));
    assert_eq!(
        plan.steps,
        vec![
            (Step::WarnExpiry, Status::Active),
            (Step::Expire, Status::Expired)
        ]
    );
    assert_eq!(
        plan.notices,
        vec![notice(NoticeKind::Expired, r.expires_at, None)]
    );
    let after = kept(&plan);
    assert_eq!(after.status, Status::Expired);
    assert_eq!(after.disabled_reason, None);
}

/// Inactivity falling due before expiry: disabled first (with its notice),
/// then, as a DISABLED credential, warned and expired; EXPIRED clears the
/// disabled reason. Stopping between the warning and the expiry leaves it
/// DISABLED with an "expiring soon" notice.
#[test]
fn inactivity_before_expiry() {
    let r = record("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z");
    let disable_at = at("2026-03-01T00:00:00Z");
    let delete_at = at("2026-11-01T00:00:00Z");

    let plan = plan_due(&r, &policy(), at("2026-06-15T00:00:00Z"));
    assert_eq!(
        plan.steps,
        vec![
            (Step::DisableInactivity, Status::Disabled),
            (Step::WarnExpiry, Status::Disabled),
            (Step::Expire, Status::Expired),
        ]
    );
    assert_eq!(
        plan.notices,
        vec![
            notice(NoticeKind::DisabledInactivity, disable_at, Some(delete_at)),
            notice(NoticeKind::Expired, r.expires_at, None),
        ]
    );
    let after = kept(&plan);
    assert_eq!(after.status, Status::Expired);
    assert_eq!(after.disabled_reason, None);

    let plan = plan_due(&r, &policy(), at("2026-05-15T00:00:00Z"));
    assert_eq!(
        plan.steps,
        vec![
            (Step::DisableInactivity, Status::Disabled),
            (Step::WarnExpiry, Status::Disabled),
        ]
    );
    assert_eq!(
        plan.notices,
        vec![
            notice(NoticeKind::DisabledInactivity, disable_at, Some(delete_at)),
            notice(NoticeKind::ExpiringSoon, r.expires_at, None),
        ]
    );
    let after = kept(&plan);
    assert_eq!(after.status, Status::Disabled);
    assert_eq!(after.disabled_reason, Some(DisabledReason::Inactivity));
}

/// Disabled for inactivity and later deleted: the deletion falls due exactly
/// at `inactivity_delete_after` (not 1 µs before) with a "deleted" notice
/// keyed on that time; a single late catch-up applies both in order.
#[test]
fn disabled_then_deleted() {
    let r = record("2026-01-01T00:00:00Z", "2030-01-01T00:00:00Z");
    let disable_at = at("2026-03-01T00:00:00Z");
    let delete_at = at("2026-11-01T00:00:00Z");

    let disabled = kept(&plan_due(&r, &policy(), disable_at)).clone();
    assert_eq!(disabled.status, Status::Disabled);
    assert_nothing_due(&disabled, delete_at - micro());

    let plan = plan_due(&disabled, &policy(), delete_at);
    assert_eq!(plan.steps, vec![(Step::DeleteInactivity, Status::Disabled)]);
    assert_eq!(plan.record, None);
    assert_eq!(
        plan.notices,
        vec![notice(NoticeKind::DeletedInactivity, delete_at, None)]
    );

    let plan = plan_due(&r, &policy(), at("2026-12-01T00:00:00Z"));
    assert_eq!(
        plan.steps,
        vec![
            (Step::DisableInactivity, Status::Disabled),
            (Step::DeleteInactivity, Status::Disabled),
        ]
    );
    assert_eq!(plan.record, None);
    assert_eq!(
        plan.notices,
        vec![
            notice(NoticeKind::DisabledInactivity, disable_at, Some(delete_at)),
            notice(NoticeKind::DeletedInactivity, delete_at, None),
        ]
    );
}

/// EXPIRED and REVOKED credentials are deleted `inactivity_delete_after`
/// after they were last used (not 1 µs before), with a "deleted" notice.
#[test]
fn expired_and_revoked_are_deleted() {
    for status in [Status::Expired, Status::Revoked] {
        let mut r = record("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z");
        r.status = status;
        r.last_used_at = Some(at("2026-02-01T00:00:00Z"));
        r.expiry_warned_for = Some(r.expires_at);
        let delete_at = at("2026-12-01T00:00:00Z");

        assert_nothing_due(&r, at("2026-11-01T00:00:00Z"));
        assert_nothing_due(&r, delete_at - micro());
        let plan = plan_due(&r, &policy(), delete_at);
        assert_eq!(
            plan.steps,
            vec![(Step::DeleteInactivity, status)],
            "{status:?}"
        );
        assert_eq!(plan.record, None, "{status:?}");
        assert_eq!(
            plan.notices,
            vec![notice(NoticeKind::DeletedInactivity, delete_at, None)],
            "{status:?}"
        );
    }
}

// ---- rotation --------------------------------------------------------------------

/// A rotation window ending while the credential is DISABLED drops the older
/// version exactly at its end (not 1 µs before), keeps the newer one and the
/// state, and queues no notice.
#[test]
fn rotation_end_while_disabled_drops_old_version() {
    let retires_at = at("2026-02-10T00:00:00Z");
    let mut r = record("2026-02-01T00:00:00Z", "2027-01-01T00:00:00Z");
    r.status = Status::Disabled;
    r.disabled_reason = Some(DisabledReason::Admin);
    r.versions = vec![secret_version(1, Some(retires_at)), secret_version(2, None)];

    assert_nothing_due(&r, retires_at - micro());

    let plan = plan_due(&r, &policy(), retires_at);
    assert_eq!(
        plan.steps,
        vec![(Step::RetireRotation { version: 1 }, Status::Disabled)]
    );
    assert!(plan.notices.is_empty());
    let after = kept(&plan);
    assert_eq!(after.versions, vec![secret_version(2, None)]);
    assert_eq!(after.status, Status::Disabled);
    assert_eq!(after.disabled_reason, Some(DisabledReason::Admin));
    assert!(
        !next_deadlines(after, &policy())
            .iter()
            .any(|d| d.event == DeadlineEvent::RotationEnd)
    );
}

// ---- fixpoint and idempotence -------------------------------------------------------

/// Records in every state, with and without rotations and uses.
fn assorted_records() -> Vec<CredentialRecord> {
    let mut out = Vec::new();
    let base = record("2026-01-31T10:00:00Z", "2026-07-31T10:00:00Z");
    for status in [
        Status::Active,
        Status::Disabled,
        Status::Expired,
        Status::Revoked,
    ] {
        for used in [None, Some(at("2026-03-31T00:00:00Z"))] {
            for rotated in [false, true] {
                let mut r = base.clone();
                r.status = status;
                r.disabled_reason = (status == Status::Disabled).then_some(DisabledReason::Admin);
                r.last_used_at = used;
                if rotated {
                    r.versions = vec![
                        secret_version(1, Some(at("2026-02-14T00:00:00Z"))),
                        secret_version(2, None),
                    ];
                }
                out.push(r);
            }
        }
    }
    let mut long_lived = record("2026-01-31T10:00:00Z", "2029-01-31T10:00:00Z");
    long_lived.reactivated_at = Some(at("2026-05-31T00:00:00Z"));
    out.push(long_lived);
    out
}

fn sample_times() -> Vec<DateTime<Utc>> {
    let mut times = Vec::new();
    let mut t = at("2026-01-31T10:00:00Z");
    while t < at("2029-06-01T00:00:00Z") {
        times.push(t);
        t += Duration::days(17);
    }
    times.extend([
        at("2026-02-14T00:00:00Z"),
        at("2026-07-01T10:00:00Z"),
        at("2026-07-31T10:00:00Z"),
        at("2026-03-31T10:00:00Z"),
        at("2026-11-30T10:00:00Z"),
    ]);
    times
}

/// After a plan, every deadline of the resulting record lies after `now`,
/// and planning again at the same `now` changes nothing (no steps, no
/// notices, the same record): applying the sweep twice is idempotent.
#[test]
fn plan_is_a_fixpoint() {
    let mut checked = 0;
    for r in assorted_records() {
        for now in sample_times() {
            let plan = plan_due(&r, &policy(), now);
            let Some(after) = plan.record else {
                assert_eq!(
                    plan.steps.last().map(|(s, _)| *s),
                    Some(Step::DeleteInactivity)
                );
                continue;
            };
            for d in next_deadlines(&after, &policy()) {
                assert!(d.at > now, "{d:?} still due at {now} for {after:?}");
            }
            let again = plan_due(&after, &policy(), now);
            assert!(again.steps.is_empty(), "{:?}", again.steps);
            assert!(again.notices.is_empty(), "{:?}", again.notices);
            assert_eq!(again.record.as_ref(), Some(&after));
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} cases kept a record");
}

/// Sweeping in two stages (at `t1`, then at `t2`) leaves the same record as
/// one sweep at `t2`, or deletes it in both cases.
#[test]
fn staged_sweeps_reach_the_same_record() {
    let times = sample_times();
    for r in assorted_records() {
        for (i, &t1) in times.iter().enumerate() {
            for &t2 in times.iter().skip(i).step_by(5) {
                if t2 < t1 {
                    continue;
                }
                let once = plan_due(&r, &policy(), t2).record;
                let staged = plan_due(&r, &policy(), t1)
                    .record
                    .and_then(|mid| plan_due(&mid, &policy(), t2).record);
                assert_eq!(once, staged, "t1 {t1}, t2 {t2}, record {r:?}");
            }
        }
    }
}
