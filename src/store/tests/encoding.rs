//! The encodings of credential records and of Verify's view: metadata
//! round-trips, and values written before metadata existed (bytes the
//! previous build wrote, kept here as hex) decode unchanged, with none.

use super::*;

/// `old_shape()` as the build before metadata encoded it in `credentials`.
const OLD_RECORD: &str = "0a1e637265645f30314b424d303030303030303030303030303030304f4c4430120461636d65180120012a066f72646572733a0b6f72646572733a72656164400158808081b184e9910360808081b184e991036880c0d091edfe98038a014508011220ab030303030303030303030303030303030303030303030303030303030303031a1663726564645f6c6976655f6170695f2e2e2e3030303320808081b184e99103";

/// Its version 1's view in `secret_index`, as that build wrote it.
const OLD_VIEW: &str = "0a1e637265645f30314b424d303030303030303030303030303030304f4c4430120461636d65180120012a0b6f72646572733a7265616430014080c0d091edfe9803";

/// The record the old bytes hold.
fn old_shape() -> CredentialRecord {
    let mut record = record("cred_01KBM0000000000000000OLD0", "acme", 3);
    record.name = "orders".to_string();
    record.scopes = vec!["orders:read".to_string()];
    record
}

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// Old records and views decode as before, with no metadata, and a record
/// without metadata is still written byte for byte as the old build did.
#[test]
fn values_without_metadata_decode_unchanged() {
    let old = old_shape();
    let decoded = codec::decode_record(&bytes(OLD_RECORD)).unwrap();
    assert_eq!(decoded, old);
    assert_eq!(decoded.metadata, None);
    assert_eq!(codec::encode_record(&old), bytes(OLD_RECORD));
    let hash = old.versions[0].hash;
    let view = codec::decode_view(&bytes(OLD_VIEW), &hash, 1).unwrap();
    assert_eq!(
        (view.id.as_str(), view.scopes.as_slice(), view.metadata),
        (old.id.as_str(), old.scopes.as_slice(), None)
    );
    assert_eq!(codec::verify_view(&old, 1), bytes(OLD_VIEW));
}

/// Metadata round-trips through the record and the view, as stored.
#[test]
fn metadata_round_trips() {
    let mut rec = old_shape();
    rec.metadata = Some(r#"{"plan":"pro","é":[1,{"x":null}]}"#.to_string());
    let decoded = codec::decode_record(&codec::encode_record(&rec)).unwrap();
    assert_eq!(decoded, rec);
    let view = codec::decode_view(&codec::verify_view(&rec, 1), &rec.versions[0].hash, 1);
    assert_eq!(view.unwrap().metadata, rec.metadata);
    let full = full_record("cred_full");
    assert!(full.metadata.is_some());
    assert_eq!(
        codec::decode_record(&codec::encode_record(&full)).unwrap(),
        full
    );
}

/// A store holding a credential with metadata hands it back from the
/// record, from the secret index's view, and after a reopen.
#[tokio::test]
async fn metadata_in_the_store() {
    for fresh in Fresh::each() {
        let mut rec = old_shape();
        rec.metadata = Some(r#"{"plan":"pro"}"#.to_string());
        {
            let store = fresh.open();
            assert_eq!(store.commit(None, Some(&rec), None).unwrap(), Commit::Done);
            store.flush().await.unwrap();
        }
        let store = fresh.open();
        assert_eq!(store.get(&rec.id).unwrap(), Some(rec.clone()));
        let (_, _, view) = store
            .lookup_secret_view(&rec.versions[0].hash)
            .unwrap()
            .unwrap();
        assert_eq!(view.unwrap().metadata, rec.metadata);
    }
}
