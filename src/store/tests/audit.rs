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
