//! The integrity check of the credential trees, offline: every record
//! decodes and has its index entries (`secret_index` for each secret
//! version, with the view Verify reads; `by_account`; `deadlines` for each
//! scheduled deadline), and every index entry has its record. Reads go
//! record by record and entry by entry with point lookups, so memory stays
//! bounded. `rebuild_indexes` (the `--repair` of `credd check`) rewrites
//! the three indexes from the records, under the write hold.

use super::codec;
use super::{Error, Store};
use crate::lifecycle::CredentialRecord;

/// Faults kept in a report; the count goes on past it.
const MAX_LISTED: usize = 1_000;

/// One thing wrong, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// The tree the fault is in.
    pub tree: &'static str,
    /// The credential (or the entry's key, when it names none).
    pub subject: String,
    /// What is wrong.
    pub what: String,
}

/// What the check found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexReport {
    /// Records read.
    pub credentials: u64,
    /// Index entries read (`secret_index`, `by_account`, `deadlines`).
    pub index_entries: u64,
    /// Faults, the first [`MAX_LISTED`].
    pub faults: Vec<Fault>,
    /// Every fault found.
    pub fault_count: u64,
}

impl IndexReport {
    fn fault(&mut self, tree: &'static str, subject: impl Into<String>, what: impl Into<String>) {
        self.fault_count += 1;
        if self.faults.len() < MAX_LISTED {
            self.faults.push(Fault {
                tree,
                subject: subject.into(),
                what: what.into(),
            });
        }
    }
}

fn printable(key: &[u8]) -> String {
    match std::str::from_utf8(key) {
        Ok(text) if text.chars().all(|c| !c.is_control()) => text.to_string(),
        _ => crate::secret::hex(key),
    }
}

impl Store {
    /// Checks every credential record against its indexes and every index
    /// entry against its record. `visit` sees each record that decodes
    /// (the engine checks its deadlines against the rules there).
    ///
    /// # Errors
    /// sled errors.
    pub fn check_indexes(
        &self,
        mut visit: impl FnMut(&CredentialRecord, &mut dyn FnMut(&str)),
    ) -> Result<IndexReport, Error> {
        let mut report = IndexReport::default();
        for item in &self.credentials {
            let (key, raw) = item?;
            report.credentials += 1;
            let Ok(record) = codec::decode_record(&raw) else {
                report.fault("credentials", printable(&key), "the record does not decode");
                continue;
            };
            self.check_record(&record, &mut report)?;
            let mut rule_faults = Vec::new();
            visit(&record, &mut |what: &str| {
                rule_faults.push(what.to_string())
            });
            for what in rule_faults {
                report.fault("deadlines", record.id.clone(), what);
            }
        }
        self.check_secret_index(&mut report)?;
        self.check_account_index(&mut report)?;
        self.check_deadline_index(&mut report)?;
        Ok(report)
    }

    /// A record's own index entries.
    fn check_record(
        &self,
        record: &CredentialRecord,
        report: &mut IndexReport,
    ) -> Result<(), Error> {
        let id = &record.id;
        for version in &record.versions {
            match self.secret_index.get(version.hash)? {
                None => report.fault(
                    "secret_index",
                    id.clone(),
                    format!("no entry for secret version {}", version.version),
                ),
                Some(value)
                    if value.as_ref() != codec::index_value(record, version.version).as_slice() =>
                {
                    report.fault("secret_index", id.clone(), format!("the entry of secret version {} is not the record's (another credential, or a stale view)", version.version));
                }
                Some(_) => {}
            }
        }
        let account_key = codec::account_key(&record.account_id, id);
        match self.by_account.get(&account_key)? {
            None => report.fault("by_account", id.clone(), "no account index entry"),
            Some(value) if value.as_ref() != codec::account_value(record).as_slice() => {
                report.fault(
                    "by_account",
                    id.clone(),
                    "the account index entry's status, expiry or kind is not the record's",
                );
            }
            Some(_) => {}
        }
        for deadline in &record.scheduled {
            if !self
                .deadlines
                .contains_key(codec::deadline_key(id, deadline))?
            {
                report.fault(
                    "deadlines",
                    id.clone(),
                    format!(
                        "scheduled {:?} at {} is not indexed",
                        deadline.event, deadline.at
                    ),
                );
            }
        }
        Ok(())
    }

