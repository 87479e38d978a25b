//! The sweep's schedule: a tokio-cron-scheduler job that runs
//! `Engine::sweep_until` one sweep at a time, stops between batches at
//! shutdown, records its metrics, and wakes mail delivery afterwards.

use std::sync::Arc;

use tokio::sync::watch;
use tracing::{error, info, warn};

use super::DaemonError;
use crate::config::Config;
use crate::engine::Engine;

/// Runs sweeps one at a time: a tick that finds one still running is skipped.
pub(super) struct Sweeper {
    engine: Arc<Engine>,
    /// Woken after a sweep, so new notices go out at once.
    outbox_ready: Arc<tokio::sync::Notify>,
    /// Held while a sweep runs (and by mail delivery rounds).
    running: Arc<tokio::sync::Mutex<()>>,
    /// Set at shutdown; a running sweep stops between batches.
    stop: watch::Receiver<bool>,
}

impl Sweeper {
    pub(super) fn new(
        engine: Arc<Engine>,
        outbox_ready: Arc<tokio::sync::Notify>,
        running: Arc<tokio::sync::Mutex<()>>,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            engine,
            outbox_ready,
            running,
            stop,
        }
    }

    pub(super) async fn run(&self, trigger: &'static str) {
        // A delivery round holds the lock only while it reads the outbox;
        // a sweep still running after a second means this tick is skipped.
        let Ok(_running) =
            tokio::time::timeout(std::time::Duration::from_secs(1), self.running.lock()).await
        else {
            warn!(trigger, "previous sweep still running; skipping this tick");
            return;
        };
        if *self.stop.borrow() {
            return;
        }
        if !*self.engine.store().leading().borrow() {
            tracing::debug!(trigger, "another node leads the sweeps; skipping");
            return;
        }
        let stop = self.stop.clone();
        let started = std::time::Instant::now();
        match self.engine.sweep_until(&|| *stop.borrow()).await {
            Ok(report) => {
                crate::telemetry::sweep(started.elapsed(), &report.transitions);
                tracing::debug!(
                    trigger,
                    due_events = report.due_events,
                    records_touched = report.records_touched,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "sweep done"
                );
            }
            Err(e) => error!(trigger, error = %e, "sweep failed; the next one retries"),
        }
        self.outbox_ready.notify_one();
    }

    pub(super) async fn wait_idle(&self) {
        let _idle = self.running.lock().await;
    }
}

pub(super) async fn start_scheduler(
    config: &Config,
    sweeper: Arc<Sweeper>,
) -> Result<tokio_cron_scheduler::JobScheduler, DaemonError> {
    use tokio_cron_scheduler::{Job, JobScheduler};
    let scheduler_error =
        |e: tokio_cron_scheduler::JobSchedulerError| DaemonError::Scheduler(e.to_string());
    let scheduler = JobScheduler::new().await.map_err(scheduler_error)?;
    let job = Job::new_async(config.schedule.sweep.as_str(), move |_, _| {
        let sweeper = sweeper.clone();
        Box::pin(async move { sweeper.run("schedule").await })
    })
    .map_err(scheduler_error)?;
    scheduler.add(job).await.map_err(scheduler_error)?;
    scheduler.start().await.map_err(scheduler_error)?;
    info!(schedule = %config.schedule.sweep, "sweep scheduled (UTC)");
    Ok(scheduler)
}
