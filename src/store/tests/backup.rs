//! Backups of a sled store: a round trip, one moment under concurrent
//! writes (on a cluster node too), the audit ids after a restore, every
//! damaged or mismatched file refused, and the revocation journal (a
//! cluster node's from its replica, with revisions).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::lifecycle::{AccountRecord, AccountStatus, UserRecord, UserRole, UserStatus};

fn backup_of(store: &Store, dir: &Path) -> (std::path::PathBuf, BackupHeader) {
    let out = dir.join("store.backup");
    let header = store.backup(&out, t0()).unwrap();
    (out, header)
}

fn all_audit_seqs(store: &Store) -> Vec<u64> {
    let page = store
        .audit_page(&AuditFilter::default(), None, usize::MAX, usize::MAX)
        .unwrap();
    page.events.iter().map(|e| e.seq).collect()
}

/// Every record, index entry and audit event comes back; new audit events
/// follow the restored ones instead of overwriting them.
#[test]
fn restore_gives_back_every_tree_and_audit_ids_continue() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    for i in 0..50u8 {
        let rec = record(&format!("cred_{i:02}"), "acme", i + 3);
        store
            .commit(None, Some(&rec), Some(&audit(&rec.id)))
            .unwrap();
    }
    store
        .commit(None, Some(&full_record("cred_full")), None)
        .unwrap();
    let (out, header) = backup_of(&store, dir.path());
    let before = store.tree_sizes();
    let seqs = all_audit_seqs(&store);
    drop(store);
    assert_eq!(header.rows_of("credentials"), 51);
    assert_eq!(header.rows_of("audit"), 50);
    let target = dir.path().join("restored");
    let report = restore_backup(&out, &target, FINGERPRINT, &|_| {}).unwrap();
    assert!(report.next_audit_seq > *seqs.iter().max().unwrap());
    let restored = open(&target);
    assert_eq!(restored.tree_sizes(), before);
    assert_eq!(
        restored.get("cred_full").unwrap(),
        Some(full_record("cred_full"))
    );
    assert_eq!(
        restored.lookup_secret(&hash(7)).unwrap(),
        Some(("cred_04".to_string(), 1))
    );
    assert_eq!(all_audit_seqs(&restored), seqs);
    restored.append_audit(&audit("after")).unwrap();
    let after = all_audit_seqs(&restored);
    assert_eq!(
        after.len(),
        seqs.len() + 1,
        "a restored event was overwritten"
    );
    assert!(after.last() > seqs.last());
}

/// A backup taken while threads create and revoke is one moment: every
/// credential it holds has its index entries and every index entry its
/// credential. On every backend: on a cluster node the copy is its
/// replica at one applied revision, restored to a plain sled store.
#[test]
fn a_backup_under_writes_is_one_moment() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let cluster = store.is_cluster();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..2u8)
            .map(|w| {
                let (store, stop) = (store.clone(), stop.clone());
                std::thread::spawn(move || write_and_revoke(&store, w, &stop))
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_millis(200));
        let (out, header) = backup_of(&store, fresh.dir.path());
        stop.store(true, Ordering::Relaxed);
        let written: u32 = writers.into_iter().map(|w| w.join().unwrap()).sum();
        assert!(header.rows_of("credentials") > 0 && written > 0);
        assert_eq!(header.etcd_revision.is_some(), cluster);
        drop(store);
        let target = fresh.dir.path().join("restored");
        restore_backup(&out, &target, FINGERPRINT, &|_| {}).unwrap();
        let restored = open(&target);
        for key in [&b"etcd_revision"[..], b"etcd_prefix", b"node_id"] {
            assert_eq!(restored.meta.get(key).unwrap(), None, "{key:?} restored");
        }
        assert_one_moment(&restored);
        // New events follow the restored ones (a node's ids, which carry
        // etcd revisions, are numbered again in their order).
        let seqs = all_audit_seqs(&restored);
        restored.append_audit(&audit("after")).unwrap();
        let after = all_audit_seqs(&restored);
        assert_eq!(after.len(), seqs.len() + 1);
        assert!(after.last() > seqs.last());
    }
}

/// Writer `w`: creates credentials (each with its audit event), revoking
/// every third, until `stop` (at most 20,000); how many it created.
fn write_and_revoke(store: &Store, w: u8, stop: &AtomicBool) -> u32 {
    let mut n = 0u32;
    while !stop.load(Ordering::Relaxed) && n < 20_000 {
        let mut rec = record(&format!("cred_{w}_{n:06}"), "acme", 0);
        rec.versions[0].hash = [w; 32];
        rec.versions[0].hash[1..5].copy_from_slice(&n.to_be_bytes());
        store
            .commit(None, Some(&rec), Some(&audit(&rec.id)))
            .unwrap();
        if n % 3 == 0 {
            let mut revoked = rec.clone();
            revoked.status = Status::Revoked;
            store.commit(Some(&rec), Some(&revoked), None).unwrap();
        }
        n += 1;
    }
    n
}

