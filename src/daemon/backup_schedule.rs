//! Scheduled backups (`[backup] schedule`, `dir`, `keep`): a
//! tokio-cron-scheduler job that writes `credd-<UTC time>.backup` into the
//! directory, one at a time, off the async workers, then removes the oldest
//! scheduled backups beyond `keep`. Files of other names are left alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tracing::{error, info, warn};

use super::DaemonError;
use crate::config::BackupConfig;
use crate::engine::{Actor, Engine};

/// The name every scheduled backup starts with.
const PREFIX: &str = "credd-";
/// ...and ends with.
const SUFFIX: &str = ".backup";

/// Adds the backup job to `scheduler` when a schedule is configured.
///
/// # Errors
/// [`DaemonError::Scheduler`] when the job cannot be added.
pub(super) async fn add(
    scheduler: &tokio_cron_scheduler::JobScheduler,
    engine: &Arc<Engine>,
    config: &BackupConfig,
) -> Result<(), DaemonError> {
    let (Some(schedule), Some(dir)) = (config.schedule.clone(), config.dir.clone()) else {
        return Ok(());
    };
    let running = Arc::new(tokio::sync::Mutex::new(()));
    let (engine, keep) = (engine.clone(), config.keep as usize);
    let job_dir = dir.clone();
    let job = tokio_cron_scheduler::Job::new_async(schedule.as_str(), move |_, _| {
        let (engine, dir, running) = (engine.clone(), job_dir.clone(), running.clone());
        Box::pin(async move {
            let Ok(_one) = running.try_lock() else {
                warn!("previous scheduled backup still running; skipping this tick");
                return;
            };
            run_once(engine, dir, keep).await;
        })
    })
    .map_err(|e| DaemonError::Scheduler(e.to_string()))?;
    scheduler
        .add(job)
        .await
        .map_err(|e| DaemonError::Scheduler(e.to_string()))?;
    info!(schedule = %schedule, dir = %dir.display(), keep, "backups scheduled (UTC)");
    Ok(())
}

/// Writes one backup into `dir`, then prunes.
async fn run_once(engine: Arc<Engine>, dir: PathBuf, keep: usize) {
    if let Err(e) = std::fs::create_dir_all(&dir) {
        error!(dir = %dir.display(), error = %e, "scheduled backup: cannot create its directory");
        return;
    }
    let name = format!(
        "{PREFIX}{}{SUFFIX}",
        engine.now().format("%Y%m%dT%H%M%S%.6fZ")
    );
    let out = dir.join(name);
    let written = tokio::task::spawn_blocking(move || engine.backup(&Actor::system(), &out)).await;
    match written {
        Ok(Ok(_)) => prune(&dir, keep),
        Ok(Err(e)) => error!(error = %e, "scheduled backup failed; the next tick tries again"),
        Err(e) => error!(error = %e, "scheduled backup task failed"),
    }
}

/// Removes the oldest scheduled backups in `dir` beyond the newest `keep`
/// (their names sort by time).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut ours: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    ours.sort();
    let excess = ours.len().saturating_sub(keep);
    for old in &ours[..excess] {
        match std::fs::remove_file(old) {
            Ok(()) => info!(path = %old.display(), "old scheduled backup removed"),
            Err(e) => {
                warn!(path = %old.display(), error = %e, "cannot remove an old scheduled backup")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the newest `keep` scheduled backups stay; other files are left.
    #[test]
    fn prune_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "credd-20261201T000000.000000Z.backup",
            "credd-20261202T000000.000000Z.backup",
            "credd-20261203T000000.000000Z.backup",
            "manual.backup",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        prune(dir.path(), 2);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "credd-20261202T000000.000000Z.backup",
                "credd-20261203T000000.000000Z.backup",
                "manual.backup"
            ]
        );
    }
}
