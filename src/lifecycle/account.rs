//! Accounts as the rules see them: who owns credentials, who hears about
//! them, how many live ones they may hold, how fast their credentials may be
//! verified, and whether the account is suspended.

use chrono::{DateTime, Utc};

use super::{Policy, RateLimitRule};

/// Whether an account's credentials may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Its credentials verify by their own state.
    Active,
    /// Every credential of the account verifies as DISABLED (reason
    /// ACCOUNT_SUSPENDED); no credential record is touched.
    Suspended,
}

/// Most requests per second an account's rate limit may allow.
pub const MAX_RATE: u32 = 1_000_000;

/// A token bucket: `per_second` requests a second on average, `burst` at once.
/// The engine's account directory holds one bucket per limited account, and
/// `verify::AccountGate` applies its answer to Verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained rate.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
}

impl RateLimit {
    /// A limit as callers ask for it on the wire: a burst of 0 means
    /// `per_second`; a rate of 0 is refused (no limit is "unset", not 0).
    ///
    /// # Errors
    /// A rate of 0, with the text to show the caller.
    pub fn requested(per_second: u32, burst: u32) -> Result<RateLimit, String> {
        if per_second == 0 {
            return Err("rate_limit.requests_per_second must be at least 1 (leave rate_limit unset for no limit)".to_string());
        }
        Ok(RateLimit {
            per_second,
            burst: if burst == 0 { per_second } else { burst },
        })
    }

    /// Checks the bounds: a rate between 1 and [`MAX_RATE`], a burst of at
    /// most [`MAX_RATE`].
    ///
    /// # Errors
    /// A bound passed, with the text to show the caller.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_RATE).contains(&self.per_second) {
            return Err(format!(
                "rate_limit.requests_per_second must be between 1 and {MAX_RATE}, got {}",
                self.per_second
            ));
        }
        if self.burst > MAX_RATE {
            return Err(format!(
                "rate_limit.burst must be at most {MAX_RATE}, got {}",
                self.burst
            ));
        }
        Ok(())
    }
}

/// An account record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecord {
    /// The id credentials carry as `account_id`.
    pub id: String,
    /// Human name.
    pub display_name: String,
    /// Receive every notice about the account's credentials, beside each
    /// credential's own contacts.
    pub contact_emails: Vec<String>,
    /// Live credentials allowed; None: the policy's `max_credentials_per_account`.
    pub max_live_credentials: Option<u32>,
    /// Verify requests allowed for the whole account; None: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Named rate limits shared by the account's credentials, at most 16.
    pub rate_limits: Vec<RateLimitRule>,
    /// Active or suspended.
    pub status: AccountStatus,
    /// Why it was suspended.
    pub status_reason: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl AccountRecord {
    /// A new active account with the policy's defaults.
    pub fn new(id: &str, now: DateTime<Utc>) -> Self {
        AccountRecord {
            id: id.to_string(),
            display_name: String::new(),
            contact_emails: Vec::new(),
            max_live_credentials: None,
            rate_limit: None,
            rate_limits: Vec::new(),
            status: AccountStatus::Active,
            status_reason: String::new(),
            created_at: now,
            updated_at: now,
        }
    }

    /// The live-credential quota in force for this account.
    pub fn quota(&self, policy: &Policy) -> u32 {
        self.max_live_credentials
            .unwrap_or(policy.max_credentials_per_account)
    }
}
