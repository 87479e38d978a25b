//! Accounts as the rules see them: who owns credentials, who hears about
//! them, how many live ones they may hold, how fast their credentials may be
//! verified, and whether the account is suspended.

use chrono::{DateTime, Utc};

use super::Policy;

/// Whether an account's credentials may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountStatus {
    /// Its credentials verify by their own state.
    Active,
    /// Every credential of the account verifies as DISABLED (reason
    /// ACCOUNT_SUSPENDED); no credential record is touched.
    Suspended,
}

/// A token bucket: `per_second` requests a second on average, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained rate.
    pub per_second: u32,
    /// Bucket size.
    pub burst: u32,
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
