//! Imported credentials in the store, on every backend: the import's one
//! transaction (record, external id, legacy entry, foreign-secrets flag,
//! audit), an external id or a legacy digest already taken (nothing
//! written), and the lazy re-hash (the HMAC in, the legacy entry out; a
//! stale one conflicts).

use super::*;
use crate::store::{ImportCommit, ImportEntry};

#[test]
fn import_then_rehash_on_every_backend() {
    for fresh in Fresh::each() {
        let store = fresh.open();
        let rec = record("cred_imp", "acme", 9);
        let entry = audit("cred_imp");
        let digest = [42u8; 32];
        let import = ImportEntry {
            record: &rec,
            audit: &entry,
            external_id: "ext-1",
            fingerprint: [1; 32],
            legacy: Some(digest),
            foreign: false,
        };
        let guard = store.quota_guard("acme").unwrap();
        assert_eq!(
            store.import(&import, Some(guard)).unwrap(),
            ImportCommit::Done
        );
        assert_eq!(store.quota_guard("acme").unwrap(), guard + 1);
        assert_eq!(
            store.external_id("acme", "ext-1").unwrap(),
            Some(("cred_imp".to_string(), [1; 32]))
        );
        assert_eq!(
            store.lookup_legacy(&digest).unwrap(),
            Some("cred_imp".to_string())
        );
        assert!(store.has_legacy());
        assert!(!store.has_foreign_secrets());
        let audits = store.audit_count();

        let other = record("cred_other", "acme", 10);
        let again = ImportEntry {
            record: &other,
            legacy: None,
            ..import
        };
        assert_eq!(
            store.import(&again, None).unwrap(),
            ImportCommit::Existing {
                credential_id: "cred_imp".to_string(),
                fingerprint: [1; 32],
            }
        );
        let same_digest = ImportEntry {
            record: &other,
            external_id: "ext-2",
            ..import
        };
        assert_eq!(
            store.import(&same_digest, None).unwrap(),
            ImportCommit::DuplicateLegacy
        );
        assert_eq!(store.get("cred_other").unwrap(), None);
        assert_eq!(store.external_id("acme", "ext-2").unwrap(), None);
        assert_eq!(store.audit_count(), audits);

        let mut rehashed = rec.clone();
        rehashed.versions[0].hash = hash(77);
        assert_eq!(
            store
                .rehash_legacy(&rec, &rehashed, &digest, true, &entry)
                .unwrap(),
            Commit::Done
        );
        assert_eq!(store.lookup_legacy(&digest).unwrap(), None);
        assert!(!store.has_legacy());
        assert!(store.has_foreign_secrets());
        assert_eq!(
            store.lookup_secret(&hash(77)).unwrap(),
            Some(("cred_imp".to_string(), 1))
        );
        assert_eq!(store.lookup_secret(&hash(9)).unwrap(), None);
        assert_eq!(
            store
                .rehash_legacy(&rec, &rehashed, &digest, true, &entry)
                .unwrap(),
            Commit::Conflict,
            "a re-hash computed from a stale record writes nothing"
        );
    }
}
