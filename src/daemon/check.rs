//! `credd check [DATA_DIR] [--repair]`: the offline integrity check (the
//! daemon must be stopped; sled's lock refuses a second process). Prints
//! each fault (the first thousand) and a summary; the caller exits non-zero
//! when faults remain.

use std::fmt::Write as _;
use std::sync::Arc;

use super::DaemonError;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::store::IndexReport;

/// The report to print, and whether the store is sound (after a repair,
/// when one was asked for).
///
/// # Errors
/// [`DaemonError::Restore`] when there is no store at the data directory;
/// opening and storage errors.
pub fn check(config: &Config, repair: bool) -> Result<(String, bool), DaemonError> {
    if !matches!(config.store, crate::config::StoreConfig::Sled) {
        return Err(DaemonError::StoreConfig(
            "credd check reads a sled data directory; a cluster's truth is etcd (check a node after `credd migrate` to sled)".into(),
        ));
    }
    if !config.db_dir().is_dir() {
        return Err(DaemonError::Restore(format!(
            "no credd store at {}",
            config.db_dir().display()
        )));
    }
    let engine = super::open_engine(config, Arc::new(SystemClock))?;
    let report = engine
        .check_store(repair)
        .map_err(|e| DaemonError::Engine(e.to_string()))?;
    let mut text = describe("found", &report.found);
    let sound = match &report.repaired {
        None => report.found.fault_count == 0,
        Some((entries, records, after)) => {
            let _ = writeln!(
                text,
                "repaired: {entries} index entries rewritten from the records, {records} records given the rules' deadlines"
            );
            text.push_str(&describe("after the repair", after));
            after.fault_count == 0
        }
    };
    Ok((text, sound))
}

fn describe(when: &str, report: &IndexReport) -> String {
    let mut text = String::new();
    for fault in &report.faults {
        let _ = writeln!(
            text,
            "fault: {} {}: {}",
            fault.tree, fault.subject, fault.what
        );
    }
    if report.fault_count > report.faults.len() as u64 {
        let _ = writeln!(
            text,
            "... and {} more",
            report.fault_count - report.faults.len() as u64
        );
    }
    let _ = writeln!(
        text,
        "{when}: {} credentials and {} index entries checked, {} faults",
        report.credentials, report.index_entries, report.fault_count
    );
    text
}
