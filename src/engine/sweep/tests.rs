use super::*;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use chrono::Duration;

use crate::clock::{Clock, ManualClock};
use crate::engine::{Actor, CredentialUpdate, ListQuery, NewCredential, validate};
use crate::lifecycle::{
    DeadlineEvent, DisabledReason, Environment, Kind, NoticeKind, Policy, SecretVersion, Span,
    VerifyOutcome,
};
use crate::secret::{Pepper, Secret};
use crate::store::Store;

struct Harness {
    engine: Arc<Engine>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `t0` plus `s` seconds.
fn t(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

fn secs(s: i64) -> Span {
    Span::Fixed(Duration::seconds(s))
}

fn pepper() -> Pepper {
    Pepper::from_bytes([7; 32])
}

/// Seconds-scale policy: a credential created at `t0` and never used is
/// disabled at +30 s and deleted at +70 s; the default lifetime is 100 s
/// (warning at +80 s); rotation windows default to 10 s.
fn policy() -> Policy {
    Policy {
        default_lifetime: secs(100),
        max_lifetime: Span::Fixed(Duration::days(3650)),
        inactivity_disable_after: secs(30),
        inactivity_delete_after: secs(70),
        expiry_warning_before: secs(20),
        rotation_default_window: secs(10),
        rotation_max_window: secs(50),
        max_credentials_per_account: 100,
        auto_create_accounts: true,
    }
}

fn harness() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 64 << 20, pepper().fingerprint()).unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let engine = Engine::new(
        store,
        pepper(),
        clock.clone() as Arc<dyn Clock>,
        policy(),
        "credd".to_string(),
    )
    .unwrap();
    Harness {
        engine: Arc::new(engine),
        clock,
        _dir: dir,
    }
}

impl Harness {
    /// Creates an API key in `account` with `lifetime` seconds (None: the
    /// policy's 100 s); returns its id and secret.
    async fn create_in(&self, account: &str, lifetime: Option<i64>) -> (String, Secret) {
        let (view, secret) = self
            .engine
            .create(
                &Actor::unrestricted("admin"),
                NewCredential {
                    account_id: account.to_string(),
                    kind: Kind::ApiKey,
                    environment: Environment::Live,
                    name: "sweep test".to_string(),
                    description: "lifecycle sweep tests".to_string(),
                    scopes: vec!["orders:read".to_string()],
                    lifetime: lifetime.map(Duration::seconds),
                    notify_emails: vec!["ops@example.com".to_string()],
                    client_id: None,
                    metadata: None,
                    credits: None,
                    rate_limits: Vec::new(),
                },
            )
            .await
            .unwrap();
        (view.record.id, secret)
    }

    async fn create(&self, lifetime: Option<i64>) -> (String, Secret) {
        self.create_in("acme", lifetime).await
    }

    fn set(&self, s: i64) {
        self.clock.set(t(s));
    }

    async fn sweep(&self) -> SweepReport {
        self.engine.sweep().await.unwrap()
    }

    fn outcome(&self, secret: &Secret) -> VerifyOutcome {
        self.engine
            .verify(secret.expose(), None, &[])
            .unwrap()
            .outcome
    }

    fn record(&self, id: &str) -> Option<CredentialRecord> {
        self.engine.store().get(id).unwrap()
    }

    fn outbox(&self) -> Vec<OutboxNotice> {
        self.engine.store().outbox().unwrap()
    }

    /// Every queued notice as (credential, kind), failing on duplicates.
    fn notice_set(&self) -> BTreeSet<(String, NoticeKind)> {
        let mut set = BTreeSet::new();
        for n in self.outbox() {
            let key = (n.credential_id.clone(), n.kind);
            assert!(set.insert(key), "notice queued twice: {n:?}");
        }
        set
    }

    /// The one queued notice of this kind for this credential.
    fn notice(&self, id: &str, kind: NoticeKind) -> OutboxNotice {
        let found: Vec<OutboxNotice> = self
            .outbox()
            .into_iter()
            .filter(|n| n.credential_id == id && n.kind == kind)
            .collect();
        assert_eq!(found.len(), 1, "{kind:?} notices for {id}: {found:?}");
        found.into_iter().next().unwrap()
    }
}

