use chrono::Duration;

use super::*;
use crate::lifecycle::{DisabledReason, Environment, Kind, SecretVersion};

const FINGERPRINT: [u8; 32] = [7u8; 32];

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

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

/// A fresh directory opens, and a reopen with the same pepper fingerprint works.
#[test]
fn opens_fresh_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.audit_count(), 0);
    assert_eq!(store.deadline_count(), 0);
    drop(store);
    let again = open(dir.path());
    assert!(again.get("cred_missing").unwrap().is_none());
}

/// A database made with one pepper refuses to open with another.
#[test]
fn other_pepper_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let result = Store::open(dir.path(), 16 << 20, [8u8; 32]);
    assert!(matches!(result, Err(Error::PepperMismatch)), "{result:?}");
    // The right pepper still opens it.
    drop(result);
    drop(open(dir.path()));
}

/// A schema version newer than this build's is refused with the version found.
#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    {
        let db = sled::open(dir.path()).unwrap();
        let meta = db.open_tree("meta").unwrap();
        meta.insert(META_SCHEMA, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let result = Store::open(dir.path(), 16 << 20, FINGERPRINT);
    assert!(
        matches!(result, Err(Error::NewerSchema { found }) if found == SCHEMA_VERSION + 1),
        "{result:?}"
    );
}

/// A record with every field set reads back identical, and each of its
/// secret hashes points at its version.
#[test]
fn commit_then_get_round_trips_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rec = full_record("cred_full");
    assert_eq!(store.commit(None, Some(&rec), None).unwrap(), Commit::Done);
    assert_eq!(store.get("cred_full").unwrap(), Some(rec.clone()));
    assert_eq!(
        store.lookup_secret(&hash(1)).unwrap(),
        Some(("cred_full".to_string(), 1))
    );
    assert_eq!(
        store.lookup_secret(&hash(2)).unwrap(),
        Some(("cred_full".to_string(), 2))
    );
    assert_eq!(store.lookup_secret(&hash(3)).unwrap(), None);
    for d in &rec.scheduled {
        assert!(store.has_deadline("cred_full", d.at, d.event).unwrap());
    }
    assert_eq!(store.deadline_count(), 3);
    assert!(store.has_status("cred_full", Status::Disabled).unwrap());
}

/// A commit computed from a stale record is refused as a conflict and writes nothing.
#[test]
fn stale_expected_is_a_conflict_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let v1 = record("cred_a", "acme", 1);
    insert(&store, &v1);
    let mut v2 = v1.clone();
    v2.name = "renamed".to_string();
    assert_eq!(
        store.commit(Some(&v1), Some(&v2), None).unwrap(),
        Commit::Done
    );

    // Computed from v1, which is no longer on disk.
    let mut v3 = v1.clone();
    v3.name = "lost update".to_string();
    v3.versions = vec![version(1, 1), version(2, 9)];
    v3.scheduled = vec![Deadline {
        at: t0(),
        event: DeadlineEvent::Expire,
    }];
    let audits = store.audit_count();
    assert_eq!(
        store
            .commit(Some(&v1), Some(&v3), Some(&audit("cred_a")))
            .unwrap(),
        Commit::Conflict
    );
    assert_eq!(store.get("cred_a").unwrap(), Some(v2.clone()));
    assert_eq!(store.lookup_secret(&hash(9)).unwrap(), None);
    assert_eq!(store.audit_count(), audits);
    assert_eq!(store.deadline_count(), 0);

    // Creating over an existing id is a conflict too.
    assert_eq!(
        store.commit(None, Some(&v3), None).unwrap(),
        Commit::Conflict
    );
    assert_eq!(store.get("cred_a").unwrap(), Some(v2));
}

/// Dropping a secret version removes its index entry and keeps the other.
#[test]
fn removing_a_version_removes_its_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut two = record("cred_a", "acme", 1);
    two.versions.push(version(2, 2));
    insert(&store, &two);
    let mut one = two.clone();
    one.versions.retain(|v| v.version == 2);
    assert_eq!(
        store.commit(Some(&two), Some(&one), None).unwrap(),
        Commit::Done
    );
    assert_eq!(store.lookup_secret(&hash(1)).unwrap(), None);
    assert_eq!(
        store.lookup_secret(&hash(2)).unwrap(),
        Some(("cred_a".to_string(), 2))
    );
}

