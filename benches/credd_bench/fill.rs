//! Stores for the bench: a store opened as the daemon opens it, and filled
//! through `Store::commit` with records built here (never through RPCs).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use credd::clock::{Clock, SystemClock};
use credd::config::{self, Config, Overrides};
use credd::engine::{Engine, validate};
use credd::lifecycle::{self, CredentialRecord, DeadlineEvent, Environment, Kind, SecretVersion};
use credd::secret::{Pepper, Secret};
use credd::store::Commit;
use tokio::runtime::Runtime;

use crate::{Ctx, SCOPES};

/// A config as the daemon would load it, for a data directory.
fn bench_config(data_dir: &Path, cache_mb: u64) -> Config {
    config::load(
        None,
        vec![(
            "CREDD_STORAGE_CACHE_CAPACITY_MB".to_string(),
            cache_mb.to_string(),
        )],
        &Overrides {
            data_dir: Some(data_dir.display().to_string()),
            ..Overrides::default()
        },
    )
    .expect("bench config")
}

/// An engine over a store plus a copy of its pepper (to hash filled secrets).
pub(crate) struct Opened {
    config: Config,
    pub(crate) engine: Arc<Engine>,
    pepper: Pepper,
}

pub(crate) fn open(data_dir: &Path, cache_mb: u64, clock: Arc<dyn Clock>) -> Opened {
    let config = bench_config(data_dir, cache_mb);
    let engine = Arc::new(credd::daemon::open_engine(&config, clock).expect("open engine"));
    let pepper = Pepper::load_or_create(&config.pepper_file)
        .expect("pepper")
        .0;
    Opened {
        config,
        engine,
        pepper,
    }
}

/// An engine over the store a daemon config file describes (a cluster
/// node's, say), with the system clock.
#[cfg(feature = "etcd")]
pub(crate) fn open_with_config(config_path: &Path, cache_mb: u64) -> Opened {
    let config = config::load(
        Some(config_path),
        vec![(
            "CREDD_STORAGE_CACHE_CAPACITY_MB".to_string(),
            cache_mb.to_string(),
        )],
        &Overrides::default(),
    )
    .expect("bench node config");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let engine = Arc::new(credd::daemon::open_engine(&config, clock).expect("open engine"));
    let pepper = Pepper::load_or_create(&config.pepper_file)
        .expect("pepper")
        .0;
    Opened {
        config,
        engine,
        pepper,
    }
}

/// A second engine over the same store with its own clock (the sweep's).
pub(crate) fn engine_with_clock(opened: &Opened, clock: Arc<dyn Clock>) -> Engine {
    Engine::new(
        opened.engine.store().clone(),
        Pepper::load_or_create(&opened.config.pepper_file)
            .expect("pepper")
            .0,
        clock,
        opened.config.policy.clone(),
        opened.config.key_prefix.clone(),
    )
    .expect("engine")
}

/// What to put in a store.
pub(crate) struct FillPlan {
    /// Ordinary credentials: created a day before `base`, nothing due for
    /// about two months.
    pub(crate) normal: usize,
    /// Groups of credentials whose inactivity deadline falls a day or more
    /// after `base`, one minute apart per group (swept with a manual clock).
    pub(crate) due_groups: usize,
    pub(crate) due_per_group: usize,
    /// Plaintext secrets kept, spread evenly over the normal credentials.
    pub(crate) sample: usize,
}

impl FillPlan {
    /// `normal` credentials, none due, `sample` plaintexts kept.
    pub(crate) fn plain(normal: usize, sample: usize) -> Self {
        FillPlan {
            normal,
            due_groups: 0,
            due_per_group: 0,
            sample,
        }
    }
}

pub(crate) struct Filled {
    /// Plaintext secrets of normal credentials (never of due ones).
    pub(crate) sample: Vec<String>,
    /// Inactivity deadline of each due group.
    pub(crate) due_at: Vec<DateTime<Utc>>,
    pub(crate) records: usize,
    pub(crate) secs: f64,
}

