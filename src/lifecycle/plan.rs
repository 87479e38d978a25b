//! What a sweep does to one record at `now`: apply every due deadline in the
//! order they fell due, until none is left. Each applied deadline is a
//! [`Step`]; those that must be mailed also yield a [`PlannedNotice`].
//!
//! The plan is driven by [`next_deadlines`] itself, so the sweep and the
//! `deadlines` index can never disagree: after a plan, every deadline of the
//! resulting record lies after `now`.

use chrono::{DateTime, Utc};

use super::{
    CredentialRecord, DeadlineEvent, DisabledReason, NoticeKind, Policy, Status, inactive_since,
    next_deadlines,
};

/// One applied transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// "Expiring soon" recorded (noticed only if not already expired).
    WarnExpiry,
    /// ACTIVE or DISABLED became EXPIRED.
    Expire,
    /// ACTIVE became DISABLED (INACTIVITY).
    DisableInactivity,
    /// Deleted after `inactivity_delete_after` in a non-active state.
    DeleteInactivity,
    /// The older secret of a rotation was dropped.
    RetireRotation {
        /// The dropped version.
        version: u32,
    },
}

impl Step {
    /// Short stable name, for logs, audit actions and counters.
    pub fn name(&self) -> &'static str {
        match self {
            Step::WarnExpiry => "expiry_warning",
            Step::Expire => "expire",
            Step::DisableInactivity => "disable_inactivity",
            Step::DeleteInactivity => "delete_inactivity",
            Step::RetireRotation { .. } => "retire_rotation",
        }
    }
}

/// A notice to queue, keyed by (credential, kind, deadline) so it is queued
/// once per deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedNotice {
    /// Which message.
    pub kind: NoticeKind,
    /// The deadline it is about: `expires_at` for expiry notices, the
    /// disable or delete time for inactivity notices.
    pub deadline: DateTime<Utc>,
    /// For "disabled": when the credential will be deleted if still unused.
    pub delete_at: Option<DateTime<Utc>>,
}

/// What the sweep should write for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The record afterwards; `None` when it is deleted.
    pub record: Option<CredentialRecord>,
    /// Transitions applied, in order.
    pub steps: Vec<(Step, Status)>,
    /// Notices to queue.
    pub notices: Vec<PlannedNotice>,
}

/// Applies every deadline of `record` that is due at `now`, earliest first.
pub fn plan_due(record: &CredentialRecord, policy: &Policy, now: DateTime<Utc>) -> Plan {
    let mut current = record.clone();
    let mut steps = Vec::new();
    let mut notices = Vec::new();
    // Each step removes its own deadline, so this ends; the bound is a guard.
    for _ in 0..16 {
        let Some(due) = next_deadlines(&current, policy)
            .into_iter()
            .find(|d| d.at <= now)
        else {
            break;
        };
        match due.event {
            DeadlineEvent::ExpiryWarning => {
                current.expiry_warned_for = Some(current.expires_at);
                if now < current.expires_at {
                    notices.push(PlannedNotice {
                        kind: NoticeKind::ExpiringSoon,
                        deadline: current.expires_at,
                        delete_at: None,
                    });
                }
                steps.push((Step::WarnExpiry, current.status));
            }
            DeadlineEvent::Expire => {
                current.status = Status::Expired;
                current.disabled_reason = None;
                current.expiry_warned_for = Some(current.expires_at);
                notices.push(PlannedNotice {
                    kind: NoticeKind::Expired,
                    deadline: current.expires_at,
                    delete_at: None,
                });
                steps.push((Step::Expire, Status::Expired));
            }
            DeadlineEvent::InactivityDisable => {
                current.status = Status::Disabled;
                current.disabled_reason = Some(DisabledReason::Inactivity);
                current.status_reason = format!(
                    "unused since {}",
                    inactive_since(&current).format("%Y-%m-%d %H:%M:%S UTC")
                );
                let delete_at = policy
                    .inactivity_delete_after
                    .after(inactive_since(&current));
                notices.push(PlannedNotice {
                    kind: NoticeKind::DisabledInactivity,
                    deadline: due.at,
                    delete_at: Some(delete_at),
                });
                steps.push((Step::DisableInactivity, Status::Disabled));
            }
            DeadlineEvent::InactivityDelete => {
                notices.push(PlannedNotice {
                    kind: NoticeKind::DeletedInactivity,
                    deadline: due.at,
                    delete_at: None,
                });
                steps.push((Step::DeleteInactivity, current.status));
                return Plan {
                    record: None,
                    steps,
                    notices,
                };
            }
            DeadlineEvent::RotationEnd => {
                let retiring: Vec<u32> = current
                    .versions
                    .iter()
                    .filter(|v| v.retires_at.is_some_and(|t| t <= now))
                    .map(|v| v.version)
                    .collect();
                current.versions.retain(|v| !retiring.contains(&v.version));
                for version in retiring {
                    steps.push((Step::RetireRotation { version }, current.status));
                }
            }
        }
    }
    Plan {
        record: Some(current),
        steps,
        notices,
    }
}

#[cfg(test)]
mod tests;