/// The restored store of [`write_and_revoke`]'s writes is consistent.
fn assert_one_moment(restored: &Store) {
    let records: Vec<CredentialRecord> = restored.scan(None, None).map(Result::unwrap).collect();
    let sizes = restored.tree_sizes();
    assert_eq!(sizes["credentials"], records.len());
    assert_eq!(sizes["secret_index"], records.len());
    assert_eq!(sizes["by_account"], records.len());
    assert_eq!(
        sizes["audit"],
        records.len(),
        "one audit event per create, none without it"
    );
    for rec in &records {
        let found = restored.lookup_secret(&rec.versions[0].hash).unwrap();
        assert_eq!(
            found,
            Some((rec.id.clone(), 1)),
            "{} lost its index entry",
            rec.id
        );
    }
    assert_eq!(
        restored.count_live("acme", t0()).unwrap() as usize,
        records
            .iter()
            .filter(|r| r.status == Status::Active)
            .count()
    );
}

/// Corrupts a copy of `good` with `damage` and returns the restore's error.
fn refusal(good: &Path, damage: impl FnOnce(&mut Vec<u8>)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(good).unwrap();
    damage(&mut bytes);
    let bad = dir.path().join("bad.backup");
    std::fs::write(&bad, bytes).unwrap();
    let target = dir.path().join("target");
    let err = restore_backup(&bad, &target, FINGERPRINT, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        std::fs::read_dir(&target).map_or(true, |mut d| d.next().is_none()),
        "a refused restore wrote into the target"
    );
    err
}

/// A flipped byte, a cut, an unfinished file, another pepper and a target
/// that holds files are each refused, saying why.
#[test]
fn damaged_or_mismatched_backups_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    for i in 0..20u8 {
        insert(&store, &record(&format!("cred_{i:02}"), "acme", i));
    }
    let (out, header) = backup_of(&store, dir.path());
    drop(store);
    let body_at = usize::try_from(super::super::backup::BODY_AT).unwrap();
    let flipped = refusal(&out, |b| {
        let at = body_at + b.len().saturating_sub(body_at) / 2;
        b[at] ^= 0x40;
    });
    assert!(
        flipped.contains("checksum") || flipped.contains("damaged"),
        "{flipped}"
    );
    let cut = refusal(&out, |b| b.truncate(b.len() - 100));
    assert!(cut.contains("cut short"), "{cut}");
    let unfinished = refusal(&out, |b| b[..8].fill(0));
    assert!(unfinished.contains("interrupted"), "{unfinished}");
    let other_pepper = restore_backup(&out, &dir.path().join("t2"), [9u8; 32], &|_| {})
        .unwrap_err()
        .to_string();
    assert!(other_pepper.contains("another pepper"), "{other_pepper}");
    let busy = dir.path().join("busy");
    std::fs::create_dir_all(&busy).unwrap();
    std::fs::write(busy.join("something"), b"x").unwrap();
    let not_empty = restore_backup(&out, &busy, FINGERPRINT, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(not_empty.contains("not empty"), "{not_empty}");
    assert_eq!(inspect_backup(&out, FINGERPRINT).unwrap(), header);
}

