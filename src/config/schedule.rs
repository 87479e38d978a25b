//! `[schedule]`: when the sweep runs, how often pending uses are written,
//! and how long daily usage is kept.

use std::time::Duration as StdDuration;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[schedule]`, validated.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// Six-field cron expression (seconds first), in UTC.
    pub sweep: String,
    /// How often pending uses are written.
    pub usage_flush_interval: StdDuration,
    /// Days of daily usage kept.
    pub usage_retention_days: u32,
}

/// `[schedule]`: sweep default `0 */5 * * * *`, flush default `30s`,
/// usage kept 400 days.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScheduleFile {
    sweep: Option<String>,
    usage_flush_interval: Option<String>,
    usage_retention_days: Option<i64>,
}

/// Validates `[schedule]`.
pub(super) fn validate(file: ScheduleFile, check: &Check) -> Result<ScheduleConfig, ConfigError> {
    let sweep = file.sweep.unwrap_or_else(|| "0 */5 * * * *".to_string());
    validate_cron(&sweep).map_err(|m| check.invalid("schedule.sweep", m))?;
    let usage_flush_interval = check.fixed(
        "schedule.usage_flush_interval",
        file.usage_flush_interval,
        "30s",
    )?;
    let usage_retention_days = match file.usage_retention_days {
        None => 400,
        Some(days @ 1..=3650) => days as u32,
        Some(days) => {
            return Err(check.invalid(
                "schedule.usage_retention_days",
                format!("{days} is out of range; keep daily usage for 1 to 3650 days"),
            ));
        }
    };
    Ok(ScheduleConfig {
        sweep,
        usage_flush_interval,
        usage_retention_days,
    })
}

/// Checks a cron expression the way the scheduler will read it.
pub(super) fn validate_cron(expr: &str) -> Result<(), String> {
    let n_fields = expr.split_whitespace().count();
    if n_fields != 6 {
        return Err(format!(
            "{expr:?} has {n_fields} fields; credd's cron needs six, seconds first (e.g. \"0 */5 * * * *\" for every five minutes)"
        ));
    }
    tokio_cron_scheduler::Job::new_async(expr, |_, _| Box::pin(async {}))
        .map(|_| ())
        .map_err(|e| format!("{expr:?} is not a valid cron expression ({e:?})"))
}
