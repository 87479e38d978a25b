//! `credd check [DATA_DIR] [--repair]`: the offline integrity check (the
//! daemon must be stopped; sled's lock refuses a second process); with an
//! etcd backend, the check of etcd's keys at one revision while the nodes
//! serve (no repair). Prints
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
pub async fn check(config: &Config, repair: bool) -> Result<(String, bool), DaemonError> {
    match &config.store {
        crate::config::StoreConfig::Sled => check_sled(config, repair),
        #[cfg(feature = "etcd")]
        crate::config::StoreConfig::Etcd(etcd) => check_cluster(config, etcd, repair).await,
        #[cfg(not(feature = "etcd"))]
        crate::config::StoreConfig::Etcd(_) => Err(DaemonError::StoreConfig(
            "[store] backend = \"etcd\" needs a build with --features etcd".into(),
        )),
    }
}

/// A cluster's check: etcd's keys under the prefix, read at one revision
/// into a scratch sled store inside the data directory (the nodes may go
/// on serving), checked there, then removed. A repair would have to write
/// through etcd while nodes serve, so it is refused.
#[cfg(feature = "etcd")]
async fn check_cluster(
    config: &Config,
    etcd: &crate::config::EtcdConfig,
    repair: bool,
) -> Result<(String, bool), DaemonError> {
    if repair {
        return Err(DaemonError::StoreConfig(
            "credd check --repair rewrites a sled store; for a cluster: stop the nodes, `credd migrate` etcd to sled, repair that, and migrate it into a fresh prefix (README, Backup and restore)".into(),
        ));
    }
    let options = super::cluster::etcd_options(etcd)?;
    remove_abandoned_scratch(&config.data_dir);
    let scratch = config
        .data_dir
        .join(format!("check-{}", std::process::id()));
    let mut local = config.clone();
    local.data_dir = scratch.clone();
    local.store = crate::config::StoreConfig::Sled;
    let checked = async {
        let copied = crate::store::etcd_to_sled(&options, &local.db_dir(), true).await?;
        let (text, sound) = check_sled(&local, false)?;
        Ok((
            format!(
                "read {} keys from etcd (prefix {}) at one revision\n{text}",
                copied.total(),
                options.prefix
            ),
            sound,
        ))
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    checked
}

/// Removes the scratch copies of checks whose process is gone (killed
/// part-way).
#[cfg(feature = "etcd")]
fn remove_abandoned_scratch(data_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(data_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix("check-") else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The check of the sled store in the data directory.
fn check_sled(config: &Config, repair: bool) -> Result<(String, bool), DaemonError> {
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