/// Deleting a record removes it, its secret index entries, its account
/// entry and its deadlines, and leaves other credentials alone.
#[test]
fn delete_removes_record_and_every_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let victim = full_record("cred_victim");
    let mut other = record("cred_other", "acme", 5);
    other.scheduled = vec![Deadline {
        at: t0() + Duration::days(1),
        event: DeadlineEvent::ExpiryWarning,
    }];
    insert(&store, &victim);
    insert(&store, &other);
    assert_eq!(store.deadline_count(), 4);
    assert_eq!(store.count_live("acme", t0()).unwrap(), 2);

    assert_eq!(
        store
            .commit(Some(&victim), None, Some(&audit("cred_victim")))
            .unwrap(),
        Commit::Done
    );
    assert_eq!(store.get("cred_victim").unwrap(), None);
    assert_eq!(store.lookup_secret(&hash(1)).unwrap(), None);
    assert_eq!(store.lookup_secret(&hash(2)).unwrap(), None);
    for d in &victim.scheduled {
        assert!(!store.has_deadline("cred_victim", d.at, d.event).unwrap());
    }
    assert_eq!(store.deadline_count(), 1);
    assert_eq!(store.count_live("acme", t0()).unwrap(), 1);
    assert_eq!(scan_ids(&store, Some("acme"), None), vec!["cred_other"]);
    assert_eq!(scan_ids(&store, None, None), vec!["cred_other"]);
    assert_eq!(
        store.lookup_secret(&hash(5)).unwrap(),
        Some(("cred_other".to_string(), 1))
    );
    assert_eq!(store.audit_count(), 1);

    // Deleting what is already gone is a conflict, not a silent success.
    assert_eq!(
        store.commit(Some(&victim), None, None).unwrap(),
        Commit::Conflict
    );
}

/// Only ACTIVE and DISABLED credentials not yet past expiry count as live,
/// and only those of the account asked about.
#[test]
fn count_live_counts_active_and_disabled_before_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = t0() + Duration::days(10);
    let mut seed = 0u8;
    let mut add = |id: &str, account: &str, status: Status, expires_at: DateTime<Utc>| {
        seed += 1;
        let mut r = record(id, account, seed);
        r.status = status;
        r.expires_at = expires_at;
        insert(&store, &r);
    };
    let later = now + Duration::days(1);
    add("cred_1", "acme", Status::Active, later);
    add("cred_2", "acme", Status::Disabled, later);
    add("cred_3", "acme", Status::Expired, later);
    add("cred_4", "acme", Status::Revoked, later);
    add("cred_5", "acme", Status::Active, now - Duration::seconds(1));
    add(
        "cred_6",
        "acme",
        Status::Disabled,
        now - Duration::seconds(1),
    );
    add("cred_7", "acme", Status::Active, now);
    add("cred_8", "acme2", Status::Active, later);
    add("cred_9", "acm", Status::Active, later);
    assert_eq!(store.count_live("acme", now).unwrap(), 2);
    assert_eq!(store.count_live("acme2", now).unwrap(), 1);
    assert_eq!(store.count_live("acm", now).unwrap(), 1);
    assert_eq!(store.count_live("nobody", now).unwrap(), 0);
    // Earlier, the ones that expire by `now` still count.
    assert_eq!(
        store
            .count_live("acme", now - Duration::seconds(2))
            .unwrap(),
        5
    );
}

/// Admin keys share the account index but not the quota: only API keys,
/// passcodes and customer keys count.
#[test]
fn count_live_counts_only_the_kinds_the_quota_is_about() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for (seed, kind) in [
        Kind::ApiKey,
        Kind::Passcode,
        Kind::CustomerKey,
        Kind::AdminKey,
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = record(
            &format!("cred_{seed}"),
            "acme",
            u8::try_from(seed).unwrap() + 1,
        );
        r.kind = kind;
        insert(&store, &r);
    }
    assert_eq!(store.count_live("acme", t0()).unwrap(), 3);
}

