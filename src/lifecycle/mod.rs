//! The pure rules of a credential's life: its states, the policy that drives
//! them, and what is due when. Nothing here does I/O or reads a clock: every
//! function takes `now` as an argument, so each rule is a plain unit test.
//! Persisting the outcome is the store's job; deciding when to ask is the engine's.

mod account;
pub mod http_auth;
mod partner;
mod plan;
mod policy;
mod record;
mod rules;
mod user;

pub use account::{AccountRecord, AccountStatus, RateLimit};
pub use partner::{
    CUSTOMER_KEY_PARAM, ClientIdRecord, ClientIdStatus, ConsentRecord, ConsentStatus, GrantOrigin,
    GrantRecord, GrantStatus, MAX_REDIRECT_URL, PartnerRecord, check_redirect_url, redirect_with,
};
pub use plan::{Plan, PlannedNotice, Step, plan_due};
pub use policy::{Policy, Span, SpanParseError};
pub use record::{
    CredentialRecord, Deadline, DeadlineEvent, DisabledReason, Environment, Kind, NoticeKind,
    SecretVersion, Status,
};
pub use rules::{
    RotationState, VerifyOutcome, apply_account_status, counts_toward_quota, decide_verify,
    effective_status, inactive_since, is_live, next_deadlines, rotation_state,
};
pub use user::{SessionPolicy, SessionRecord, UserRecord, UserRole, UserStatus, session_live};
