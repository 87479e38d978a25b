//! `[metrics]`: where Prometheus metrics are served, if anywhere.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[metrics]`: off unless `listen` is set (e.g. `127.0.0.1:9464`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricsFile {
    listen: Option<String>,
}

/// Validates `[metrics]`: the listen address, or `None` when unset or empty.
pub(super) fn validate(
    file: MetricsFile,
    check: &Check,
) -> Result<Option<SocketAddr>, ConfigError> {
    check.listen("metrics.listen", file.listen)
}
