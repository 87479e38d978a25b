//! The pure rules of a credential's life: its states, the policy that drives
//! them, and what is due when. Nothing here does I/O or reads a clock: every
//! function takes `now` as an argument, so each rule is a plain unit test.
//! Persisting the outcome is the store's job; deciding when to ask is the engine's.

mod account;
pub mod credits;
mod expiry;
#[cfg(test)]
mod fixtures;
pub mod gateway;
pub mod http_auth;
pub mod import;
mod leak;
mod partner;
mod plan;
mod policy;
pub mod rate_limit_headers;
pub mod rate_limits;
mod record;
pub mod rotation;
mod rules;
pub mod scope_expr;
mod usage;
mod user;
pub mod verify;
pub mod webhook;

pub use account::{AccountRecord, AccountStatus, MAX_RATE, RateLimit};
pub use expiry::{
    ExpiryOutlook, expires_within, expiry_outlook, inactive_for, inactivity_disable_at,
    record_outlook,
};
pub use leak::{LEAKED_REASON, LeakAction, LeakChange, leak_change};
pub use partner::{
    CUSTOMER_KEY_PARAM, ClientIdRecord, ClientIdStatus, ConsentRecord, ConsentStatus, GrantOrigin,
    GrantRecord, GrantStatus, MAX_REDIRECT_URL, PartnerRecord, check_redirect_url, redirect_with,
};
pub use plan::{Plan, PlannedNotice, Step, plan_due};
pub use policy::{Policy, Span, SpanParseError};
pub use rate_limits::{LimitRequest, LimitState, RateLimitRule};
pub use record::{
    CredentialRecord, CreditsConfig, Deadline, DeadlineEvent, DisabledReason, Environment, Kind,
    NoticeKind, SecretVersion, Status,
};
pub use rotation::{RotationRefusal, RotationState, WindowError, rotation_state};
pub use rules::{
    counts_toward_quota, effective_status, inactive_since, inactive_since_with, is_live,
    next_deadlines,
};
pub use usage::{
    N_BUCKETS, UsageBucket, UsageCounts, date_number, day_date, day_number, first_kept_day,
};
pub use user::{
    SessionPolicy, SessionRecord, UserRecord, UserRole, UserStatus, session_belongs_to,
    session_ends_at, session_live,
};
pub use verify::{
    AccountGate, Presented, VerifyFacts, VerifyOutcome, apply_account_status, decide_verify,
};