/// The journal gets a line for each change that takes access away, and a
/// backup records how long it was.
#[test]
fn the_journal_records_what_takes_access_away() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    let journal = dir.path().join("journal.log");
    store.open_journal(&journal).unwrap();
    let a = record("cred_a", "acme", 1);
    let b = record("cred_b", "acme", 2);
    let mut rotating = record("cred_c", "acme", 3);
    rotating.versions.push(version(2, 4));
    for rec in [&a, &b, &rotating] {
        insert(&store, rec);
    }
    let (_, header) = backup_of(&store, dir.path());
    assert_eq!(header.journal.as_ref().unwrap().position, 0);
    let mut revoked = a.clone();
    revoked.status = Status::Revoked;
    store.commit(Some(&a), Some(&revoked), None).unwrap();
    store.commit(Some(&b), None, None).unwrap();
    let mut completed = rotating.clone();
    completed.versions.remove(0);
    store
        .commit(Some(&rotating), Some(&completed), None)
        .unwrap();
    let mut renamed = completed.clone();
    renamed.name = "only renamed".into();
    store
        .commit(Some(&completed), Some(&renamed), None)
        .unwrap();
    let lines = read_journal(&journal, 0).unwrap();
    let events: Vec<_> = lines
        .iter()
        .map(|l| (l.id.as_str(), l.event.clone(), l.versions.clone()))
        .collect();
    assert_eq!(
        events,
        vec![
            ("cred_a", JournalEvent::Revoked, vec![]),
            ("cred_b", JournalEvent::Deleted, vec![]),
            ("cred_c", JournalEvent::Retired, vec![1]),
        ]
    );
    assert_eq!(read_journal(&journal, 2).unwrap().len(), 1);
    assert!(
        read_journal(&journal, 9)
            .unwrap_err()
            .contains("not the journal")
    );
    // A torn last line (a crash mid-append) is dropped when reopened.
    drop(store);
    let mut text = std::fs::read(&journal).unwrap();
    text.extend_from_slice(b"{\"n\":3,\"id\":\"cred_");
    std::fs::write(&journal, &text).unwrap();
    let store = open(&dir.path().join("a"));
    store.open_journal(&journal).unwrap();
    let mut revoked_c = renamed.clone();
    revoked_c.status = Status::Revoked;
    store
        .commit(Some(&renamed), Some(&revoked_c), None)
        .unwrap();
    let lines = read_journal(&journal, 0).unwrap();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[3].n, 3);
}

/// A backup that fails (here: its target is a directory, so the final
/// rename fails) leaves no `.partial` file behind.
#[test]
fn a_failed_backup_leaves_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    let rec = record("cred_01", "acme", 3);
    store.commit(None, Some(&rec), None).unwrap();
    let out = dir.path().join("taken");
    std::fs::create_dir_all(out.join("inside")).unwrap();
    let e = store.backup(&out, t0()).unwrap_err();
    assert!(e.to_string().contains("cannot rename"), "{e}");
    assert!(!dir.path().join("taken.partial").exists());
}

/// Two cluster nodes, the second with its journal open (its path given),
/// or None when etcd is missing.
#[cfg(feature = "etcd")]
fn two_nodes_journaling(
    test: &str,
) -> Option<(Store, Store, std::path::PathBuf, [tempfile::TempDir; 2])> {
    let (x, y, dirs) = super::cluster::two_nodes(test)?;
    let journal = dirs[1].path().join("journal.log");
    y.open_journal(&journal).unwrap();
    Some((x, y, journal, dirs))
}

/// A cluster node's journal holds every node's changes that take access
/// away, from its replica, each with its etcd revision; a restore reads
/// the lines past a backup's revision, and refuses a gap after it.
#[cfg(feature = "etcd")]
#[test]
fn a_node_journals_every_nodes_changes_with_their_revisions() {
    let Some((x, _y, journal, _dirs)) =
        two_nodes_journaling("store::backup::a_node_journals_every_nodes_changes")
    else {
        return;
    };
    let a = record("cred_a", "acme", 1);
    x.commit(None, Some(&a), None).unwrap();
    let mut revoked = a.clone();
    revoked.status = Status::Revoked;
    x.commit(Some(&a), Some(&revoked), None).unwrap();
    super::cluster::eventually("y journals x's revocation", || {
        read_journal(&journal, 0).is_ok_and(|lines| !lines.is_empty())
    });
    let lines = read_journal(&journal, 0).unwrap();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(
        (lines[0].id.as_str(), &lines[0].event),
        ("cred_a", &JournalEvent::Revoked)
    );
    assert!(lines[0].revision.is_some_and(|at| at > 0));
}

/// A cluster journal read for a backup at revision R: the lines after R,
/// if a mark (start or gap) at or before R says the journal covers it and
/// no gap follows; lines without a revision before the first mark are a
/// single node's past and left out.
#[test]
fn a_cluster_journal_is_read_by_revision() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.log");
    let line = |n: u64, event: &str, revision: Option<i64>| {
        let mut value = serde_json::json!({"n": n, "id": format!("cred_{n}"), "event": event});
        if let Some(r) = revision {
            value["revision"] = r.into();
        }
        format!("{value}\n")
    };
    let text = [
        line(0, "revoked", None),
        line(1, "start", Some(10)),
        line(2, "revoked", Some(12)),
        line(3, "gap", Some(20)),
        line(4, "deleted", Some(25)),
    ]
    .concat();
    std::fs::write(&journal, &text).unwrap();
    let ids = |r: i64| {
        read_journal_after_revision(&journal, r)
            .map(|lines| lines.iter().map(|l| l.id.clone()).collect::<Vec<_>>())
    };
    assert_eq!(ids(20).unwrap(), vec!["cred_4"]);
    assert_eq!(ids(22).unwrap(), vec!["cred_4"]);
    assert_eq!(ids(30).unwrap(), Vec::<String>::new());
    let gap = ids(11).unwrap_err();
    assert!(gap.contains("gap"), "{gap}");
    let begins = ids(9).unwrap_err();
    assert!(begins.contains("begins"), "{begins}");
    std::fs::write(&journal, format!("{text}{}", line(5, "revoked", None))).unwrap();
    let unmarked = ids(20).unwrap_err();
    assert!(unmarked.contains("no etcd revision"), "{unmarked}");
    std::fs::write(&journal, line(0, "revoked", Some(3))).unwrap();
    let uncovered = ids(5).unwrap_err();
    assert!(uncovered.contains("does not reach back"), "{uncovered}");
}