fn set_of(items: &[(&str, NoticeKind)]) -> BTreeSet<(String, NoticeKind)> {
    items
        .iter()
        .map(|(id, k)| ((*id).to_string(), *k))
        .collect()
}

fn transitions(items: &[(&'static str, usize)]) -> BTreeMap<&'static str, usize> {
    items.iter().copied().collect()
}

/// Asserts that a sweep found nothing to do.
fn assert_idle(report: &SweepReport) {
    assert_eq!(report, &SweepReport::default(), "the sweep did something");
}

/// A time (seconds after `t0`), the transitions a sweep then applies, and
/// every notice queued by then.
type Stage<'a> = (i64, Vec<(&'static str, usize)>, Vec<(&'a str, NoticeKind)>);

/// "Expiring soon", "expired", "disabled" and "deleted" notices are each
/// queued exactly once, with the right deadline, although the sweep runs
/// three times at every stage; the repeated sweeps change nothing.
#[tokio::test]
async fn each_notice_queued_once_across_repeated_sweeps() {
    let h = harness();
    // a: warned at +5, expires at +25, deleted at +70.
    let (a, _) = h.create(Some(25)).await;
    // b: disabled at +30, deleted at +70.
    let (b, _) = h.create(None).await;

    let stages: [Stage; 4] = [
        (
            5,
            vec![("expiry_warning", 1)],
            vec![(a.as_str(), NoticeKind::ExpiringSoon)],
        ),
        (
            25,
            vec![("expire", 1)],
            vec![
                (a.as_str(), NoticeKind::ExpiringSoon),
                (a.as_str(), NoticeKind::Expired),
            ],
        ),
        (
            30,
            vec![("disable_inactivity", 1)],
            vec![
                (a.as_str(), NoticeKind::ExpiringSoon),
                (a.as_str(), NoticeKind::Expired),
                (b.as_str(), NoticeKind::DisabledInactivity),
            ],
        ),
        (
            70,
            vec![("delete_inactivity", 2)],
            vec![
                (a.as_str(), NoticeKind::ExpiringSoon),
                (a.as_str(), NoticeKind::Expired),
                (b.as_str(), NoticeKind::DisabledInactivity),
                (a.as_str(), NoticeKind::DeletedInactivity),
                (b.as_str(), NoticeKind::DeletedInactivity),
            ],
        ),
    ];
    let mut queued_before = 0;
    for (at, want_transitions, want_notices) in stages {
        // Nothing is due 1 µs before the stage's deadline.
        h.clock.set(t(at) - Duration::microseconds(1));
        assert_idle(&h.sweep().await);
        h.set(at);
        let first = h.sweep().await;
        assert_eq!(first.transitions, transitions(&want_transitions), "+{at}s");
        assert_eq!(
            first.notices_queued,
            want_notices.len() - queued_before,
            "+{at}s"
        );
        for _ in 0..2 {
            assert_idle(&h.sweep().await);
        }
        assert_eq!(h.notice_set(), set_of(&want_notices), "+{at}s");
        queued_before = want_notices.len();
    }

    assert_eq!(h.notice(&a, NoticeKind::ExpiringSoon).deadline, t(25));
    assert_eq!(h.notice(&a, NoticeKind::Expired).deadline, t(25));
    assert_eq!(h.notice(&a, NoticeKind::DeletedInactivity).deadline, t(70));
    let disabled = h.notice(&b, NoticeKind::DisabledInactivity);
    assert_eq!(disabled.deadline, t(30));
    assert_eq!(disabled.delete_at, Some(t(70)));
    assert_eq!(disabled.recipients, vec!["ops@example.com".to_string()]);
    assert_eq!(h.notice(&b, NoticeKind::DeletedInactivity).deadline, t(70));
    assert_eq!(h.outbox().len(), 5);
}

/// A notice the outbox already holds is not queued again when the same
/// transition is offered a second time (the record rolled back to before the
/// warning): the warning step is re-applied, the notice is not duplicated.
#[tokio::test]
async fn re_offered_notice_is_not_queued_twice() {
    let h = harness();
    let (a, _) = h.create(Some(25)).await;
    h.set(6);
    let before = h.record(&a).unwrap();
    let report = h.sweep().await;
    assert_eq!(report.notices_queued, 1);
    let after = h.record(&a).unwrap();
    assert_eq!(after.expiry_warned_for, Some(t(25)));

    // Put the pre-warning record (and its deadlines) back.
    assert_eq!(
        h.engine
            .store()
            .commit(Some(&after), Some(&before), None)
            .unwrap(),
        Commit::Done
    );
    assert!(
        h.engine
            .store()
            .has_deadline(&a, t(5), DeadlineEvent::ExpiryWarning)
            .unwrap()
    );
    let report = h.sweep().await;
    assert_eq!(report.transitions, transitions(&[("expiry_warning", 1)]));
    assert_eq!(report.notices_queued, 1, "offered again");
    assert_eq!(h.outbox().len(), 1, "but queued once");
    assert_eq!(h.notice(&a, NoticeKind::ExpiringSoon).deadline, t(25));
}

/// Moving `expires_at` after the warning makes a new warning due for the new
/// date: the notice is keyed on the deadline, so both are kept, once each.
#[tokio::test]
async fn new_expiry_date_gets_its_own_warning() {
    let h = harness();
    let (a, secret) = h.create(Some(25)).await;
    h.set(6);
    h.sweep().await;
    h.set(20);
    assert!(matches!(h.outcome(&secret), VerifyOutcome::Valid { .. }));
    h.engine
        .update(
            &Actor::unrestricted("admin"),
            &a,
            CredentialUpdate {
                expires_at: Some(t(60)),
                ..CredentialUpdate::default()
            },
        )
        .await
        .unwrap();
    h.set(39);
    // The inactivity deadline (+30) was due; the use at +20 moves it.
    let report = h.sweep().await;
    assert_eq!(report.rescheduled, 1);
    assert!(report.transitions.is_empty(), "{report:?}");
    assert_idle(&h.sweep().await);
    h.set(40);
    let report = h.sweep().await;
    assert_eq!(report.transitions, transitions(&[("expiry_warning", 1)]));
    assert_idle(&h.sweep().await);
    let mut deadlines: Vec<DateTime<Utc>> = h
        .outbox()
        .into_iter()
        .filter(|n| n.credential_id == a && n.kind == NoticeKind::ExpiringSoon)
        .map(|n| n.deadline)
        .collect();
    deadlines.sort();
    assert_eq!(deadlines, vec![t(25), t(60)]);
}

/// A credential deleted for inactivity is gone everywhere: Get and Verify
/// answer NOT_FOUND, the secret and account indexes and every one of its
/// deadlines are removed, it leaves the quota count and listings, and the
/// audit log keeps every entry (plus one for the deletion).
#[tokio::test]
async fn deleted_credential_is_gone_everywhere() {
    let h = harness();
    let (gone, gone_secret) = h.create(None).await;
    h.set(31);
    h.sweep().await;
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &gone)
            .unwrap()
            .status,
        Status::Disabled
    );
    h.set(45);
    let (kept, _) = h.create(None).await; // disabled at +75
    let scheduled = h.record(&gone).unwrap().scheduled;
    assert!(!scheduled.is_empty());
    for d in &scheduled {
        assert!(h.engine.store().has_deadline(&gone, d.at, d.event).unwrap());
    }
    assert_eq!(h.engine.store().count_live("acme", t(45)).unwrap(), 2);
    let audits_before = h.engine.store().audit_count();

    h.set(70);
    let report = h.sweep().await;
    assert_eq!(report.transitions, transitions(&[("delete_inactivity", 1)]));

    assert!(matches!(
        h.engine.get(&Actor::unrestricted("admin"), &gone),
        Err(Error::NotFound { id }) if id == gone
    ));
    let v = h.engine.verify(gone_secret.expose(), None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::NotFound);
    assert!(v.credential.is_none());
    assert_eq!(
        h.engine
            .store()
            .lookup_secret(&pepper().hash(gone_secret.expose()).0)
            .unwrap(),
        None
    );
    assert_eq!(h.engine.store().count_live("acme", t(70)).unwrap(), 1);
    let listed: Vec<String> = h
        .engine
        .list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                account_id: Some("acme".to_string()),
                ..ListQuery::default()
            },
        )
        .unwrap()
        .credentials
        .into_iter()
        .map(|c| c.record.id)
        .collect();
    assert_eq!(listed, vec![kept.clone()]);
    for d in &scheduled {
        assert!(
            !h.engine.store().has_deadline(&gone, d.at, d.event).unwrap(),
            "{d:?} left behind"
        );
    }
    let kept_scheduled = h.record(&kept).unwrap().scheduled;
    assert_eq!(h.engine.store().deadline_count(), kept_scheduled.len());
    assert_eq!(h.engine.store().audit_count(), audits_before + 1);
    assert_idle(&h.sweep().await);
}

