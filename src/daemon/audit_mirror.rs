//! Mirrors the audit log to `[audit] file` as JSON lines, for a SIEM. The
//! audit tree stays the record of truth (written in the same transaction as
//! each change); this task follows it, appending events after the position
//! kept in `meta`. It syncs the file before it moves the position, so a
//! crash can repeat events (same `seq`) but never skip one.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::engine::Engine;
use crate::store::{AuditEvent, AuditFilter};

/// `meta` key holding the last mirrored position.
const META_CURSOR: &str = "audit_mirror_seq";
/// Events appended per round.
const BATCH: usize = 1000;
/// How often the log is followed.
const PERIOD: Duration = Duration::from_secs(1);

/// Starts the mirror; it catches up at once and drains once more on stop.
pub fn spawn(
    engine: Arc<Engine>,
    path: PathBuf,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PERIOD);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => break,
            }
            if let Err(e) = catch_up(&engine, &path) {
                warn!(error = %e, path = %path.display(), "audit mirror failed; will retry");
            }
        }
        if let Err(e) = catch_up(&engine, &path) {
            warn!(error = %e, path = %path.display(), "audit mirror failed at shutdown");
        }
        info!(task = "audit-mirror", "stopped");
    })
}

/// Appends every event after the cursor to the file.
///
/// # Errors
/// A message for storage or file failures.
pub fn catch_up(engine: &Engine, path: &PathBuf) -> Result<usize, String> {
    let store = engine.store();
    let mut cursor = store
        .meta_get(META_CURSOR)
        .map_err(|e| e.to_string())?
        .and_then(|raw| <[u8; 8]>::try_from(raw.as_slice()).ok())
        .map(u64::from_be_bytes);
    let mut n_written = 0;
    loop {
        let page = store
            .audit_page(&AuditFilter::default(), cursor, BATCH, BATCH)
            .map_err(|e| e.to_string())?;
        let Some(last) = page.events.last().map(|e| e.seq) else {
            return Ok(n_written);
        };
        let mut lines = Vec::new();
        for event in &page.events {
            serde_json::to_writer(&mut lines, &json(event)).map_err(|e| e.to_string())?;
            lines.push(b'\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot open: {e}"))?;
        file.write_all(&lines).map_err(|e| e.to_string())?;
        file.sync_data().map_err(|e| e.to_string())?;
        store
            .meta_put(META_CURSOR, &last.to_be_bytes())
            .map_err(|e| e.to_string())?;
        n_written += page.events.len();
        cursor = Some(last);
        if page.next_after.is_none() {
            return Ok(n_written);
        }
    }
}

fn json(event: &AuditEvent) -> serde_json::Value {
    serde_json::json!({
        "seq": event.seq,
        "at": event.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actor": event.actor,
        "action": event.action,
        "credential_id": event.credential_id,
        "account_id": event.account_id,
        "outcome": event.outcome,
        "detail": event.detail,
        "request_id": event.request_id,
    })
}