/// A schema 2 database (account index values without the kind) is upgraded
/// when opened: its admin keys stop counting, nothing else changes, and the
/// schema version moves to 3 only after the index is rewritten.
#[test]
fn schema_2_account_index_is_upgraded_with_kinds() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let api = record("cred_api", "acme", 1);
        let mut admin = record("cred_admin", "acme", 2);
        admin.kind = Kind::AdminKey;
        insert(&store, &api);
        insert(&store, &admin);
        // Write what schema 2 wrote: status and expiry, no kind.
        for rec in [&api, &admin] {
            let value = codec::account_value(rec);
            store
                .by_account
                .insert(codec::account_key("acme", &rec.id), &value[..9])
                .unwrap();
        }
        store.meta.insert(META_SCHEMA, &2u32.to_be_bytes()).unwrap();
        store.db.flush().unwrap();
        assert!(matches!(
            store.count_live("acme", t0()),
            Err(Error::Corrupt(_))
        ));
    }
    // sled's background threads may hold the file lock a moment longer.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let store = loop {
        match Store::open(dir.path(), 16 << 20, FINGERPRINT) {
            Err(Error::Locked(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(store.count_live("acme", t0()).unwrap(), 1);
    assert_eq!(
        store.meta_get("schema_version").unwrap(),
        Some(SCHEMA_VERSION.to_be_bytes().to_vec())
    );
    assert_eq!(SCHEMA_VERSION, 3);
}

/// A status change is reflected in the quota count (the account index is
/// rewritten on every commit).
#[test]
fn count_live_follows_status_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let active = record("cred_1", "acme", 1);
    insert(&store, &active);
    assert_eq!(store.count_live("acme", t0()).unwrap(), 1);
    let mut revoked = active.clone();
    revoked.status = Status::Revoked;
    assert_eq!(
        store.commit(Some(&active), Some(&revoked), None).unwrap(),
        Commit::Done
    );
    assert_eq!(store.count_live("acme", t0()).unwrap(), 0);
}

/// Scans return id order, only the account asked for (even when another
/// account's id starts with it), and resume strictly after `after_id`.
#[test]
fn scan_by_account_and_all_in_id_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Inserted out of order, interleaving the two accounts.
    let layout = [
        ("cred_05", "acme2"),
        ("cred_03", "acme"),
        ("cred_01", "acme"),
        ("cred_04", "acme2"),
        ("cred_02", "acme"),
        ("cred_06", "acme"),
        ("cred_00", "acm"),
    ];
    for (n, (id, account)) in layout.iter().enumerate() {
        insert(&store, &record(id, account, n as u8 + 1));
    }
    assert_eq!(
        scan_ids(&store, Some("acme"), None),
        vec!["cred_01", "cred_02", "cred_03", "cred_06"]
    );
    assert_eq!(
        scan_ids(&store, Some("acme2"), None),
        vec!["cred_04", "cred_05"]
    );
    assert_eq!(scan_ids(&store, Some("acm"), None), vec!["cred_00"]);
    assert!(scan_ids(&store, Some("ac"), None).is_empty());
    assert_eq!(
        scan_ids(&store, Some("acme"), Some("cred_02")),
        vec!["cred_03", "cred_06"]
    );
    assert!(scan_ids(&store, Some("acme"), Some("cred_06")).is_empty());
    // `after_id` need not belong to the account.
    assert_eq!(
        scan_ids(&store, Some("acme"), Some("cred_04")),
        vec!["cred_06"]
    );
    assert_eq!(
        scan_ids(&store, None, None),
        vec![
            "cred_00", "cred_01", "cred_02", "cred_03", "cred_04", "cred_05", "cred_06"
        ]
    );
    assert_eq!(
        scan_ids(&store, None, Some("cred_03")),
        vec!["cred_04", "cred_05", "cred_06"]
    );
    // Every record comes back whole.
    for r in store.scan(Some("acme2"), None) {
        let r = r.unwrap();
        assert_eq!(store.get(&r.id).unwrap(), Some(r.clone()));
        assert_eq!(r.account_id, "acme2");
    }
}