pub(crate) fn build_record(
    opened: &Opened,
    account_id: String,
    name: String,
    created_at: DateTime<Utc>,
) -> (CredentialRecord, Secret) {
    let secret = Secret::generate(&opened.config.key_prefix, Environment::Live, Kind::ApiKey)
        .expect("randomness");
    let version = SecretVersion {
        version: 1,
        hash: opened.pepper.hash(secret.expose()).0,
        hint: secret.hint(),
        created_at,
        retires_at: None,
    };
    let mut record = CredentialRecord {
        name,
        description: "benchmark credential".to_string(),
        scopes: SCOPES.iter().map(|s| (*s).to_string()).collect(),
        notify_emails: vec!["ops@example.com".to_string()],
        ..CredentialRecord::issued(
            validate::new_credential_id(),
            account_id,
            Kind::ApiKey,
            Environment::Live,
            version,
            created_at + chrono::Duration::days(365),
        )
    };
    record.scheduled = lifecycle::next_deadlines(&record, &opened.config.policy);
    (record, secret)
}

pub(crate) fn commit(opened: &Opened, record: &CredentialRecord) {
    let done = opened
        .engine
        .store()
        .commit(None, Some(record), None)
        .expect("commit");
    assert_eq!(done, Commit::Done, "fresh id conflicted");
}

/// Fills through `Store::commit` on every core, then one flush.
pub(crate) fn fill(rt: &Runtime, opened: &Opened, base: DateTime<Utc>, plan: &FillPlan) -> Filled {
    let started = Instant::now();
    let sample = fill_normal(opened, base, plan, started);
    let due_at = fill_due(opened, base, plan);
    rt.block_on(opened.engine.store().flush()).expect("flush");
    Filled {
        sample,
        due_at,
        records: plan.normal + plan.due_groups * plan.due_per_group,
        secs: started.elapsed().as_secs_f64(),
    }
}

/// The normal credentials, on every core; returns the plaintexts kept.
fn fill_normal(
    opened: &Opened,
    base: DateTime<Utc>,
    plan: &FillPlan,
    started: Instant,
) -> Vec<String> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let every = plan.normal.div_ceil(plan.sample).max(1);
    let keep_per_thread = plan.sample.div_ceil(threads);
    let normal_created = base - chrono::Duration::days(1);
    let progress_every = 100_000;
    let mut sample = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut kept = Vec::new();
                    // The k-th record of this thread is kept when k % every == 0.
                    for (k, i) in (t..plan.normal).step_by(threads).enumerate() {
                        let (record, secret) = build_record(
                            opened,
                            format!("acct-{:07}", i / 100),
                            format!("service key {i}"),
                            normal_created,
                        );
                        commit(opened, &record);
                        if k % every == 0 && kept.len() < keep_per_thread {
                            kept.push(secret.expose().to_string());
                        }
                        if t == 0 && i > 0 && i % progress_every < threads {
                            eprintln!(
                                "[bench]   filled {i} of {} ({:.0}/s)",
                                plan.normal,
                                i as f64 / started.elapsed().as_secs_f64()
                            );
                        }
                    }
                    kept
                })
            })
            .collect();
        for handle in handles {
            sample.extend(handle.join().expect("fill thread"));
        }
    });
    sample
}

/// The due groups, one after another; returns each group's deadline.
fn fill_due(opened: &Opened, base: DateTime<Utc>, plan: &FillPlan) -> Vec<DateTime<Utc>> {
    let mut due_at = Vec::new();
    for group in 0..plan.due_groups {
        // Inactivity disable (2 months by default) a day or more after
        // `base`, so neither the bench's system clock nor the daemon's start
        // sweep finds them due.
        let created = base - chrono::Duration::days(58) + chrono::Duration::minutes(group as i64);
        let mut at = None;
        for j in 0..plan.due_per_group {
            let (record, _) = build_record(
                opened,
                format!("due-{group}-{}", j / 100),
                format!("due key {group}/{j}"),
                created,
            );
            if at.is_none() {
                at = record
                    .scheduled
                    .iter()
                    .find(|d| d.event == DeadlineEvent::InactivityDisable)
                    .map(|d| d.at);
            }
            commit(opened, &record);
        }
        let at = at.expect("a due group has an inactivity deadline");
        assert!(at > base, "due group must not be due at the start");
        if let Some(previous) = due_at.last() {
            assert!(at > *previous, "due groups must fall due one after another");
        }
        due_at.push(at);
    }
    due_at
}

/// A fresh store in `dir` with a sled cache of `cache_mb`, filled by `plan`.
pub(crate) fn open_filled(
    ctx: &Ctx,
    dir: &Path,
    cache_mb: u64,
    plan: &FillPlan,
) -> (Opened, Filled) {
    let opened = open(dir, cache_mb, Arc::new(SystemClock));
    let filled = fill(&ctx.client_rt, &opened, ctx.base, plan);
    (opened, filled)
}
