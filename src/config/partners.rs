//! `[partners]`: how long a consent request waits for the customer.

use std::time::Duration as StdDuration;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[partners]`: how long a consent request waits for the customer's
/// answer; default `1h`, at most 30 days.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PartnersFile {
    consent_ttl: Option<String>,
}

/// Validates `[partners]`: the consent TTL.
pub(super) fn validate(file: PartnersFile, check: &Check) -> Result<chrono::Duration, ConfigError> {
    let consent_ttl = check.fixed("partners.consent_ttl", file.consent_ttl, "1h")?;
    if consent_ttl.is_zero() || consent_ttl > StdDuration::from_secs(30 * 86_400) {
        return Err(check.invalid(
            "partners.consent_ttl",
            "must be more than 0s and at most 30d".to_string(),
        ));
    }
    check.chrono_of("partners.consent_ttl", consent_ttl)
}
