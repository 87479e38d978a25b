//! `[leaks]`: leaked-key reports. Where GitHub's secret-scanning public
//! keys are (the endpoint `/v1/leaks/github` is off until they are), what a
//! report does to a matching credential, and the bounds of a report. The
//! keys file itself is read when the daemon starts (`http::leaks`), so a
//! file that cannot be used stops it there.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};
use crate::lifecycle::LeakAction;

/// How the answer to GitHub names each token (`[leaks] github_feedback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeakFeedback {
    /// `token_raw`: the token as GitHub sent it (GitHub's first form).
    #[default]
    Raw,
    /// `token_hash`: the SHA-256 of the token, lowercase hex, so the answer
    /// never carries the secret again.
    Hash,
}

/// `[leaks]`, validated.
#[derive(Debug, Clone)]
pub struct LeaksConfig {
    /// `github_public_keys`: GitHub's `meta/public_keys/secret_scanning`
    /// document, saved as is; `None` (the default) turns the endpoint off.
    pub github_public_keys: Option<PathBuf>,
    /// `action`: what a matching report does (default `revoke`).
    pub action: LeakAction,
    /// `max_tokens`: tokens one report may carry (default 1000); more is
    /// refused whole, so a report never half applies for that reason.
    pub max_tokens: usize,
    /// `max_body_bytes`: the largest report body read (default 1 MiB);
    /// larger is refused with 413 before it is parsed.
    pub max_body_bytes: usize,
    /// `github_feedback`: `raw` (default) or `hash`.
    pub github_feedback: LeakFeedback,
}

impl Default for LeaksConfig {
    fn default() -> Self {
        LeaksConfig {
            github_public_keys: None,
            action: LeakAction::Revoke,
            max_tokens: 1000,
            max_body_bytes: 1 << 20,
            github_feedback: LeakFeedback::Raw,
        }
    }
}

/// `[leaks]`: every key optional; defaults in [`LeaksConfig::default`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LeaksFile {
    github_public_keys: Option<String>,
    action: Option<String>,
    max_tokens: Option<i64>,
    max_body_bytes: Option<i64>,
    github_feedback: Option<String>,
}

/// Validates `[leaks]`: the action and feedback names, the bounds, and that
/// the endpoint has a listener (`[http] listen`) to be served on.
pub(super) fn validate(
    file: LeaksFile,
    http_listen: bool,
    check: &Check,
) -> Result<LeaksConfig, ConfigError> {
    let d = LeaksConfig::default();
    let github_public_keys = non_empty_path(file.github_public_keys);
    if github_public_keys.is_some() && !http_listen {
        return Err(check.invalid(
            "leaks.github_public_keys",
            "leak reports are served on the HTTP listener; set http.listen too".to_string(),
        ));
    }
    let actions: Vec<(&str, LeakAction)> = LeakAction::ALL.iter().map(|a| (a.name(), *a)).collect();
    let action = match file.action {
        None => d.action,
        Some(text) => check.one_of("leaks.action", &text, &actions)?,
    };
    let github_feedback = match file.github_feedback {
        None => d.github_feedback,
        Some(text) => check.one_of(
            "leaks.github_feedback",
            &text,
            &[("raw", LeakFeedback::Raw), ("hash", LeakFeedback::Hash)],
        )?,
    };
    Ok(LeaksConfig {
        github_public_keys,
        action,
        max_tokens: check.whole("leaks.max_tokens", file.max_tokens, 1000, 1..=100_000)?,
        max_body_bytes: check.whole(
            "leaks.max_body_bytes",
            file.max_body_bytes,
            1 << 20,
            1024..=(64 << 20),
        )?,
        github_feedback,
    })
}
