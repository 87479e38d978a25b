//! `[console]`: the admin web console on the HTTP listener (`/console/`).
//! Off unless enabled; a console session ends after `idle_timeout` without
//! a request or `max_lifetime` after sign-in; `public_url` is where the
//! notice e-mails link to a credential's page.

use std::time::Duration as StdDuration;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[console]`, validated.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// `enabled` (default false): serve `/console/` on `[http] listen`.
    pub enabled: bool,
    /// `idle_timeout` (default 15m): a session idle this long is over.
    pub idle_timeout: StdDuration,
    /// `max_lifetime` (default 12h): a session this old is over.
    pub max_lifetime: StdDuration,
    /// `public_url`: the console's address as administrators reach it,
    /// without a trailing slash (`https://credd.example.com`); e-mails link
    /// to `{public_url}/console/credentials/{id}` when set.
    pub public_url: Option<String>,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig {
            enabled: false,
            idle_timeout: StdDuration::from_secs(15 * 60),
            max_lifetime: StdDuration::from_secs(12 * 3600),
            public_url: None,
        }
    }
}

/// `[console]`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsoleFile {
    enabled: Option<bool>,
    idle_timeout: Option<String>,
    max_lifetime: Option<String>,
    public_url: Option<String>,
}

/// Validates `[console]`: a listener to be served on, the timeouts, and a
/// `public_url` that is an absolute http(s) URL with no query or fragment.
pub(super) fn validate(
    file: ConsoleFile,
    http_listen: bool,
    check: &Check,
) -> Result<ConsoleConfig, ConfigError> {
    let enabled = file.enabled.unwrap_or(false);
    if enabled && !http_listen {
        return Err(check.invalid(
            "console.enabled",
            "the console is served on the HTTP listener; set http.listen too".to_string(),
        ));
    }
    let idle_timeout = check.fixed("console.idle_timeout", file.idle_timeout, "15m")?;
    let max_lifetime = check.fixed("console.max_lifetime", file.max_lifetime, "12h")?;
    if idle_timeout > max_lifetime {
        return Err(check.invalid(
            "console.idle_timeout",
            "must not be longer than console.max_lifetime".to_string(),
        ));
    }
    let public_url = match file.public_url.filter(|u| !u.is_empty()) {
        None => None,
        Some(_) if !enabled => {
            return Err(check.invalid(
                "console.public_url",
                "e-mails would link to a console that is off; set console.enabled = true too"
                    .to_string(),
            ));
        }
        Some(text) => Some(public_url(&text).map_err(|m| check.invalid("console.public_url", m))?),
    };
    Ok(ConsoleConfig {
        enabled,
        idle_timeout,
        max_lifetime,
        public_url,
    })
}

/// `text` as a base URL: http or https, a host, no query or fragment; the
/// trailing slash dropped.
fn public_url(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} must not have a query or a fragment"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::public_url;

    #[test]
    fn public_url_is_an_absolute_base() {
        assert_eq!(
            public_url("https://credd.example.com/").as_deref(),
            Ok("https://credd.example.com")
        );
        assert_eq!(
            public_url("http://10.0.0.1:8080/admin").as_deref(),
            Ok("http://10.0.0.1:8080/admin")
        );
        assert!(public_url("ftp://x").is_err());
        assert!(public_url("https://x/?a=1").is_err());
        assert!(public_url("credd.example.com").is_err());
    }
}
