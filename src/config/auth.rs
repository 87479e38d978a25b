//! `[auth]`: the bootstrap admin key, whether Verify needs a token, and the
//! throttle on failed admin authentications.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};

/// `[auth]`, validated.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Where the first admin key is written on first start.
    pub bootstrap_admin_key_file: PathBuf,
    /// Whether Verify needs an admin key with the `verify` scope.
    pub verifier_token: bool,
    /// Failed admin authentications a peer may make at once.
    pub failed_auth_burst: u32,
    /// After the burst, one more failure is allowed every this long.
    pub failed_auth_refill: StdDuration,
}

/// `[auth]`: see [`AuthConfig`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AuthFile {
    /// Default `<data_dir>/admin.key`.
    bootstrap_admin_key_file: Option<String>,
    /// `open` or `token`; default `open` on a loopback listen address,
    /// `token` otherwise.
    verifier: Option<String>,
    /// Default false: `open` on a non-loopback address is refused.
    allow_open_verifier_on_network: Option<bool>,
    /// Default 10.
    failed_auth_burst: Option<i64>,
    /// Default `6s` (10 a minute after the burst).
    failed_auth_refill: Option<String>,
}

/// Validates `[auth]`; the defaults depend on the (validated) `listen`
/// address and `data_dir`.
impl AuthFile {
    /// `allow_open_verifier_on_network`: open key checks may listen on a
    /// network address (Verify, and the gateway's `/v1/check`).
    pub(super) fn allows_open_on_network(&self) -> bool {
        self.allow_open_verifier_on_network.unwrap_or(false)
    }
}

pub(super) fn validate(
    a: AuthFile,
    listen: SocketAddr,
    data_dir: &Path,
    check: &Check,
) -> Result<AuthConfig, ConfigError> {
    let verifier_token = verifier_token(&a, listen, check)?;
    let bootstrap_admin_key_file =
        non_empty_path(a.bootstrap_admin_key_file).unwrap_or_else(|| data_dir.join("admin.key"));
    Ok(AuthConfig {
        bootstrap_admin_key_file,
        verifier_token,
        failed_auth_burst: check.whole(
            "auth.failed_auth_burst",
            a.failed_auth_burst,
            10,
            1..=1_000_000,
        )?,
        failed_auth_refill: check.fixed("auth.failed_auth_refill", a.failed_auth_refill, "6s")?,
    })
}

/// `auth.verifier`: open on loopback and token elsewhere by default; open on
/// a network address only with `allow_open_verifier_on_network`.
fn verifier_token(a: &AuthFile, listen: SocketAddr, check: &Check) -> Result<bool, ConfigError> {
    match a.verifier.as_deref() {
        None => Ok(!listen.ip().is_loopback()),
        Some("token") => Ok(true),
        Some("open") => {
            if !listen.ip().is_loopback() && !a.allow_open_verifier_on_network.unwrap_or(false) {
                return Err(check.invalid(
                    "auth.verifier",
                    format!(
                        "\"open\" lets anyone who reaches {listen} test keys; use \"token\", listen on a loopback address, or set auth.allow_open_verifier_on_network = true"
                    ),
                ));
            }
            Ok(false)
        }
        Some(other) => Err(check.invalid(
            "auth.verifier",
            format!("{other:?} is not \"open\" or \"token\""),
        )),
    }
}