/// A VALID verify shortly before the disable time, not yet flushed, keeps
/// the credential ACTIVE through the sweep that would have disabled it (the
/// sweep flushes usage first, and the use is written); an identical
/// credential that was not used is disabled by the same sweep. The clock
/// restarts at the use.
#[tokio::test]
async fn unflushed_use_prevents_inactivity_disable() {
    let h = harness();
    let (used, used_secret) = h.create(None).await;
    let (idle, _) = h.create(None).await;
    h.set(29);
    assert!(matches!(
        h.outcome(&used_secret),
        VerifyOutcome::Valid { .. }
    ));
    assert_eq!(
        h.record(&used).unwrap().last_used_at,
        None,
        "not flushed yet"
    );

    h.set(31);
    let report = h.sweep().await;
    assert_eq!(
        report.transitions,
        transitions(&[("disable_inactivity", 1)])
    );
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &used)
            .unwrap()
            .status,
        Status::Active
    );
    assert_eq!(h.record(&used).unwrap().last_used_at, Some(t(29)));
    let idle_record = h.record(&idle).unwrap();
    assert_eq!(idle_record.status, Status::Disabled);
    assert_eq!(
        idle_record.disabled_reason,
        Some(DisabledReason::Inactivity)
    );

    h.clock.set(t(59) - Duration::microseconds(1));
    assert_idle(&h.sweep().await);
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &used)
            .unwrap()
            .status,
        Status::Active
    );
    h.set(59);
    h.sweep().await;
    assert_eq!(
        h.engine
            .get(&Actor::unrestricted("admin"), &used)
            .unwrap()
            .status,
        Status::Disabled
    );
    assert_eq!(
        h.notice(&used, NoticeKind::DisabledInactivity).delete_at,
        Some(t(99))
    );
}

