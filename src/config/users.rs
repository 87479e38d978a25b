//! `[users]` and `[sessions]`: the argon2id cost of passwords, session
//! lifetimes and the login throttle.

use std::time::Duration as StdDuration;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[users]` and `[sessions]`, validated.
#[derive(Debug, Clone)]
pub struct UsersConfig {
    /// argon2id memory in KiB.
    pub argon2_memory_kib: u32,
    /// argon2id passes.
    pub argon2_iterations: u32,
    /// argon2id lanes.
    pub argon2_parallelism: u32,
    /// Sessions end after this long without a Verify.
    pub session_idle_timeout: chrono::Duration,
    /// Sessions end this long after login.
    pub session_max_lifetime: chrono::Duration,
    /// Failed logins (per user, per peer) before delays start.
    pub login_free_attempts: u32,
    /// First delay after those; it doubles with every failure.
    pub login_backoff: StdDuration,
    /// Longest delay.
    pub login_backoff_max: StdDuration,
}

/// `[users]`: argon2id cost; defaults 19456 KiB, 2 passes, 1 lane (OWASP).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UsersFile {
    argon2_memory_kib: Option<i64>,
    argon2_iterations: Option<i64>,
    argon2_parallelism: Option<i64>,
}

/// `[sessions]`: defaults 30m idle, 12h lifetime, 5 free attempts, then
/// 1s doubling up to 15m.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionsFile {
    idle_timeout: Option<String>,
    lifetime: Option<String>,
    login_free_attempts: Option<i64>,
    login_backoff: Option<String>,
    login_backoff_max: Option<String>,
}

/// Validates `[users]` and `[sessions]`, which make one [`UsersConfig`]:
/// each value, then enough argon2 memory for the lanes.
pub(super) fn validate(
    u: UsersFile,
    s: SessionsFile,
    check: &Check,
) -> Result<UsersConfig, ConfigError> {
    let [argon2_memory_kib, argon2_iterations, argon2_parallelism] = argon2_cost(u, check)?;
    let users = UsersConfig {
        argon2_memory_kib,
        argon2_iterations,
        argon2_parallelism,
        session_idle_timeout: check.fixed_chrono("sessions.idle_timeout", s.idle_timeout, "30m")?,
        session_max_lifetime: check.fixed_chrono("sessions.lifetime", s.lifetime, "12h")?,
        login_free_attempts: check.whole(
            "sessions.login_free_attempts",
            s.login_free_attempts,
            5,
            0..=1000,
        )?,
        login_backoff: check.fixed("sessions.login_backoff", s.login_backoff, "1s")?,
        login_backoff_max: check.fixed("sessions.login_backoff_max", s.login_backoff_max, "15m")?,
    };
    if users.argon2_memory_kib < 8 * users.argon2_parallelism {
        return Err(check.invalid(
            "users.argon2_memory_kib",
            "must be at least 8 KiB per lane (argon2_parallelism)".to_string(),
        ));
    }
    Ok(users)
}

/// `[users]`: argon2id memory (KiB), passes and lanes, in that order.
fn argon2_cost(u: UsersFile, check: &Check) -> Result<[u32; 3], ConfigError> {
    Ok([
        check.whole(
            "users.argon2_memory_kib",
            u.argon2_memory_kib,
            19_456,
            8..=4_194_304,
        )?,
        check.whole("users.argon2_iterations", u.argon2_iterations, 2, 1..=100)?,
        check.whole("users.argon2_parallelism", u.argon2_parallelism, 1, 1..=64)?,
    ])
}