    /// Each `secret_index` entry's record holds its hash.
    fn check_secret_index(&self, report: &mut IndexReport) -> Result<(), Error> {
        for item in &self.secret_index {
            let (hash, value) = item?;
            report.index_entries += 1;
            let Ok(entry) = <codec::StoredIndexEntry as prost::Message>::decode(value.as_ref())
            else {
                report.fault(
                    "secret_index",
                    printable(&hash),
                    "the entry does not decode",
                );
                continue;
            };
            let holds = self
                .get(&entry.credential_id)
                .ok()
                .flatten()
                .is_some_and(|r| {
                    r.versions
                        .iter()
                        .any(|v| v.version == entry.version && v.hash[..] == hash[..])
                });
            if !holds {
                report.fault(
                    "secret_index",
                    entry.credential_id,
                    format!(
                        "an entry for secret version {} that the record does not hold",
                        entry.version
                    ),
                );
            }
        }
        Ok(())
    }

    /// Each `by_account` entry's record exists under that account.
    fn check_account_index(&self, report: &mut IndexReport) -> Result<(), Error> {
        for item in &self.by_account {
            let (key, _) = item?;
            report.index_entries += 1;
            let Some(at) = key.iter().position(|b| *b == 0) else {
                report.fault("by_account", printable(&key), "the key names no credential");
                continue;
            };
            let (account, id) = (
                &key[..at],
                String::from_utf8_lossy(&key[at + 1..]).into_owned(),
            );
            let holds = self
                .get(&id)
                .ok()
                .flatten()
                .is_some_and(|r| r.account_id.as_bytes() == account);
            if !holds {
                report.fault(
                    "by_account",
                    id,
                    format!(
                        "an entry under account {} for a credential that is not there",
                        String::from_utf8_lossy(account)
                    ),
                );
            }
        }
        Ok(())
    }

    /// Each `deadlines` entry's record schedules it.
    fn check_deadline_index(&self, report: &mut IndexReport) -> Result<(), Error> {
        for item in &self.deadlines {
            let (key, _) = item?;
            report.index_entries += 1;
            if key.len() < 10 {
                report.fault("deadlines", printable(&key), "the key is too short");
                continue;
            }
            let id = String::from_utf8_lossy(&key[8..key.len() - 1]).into_owned();
            let holds = self.get(&id).ok().flatten().is_some_and(|r| {
                r.scheduled
                    .iter()
                    .any(|d| codec::deadline_key(&id, d) == key.as_ref())
            });
            if !holds {
                report.fault("deadlines", id, "a deadline the record does not schedule");
            }
        }
        Ok(())
    }

    /// Rewrites `secret_index`, `by_account` and `deadlines` from the
    /// records (offline repair; transactions wait meanwhile). Returns the
    /// entries written. Records that do not decode are left out.
    ///
    /// # Errors
    /// sled errors; [`Error::Cluster`] on a cluster node (its indexes come
    /// from etcd).
    pub fn rebuild_indexes(&self) -> Result<u64, Error> {
        if self.is_cluster() {
            return Err(Error::Cluster("a cluster node's indexes come from etcd; repair the sled store before migrating it".into()));
        }
        let _hold = self.hold.exclusive();
        for tree in [&self.secret_index, &self.by_account, &self.deadlines] {
            tree.clear()?;
        }
        let mut written = 0u64;
        for item in &self.credentials {
            let (_, raw) = item?;
            let Ok(record) = codec::decode_record(&raw) else {
                continue;
            };
            let mut index = sled::Batch::default();
            for version in &record.versions {
                index.insert(
                    &version.hash[..],
                    codec::index_value(&record, version.version),
                );
                written += 1;
            }
            self.secret_index.apply_batch(index)?;
            self.by_account.insert(
                codec::account_key(&record.account_id, &record.id),
                &codec::account_value(&record)[..],
            )?;
            for deadline in &record.scheduled {
                self.deadlines
                    .insert(codec::deadline_key(&record.id, deadline), &[])?;
            }
            written += 1 + record.scheduled.len() as u64;
        }
        self.db.flush()?;
        Ok(written)
    }
}
