//! `[policy]`: the lifecycle rules ([`Policy`]) and their consistency.

use serde::Deserialize;

use crate::lifecycle::Policy;

use super::ConfigError;
use super::check::Check;

/// `[policy]`; defaults as in [`Policy::standard`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    default_lifetime: Option<String>,
    max_lifetime: Option<String>,
    inactivity_disable_after: Option<String>,
    inactivity_delete_after: Option<String>,
    expiry_warning_before: Option<String>,
    rotation_default_window: Option<String>,
    rotation_max_window: Option<String>,
    max_credentials_per_account: Option<i64>,
    auto_create_accounts: Option<bool>,
}

/// Validates `[policy]`: each value, then how they compare.
pub(super) fn validate(p: PolicyFile, check: &Check) -> Result<Policy, ConfigError> {
    let standard = Policy::standard();
    let policy = Policy {
        default_lifetime: check.span(
            "policy.default_lifetime",
            p.default_lifetime,
            standard.default_lifetime,
        )?,
        max_lifetime: check.span("policy.max_lifetime", p.max_lifetime, standard.max_lifetime)?,
        inactivity_disable_after: check.span(
            "policy.inactivity_disable_after",
            p.inactivity_disable_after,
            standard.inactivity_disable_after,
        )?,
        inactivity_delete_after: check.span(
            "policy.inactivity_delete_after",
            p.inactivity_delete_after,
            standard.inactivity_delete_after,
        )?,
        expiry_warning_before: check.span(
            "policy.expiry_warning_before",
            p.expiry_warning_before,
            standard.expiry_warning_before,
        )?,
        rotation_default_window: check.span(
            "policy.rotation_default_window",
            p.rotation_default_window,
            standard.rotation_default_window,
        )?,
        rotation_max_window: check.span(
            "policy.rotation_max_window",
            p.rotation_max_window,
            standard.rotation_max_window,
        )?,
        max_credentials_per_account: check.whole(
            "policy.max_credentials_per_account",
            p.max_credentials_per_account,
            i64::from(standard.max_credentials_per_account),
            1..=1_000_000,
        )?,
        auto_create_accounts: p
            .auto_create_accounts
            .unwrap_or(standard.auto_create_accounts),
    };
    check_order(&policy, check)?;
    Ok(policy)
}

/// Lifetimes, inactivity steps and rotation windows in their order.
fn check_order(policy: &Policy, check: &Check) -> Result<(), ConfigError> {
    // Spans of months and days compare differently on different dates; any
    // fixed reference date gives the intended ordering for sane policies.
    let reference =
        chrono::DateTime::<chrono::Utc>::from_timestamp(1_767_225_600, 0).unwrap_or_default();
    if policy.default_lifetime.after(reference) > policy.max_lifetime.after(reference) {
        return Err(check.invalid(
            "policy.default_lifetime",
            "must not be longer than policy.max_lifetime".to_string(),
        ));
    }
    if policy.inactivity_delete_after.after(reference)
        <= policy.inactivity_disable_after.after(reference)
    {
        return Err(check.invalid(
            "policy.inactivity_delete_after",
            "must be longer than policy.inactivity_disable_after".to_string(),
        ));
    }
    if policy.rotation_default_window.after(reference) > policy.rotation_max_window.after(reference)
    {
        return Err(check.invalid(
            "policy.rotation_default_window",
            "must not be longer than policy.rotation_max_window".to_string(),
        ));
    }
    Ok(())
}
