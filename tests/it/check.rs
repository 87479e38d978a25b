//! `credd check` on a real data directory: clean after real traffic; an
//! index entry deleted behind credd's back (planted with sled directly) is
//! found, `--repair` rebuilds it, and the daemon then verifies every key.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use credd::api::pb;

use crate::support;

/// `credd check` on the daemon's config; returns (exit code, stdout).
fn check(config: &Path, data_dir: &Path, repair: bool) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credd"));
    command
        .arg("--config")
        .arg(config)
        .arg("check")
        .arg(data_dir);
    if repair {
        command.arg("--repair");
    }
    let output = command.output().expect("run credd check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_a_planted_fault_and_repair_fixes_it() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut secrets = Vec::new();
    for n in 0..20 {
        let (cred, secret) =
            support::create(&mut admin, support::api_key("acme", &format!("k{n}"))).await;
        if n % 5 == 0 {
            let rotated = admin
                .rotate_credential(pb::RotateCredentialRequest {
                    id: cred.id.clone(),
                    window: None,
                })
                .await
                .unwrap()
                .into_inner();
            secrets.push(rotated.secret);
        }
        secrets.push(secret);
    }
    daemon.terminate(Duration::from_secs(10));
    let (config, data) = (daemon.config_path.clone(), daemon.data_dir.clone());
    let (code, out) = check(&config, &data, false);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 faults"), "{out}");

    // Behind credd's back: drop one secret index entry and one account
    // index entry.
    {
        let db = sled::open(data.join("db")).unwrap();
        let index = db.open_tree("secret_index").unwrap();
        let (hash, _) = index.iter().next().unwrap().unwrap();
        index.remove(hash).unwrap();
        let accounts = db.open_tree("by_account").unwrap();
        let (key, _) = accounts.iter().last().unwrap().unwrap();
        accounts.remove(key).unwrap();
        db.flush().unwrap();
    }
    let (code, out) = check(&config, &data, false);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("fault: secret_index"), "{out}");
    assert!(out.contains("fault: by_account"), "{out}");
    assert!(out.contains(" 2 faults"), "{out}");

    let (code, out) = check(&config, &data, true);
    assert_eq!(code, 0, "{out}");
    let after = out.lines().find(|l| l.starts_with("after the repair:"));
    assert!(after.is_some_and(|l| l.ends_with(" 0 faults")), "{out}");
    let (code, out) = check(&config, &data, false);
    assert_eq!(code, 0, "{out}");

    daemon.restart();
    let mut verifier = daemon.verifier().await;
    for secret in &secrets {
        let answer = support::verify(&mut verifier, secret, "", &[]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
    }
}

/// A directory with no store is an error, not an empty report.
#[test]
fn check_of_no_store_fails() {
    let dir = support::temp_dir();
    let config = dir.path().join("credd.toml");
    std::fs::write(&config, "").unwrap();
    let (code, out) = check(&config, &dir.path().join("nothing"), false);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no credd store"), "{out}");
}