/// A rotation window that has ended is tidied by the sweep: the record keeps
/// only the newer version, the older secret is out of the index and verifies
/// NOT_FOUND, the newer one still verifies, and no notice is queued.
#[tokio::test]
async fn ended_rotation_window_is_tidied() {
    let h = harness();
    let (id, old_secret) = h.create(None).await;
    h.set(1);
    let (_, new_secret) = h
        .engine
        .rotate(&Actor::unrestricted("admin"), &id, None)
        .await
        .unwrap();
    assert_eq!(h.record(&id).unwrap().versions.len(), 2);
    assert!(
        h.engine
            .store()
            .has_deadline(&id, t(11), DeadlineEvent::RotationEnd)
            .unwrap()
    );

    h.set(12);
    let report = h.sweep().await;
    assert_eq!(report.transitions, transitions(&[("retire_rotation", 1)]));
    assert_eq!(report.notices_queued, 0);
    let record = h.record(&id).unwrap();
    let versions: Vec<u32> = record.versions.iter().map(|v| v.version).collect();
    assert_eq!(versions, vec![2]);
    assert_eq!(record.status, Status::Active);
    assert_eq!(
        h.engine
            .store()
            .lookup_secret(&pepper().hash(old_secret.expose()).0)
            .unwrap(),
        None
    );
    assert!(
        !h.engine
            .store()
            .has_deadline(&id, t(11), DeadlineEvent::RotationEnd)
            .unwrap()
    );
    assert_eq!(h.outcome(&old_secret), VerifyOutcome::NotFound);
    assert!(matches!(
        h.outcome(&new_secret),
        VerifyOutcome::Valid { retires_at: None }
    ));
    assert!(h.outbox().is_empty());
}