/// Due deadlines are those before `now`, earliest first, at most `limit`.
#[test]
fn due_deadlines_are_earliest_first_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = t0() + Duration::days(100);
    let mut a = record("cred_a", "acme", 1);
    a.scheduled = vec![
        Deadline {
            at: now - Duration::days(3),
            event: DeadlineEvent::ExpiryWarning,
        },
        Deadline {
            at: now + Duration::days(1),
            event: DeadlineEvent::Expire,
        },
    ];
    let mut b = record("cred_b", "acme", 2);
    b.scheduled = vec![
        Deadline {
            at: now - Duration::days(5),
            event: DeadlineEvent::RotationEnd,
        },
        Deadline {
            at: now - Duration::seconds(1),
            event: DeadlineEvent::InactivityDisable,
        },
    ];
    let mut c = record("cred_c", "acme2", 3);
    c.scheduled = vec![Deadline {
        // Before the Unix epoch: the sign-flipped key must still sort first.
        at: DateTime::<Utc>::UNIX_EPOCH - Duration::days(1),
        event: DeadlineEvent::InactivityDelete,
    }];
    for r in [&a, &b, &c] {
        insert(&store, r);
    }
    let due = store.due_deadlines(now, 100).unwrap();
    let got: Vec<(&str, DateTime<Utc>, DeadlineEvent)> = due
        .iter()
        .map(|d| (d.credential_id.as_str(), d.deadline.at, d.deadline.event))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "cred_c",
                DateTime::<Utc>::UNIX_EPOCH - Duration::days(1),
                DeadlineEvent::InactivityDelete
            ),
            (
                "cred_b",
                now - Duration::days(5),
                DeadlineEvent::RotationEnd
            ),
            (
                "cred_a",
                now - Duration::days(3),
                DeadlineEvent::ExpiryWarning
            ),
            (
                "cred_b",
                now - Duration::seconds(1),
                DeadlineEvent::InactivityDisable
            ),
        ]
    );
    let first_two = store.due_deadlines(now, 2).unwrap();
    assert_eq!(first_two, due[..2].to_vec());
    assert!(store.due_deadlines(now, 0).unwrap().is_empty());
    assert!(
        store
            .due_deadlines(DateTime::<Utc>::UNIX_EPOCH - Duration::days(2), 100)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .due_deadlines(now + Duration::days(2), 100)
            .unwrap()
            .len(),
        5
    );
}

/// Exactly one audit entry is appended per commit that carries one, and
/// none for commits without.
#[test]
fn audit_grows_by_one_per_audited_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let v1 = record("cred_a", "acme", 1);
    store
        .commit(None, Some(&v1), Some(&audit("cred_a")))
        .unwrap();
    assert_eq!(store.audit_count(), 1);
    let mut v2 = v1.clone();
    v2.last_used_at = Some(t0() + Duration::days(1));
    store.commit(Some(&v1), Some(&v2), None).unwrap();
    assert_eq!(store.audit_count(), 1);
    let mut v3 = v2.clone();
    v3.status = Status::Revoked;
    store
        .commit(Some(&v2), Some(&v3), Some(&audit("cred_a")))
        .unwrap();
    assert_eq!(store.audit_count(), 2);
    store
        .commit(Some(&v3), None, Some(&audit("cred_a")))
        .unwrap();
    assert_eq!(store.audit_count(), 3);
}

/// A hash already indexed for another credential is refused and nothing of
/// the new record is written.
#[test]
fn duplicate_hash_in_another_credential_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    insert(&store, &record("cred_a", "acme", 1));
    let mut b = record("cred_b", "acme", 2);
    b.versions.push(version(2, 1));
    b.scheduled = vec![Deadline {
        at: t0(),
        event: DeadlineEvent::Expire,
    }];
    let result = store.commit(None, Some(&b), Some(&audit("cred_b")));
    assert!(matches!(result, Err(Error::DuplicateSecret)), "{result:?}");
    assert_eq!(store.get("cred_b").unwrap(), None);
    assert_eq!(store.lookup_secret(&hash(2)).unwrap(), None);
    assert_eq!(
        store.lookup_secret(&hash(1)).unwrap(),
        Some(("cred_a".to_string(), 1))
    );
    assert_eq!(store.audit_count(), 0);
    assert_eq!(store.deadline_count(), 0);
    assert_eq!(store.count_live("acme", t0()).unwrap(), 1);
}

