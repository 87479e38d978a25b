//! `credd check`: the store's integrity check with the lifecycle rules on
//! top. The store checks records against their indexes (`Store::
//! check_indexes`); here each record's scheduled deadlines are compared
//! with what `lifecycle::next_deadlines` gives under the configured policy.
//! `repair` rebuilds the indexes from the records, rewrites the records
//! whose deadlines disagree, and checks again.

use super::{Engine, Error};
use crate::lifecycle::{self, CredentialRecord};
use crate::store::{Commit, IndexReport};

/// What `check_store` found, and with `repair` what it did.
#[derive(Debug, Clone, Default)]
pub struct IntegrityReport {
    /// The check before any repair.
    pub found: IndexReport,
    /// With `repair`: index entries rewritten and records given the rules'
    /// deadlines, then the check after it.
    pub repaired: Option<(u64, u64, IndexReport)>,
}

impl Engine {
    /// Checks the store (offline: the daemon must not serve it); with
    /// `repair`, rebuilds what is wrong and checks again.
    ///
    /// # Errors
    /// Storage failures.
    pub fn check_store(&self, repair: bool) -> Result<IntegrityReport, Error> {
        let mut wrong_deadlines: Vec<String> = Vec::new();
        let found = self.store.check_indexes(|record, fault| {
            if let Some(what) = self.deadlines_fault(record) {
                fault(&what);
                wrong_deadlines.push(record.id.clone());
            }
        })?;
        if !repair || found.fault_count == 0 {
            return Ok(IntegrityReport {
                found,
                repaired: None,
            });
        }
        let rewritten_entries = self.store.rebuild_indexes()?;
        let mut fixed = 0u64;
        for id in &wrong_deadlines {
            let Some(current) = self.store.get(id)? else {
                continue;
            };
            let mut new = current.clone();
            new.scheduled = lifecycle::next_deadlines(&current, &self.policy);
            if self.store.commit(Some(&current), Some(&new), None)? == Commit::Done {
                fixed += 1;
            }
        }
        let after = self.store.check_indexes(|record, fault| {
            if let Some(what) = self.deadlines_fault(record) {
                fault(&what);
            }
        })?;
        Ok(IntegrityReport {
            found,
            repaired: Some((rewritten_entries, fixed, after)),
        })
    }

    /// Why `record`'s scheduled deadlines are not the rules', if they are not.
    fn deadlines_fault(&self, record: &CredentialRecord) -> Option<String> {
        let expected = lifecycle::next_deadlines(record, &self.policy);
        (expected != record.scheduled).then(|| {
            format!(
                "scheduled {:?}, the rules give {:?}",
                record
                    .scheduled
                    .iter()
                    .map(|d| (d.event, d.at))
                    .collect::<Vec<_>>(),
                expected.iter().map(|d| (d.event, d.at)).collect::<Vec<_>>()
            )
        })
    }
}
