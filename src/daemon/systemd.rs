//! What the daemon tells systemd (`Type=notify`): READY with the listening
//! address once the store is open and the listener bound, STOPPING when a
//! shutdown begins, and WATCHDOG pings at half the configured interval.
//! Each is a no-op without `NOTIFY_SOCKET`.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// READY=1, with the address in STATUS.
pub(super) fn ready(addr: SocketAddr) {
    if let Err(e) = sd_notify::notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status(&format!("listening on {addr}")),
    ]) {
        warn!(error = %e, "could not notify systemd of readiness");
    }
}

/// STOPPING=1.
pub(super) fn stopping() {
    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Stopping]) {
        warn!(error = %e, "could not notify systemd of stopping");
    }
}

/// The watchdog interval systemd asked for, if any.
pub(super) fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled()
}

/// Pings systemd's watchdog at half its interval until shutdown.
pub(super) fn spawn_watchdog(period: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period / 2);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if let Err(e) = sd_notify::notify(&[sd_notify::NotifyState::Watchdog]) {
                        warn!(error = %e, "could not ping the systemd watchdog");
                    }
                }
                _ = stop.changed() => break,
            }
        }
        info!(task = "watchdog", "stopped");
    })
}
