//! The secret index as Verify reads it: the view each entry carries (its
//! raw entries checked on sled), and the verify cache in front of it.

use prost::Message;

use super::*;

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
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Verify decides the same from the index view as from the whole record,
/// for every version, state, time, account and scope combination tried.
#[test]
fn verify_view_decides_like_the_record() {
    use crate::lifecycle::decide_verify;
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}
