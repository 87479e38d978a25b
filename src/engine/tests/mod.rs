//! The engine's unit tests, one file per engine area, and the fixtures they
//! share: a [`Harness`] (an engine over a temporary store with a manual
//! clock), an unrestricted admin actor and a credential request.

use std::collections::BTreeSet;

use super::*;
use crate::clock::ManualClock;
use crate::lifecycle::{AccountStatus, DeadlineEvent, RateLimit, Span};
use crate::lifecycle::{DisabledReason, Environment, Kind, Policy, Status, VerifyOutcome};
use crate::secret::{self, Pepper, Secret};
use crate::store::AuditFilter;
use crate::store::Store;
use chrono::{DateTime, Duration, Utc};

mod accounts;
mod admin_keys;
mod audit_log;
#[cfg(feature = "etcd")]
mod cluster;
mod console;
mod credentials;
mod credits;
mod daily_usage;
mod deadlines;
mod expiring;
mod gateway;
mod gateway_limits;
mod import;
mod leaks;
mod listing;
mod lookup;
mod metadata;
mod partners;
mod rate_limits;
mod restore;
mod rotation;
mod scope_query;
mod sessions;
mod usage;
mod users;
mod verify;
mod webhooks;

struct Harness {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn pepper() -> Pepper {
    Pepper::from_bytes([1; 32])
}

fn harness_with(policy: Policy) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 16 << 20, pepper().fingerprint()).unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::new(
        store,
        pepper(),
        clock.clone() as Arc<dyn Clock>,
        policy,
        "credd".to_string(),
    )
    .unwrap();
    Harness {
        engine: Arc::new(engine),
        clock,
        dir,
    }
}

fn harness() -> Harness {
    harness_with(Policy::standard())
}

fn limited(limit: u32) -> Harness {
    let mut policy = Policy::standard();
    policy.max_credentials_per_account = limit;
    harness_with(policy)
}

fn admin() -> Actor {
    Actor::unrestricted("admin")
}

fn new_cred(account: &str, kind: Kind) -> NewCredential {
    NewCredential {
        account_id: account.to_string(),
        kind,
        environment: Environment::Live,
        name: "checkout".to_string(),
        description: "checkout service".to_string(),
        scopes: vec!["orders:read".to_string(), "orders:write".to_string()],
        lifetime: None,
        notify_emails: vec!["ops@example.com".to_string()],
        client_id: None,
        metadata: None,
        credits: None,
        rate_limits: Vec::new(),
    }
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|s| s.to_string()).collect()
}

impl Harness {
    async fn create(&self, account: &str) -> (CredentialView, Secret) {
        self.engine
            .create(&admin(), new_cred(account, Kind::ApiKey))
            .await
            .unwrap()
    }

    fn outcome(&self, secret: &Secret) -> VerifyOutcome {
        self.engine
            .verify(secret.expose(), None, &[])
            .unwrap()
            .outcome
    }

    fn audits(&self) -> usize {
        self.engine.store().audit_count()
    }
}