/// Records, indexes, deadlines and audit entries survive closing and reopening.
#[tokio::test]
async fn data_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let rec = full_record("cred_full");
    {
        let store = open(dir.path());
        store
            .commit(None, Some(&rec), Some(&audit("cred_full")))
            .unwrap();
        store.flush().await.unwrap();
    }
    let store = open(dir.path());
    assert_eq!(store.get("cred_full").unwrap(), Some(rec.clone()));
    assert_eq!(
        store.lookup_secret(&hash(2)).unwrap(),
        Some(("cred_full".to_string(), 2))
    );
    assert_eq!(store.deadline_count(), 3);
    assert_eq!(store.audit_count(), 1);
    assert_eq!(scan_ids(&store, Some("acme"), None), vec!["cred_full"]);
    assert_eq!(
        store
            .count_live("acme", rec.expires_at - Duration::seconds(1))
            .unwrap(),
        1
    );
}

/// A second open while the first is alive fails and leaves the first usable.
/// The contract says `Locked`; sled 0.34 reports a held lock as an I/O error
/// of kind `Other`, which `Store::open` does not map yet, so both are accepted.
#[test]
fn second_open_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = open(dir.path());
    let second = Store::open(dir.path(), 16 << 20, FINGERPRINT);
    assert!(matches!(second, Err(Error::Locked(_))), "{second:?}");
    drop(second);
    insert(&first, &record("cred_a", "acme", 1));
    assert!(first.get("cred_a").unwrap().is_some());
}

/// A deadline due exactly at `now` is due (the range bound is inclusive).
#[test]
fn deadline_exactly_at_now_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let now = t0() + Duration::days(100);
    let mut a = record("cred_a", "acme", 1);
    a.scheduled = vec![Deadline {
        at: now,
        event: DeadlineEvent::Expire,
    }];
    insert(&store, &a);
    assert_eq!(
        store.due_deadlines(now, 10).unwrap(),
        vec![DueDeadline {
            credential_id: "cred_a".into(),
            deadline: Deadline {
                at: now,
                event: DeadlineEvent::Expire,
            },
        }]
    );
    assert!(
        store
            .due_deadlines(now - Duration::microseconds(1), 10)
            .unwrap()
            .is_empty()
    );
}

/// The secret index carries the slim record Verify reads: every field
/// Verify looks at, per version, kept in step by every commit; a change
/// Verify does not look at (usage) leaves the index untouched; an entry
/// written before views existed still resolves to the credential.
#[test]
fn secret_index_carries_the_verify_view() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rec = full_record("cred_view");
    insert(&store, &rec);
    for v in &rec.versions {
        let (id, version, view) = store.lookup_secret_view(&v.hash).unwrap().unwrap();
        assert_eq!((id.as_str(), version), ("cred_view", v.version));
        let view = view.unwrap();
        assert_eq!(view.versions.len(), 1);
        assert_eq!(view.versions[0].version, v.version);
        assert_eq!(view.versions[0].hash, v.hash);
        assert_eq!(view.versions[0].retires_at, v.retires_at);
        for (a, b) in [(&view.account_id, &rec.account_id), (&view.id, &rec.id)] {
            assert_eq!(a, b);
        }
        assert_eq!(view.scopes, rec.scopes);
        assert_eq!(
            (
                view.status,
                view.disabled_reason,
                view.expires_at,
                view.kind
            ),
            (rec.status, rec.disabled_reason, rec.expires_at, rec.kind)
        );
        assert_eq!(view.user, rec.user);
        assert!(view.name.is_empty() && view.notify_emails.is_empty());
    }
    let hash = rec.versions[1].hash;
    let before = store.secret_index.get(hash).unwrap().unwrap();
    let mut used = rec.clone();
    used.last_used_at = Some(t0() + Duration::days(1));
    used.updated_at = t0() + Duration::days(1);
    assert_eq!(
        store.commit(Some(&rec), Some(&used), None).unwrap(),
        Commit::Done
    );
    assert_eq!(store.secret_index.get(hash).unwrap().unwrap(), before);
    let mut revoked = used.clone();
    revoked.status = Status::Revoked;
    revoked.disabled_reason = None;
    assert_eq!(
        store.commit(Some(&used), Some(&revoked), None).unwrap(),
        Commit::Done
    );
    let view = store.lookup_secret_view(&hash).unwrap().unwrap().2.unwrap();
    assert_eq!(view.status, Status::Revoked);
    // An index entry in the first format (no view).
    let old = codec::StoredIndexEntry {
        credential_id: "cred_view".to_string(),
        version: 2,
        view: None,
    };
    store
        .secret_index
        .insert(hash, old.encode_to_vec())
        .unwrap();
    // Written behind the store's back, as an older credd left it before
    // this one opened the database: nothing of it can be cached.
    store.verify_cache.invalidate([&hash]);
    assert_eq!(
        store.lookup_secret_view(&hash).unwrap(),
        Some(("cred_view".to_string(), 2, None))
    );
}

