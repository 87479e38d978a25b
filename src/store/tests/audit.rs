//! Audit events written with the commits that carry them.

use super::*;

/// Exactly one audit entry is appended per commit that carries one, and
/// none for commits without.
#[test]
fn audit_grows_by_one_per_audited_commit() {
    for fresh in Fresh::each() {
        let store = fresh.open();
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
}

/// Retention removes the oldest events, before the cutoff only, at most
/// `limit` at a time, and new events still follow the kept ones.
#[test]
fn retention_removes_only_events_before_the_cutoff() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        for days in 0..5 {
            let mut entry = audit("cred_a");
            entry.at = t0() + Duration::days(days);
            store.append_audit(&entry).unwrap();
        }
        let cutoff = t0() + Duration::days(3);
        assert_eq!(store.remove_audit_before(cutoff, 2).unwrap(), 2);
        assert_eq!(store.remove_audit_before(cutoff, 1000).unwrap(), 1);
        assert_eq!(store.remove_audit_before(cutoff, 1000).unwrap(), 0);
        let page = store
            .audit_page(&AuditFilter::default(), None, 100, 1000)
            .unwrap();
        let times: Vec<_> = page.events.iter().map(|e| e.at).collect();
        assert_eq!(times, [t0() + Duration::days(3), t0() + Duration::days(4)]);
        store.append_audit(&audit("cred_b")).unwrap();
        let page = store
            .audit_page(&AuditFilter::default(), None, 100, 1000)
            .unwrap();
        assert_eq!(
            page.events.last().map(|e| e.credential_id.as_str()),
            Some("cred_b")
        );
    }
}

/// Reading back from the end: the latest matches newest first, stopped by
/// the limit, or by the bound on events read with the oldest position
/// read given back.
#[test]
fn the_latest_events_are_read_back_from_the_end() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        for n in 0..6 {
            let id = if n % 2 == 0 { "cred_a" } else { "cred_b" };
            let mut entry = audit(id);
            entry.at = t0() + Duration::days(n);
            store.append_audit(&entry).unwrap();
        }
        let of_a = AuditFilter {
            credential_id: Some("cred_a".to_string()),
            ..AuditFilter::default()
        };
        let days = |page: &AuditPage| -> Vec<i64> {
            page.events
                .iter()
                .map(|e| (e.at - t0()).num_days())
                .collect()
        };
        let all = store.audit_latest(&of_a, None, 10, 100).unwrap();
        assert_eq!(days(&all), [4, 2, 0]);
        assert_eq!(all.next_after, None);
        let two = store.audit_latest(&of_a, None, 2, 100).unwrap();
        assert_eq!(days(&two), [4, 2]);
        let rest = store.audit_latest(&of_a, two.next_after, 2, 100).unwrap();
        assert_eq!(days(&rest), [0], "the page before the first");
        assert_eq!(rest.next_after, None);
        let bounded = store.audit_latest(&of_a, None, 10, 4).unwrap();
        assert_eq!(days(&bounded), [4, 2]);
        let oldest_read = bounded.next_after.expect("bounded");
        let rest = store
            .audit_page(&of_a, None, 10, 1000)
            .unwrap()
            .events
            .into_iter()
            .filter(|e| e.seq < oldest_read)
            .count();
        assert_eq!(rest, 1, "one event of cred_a lies before the bound");
        // With `since`, the read stops at the first event over an hour
        // older: the cred_a event of day 10 lies behind one of day 0.
        for (id, day) in [("cred_a", 10), ("cred_b", 0), ("cred_a", 11)] {
            let mut entry = audit(id);
            entry.at = t0() + Duration::days(day);
            store.append_audit(&entry).unwrap();
        }
        let since = AuditFilter {
            since: Some(t0() + Duration::days(5)),
            ..of_a.clone()
        };
        let recent = store.audit_latest(&since, None, 10, 100).unwrap();
        assert_eq!(days(&recent), [11]);
        assert_eq!(recent.next_after, None);
        // A full page whose next event is past the stop has nothing more.
        let one = store.audit_latest(&since, None, 1, 100).unwrap();
        assert_eq!((days(&one), one.next_after), (vec![11], None));
        // The earliest time there is: nothing to stop at, no overflow.
        let earliest = AuditFilter {
            since: Some(DateTime::<Utc>::MIN_UTC),
            ..of_a.clone()
        };
        let every = store.audit_latest(&earliest, None, 10, 100).unwrap();
        assert_eq!(days(&every), [11, 10, 4, 2, 0]);
    }
}
