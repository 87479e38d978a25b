//! `credctl export` against the real daemon: every account and credential
//! as a JSON line, to a file or stdout, with no secret in any byte.

use std::process::Command;

use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_every_account_and_credential_without_secrets() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut secrets = Vec::new();
    for n in 0..30 {
        let (_, secret) = support::create(
            &mut admin,
            support::api_key(&format!("acct{}", n % 3), &format!("k{n}")),
        )
        .await;
        secrets.push(secret);
    }
    let out = dir.path().join("export.jsonl");
    let key_file = daemon.admin_key_file().display().to_string();
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_credctl"))
            .args([
                "--addr",
                &daemon.url(),
                "--admin-key-file",
                &key_file,
                "export",
            ])
            .args(extra)
            .output()
            .expect("run credctl export")
    };
    let to_file = run(&["--out", &out.display().to_string()]);
    assert!(
        to_file.status.success(),
        "{}",
        String::from_utf8_lossy(&to_file.stderr)
    );
    let summary = String::from_utf8_lossy(&to_file.stderr);
    assert!(
        summary.contains("exported 3 accounts and 30 credentials"),
        "{summary}"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.iter().filter(|l| l["type"] == "account").count(), 3);
    assert_eq!(
        lines.iter().filter(|l| l["type"] == "credential").count(),
        30
    );
    assert!(
        lines
            .iter()
            .filter(|l| l["type"] == "credential")
            .all(|l| l["id"].as_str().unwrap().starts_with("cred_"))
    );
    let to_stdout = run(&[]);
    assert!(to_stdout.status.success());
    assert_eq!(String::from_utf8_lossy(&to_stdout.stdout), text);
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret in the export");
        assert!(
            !text.contains(&secret[secret.len() - 12..]),
            "a secret's tail in the export"
        );
    }
}
