//! The daemon's background tasks behind one handle: the usage flusher, mail
//! delivery, webhook delivery, the audit mirror, the sweep scheduler (with a catch-up sweep at
//! start) and the systemd watchdog. `Tasks::shutdown(grace)` stops them in
//! order, each within the grace period, as kanidm's core handle does.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::DaemonError;
use super::audit_mirror;
use super::sweeper::{Sweeper, start_scheduler};
use crate::config::Config;
use crate::engine::Engine;
use crate::notify::Mailer;
use crate::notify::webhooks::WebhookWorker;

/// The running background tasks.
pub(super) struct Tasks {
    /// Set to true to ask every task to stop.
    stop: watch::Sender<bool>,
    scheduler: tokio_cron_scheduler::JobScheduler,
    sweeper: Arc<Sweeper>,
    handles: Vec<(&'static str, JoinHandle<()>)>,
}

impl Tasks {
    /// Starts the usage flusher, mail delivery, the audit mirror (when
    /// configured) and the sweep schedule, and runs a catch-up sweep for
    /// whatever fell due while the daemon was down.
    ///
    /// # Errors
    /// The scheduler could not start.
    pub(super) async fn start(
        engine: &Arc<Engine>,
        config: &Config,
        mailer: Arc<Mailer>,
    ) -> Result<Self, DaemonError> {
        let (stop, stop_rx) = watch::channel(false);
        let outbox_ready = Arc::new(tokio::sync::Notify::new());
        // Held by a sweep while it runs and by a delivery round, so a round
        // never splits one sweep's notices into two digests.
        let sweep_lock = Arc::new(tokio::sync::Mutex::new(()));
        let mut handles = vec![
            (
                "usage-flush",
                spawn_usage_flusher(engine.clone(), config, stop_rx.clone()),
            ),
            (
                "mail-delivery",
                spawn_mail_delivery(
                    mailer,
                    config,
                    outbox_ready.clone(),
                    sweep_lock.clone(),
                    stop_rx.clone(),
                ),
            ),
            (
                "webhook-delivery",
                spawn_webhook_delivery(engine.clone(), config, stop_rx.clone())?,
            ),
        ];
        if let Some(path) = &config.audit_file {
            handles.push((
                "audit-mirror",
                audit_mirror::spawn(engine.clone(), path.clone(), stop_rx.clone()),
            ));
            info!(path = %path.display(), "audit log mirrored as JSON lines");
        }
        let stop_rx_for_leadership = stop_rx.clone();
        let sweeper = Arc::new(Sweeper::new(
            engine.clone(),
            outbox_ready,
            sweep_lock,
            stop_rx,
        ));
        let scheduler = start_scheduler(config, sweeper.clone()).await?;
        super::backup_schedule::add(&scheduler, engine, &config.backup).await?;
        tokio::spawn({
            let sweeper = sweeper.clone();
            async move { sweeper.run("start").await }
        });
        handles.push((
            "leadership",
            spawn_on_leadership(engine, sweeper.clone(), stop_rx_for_leadership),
        ));
        Ok(Tasks {
            stop,
            scheduler,
            sweeper,
            handles,
        })
    }

    /// A receiver that changes when the tasks are asked to stop.
    pub(super) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Adds a task that ends when [`Tasks::stop_signal`] changes.
    pub(super) fn add(&mut self, name: &'static str, handle: JoinHandle<()>) {
        self.handles.push((name, handle));
    }

    /// Stops the scheduler, waits for a running sweep (which stops between
    /// batches) and then for every task, each within `grace`.
    pub(super) async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        match tokio::time::timeout(grace, self.scheduler.shutdown()).await {
            Ok(Ok(())) => info!(task = "sweep-scheduler", "stopped"),
            Ok(Err(e)) => warn!(error = %e, "sweep scheduler did not shut down cleanly"),
            Err(_) => warn!("sweep scheduler did not stop in time"),
        }
        if tokio::time::timeout(grace, self.sweeper.wait_idle())
            .await
            .is_err()
        {
            warn!("a sweep was still running at the end of the grace period");
        }
        for (name, handle) in self.handles {
            if tokio::time::timeout(grace, handle).await.is_err() {
                warn!(task = name, "task did not stop in time");
            }
        }
    }
}

/// In a cluster, sweeps at once when this node becomes the leader (the
/// sweep also wakes mail delivery), so nothing waits for the next tick.
/// With sled the node always leads and the task ends at once.
fn spawn_on_leadership(
    engine: &Arc<Engine>,
    sweeper: Arc<Sweeper>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut leading = engine.store().leading();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = leading.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    if *leading.borrow_and_update() {
                        sweeper.run("leadership").await;
                    }
                }
                _ = stop.changed() => break,
            }
        }
    })
}

fn spawn_usage_flusher(
    engine: Arc<Engine>,
    config: &Config,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let period = config.schedule.usage_flush_interval;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if let Err(e) = engine.flush_usage().await {
                        error!(error = %e, "usage flush failed; will retry");
                    }
                    if let Ok(bytes) = engine.store().size_on_disk() {
                        crate::telemetry::store_size(bytes);
                    }
                    let cache = engine.store().verify_cache_stats();
                    crate::telemetry::verify_cache(cache.entries, cache.hits, cache.misses);
                }
                _ = stop.changed() => break,
            }
        }
        info!(task = "usage-flush", "stopped");
    })
}

fn spawn_mail_delivery(
    mailer: Arc<Mailer>,
    config: &Config,
    outbox_ready: Arc<tokio::sync::Notify>,
    sweep_lock: Arc<tokio::sync::Mutex<()>>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let period = config.email.delivery_interval;
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                () = outbox_ready.notified() => {}
                _ = stop.changed() => break,
            }
            let delivery = mailer.deliver(&sweep_lock);
            tokio::select! {
                result = delivery => match result {
                    Ok(report) => {
                        crate::telemetry::delivery(
                            report.messages_sent,
                            report.transient_failures,
                            report.permanent_failures,
                            report.notices_pending,
                        );
                        if report.messages_sent + report.transient_failures + report.permanent_failures > 0 {
                            tracing::debug!(?report, "outbox delivery round");
                        }
                    }
                    Err(e) => error!(error = %e, "outbox delivery failed; will retry"),
                },
                _ = stop.changed() => break,
            }
        }
        info!(task = "mail-delivery", "stopped");
    })
}

/// Starts webhook delivery on a thread of its own (see
/// [`WebhookWorker::spawn`]).
fn spawn_webhook_delivery(
    engine: Arc<Engine>,
    config: &Config,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, DaemonError> {
    let rules = Arc::new(config.webhooks.clone());
    let worker = WebhookWorker::new(engine, rules).map_err(DaemonError::Webhooks)?;
    Ok(Arc::new(worker).spawn(stop))
}