/// An account suspended, a user disabled and a user deleted: one journal
/// line each, naming them; resuming or re-enabling writes none.
#[test]
fn the_journal_records_suspensions_and_users_taken_away() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    let journal = dir.path().join("journal.log");
    store.open_journal(&journal).unwrap();
    suspend_and_take_users_away(&store);
    let lines = read_journal(&journal, 0).unwrap();
    assert_eq!(about_accounts_and_users(&lines), expected_lines());
}

/// The same on a cluster: the other node's replica writes the lines, each
/// with its revision.
#[cfg(feature = "etcd")]
#[test]
fn a_node_journals_suspensions_and_users_taken_away() {
    let Some((x, _y, journal, _dirs)) =
        two_nodes_journaling("store::backup::a_node_journals_suspensions_and_users")
    else {
        return;
    };
    suspend_and_take_users_away(&x);
    super::cluster::eventually("y journals the three changes", || {
        read_journal(&journal, 0).is_ok_and(|lines| lines.len() >= 3)
    });
    let lines = read_journal(&journal, 0).unwrap();
    assert_eq!(about_accounts_and_users(&lines), expected_lines());
    assert!(lines.iter().all(|l| l.revision.is_some()));
}

/// Creates account acme and suspends it, creates users off and gone,
/// disables off and deletes gone.
fn suspend_and_take_users_away(store: &Store) {
    let active = AccountRecord::new("acme", t0());
    let audit = audit("acme");
    assert_eq!(
        store.commit_account(None, &active, &audit).unwrap(),
        Commit::Done
    );
    let suspended = AccountRecord {
        status: AccountStatus::Suspended,
        ..active.clone()
    };
    store
        .commit_account(Some(&active), &suspended, &audit)
        .unwrap();
    let user = |name: &str| UserRecord {
        account_id: "acme".into(),
        username: name.into(),
        role: UserRole::ApiUser,
        email: String::new(),
        status: UserStatus::Active,
        password_hash: None,
        passcode_id: None,
        created_at: t0(),
        updated_at: t0(),
    };
    let (off, gone) = (user("off"), user("gone"));
    for u in [&off, &gone] {
        store
            .commit_user("acme", &u.username, None, Some(u), &audit)
            .unwrap();
    }
    let disabled = UserRecord {
        status: UserStatus::Disabled,
        ..off.clone()
    };
    store
        .commit_user("acme", "off", Some(&off), Some(&disabled), &audit)
        .unwrap();
    store
        .commit_user("acme", "gone", Some(&gone), None, &audit)
        .unwrap();
}

fn about_accounts_and_users(lines: &[JournalEntry]) -> Vec<(JournalEvent, String, String)> {
    lines
        .iter()
        .map(|l| (l.event.clone(), l.account.clone(), l.user.clone()))
        .collect()
}

fn expected_lines() -> Vec<(JournalEvent, String, String)> {
    vec![
        (JournalEvent::AccountSuspended, "acme".into(), String::new()),
        (JournalEvent::UserDisabled, "acme".into(), "off".into()),
        (JournalEvent::UserDeleted, "acme".into(), "gone".into()),
    ]
}

/// A restore ends every login session the backup held (a logout after the
/// backup is not in it): none verifies, none is due for the sweep.
#[test]
fn a_restore_ends_every_login_session() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    let session = super::sessions::session(1, t0());
    store
        .insert_session(&[1; 32], &session, t0(), &audit(""))
        .unwrap();
    let (out, header) = backup_of(&store, dir.path());
    assert_eq!(header.rows_of("sessions"), 1);
    drop(store);
    let target = dir.path().join("restored");
    let report = restore_backup(&out, &target, FINGERPRINT, &|_| {}).unwrap();
    assert_eq!(report.sessions_ended, 1);
    let restored = open(&target);
    assert_eq!(restored.get_session(&[1; 32]).unwrap(), None);
    assert_eq!(restored.session_counts(), (0, 0));
}
