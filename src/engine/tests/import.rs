//! ImportCredentials in the engine: keys given by legacy SHA-256 (hex and
//! base64) verify and are re-hashed at their first VALID Verify, with the
//! plaintext in no tree; foreign-format plaintexts (32 hex digits,
//! `klarna_live_api_...`) verify by their hash; re-import is UNCHANGED;
//! bad rows fail alone; the inactivity rules run from the imported times;
//! quotas, scopes and a dry run.

use base64::Engine as _;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::*;
use crate::engine::{ImportKey, ImportOutcome, ImportResult, ImportRow};

fn row(account: &str, external_id: &str, key: ImportKey) -> ImportRow {
    ImportRow {
        account_id: account.to_string(),
        kind: Kind::ApiKey,
        environment: Environment::Live,
        name: format!("imported {external_id}"),
        description: String::new(),
        scopes: strings(&["orders:read"]),
        notify_emails: Vec::new(),
        expires_at: Some(t0() + Duration::days(200)),
        created_at: Some(t0() - Duration::days(20)),
        last_used_at: Some(t0() - Duration::days(3)),
        metadata: Some(r#"{"plan": "pro"}"#.to_string()),
        external_id: external_id.to_string(),
        key,
    }
}

fn plain(text: &str) -> ImportKey {
    ImportKey::Secret(Zeroizing::new(text.to_string()))
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Harness {
    async fn import(&self, rows: Vec<ImportRow>) -> Vec<ImportResult> {
        self.engine
            .import(&admin(), rows.into_iter().map(Ok).collect(), false)
            .await
            .unwrap()
    }

    fn valid(&self, presented: &str) -> bool {
        matches!(
            self.engine.verify(presented, None, &[]).unwrap().outcome,
            VerifyOutcome::Valid { .. }
        )
    }
}

/// Keys given by their SHA-256 (hex, base64) verify; the first VALID
/// Verify drops the legacy entry and stores the pepper's HMAC instead;
/// the plaintext is in no tree, before or after.
#[tokio::test]
async fn legacy_hashes_verify_and_are_rehashed_at_first_valid_verify() {
    let h = harness();
    let hex_key = "3f9a0c1d2b4e5f60718293a4b5c6d7e8";
    let b64_key = "legacy-key-with-some-length-0042";
    let results = h
        .import(vec![
            row(
                "acme",
                "hex-1",
                ImportKey::Sha256Hex(hex_of(&digest(hex_key))),
            ),
            row(
                "acme",
                "b64-1",
                ImportKey::Sha256Base64(
                    base64::engine::general_purpose::STANDARD.encode(digest(b64_key)),
                ),
            ),
        ])
        .await;
    assert!(
        results.iter().all(|r| r.outcome == ImportOutcome::Imported),
        "{results:?}"
    );
    let store = h.engine.store();
    for (key, result) in [(hex_key, &results[0]), (b64_key, &results[1])] {
        let id = result.credential_id.clone().unwrap();
        assert_eq!(store.lookup_legacy(&digest(key)).unwrap(), Some(id.clone()));
        assert!(!h.valid(&format!("{key}x")), "a wrong key is refused");
        assert_eq!(store.lookup_legacy(&digest(key)).unwrap(), Some(id.clone()));
        assert!(h.valid(key), "legacy key {key} verifies");
        assert_eq!(store.lookup_legacy(&digest(key)).unwrap(), None);
        let record = store.get(&id).unwrap().unwrap();
        assert_eq!(record.versions[0].hash, pepper().hash(key).0);
        assert_eq!(
            store.lookup_secret(&pepper().hash(key).0).unwrap(),
            Some((id, 1))
        );
        assert!(h.valid(key), "and verifies again through the secret index");
        assert!(
            store.trees_containing(key.as_bytes()).is_empty(),
            "plaintext in {:?}",
            store.trees_containing(key.as_bytes())
        );
    }
    assert!(!store.has_legacy());
    let rehashed = h.engine.store().audit_count();
    assert_eq!(
        rehashed,
        2 + 2 + 1,
        "two imports, two re-hashes, one account"
    );
}

/// Plaintext keys in other formats (32 hex digits, Klarna-style prefixes)
/// verify by their hash, the kind coming from the record; values nobody
/// imported stay NOT_FOUND; the plaintext is in no tree.
#[tokio::test]
async fn foreign_format_keys_verify() {
    let h = harness();
    let hex_key = "a3f1c2e4b5d6978812345678abcdef01";
    let klarna = "klarna_live_api_Zk3QmPq9TyW2xRv8LbN5sJd7HcF1";
    let mut passcode = row("acme", "pass-1", plain("pass-for-acme-0123456789"));
    passcode.kind = Kind::Passcode;
    assert!(!h.valid(hex_key), "nothing imported yet");
    let results = h
        .import(vec![
            row("acme", "hex-1", plain(hex_key)),
            row("acme", "klarna-1", plain(klarna)),
            passcode,
        ])
        .await;
    assert!(
        results.iter().all(|r| r.outcome == ImportOutcome::Imported),
        "{results:?}"
    );
    assert!(h.valid(hex_key));
    assert!(h.valid(klarna));
    let answer = h.engine.verify(hex_key, None, &[]).unwrap();
    let credential = answer.credential.unwrap();
    assert_eq!(credential.kind, Kind::ApiKey);
    assert_eq!(credential.metadata.as_deref(), Some(r#"{"plan":"pro"}"#));
    assert!(!h.valid("b3f1c2e4b5d6978812345678abcdef01"));
    assert!(!h.valid("klarna_live_api_Zk3QmPq9TyW2xRv8LbN5sJd7HcF2"));
    let passcode = h
        .engine
        .verify("pass-for-acme-0123456789", Some("acme"), &[])
        .unwrap();
    assert!(matches!(passcode.outcome, VerifyOutcome::Valid { .. }));
    assert!(matches!(
        h.engine.verify("pass-for-acme-0123456789", None, &[]),
        Err(Error::InvalidArgument(_))
    ));
    // A credd key still takes its own path.
    let (_, secret) = h.create("acme").await;
    assert!(h.valid(secret.expose()));
    for key in [hex_key, klarna] {
        assert!(h.engine.store().trees_containing(key.as_bytes()).is_empty());
    }
}

/// The same rows again are UNCHANGED (same credential, nothing written);
/// a different row under an imported external id fails and changes nothing.
#[tokio::test]
async fn reimport_is_unchanged_and_a_changed_row_fails() {
    let h = harness();
    let rows = || {
        vec![
            row("acme", "e-1", plain("0123456789abcdef0123456789abcdef")),
            row(
                "acme",
                "e-2",
                ImportKey::Sha256Hex(hex_of(&digest("k2-0123456789abcdef"))),
            ),
        ]
    };
    let first = h.import(rows()).await;
    let audits = h.audits();
    let sizes = h.engine.store().tree_sizes();
    let again = h.import(rows()).await;
    for (a, b) in first.iter().zip(&again) {
        assert_eq!(b.outcome, ImportOutcome::Unchanged, "{b:?}");
        assert_eq!(a.credential_id, b.credential_id);
    }
    assert_eq!(h.audits(), audits);
    assert_eq!(h.engine.store().tree_sizes(), sizes);
    let mut changed = rows();
    changed[0].name = "renamed".to_string();
    let answer = h.import(changed).await;
    assert_eq!(answer[0].outcome, ImportOutcome::Failed);
    assert!(answer[0].reason.contains("different data"), "{answer:?}");
    assert_eq!(answer[1].outcome, ImportOutcome::Unchanged);
    assert_eq!(h.engine.store().tree_sizes(), sizes);
}

/// Bad rows fail, each with its reason, and the others are imported.
#[tokio::test]
async fn bad_rows_fail_alone() {
    let h = harness();
    let good = |id: &str| row("acme", id, plain(&format!("good-key-{id}-0123456789")));
    let mut admin_kind = good("admin");
    admin_kind.kind = Kind::AdminKey;
    let mut no_external = good("x");
    no_external.external_id = String::new();
    let mut expired = good("expired");
    expired.expires_at = Some(t0() - Duration::days(1));
    let mut bad_metadata = good("meta");
    bad_metadata.metadata = Some("[1,2]".to_string());
    let mut abandoned = good("old");
    abandoned.created_at = Some(t0() - Duration::days(500));
    abandoned.last_used_at = Some(t0() - Duration::days(400));
    let rows: Vec<Result<ImportRow, String>> = vec![
        Ok(good("g1")),
        Ok(admin_kind),
        Ok(no_external),
        Err("kind 9 is not a kind".to_string()),
        Ok(row("acme", "short", plain("short"))),
        Ok(row(
            "acme",
            "badhex",
            ImportKey::Sha256Hex("xyz".to_string()),
        )),
        Ok(row("acme", "nokey", ImportKey::Missing)),
        Ok(expired),
        Ok(bad_metadata),
        Ok(abandoned),
        Ok(row("acme", "dup", plain("good-key-g1-0123456789"))),
        Ok(good("g2")),
    ];
    let results = h.engine.import(&admin(), rows, false).await.unwrap();
    let outcomes: Vec<_> = results.iter().map(|r| r.outcome).collect();
    use ImportOutcome::{Failed as F, Imported as I};
    assert_eq!(
        outcomes,
        vec![I, F, F, F, F, F, F, F, F, F, F, I],
        "{results:?}"
    );
    let reasons: Vec<&str> = results.iter().map(|r| r.reason.as_str()).collect();
    for (at, words) in [
        (1, "admin_key"),
        (2, "external_id"),
        (3, "not a kind"),
        (4, "shorter"),
        (5, "sha256_hex"),
        (6, "one of secret"),
        (7, "expired"),
        (8, "metadata"),
        (9, "unused since"),
        (10, "already the secret"),
    ] {
        assert!(reasons[at].contains(words), "row {at}: {:?}", reasons[at]);
    }
    assert!(h.valid("good-key-g2-0123456789"));
    assert_eq!(h.engine.store().count_live("acme", t0()).unwrap(), 2);
}

/// A key unused for three months is imported DISABLED (INACTIVITY) with
/// its deletion deadline ten months after its last use; a key used last
/// week is ACTIVE with its disable deadline two months after that use.
#[tokio::test]
async fn lifecycle_runs_from_the_imported_times() {
    let h = harness();
    let mut idle = row("acme", "idle", plain("idle-key-0123456789abcdef"));
    let used = t0() - Duration::days(92);
    idle.created_at = Some(t0() - Duration::days(300));
    idle.last_used_at = Some(used);
    let busy = row("acme", "busy", plain("busy-key-0123456789abcdef"));
    let results = h.import(vec![idle, busy]).await;
    assert_eq!(results[0].status, Some(Status::Disabled));
    assert_eq!(results[1].status, Some(Status::Active));
    let idle = h
        .engine
        .store()
        .get(results[0].credential_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(idle.disabled_reason, Some(DisabledReason::Inactivity));
    let delete = idle
        .scheduled
        .iter()
        .find(|d| d.event == DeadlineEvent::InactivityDelete)
        .unwrap();
    assert_eq!(delete.at, Span::Months(10).after(used));
    assert_eq!(
        h.engine
            .verify("idle-key-0123456789abcdef", None, &[])
            .unwrap()
            .outcome,
        VerifyOutcome::Disabled(DisabledReason::Inactivity)
    );
    let busy = h
        .engine
        .store()
        .get(results[1].credential_id.as_deref().unwrap())
        .unwrap()
        .unwrap();
    let disable = busy
        .scheduled
        .iter()
        .find(|d| d.event == DeadlineEvent::InactivityDisable)
        .unwrap();
    assert_eq!(disable.at, Span::Months(2).after(t0() - Duration::days(3)));
    assert_eq!(busy.created_at, t0() - Duration::days(20));
}

/// A dry run answers as an import would and writes nothing.
#[tokio::test]
async fn dry_run_writes_nothing() {
    let h = limited(1);
    let sizes = h.engine.store().tree_sizes();
    let rows = vec![
        Ok(row("acme", "d1", plain("dry-run-key-0123456789ab"))),
        Ok(row(
            "acme",
            "d2",
            ImportKey::Sha256Hex(hex_of(&digest("dry-2-key-0123456789"))),
        )),
        Ok(row("acme", "d3", ImportKey::Missing)),
    ];
    let results = h.engine.import(&admin(), rows, true).await.unwrap();
    assert_eq!(results[0].outcome, ImportOutcome::Imported);
    assert_eq!(
        results[1].outcome,
        ImportOutcome::Failed,
        "over the quota of 1"
    );
    assert!(results[1].reason.contains("maximum of 1"), "{results:?}");
    assert_eq!(results[2].outcome, ImportOutcome::Failed);
    assert_eq!(h.engine.store().tree_sizes(), sizes);
    assert!(!h.valid("dry-run-key-0123456789ab"));
}

/// A dry run answers repeated rows of one batch as the import would: the
/// same external id and data again is unchanged, with other data failed;
/// a second row with a secret already taken by an earlier row fails, in
/// any account; a row refused for a stored secret leaves its external id
/// free for a later row.
#[tokio::test]
async fn dry_run_sees_the_earlier_rows_of_its_batch() {
    let h = harness();
    h.import(vec![row("acme", "p0", plain("pre-existing-key-0123456"))])
        .await;
    let rows = || -> Vec<Result<ImportRow, String>> {
        vec![
            Ok(row("acme", "d1", plain("dry-run-key-0123456789ab"))),
            Ok(row("acme", "d1", plain("dry-run-key-0123456789ab"))),
            Ok(row("acme", "d1", plain("dry-run-key-other-0123456"))),
            Ok(row("acme", "d2", plain("dry-run-key-0123456789ab"))),
            Ok(row("other", "d3", plain("dry-run-key-0123456789ab"))),
            Ok(row("acme", "d4", plain("pre-existing-key-0123456"))),
            Ok(row("acme", "d4", plain("dry-run-key-third-012345"))),
        ]
    };
    let dry = h.engine.import(&admin(), rows(), true).await.unwrap();
    let real = h.engine.import(&admin(), rows(), false).await.unwrap();
    let outcomes = |r: &[crate::engine::ImportResult]| -> Vec<ImportOutcome> {
        r.iter().map(|r| r.outcome).collect()
    };
    assert_eq!(
        outcomes(&dry),
        [
            ImportOutcome::Imported,
            ImportOutcome::Unchanged,
            ImportOutcome::Failed,
            ImportOutcome::Failed,
            ImportOutcome::Failed,
            ImportOutcome::Failed,
            ImportOutcome::Imported
        ]
    );
    assert_eq!(outcomes(&dry), outcomes(&real), "{dry:?}\n{real:?}");
    assert_eq!(dry[1].credential_id, None, "no id before the import");
}

/// Quotas hold (the rows over it fail with the reason); an account-scoped
/// key imports into its own account only; no rows, or too many, is an
/// error of the call.
#[tokio::test]
async fn quota_scope_and_batch_limits() {
    let h = limited(2);
    let rows: Vec<ImportRow> = (0..3)
        .map(|i| {
            row(
                "acme",
                &format!("q{i}"),
                plain(&format!("quota-key-{i}-0123456789")),
            )
        })
        .collect();
    let results = h.import(rows).await;
    assert_eq!(results[2].outcome, ImportOutcome::Failed);
    assert!(results[2].reason.contains("maximum of 2"), "{results:?}");
    let scoped = Actor::admin_key(
        "cred_scoped",
        [Scope::CredentialsWrite],
        Some("mine".to_string()),
        String::new(),
    );
    let rows = vec![
        Ok(row("mine", "m1", plain("mine-key-0123456789abcd"))),
        Ok(row("theirs", "t1", plain("theirs-key-0123456789ab"))),
    ];
    let results = h.engine.import(&scoped, rows, false).await.unwrap();
    assert_eq!(results[0].outcome, ImportOutcome::Imported, "{results:?}");
    assert_eq!(results[1].outcome, ImportOutcome::Failed);
    assert!(!h.valid("theirs-key-0123456789ab"));
    assert!(matches!(
        h.engine.import(&admin(), Vec::new(), false).await,
        Err(Error::InvalidArgument(_))
    ));
    let many: Vec<_> = (0..1001)
        .map(|i| Ok(row("acme", &format!("m{i}"), ImportKey::Missing)))
        .collect();
    assert!(matches!(
        h.engine.import(&admin(), many, false).await,
        Err(Error::InvalidArgument(_))
    ));
    let reader = Actor::admin_key("cred_reader", [Scope::CredentialsRead], None, String::new());
    let rows = vec![Ok(row("acme", "r1", plain("reader-key-0123456789ab")))];
    assert!(matches!(
        h.engine.import(&reader, rows, false).await,
        Err(Error::PermissionDenied(_))
    ));
}

/// A support desk's lookup finds imported keys of any format, a legacy
/// one too (and leaves it to Verify to re-hash).
#[tokio::test]
async fn lookup_finds_imported_keys() {
    let h = harness();
    let foreign = "6d1e0c9b8a7f6e5d4c3b2a1908f7e6d5";
    let legacy = "legacy-lookup-key-0123456789";
    let results = h
        .import(vec![
            row("acme", "f-1", plain(foreign)),
            row("acme", "l-1", ImportKey::Sha256Hex(hex_of(&digest(legacy)))),
        ])
        .await;
    for (key, result) in [(foreign, &results[0]), (legacy, &results[1])] {
        let view = h.engine.lookup_by_secret(&admin(), key, None).unwrap();
        assert_eq!(Some(view.record.id), result.credential_id.clone());
    }
    assert!(
        h.engine
            .store()
            .lookup_legacy(&digest(legacy))
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        h.engine
            .lookup_by_secret(&admin(), "6d1e0c9b8a7f6e5d4c3b2a1908f7e6d6", None),
        Err(Error::NoSuch(_))
    ));
}