/// After downtime, one sweep applies every deadline that fell due, in the
/// order they fell due: a credential that expired before its disable time is
/// expired (no "disabled" notice) and then deleted; one disabled before its
/// warning is deleted before it could be warned; one used later is warned
/// and disabled. A second sweep finds nothing.
#[tokio::test]
async fn catch_up_applies_all_due_in_order() {
    let h = harness();
    let (expired_first, _) = h.create(Some(25)).await; // warn 5, expire 25, delete 70
    let (disabled_first, _) = h.create(None).await; // disable 30, delete 70, warn 80
    let (late_user, late_secret) = h.create(None).await;
    h.set(50);
    assert!(matches!(
        h.outcome(&late_secret),
        VerifyOutcome::Valid { .. }
    ));
    assert_eq!(h.engine.flush_usage().await.unwrap(), 1); // warn 80, disable 80
    let audits_before = h.engine.store().audit_count();

    h.set(85);
    let report = h.sweep().await;
    assert_eq!(report.records_touched, 3);
    assert_eq!(
        report.transitions,
        transitions(&[
            ("expiry_warning", 2),
            ("expire", 1),
            ("disable_inactivity", 2),
            ("delete_inactivity", 2),
        ])
    );
    assert_eq!(h.engine.store().audit_count(), audits_before + 7);
    assert!(h.record(&expired_first).is_none());
    assert!(h.record(&disabled_first).is_none());
    let late = h.record(&late_user).unwrap();
    assert_eq!(late.status, Status::Disabled);
    assert_eq!(late.disabled_reason, Some(DisabledReason::Inactivity));
    assert_eq!(late.expiry_warned_for, Some(t(100)));

    assert_eq!(
        h.notice_set(),
        set_of(&[
            (expired_first.as_str(), NoticeKind::Expired),
            (expired_first.as_str(), NoticeKind::DeletedInactivity),
            (disabled_first.as_str(), NoticeKind::DisabledInactivity),
            (disabled_first.as_str(), NoticeKind::DeletedInactivity),
            (late_user.as_str(), NoticeKind::ExpiringSoon),
            (late_user.as_str(), NoticeKind::DisabledInactivity),
        ])
    );
    assert_eq!(
        h.notice(&expired_first, NoticeKind::Expired).deadline,
        t(25)
    );
    let d = h.notice(&disabled_first, NoticeKind::DisabledInactivity);
    assert_eq!((d.deadline, d.delete_at), (t(30), Some(t(70))));
    assert_eq!(
        h.notice(&late_user, NoticeKind::ExpiringSoon).deadline,
        t(100)
    );
    let d = h.notice(&late_user, NoticeKind::DisabledInactivity);
    assert_eq!((d.deadline, d.delete_at), (t(80), Some(t(120))));
    assert_idle(&h.sweep().await);
}

/// A record built directly for bulk tests: created at `created`, expiring at
/// `expires_at`, with a unique hash derived from `n` and its deadlines
/// scheduled by the policy.
fn bulk_record(n: u32, created: DateTime<Utc>, expires_at: DateTime<Utc>) -> CredentialRecord {
    let mut hash = [0xA5; 32];
    hash[..4].copy_from_slice(&n.to_be_bytes());
    let mut record = CredentialRecord {
        id: validate::new_credential_id(),
        account_id: format!("acct_{}", n % 1000),
        kind: Kind::ApiKey,
        environment: Environment::Live,
        name: format!("bulk {n}"),
        description: "bulk".to_string(),
        scopes: vec!["orders:read".to_string()],
        status: Status::Active,
        disabled_reason: None,
        status_reason: String::new(),
        created_at: created,
        updated_at: created,
        expires_at,
        last_used_at: None,
        reactivated_at: None,
        notify_emails: vec!["ops@example.com".to_string()],
        versions: vec![SecretVersion {
            version: 1,
            hash,
            hint: format!("credd_live_api_...{:04}", n % 10_000),
            created_at: created,
            retires_at: None,
        }],
        expiry_warned_for: None,
        scheduled: Vec::new(),
        user: None,
        client_id: None,
        grant_id: None,
        metadata: None,
        credits: None,
        rate_limits: Vec::new(),
    };
    record.scheduled = lifecycle::next_deadlines(&record, &policy());
    record
}

