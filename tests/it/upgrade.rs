//! A data directory written by the release before last-used moved out of
//! the credential record (`tests/fixtures/upgrade`, made by its `make.sh`
//! with credd a25edce) opens with this build: every credential, its last
//! use and its deadlines are kept, and new uses land in the new layout.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use credd::api::pb;
use credd::lifecycle::{Policy, next_deadlines};
use credd::secret::Pepper;
use credd::store::Store;

use crate::support;

/// The fixture's manifest: what Get answered before the old daemon stopped.
struct Manifest {
    credentials: Vec<serde_json::Value>,
    secrets: Vec<String>,
}

fn manifest() -> Manifest {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade/manifest.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("manifest")).expect("json");
    Manifest {
        credentials: json["credentials"].as_array().expect("credentials").clone(),
        secrets: json["secrets"]
            .as_array()
            .expect("secrets")
            .iter()
            .map(|s| s.as_str().expect("secret").to_string())
            .collect(),
    }
}

/// Unpacks the fixture's `data/` into `dir`.
fn unpack(dir: &Path) {
    let archive = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade/data.tar.gz");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir)
        .status()
        .expect("run tar");
    assert!(status.success(), "tar failed: {status}");
}

/// An RFC 3339 time from the manifest as whole seconds (credctl prints seconds).
fn manifest_secs(value: &serde_json::Value) -> Option<i64> {
    let text = value.as_str().filter(|s| !s.is_empty())?;
    Some(
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("manifest time")
            .timestamp(),
    )
}

fn secs(t: Option<&prost_types::Timestamp>) -> Option<i64> {
    t.map(|t| t.seconds)
}

/// Every credential of the old data dir reads back with its account, kind,
/// name and last use; the deadline index holds exactly each record's
/// deadlines; a new use is flushed to the new layout and survives a restart.
#[tokio::test]
async fn data_dir_of_the_previous_release_keeps_credentials_uses_and_deadlines() {
    let dir = support::temp_dir();
    unpack(dir.path());
    let manifest = manifest();
    let mut daemon = support::start(dir.path(), "[schedule]\nusage_flush_interval = \"1s\"\n");
    let mut admin = daemon.admin().await;
    for expected in &manifest.credentials {
        let id = expected["id"].as_str().expect("id");
        let got = support::get(&mut admin, id).await;
        assert_eq!(
            got.account_id,
            expected["account_id"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(got.name, expected["name"].as_str().unwrap(), "{id}");
        assert_eq!(
            pb::Kind::try_from(got.kind).unwrap().as_str_name(),
            expected["kind"].as_str().unwrap(),
            "{id}"
        );
        assert_eq!(
            secs(got.last_used_at.as_ref()),
            manifest_secs(&expected["last_used_at"]),
            "{id}: last use"
        );
    }
    // A new use of the first API key (while the policy still lets it work:
    // the fixture ages) lands in the new layout.
    let before = support::unix_now();
    let answer = support::verify(&mut daemon.verifier().await, &manifest.secrets[0], "", &[]).await;
    let used = (answer.result == pb::VerifyResult::Valid as i32).then_some(answer.credential_id);
    if used.is_some() {
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
    daemon.kill9();
    daemon.restart();
    let mut admin = daemon.admin().await;
    if let Some(id) = &used {
        let got = support::get(&mut admin, id).await;
        let last = secs(got.last_used_at.as_ref()).expect("last use");
        assert!(last >= before, "the new use survived kill -9 and a restart");
    }
    drop(admin);
    let status = daemon.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status}");

    // The deadline index holds exactly every record's deadlines, and each
    // record's deadlines are what the rules give for it.
    let (pepper, _) = Pepper::load_or_create(&daemon.data_dir.join("pepper")).expect("pepper");
    let store =
        Store::open(&daemon.data_dir.join("db"), 16 << 20, pepper.fingerprint()).expect("open");
    let mut n_deadlines = 0;
    for record in store.scan(None, None) {
        let record = record.expect("record");
        assert_eq!(
            record.scheduled,
            next_deadlines(&record, &Policy::standard()),
            "{}",
            record.id
        );
        for deadline in &record.scheduled {
            assert!(
                store
                    .has_deadline(&record.id, deadline.at, deadline.event)
                    .unwrap(),
                "{}: {deadline:?} missing from the index",
                record.id
            );
            n_deadlines += 1;
        }
    }
    assert!(n_deadlines > 0);
    assert_eq!(
        store.deadline_count(),
        n_deadlines,
        "no stray index entries"
    );
}
