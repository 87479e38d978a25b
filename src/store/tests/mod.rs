//! The store's tests, one file per part of the store, and what they share:
//! records to write, and [`Fresh`], which gives each test an empty store on
//! every backend of [`backends`]. A test written against [`Fresh`] runs on
//! every backend; the few that read sled's own trees or files say so and
//! open sled directly.

mod audit;
mod backup;
#[cfg(feature = "etcd")]
pub(crate) mod cluster;
#[cfg(feature = "etcd")]
mod cluster_usage;
mod credentials;
mod deadlines;
mod encoding;
mod imports;
mod meta;
mod sessions;
mod usage;
mod verify;
mod webhooks;

use std::path::Path;

use chrono::{DateTime, Duration, Utc};

#[cfg(feature = "etcd")]
#[path = "../../../tests/common/etcd_cluster.rs"]
pub(crate) mod etcd_cluster;

use super::meta::META_SCHEMA;
use super::*;
use crate::lifecycle::{
    CredentialRecord, Deadline, DeadlineEvent, DisabledReason, Environment, Kind, SecretVersion,
    Status,
};

const FINGERPRINT: [u8; 32] = [7u8; 32];

/// A place for a store on one backend, empty when made. [`Fresh::open`]
/// may be called again once the store it gave is dropped: the store it then
/// gives sees everything the first one wrote.
struct Fresh {
    backend: TestBackend,
    dir: tempfile::TempDir,
}

/// A backend the store's tests run on.
#[derive(Debug, Clone)]
enum TestBackend {
    Sled,
    /// A key prefix of its own in the test process's shared etcd.
    #[cfg(feature = "etcd")]
    Etcd {
        endpoints: Vec<String>,
        prefix: String,
    },
}

/// Every backend this build has: sled, and etcd with the `etcd` feature
/// (a machine without etcd prints that it skipped it; under `CI=true` it
/// fails instead).
fn backends() -> Vec<TestBackend> {
    #[allow(unused_mut)]
    let mut all = vec![TestBackend::Sled];
    #[cfg(feature = "etcd")]
    if let Some(binary) = etcd_cluster::require_etcd("the store tests on etcd") {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        all.push(TestBackend::Etcd {
            endpoints: etcd_cluster::shared(&binary).endpoints(),
            prefix: format!("/credd-test-{}-{n}/", std::process::id()),
        });
    }
    all
}

impl Fresh {
    /// One fresh place on each backend of [`backends`]; a test loops over
    /// them. Names each backend as it starts, so a failure says which.
    fn each() -> impl Iterator<Item = Fresh> {
        backends().into_iter().map(|backend| {
            eprintln!("store test on the {backend:?} backend");
            Fresh {
                backend,
                dir: tempfile::tempdir().unwrap(),
            }
        })
    }

    /// The store, opened with the tests' pepper fingerprint.
    fn open(&self) -> Store {
        self.open_with(FINGERPRINT).unwrap()
    }