/// The verify cache never answers with what a commit replaced: after each
/// commit (status change, rotation, deletion), a lookup sees the committed
/// index, for every hash of the old and the new record.
#[test]
fn verify_cache_follows_every_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let rec = record("cred_cached", "acme", 40);
    insert(&store, &rec);
    let old_hash = rec.versions[0].hash;
    let status_of = |hash: &[u8; 32]| {
        store
            .lookup_secret_view(hash)
            .unwrap()
            .map(|(_, _, view)| view.unwrap().status)
    };
    assert_eq!(status_of(&old_hash), Some(Status::Active));
    assert_eq!(
        store.verify_cache_stats().entries,
        1,
        "the lookup filled the cache"
    );
    // A change Verify does not read (usage) leaves the index value, and so
    // the cached copy, as it was.
    let mut used = rec.clone();
    used.last_used_at = Some(t0() + Duration::days(1));
    assert_eq!(
        store.commit(Some(&rec), Some(&used), None).unwrap(),
        Commit::Done
    );
    assert_eq!(
        store.verify_cache_stats().entries,
        1,
        "a usage write keeps the entry"
    );
    let rec = used;
    let mut disabled = rec.clone();
    disabled.status = Status::Disabled;
    disabled.disabled_reason = Some(DisabledReason::Admin);
    assert_eq!(
        store.commit(Some(&rec), Some(&disabled), None).unwrap(),
        Commit::Done
    );
    assert_eq!(status_of(&old_hash), Some(Status::Disabled));
    let mut rotated = disabled.clone();
    rotated.status = Status::Active;
    rotated.disabled_reason = None;
    rotated.versions = vec![version(2, 41)];
    assert_eq!(
        store.commit(Some(&disabled), Some(&rotated), None).unwrap(),
        Commit::Done
    );
    assert_eq!(status_of(&old_hash), None, "the old secret is gone");
    let new_hash = rotated.versions[0].hash;
    assert_eq!(status_of(&new_hash), Some(Status::Active));
    // A failed commit (stale expectation) changes nothing.
    assert_eq!(
        store.commit(Some(&rec), None, None).unwrap(),
        Commit::Conflict
    );
    assert_eq!(status_of(&new_hash), Some(Status::Active));
    assert_eq!(
        store.commit(Some(&rotated), None, None).unwrap(),
        Commit::Done
    );
    assert_eq!(status_of(&new_hash), None, "deleted");
    assert_eq!(store.verify_cache_stats().entries, 0);
}

/// Verify decides the same from the index view as from the whole record,
/// for every version, state, time, account and scope combination tried.
#[test]
fn verify_view_decides_like_the_record() {
    use crate::lifecycle::decide_verify;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut revoked = record("cred_revoked", "acme", 9);
    revoked.status = Status::Revoked;
    let mut admin_disabled = record("cred_disabled", "acme", 10);
    admin_disabled.status = Status::Disabled;
    admin_disabled.disabled_reason = Some(DisabledReason::Admin);
    let records = [
        record("cred_plain", "acme", 8),
        full_record("cred_full"),
        revoked,
        admin_disabled,
    ];
    for rec in &records {
        insert(&store, rec);
    }
    let scope_sets: [Vec<String>; 3] = [
        Vec::new(),
        vec!["read".to_string()],
        vec!["billing:read".to_string(), "export".to_string()],
    ];
    for rec in &records {
        for version in &rec.versions {
            let view = store
                .lookup_secret_view(&version.hash)
                .unwrap()
                .unwrap()
                .2
                .unwrap();
            let view_version = &view.versions[0];
            for days in [0, 5, 8, 364, 366] {
                let now = t0() + Duration::days(days);
                for account in [None, Some("acme"), Some("other")] {
                    for scopes in &scope_sets {
                        assert_eq!(
                            decide_verify(&view, view_version, account, scopes, now),
                            decide_verify(rec, version, account, scopes, now),
                            "{} v{} day {days} {account:?} {scopes:?}",
                            rec.id,
                            version.version
                        );
                    }
                }
            }
        }
    }
}
