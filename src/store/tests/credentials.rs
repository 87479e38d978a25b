//! Credential records and their indexes: commits and conflicts, the
//! quota count, scans, duplicate hashes, and what survives a reopen.

use super::*;

/// A record with every field set reads back identical, and each of its
/// secret hashes points at its version.
#[test]
fn commit_then_get_round_trips_every_field() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// A commit computed from a stale record is refused as a conflict and writes nothing.
#[test]
fn stale_expected_is_a_conflict_and_writes_nothing() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Dropping a secret version removes its index entry and keeps the other.
#[test]
fn removing_a_version_removes_its_index_entry() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Deleting a record removes it, its secret index entries, its account
/// entry and its deadlines, and leaves other credentials alone.
#[test]
fn delete_removes_record_and_every_index() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Only ACTIVE and DISABLED credentials not yet past expiry count as live,
/// and only those of the account asked about.
#[test]
fn count_live_counts_active_and_disabled_before_expiry() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Admin keys share the account index but not the quota: only API keys,
/// passcodes and customer keys count.
#[test]
fn count_live_counts_only_the_kinds_the_quota_is_about() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// A status change is reflected in the quota count (the account index is
/// rewritten on every commit).
#[test]
fn count_live_follows_status_changes() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Scans return id order, only the account asked for (even when another
/// account's id starts with it), and resume strictly after `after_id`.
#[test]
fn scan_by_account_and_all_in_id_order() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// A hash already indexed for another credential is refused and nothing of
/// the new record is written.
#[test]
fn duplicate_hash_in_another_credential_is_refused() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Records, indexes, deadlines and audit entries survive closing and reopening.
#[tokio::test]
async fn data_survives_drop_and_reopen() {
    for fresh in Fresh::each() {
        let rec = full_record("cred_full");
        {
            let store = fresh.open();
            store
                .commit(None, Some(&rec), Some(&audit("cred_full")))
                .unwrap();
            store.flush().await.unwrap();
        }
        let store = fresh.open();
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
}

/// A create commits only while the account's quota guard is the one read
/// before counting, and moves it on; another account's guard is its own.
#[test]
fn create_needs_the_quota_guard_it_counted_under() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        assert_eq!(store.quota_guard("acme").unwrap(), 0);
        let a = record("cred_a", "acme", 1);
        assert_eq!(store.create(&a, &audit("cred_a"), 0).unwrap(), Commit::Done);
        assert_eq!(store.quota_guard("acme").unwrap(), 1);
        let b = record("cred_b", "acme", 2);
        assert_eq!(
            store.create(&b, &audit("cred_b"), 0).unwrap(),
            Commit::Conflict
        );
        assert_eq!(store.get("cred_b").unwrap(), None);
        assert_eq!(store.quota_guard("other").unwrap(), 0);
    }
}

/// A partner change that creates a customer key moves the account's quota
/// guard like a create does: one made from a guard read before another
/// create is a conflict, and writes nothing.
#[test]
fn a_partner_change_moves_the_quota_guard() {
    use crate::store::PartnerChange;
    for fresh in Fresh::each() {
        let store = fresh.open();
        let guard = store.quota_guard("acme").unwrap();
        let first = record("cred_first", "acme", 1);
        assert_eq!(
            store.create(&first, &audit("cred_first"), guard).unwrap(),
            Commit::Done
        );
        let key = record("cred_key", "acme", 2);
        let stale = PartnerChange {
            credentials: vec![(None, &key)],
            quota_guard: Some(("acme", guard)),
            ..Default::default()
        };
        assert_eq!(store.commit_partners(&stale).unwrap(), Commit::Conflict);
        assert_eq!(store.get("cred_key").unwrap(), None);
        let current = PartnerChange {
            quota_guard: Some(("acme", guard + 1)),
            ..stale
        };
        assert_eq!(store.commit_partners(&current).unwrap(), Commit::Done);
        assert_eq!(store.quota_guard("acme").unwrap(), guard + 2);
    }
}
