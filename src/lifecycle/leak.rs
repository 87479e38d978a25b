//! What a leaked-key report does to a credential: the configured
//! [`LeakAction`] (revoke, disable or flag only) and, for one record at
//! `now`, the [`LeakChange`] it means. A revoked credential is never
//! changed again; a flag changes no state (the engine writes its audit
//! event and notice only). Finding the credential, writing the change and
//! telling people are the engine's and the store's.

use chrono::{DateTime, Utc};

use super::{CredentialRecord, DisabledReason, Status, effective_status};

/// The `status_reason` a leak report writes.
pub const LEAKED_REASON: &str = "leaked";

/// What a leak report does to a credential that matches (`[leaks] action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeakAction {
    /// REVOKED for good, reason "leaked" (the default: a published key is
    /// compromised).
    #[default]
    Revoke,
    /// DISABLED by an administrator, reason "leaked": refused until
    /// reactivated, for operators who want a person to decide.
    Disable,
    /// No state change: the audit event and the notice only.
    Flag,
}

impl LeakAction {
    /// Every action, in the order they are documented.
    pub const ALL: [LeakAction; 3] = [LeakAction::Revoke, LeakAction::Disable, LeakAction::Flag];

    /// The name in configuration and messages.
    pub fn name(self) -> &'static str {
        match self {
            LeakAction::Revoke => "revoke",
            LeakAction::Disable => "disable",
            LeakAction::Flag => "flag",
        }
    }

    /// Parses a configured name.
    pub fn parse(name: &str) -> Option<LeakAction> {
        LeakAction::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// What a leak report means for one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeakChange {
    /// Write this record (revoked or disabled).
    Update(Box<CredentialRecord>),
    /// Nothing to write; the report is recorded and announced.
    Flag,
    /// Nothing to write and nothing to announce: the reason says why
    /// (already revoked, already disabled, expired).
    Unchanged(&'static str),
}

/// The change `action` makes to `record` at `now`.
pub fn leak_change(
    record: &CredentialRecord,
    action: LeakAction,
    now: DateTime<Utc>,
) -> LeakChange {
    if record.status == Status::Revoked {
        return LeakChange::Unchanged("already revoked");
    }
    match action {
        LeakAction::Flag => LeakChange::Flag,
        LeakAction::Revoke => {
            let mut new = record.clone();
            new.status = Status::Revoked;
            new.disabled_reason = None;
            new.status_reason = LEAKED_REASON.to_string();
            LeakChange::Update(Box::new(new))
        }
        LeakAction::Disable => match effective_status(record, now) {
            Status::Disabled if record.disabled_reason == Some(DisabledReason::Admin) => {
                LeakChange::Unchanged("already disabled")
            }
            // Disabled for inactivity becomes an administrator's disable, so
            // a late use does not bring a leaked key back.
            Status::Active | Status::Disabled => {
                let mut new = record.clone();
                new.status = Status::Disabled;
                new.disabled_reason = Some(DisabledReason::Admin);
                new.status_reason = LEAKED_REASON.to_string();
                LeakChange::Update(Box::new(new))
            }
            Status::Expired => LeakChange::Unchanged("expired"),
            Status::Revoked => LeakChange::Unchanged("already revoked"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::fixtures;

    #[test]
    fn action_names_round_trip() {
        for action in LeakAction::ALL {
            assert_eq!(LeakAction::parse(action.name()), Some(action));
        }
        assert_eq!(LeakAction::parse("delete"), None);
        assert_eq!(LeakAction::default(), LeakAction::Revoke);
    }

    /// Revoke and disable write the reason "leaked"; flag writes nothing.
    #[test]
    fn each_action_changes_an_active_key_its_way() {
        let now = fixtures::at("2026-03-01T00:00:00Z");
        let active = fixtures::record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        let LeakChange::Update(revoked) = leak_change(&active, LeakAction::Revoke, now) else {
            panic!("revoke wrote nothing");
        };
        assert_eq!(
            (revoked.status, revoked.status_reason.as_str()),
            (Status::Revoked, LEAKED_REASON)
        );
        let LeakChange::Update(disabled) = leak_change(&active, LeakAction::Disable, now) else {
            panic!("disable wrote nothing");
        };
        assert_eq!(disabled.status, Status::Disabled);
        assert_eq!(disabled.disabled_reason, Some(DisabledReason::Admin));
        assert_eq!(disabled.status_reason, LEAKED_REASON);
        assert_eq!(
            leak_change(&active, LeakAction::Flag, now),
            LeakChange::Flag
        );
    }

    /// A revoked key is never changed again, whatever the action; an
    /// inactivity-disabled key becomes an administrator's disable.
    #[test]
    fn revoked_keys_stay_and_inactive_keys_are_held() {
        let now = fixtures::at("2026-03-01T00:00:00Z");
        let mut record = fixtures::record("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
        record.status = Status::Revoked;
        for action in LeakAction::ALL {
            assert_eq!(
                leak_change(&record, action, now),
                LeakChange::Unchanged("already revoked")
            );
        }
        record.status = Status::Disabled;
        record.disabled_reason = Some(DisabledReason::Inactivity);
        let LeakChange::Update(held) = leak_change(&record, LeakAction::Disable, now) else {
            panic!("an inactivity-disabled key was left to reactivate by use");
        };
        assert_eq!(held.disabled_reason, Some(DisabledReason::Admin));
        record.disabled_reason = Some(DisabledReason::Admin);
        assert_eq!(
            leak_change(&record, LeakAction::Disable, now),
            LeakChange::Unchanged("already disabled")
        );
        let expired = fixtures::record("2025-01-01T00:00:00Z", "2026-02-01T00:00:00Z");
        assert_eq!(
            leak_change(&expired, LeakAction::Disable, now),
            LeakChange::Unchanged("expired")
        );
        let LeakChange::Update(revoked) = leak_change(&expired, LeakAction::Revoke, now) else {
            panic!("an expired key was not revoked");
        };
        assert_eq!(revoked.status, Status::Revoked);
    }
}