    /// The store, opened with `pepper_fingerprint`.
    fn open_with(&self, pepper_fingerprint: [u8; 32]) -> Result<Store, Error> {
        match &self.backend {
            TestBackend::Sled => Store::open(self.dir.path(), 16 << 20, pepper_fingerprint),
            #[cfg(feature = "etcd")]
            TestBackend::Etcd { endpoints, prefix } => Store::open_etcd(
                self.dir.path(),
                16 << 20,
                pepper_fingerprint,
                verify_cache::DEFAULT_ENTRIES,
                EtcdOptions {
                    endpoints: endpoints.clone(),
                    prefix: prefix.clone(),
                    tls: None,
                    user: None,
                    request_timeout: std::time::Duration::from_secs(5),
                    max_staleness: std::time::Duration::from_secs(2),
                    lease_ttl: std::time::Duration::from_secs(5),
                },
            ),
        }
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// A sled store in `dir`, for the tests that look at sled itself.
fn open(dir: &Path) -> Store {
    Store::open(dir, 16 << 20, FINGERPRINT).unwrap()
}

/// A distinct, recognisable 32-byte hash.
fn hash(n: u8) -> [u8; 32] {
    let mut h = [n; 32];
    h[0] = 0xAB;
    h
}

fn version(n: u32, hash_seed: u8) -> SecretVersion {
    SecretVersion {
        version: n,
        hash: hash(hash_seed),
        hint: format!("credd_live_api_...{hash_seed:04}"),
        created_at: t0(),
        retires_at: None,
    }
}

/// A plain ACTIVE record with one secret version and no deadlines.
fn record(id: &str, account: &str, hash_seed: u8) -> CredentialRecord {
    CredentialRecord {
        id: id.to_string(),
        account_id: account.to_string(),
        kind: Kind::ApiKey,
        environment: Environment::Live,
        name: format!("name of {id}"),
        description: String::new(),
        scopes: vec!["read".to_string()],
        status: Status::Active,
        disabled_reason: None,
        status_reason: String::new(),
        created_at: t0(),
        updated_at: t0(),
        expires_at: t0() + Duration::days(365),
        last_used_at: None,
        reactivated_at: None,
        notify_emails: Vec::new(),
        versions: vec![version(1, hash_seed)],
        expiry_warned_for: None,
        scheduled: Vec::new(),
        user: None,
        client_id: None,
        grant_id: None,
        metadata: None,
        credits: None,
        rate_limits: Vec::new(),
    }
}

/// A record with every optional field set and two secret versions.
fn full_record(id: &str) -> CredentialRecord {
    let mut old = version(1, 1);
    old.retires_at = Some(t0() + Duration::days(7));
    let mut new = version(2, 2);
    new.created_at = t0() + Duration::hours(1);
    CredentialRecord {
        id: id.to_string(),
        account_id: "acme".to_string(),
        kind: Kind::Passcode,
        environment: Environment::Test,
        name: "billing export".to_string(),
        description: "nightly export\nwith a second line".to_string(),
        scopes: vec!["billing:read".to_string(), "export".to_string()],
        status: Status::Disabled,
        disabled_reason: Some(DisabledReason::Inactivity),
        status_reason: "unused".to_string(),
        created_at: t0(),
        updated_at: t0() + Duration::seconds(5),
        expires_at: t0() + Duration::days(365),
        last_used_at: Some(t0() + Duration::microseconds(1_234_567)),
        reactivated_at: Some(t0() + Duration::days(3)),
        notify_emails: vec!["ops@example.com".to_string(), "sec@example.com".to_string()],
        versions: vec![old, new],
        expiry_warned_for: Some(t0() + Duration::days(365)),
        scheduled: vec![
            Deadline {
                at: t0() + Duration::days(7),
                event: DeadlineEvent::RotationEnd,
            },
            Deadline {
                at: t0() + Duration::days(300),
                event: DeadlineEvent::InactivityDelete,
            },
            Deadline {
                at: t0() + Duration::days(365),
                event: DeadlineEvent::Expire,
            },
        ],
        user: Some("ann".to_string()),
        client_id: None,
        grant_id: None,
        metadata: Some(r#"{"plan":"pro","seats":[1,2]}"#.to_string()),
        credits: Some(crate::lifecycle::CreditsConfig {
            generation: 3,
            state: crate::lifecycle::credits::CreditState {
                remaining: 42,
                as_of: t0() + Duration::days(2),
            },
            refill: Some(crate::lifecycle::credits::Refill {
                interval: crate::lifecycle::credits::RefillInterval::Monthly { day: 31 },
                amount: 100,
            }),
        }),
        rate_limits: Vec::new(),
    }
}

fn audit(id: &str) -> AuditEntry {
    AuditEntry {
        at: t0(),
        actor: "admin".to_string(),
        action: "credential.test",
        credential_id: id.to_string(),
        account_id: "acme".to_string(),
        detail: String::new(),
        outcome: "ok",
        request_id: "req-1".to_string(),
    }
}

fn insert(store: &Store, rec: &CredentialRecord) {
    assert_eq!(store.commit(None, Some(rec), None).unwrap(), Commit::Done);
}

fn scan_ids(store: &Store, account: Option<&str>, after: Option<&str>) -> Vec<String> {
    store.scan(account, after).map(|r| r.unwrap().id).collect()
}
