//! Sessions and their deadline index: every write keeps the session and its
//! one entry together, touches leave the entry alone (lazy rescheduling),
//! the sweep's conditional writes refuse a changed session, and the schema 4
//! upgrade indexes sessions written without an entry.

use super::*;
use crate::lifecycle::SessionRecord;

pub(super) fn session(n: u8, last_seen: DateTime<Utc>) -> SessionRecord {
    SessionRecord {
        id: format!("sess_{n}"),
        account_id: "acme".to_string(),
        username: "ann".to_string(),
        created_at: t0(),
        last_seen_at: last_seen,
        expires_at: t0() + Duration::hours(12),
    }
}

fn due_at(store: &Store, now: DateTime<Utc>) -> Vec<DueSession> {
    store.due_sessions(now, 100).unwrap()
}

/// Insert writes the session and one entry at its due time; the entry is
/// due at that time (inclusive), not before; removal takes both away.
#[test]
fn insert_indexes_and_remove_unindexes() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let (a, b) = (hash(1), hash(2));
        let due_a = t0() + Duration::minutes(30);
        let due_b = t0() + Duration::minutes(10);
        store
            .insert_session(&a, &session(1, t0()), due_a, &audit(""))
            .unwrap();
        store
            .insert_session(&b, &session(2, t0()), due_b, &audit(""))
            .unwrap();
        assert_eq!(store.session_counts(), (2, 2));
        assert!(due_at(&store, due_b - Duration::microseconds(1)).is_empty());
        let due = due_at(&store, due_a);
        assert_eq!(
            due,
            vec![
                DueSession {
                    hash: b,
                    due: due_b
                },
                DueSession {
                    hash: a,
                    due: due_a
                }
            ],
            "earliest first"
        );
        assert_eq!(store.due_sessions(due_a, 1).unwrap().len(), 1, "bounded");
        assert!(matches!(
            store.insert_session(&a, &session(3, t0()), due_a, &audit("")),
            Err(Error::DuplicateSecret)
        ));
        assert!(store.remove_session(&a, Some(&audit(""))).unwrap());
        assert!(!store.remove_session(&a, None).unwrap());
        assert_eq!(store.session_counts(), (1, 1));
        assert_eq!(
            due_at(&store, due_a),
            vec![DueSession {
                hash: b,
                due: due_b
            }]
        );
        assert_eq!(store.audit_count(), 3);
    }
}

/// A touch moves `last_seen_at` but not the entry; the sweep's expiry of
/// the session as it read it before the touch is then a conflict, and a
/// reschedule of the session as it is now moves the entry.
#[test]
fn touches_leave_the_entry_and_conflict_with_the_sweep() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let h = hash(1);
        let due = t0() + Duration::minutes(30);
        let read = session(1, t0());
        store.insert_session(&h, &read, due, &audit("")).unwrap();
        let seen = t0() + Duration::minutes(20);
        store.touch_session(&h, seen).unwrap();
        store.touch_session(&h, t0()).unwrap(); // never back
        let (now, indexed) = store.get_session_due(&h).unwrap().unwrap();
        assert_eq!((now.last_seen_at, indexed), (seen, Some(due)));
        let entry = DueSession { hash: h, due };
        assert_eq!(
            store.expire_session(&entry, &read, &audit("")).unwrap(),
            Commit::Conflict
        );
        assert_eq!(
            store.reschedule_session(&entry, &read, due).unwrap(),
            Commit::Conflict
        );
        let next = seen + Duration::minutes(30);
        assert_eq!(
            store.reschedule_session(&entry, &now, next).unwrap(),
            Commit::Done
        );
        assert!(due_at(&store, next - Duration::seconds(1)).is_empty());
        let moved = DueSession { hash: h, due: next };
        assert_eq!(due_at(&store, next), vec![moved]);
        assert_eq!(
            store.expire_session(&moved, &now, &audit("")).unwrap(),
            Commit::Done
        );
        assert_eq!(store.session_counts(), (0, 0));
        assert_eq!(store.audit_count(), 2, "login and expiry");
    }
}

/// An entry no session stands behind is removed on request.
#[test]
fn stale_entries_are_removed() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let due = t0() + Duration::minutes(1);
        store
            .load_sessions(&[(hash(1), session(1, t0()), due)])
            .unwrap();
        assert_eq!(store.session_counts(), (1, 1));
        store.sessions.remove(hash(1)).unwrap();
        let entry = due_at(&store, due)[0];
        store.remove_session_deadline(&entry).unwrap();
        assert_eq!(store.session_counts(), (0, 0));
    }
}

/// A schema 3 database (sessions without entries) is upgraded when opened:
/// each session is indexed at its `last_seen_at`, the version moves to 4,
/// and the step run again (as after a crash) changes nothing.
#[test]
fn schema_3_sessions_are_indexed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let seen = t0() + Duration::minutes(5);
    {
        let store = open(dir.path());
        for n in 1..=3 {
            let raw = super::super::sessions::encode_session(&session(n, seen), None);
            store.sessions.insert(hash(n), raw).unwrap();
        }
        store.meta.insert(META_SCHEMA, &3u32.to_be_bytes()).unwrap();
        store.db.flush().unwrap();
        assert_eq!(store.session_counts(), (3, 0));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let store = loop {
        match Store::open(dir.path(), 16 << 20, FINGERPRINT) {
            Err(Error::Locked(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(
        store.meta_get("schema_version").unwrap(),
        Some(4u32.to_be_bytes().to_vec())
    );
    assert_eq!(store.session_counts(), (3, 3));
    assert!(due_at(&store, seen - Duration::microseconds(1)).is_empty());
    assert_eq!(due_at(&store, seen).len(), 3);
    for n in 1..=3 {
        let (s, due) = store.get_session_due(&hash(n)).unwrap().unwrap();
        assert_eq!((s, due), (session(n, seen), Some(seen)));
    }
    store.index_sessions().unwrap();
    assert_eq!(store.session_counts(), (3, 3));
}