/// Commits `records` straight into the store, on two threads.
fn insert_all(store: &Store, records: &[CredentialRecord]) {
    let half = records.len() / 2;
    std::thread::scope(|scope| {
        for part in [&records[..half], &records[half..]] {
            scope.spawn(move || {
                for record in part {
                    assert_eq!(
                        store.commit(None, Some(record), None).unwrap(),
                        Commit::Done
                    );
                }
            });
        }
    });
}

/// Sweep cost follows what is due, not how many credentials exist: with
/// 100,000 stored credentials of which 10 are due (two due events each), the
/// sweep reads 20 index entries and touches exactly 10 records, and the index
/// keeps every other deadline.
#[tokio::test]
async fn sweep_touches_only_due_records() {
    const TOTAL: u32 = 100_000;
    const DUE: u32 = 10;
    let h = harness();
    let store = h.engine.store();
    let started = Instant::now();
    let records: Vec<CredentialRecord> = (0..TOTAL)
        .map(|n| {
            if n % (TOTAL / DUE) == 0 {
                // Warned at -10 s, disabled at -1 s: both due now.
                bulk_record(n, t(-31), t(10))
            } else {
                // Nothing due before +30 s.
                bulk_record(n, t0(), t(100))
            }
        })
        .collect();
    let due_ids: BTreeSet<String> = records
        .iter()
        .filter(|r| r.created_at < t0())
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(due_ids.len(), DUE as usize);
    insert_all(store, &records);
    let inserted = started.elapsed();
    assert_eq!(store.deadline_count(), 3 * TOTAL as usize);
    assert_eq!(store.audit_count(), 0);

    let sweep_started = Instant::now();
    let report = h.sweep().await;
    let swept = sweep_started.elapsed();
    eprintln!(
        "100k sweep test: inserted {TOTAL} records in {inserted:?}, sweep took {swept:?}: {report:?}"
    );
    assert_eq!(report.records_touched, DUE as usize);
    assert_eq!(report.due_events, 2 * DUE as usize);
    assert_eq!(
        report.transitions,
        transitions(&[("expiry_warning", 10), ("disable_inactivity", 10)])
    );
    assert_eq!(report.notices_queued, 20);
    assert_eq!(report.stale_entries, 0);
    // Due records now have expire (+10) and delete (+39); the rest are untouched.
    assert_eq!(store.deadline_count(), 3 * TOTAL as usize - DUE as usize);
    assert_eq!(store.audit_count(), 20);
    let noticed: BTreeSet<String> = h.outbox().into_iter().map(|n| n.credential_id).collect();
    assert_eq!(noticed, due_ids);
    for id in &due_ids {
        assert!(store.has_status(id, Status::Disabled).unwrap());
    }
    let untouched = &records[1];
    assert_eq!(store.get(&untouched.id).unwrap().as_ref(), Some(untouched));
    assert_idle(&h.sweep().await);
}

/// More due records than one batch holds (`SWEEP_BATCH`) are all processed
/// by one sweep, each touched once although its two due events may fall in
/// different batches.
#[tokio::test]
async fn sweep_processes_every_batch() {
    let n_due = 2 * SWEEP_BATCH + 7;
    let h = harness();
    let store = h.engine.store();
    let mut records: Vec<CredentialRecord> = (0..u32::try_from(n_due).unwrap())
        .map(|n| bulk_record(n, t(-31), t(10)))
        .collect();
    records.extend((0..50).map(|n| bulk_record(1_000_000 + n, t0(), t(100))));
    insert_all(store, &records);

    let report = h.sweep().await;
    assert_eq!(report.records_touched, n_due);
    assert!(
        (n_due..=2 * n_due).contains(&report.due_events),
        "{}",
        report.due_events
    );
    assert_eq!(
        report.transitions,
        transitions(&[("expiry_warning", n_due), ("disable_inactivity", n_due)])
    );
    assert_eq!(h.outbox().len(), 2 * n_due);
    for record in &records[..n_due] {
        assert!(store.has_status(&record.id, Status::Disabled).unwrap());
    }
    for record in &records[n_due..] {
        assert!(store.has_status(&record.id, Status::Active).unwrap());
    }
    assert!(store.due_deadlines(t0(), 10).unwrap().is_empty());
    assert_idle(&h.sweep().await);
}

mod last_use;
