//! `credctl import` against the real daemon: a 10,000-row JSON Lines file
//! of foreign-format plaintexts and legacy SHA-256 hashes (hex and base64)
//! with bad rows mixed in, each bad row reported with its line; imported
//! keys verify over gRPC (a legacy one twice, re-hashed between); a
//! re-import changes nothing; a dry run writes nothing; a CSV file works;
//! an empty file fails; no plaintext reaches the log or the data directory.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use credd::api::pb;
use sha2::{Digest, Sha256};

use crate::support;

/// Runs credctl import; returns (exit code, stdout, stderr).
fn import(cwd: &Path, addr: &str, key_file: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .current_dir(cwd)
        .env_remove("CREDD_ADDR")
        .arg("--addr")
        .arg(addr)
        .arg("--admin-key-file")
        .arg(key_file)
        .arg("import")
        .args(args)
        .output()
        .expect("run credctl");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn sha256(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The plaintext of row `i`: 32 hex digits, or Klarna-style.
fn key_of(i: usize) -> String {
    let h = hex(&sha256(&format!("seed-{i}")));
    if i % 2 == 0 {
        h[..32].to_string()
    } else {
        format!("klarna_live_api_{}", &h[..30])
    }
}

/// Row `i` of the big file, or a bad row every 997 rows (its kind of
/// badness and the words its reason must hold).
fn line_of(i: usize, created: &str) -> (String, Option<&'static str>) {
    let key = key_of(i);
    let account = format!("acct{}", i % 20);
    let given = match i % 3 {
        0 => format!(r#""secret":"{key}""#),
        1 => format!(r#""sha256_hex":"{}""#, hex(&sha256(&key))),
        _ => format!(
            r#""sha256_base64":"{}""#,
            base64::engine::general_purpose::STANDARD.encode(sha256(&key))
        ),
    };
    let good = format!(
        r#"{{"account":"{account}","external_id":"ext-{i}","name":"key {i}","scopes":["orders:read"],"created_at":"{created}",{given}}}"#
    );
    if i % 997 != 5 {
        return (good, None);
    }
    match (i / 997) % 4 {
        0 => (format!("{{not json {i}"), Some("not JSON")),
        1 => (
            good.replace(&format!(r#""external_id":"ext-{i}","#), ""),
            Some("external_id is required"),
        ),
        2 => (
            good.replace(r#""name""#, r#""expires_at":"2001-01-01T00:00:00Z","name""#),
            Some("expires_at"),
        ),
        _ => (
            format!(
                r#"{{"account":"{account}","external_id":"ext-{i}","kind":"admin_key","secret":"{key}"}}"#
            ),
            Some("admin_key"),
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credctl_imports_ten_thousand_rows_and_they_verify() {
    let dir = support::temp_dir();
    let daemon = support::start_with_env(
        dir.path(),
        "[policy]\nmax_credentials_per_account = 100000\n",
        &[("RUST_LOG", "debug")],
    );
    let addr = daemon.addr.to_string();
    let key_file = daemon.admin_key_file();
    let work = support::temp_dir();
    let cwd = work.path();

    let created = (chrono::Utc::now() - chrono::Duration::days(10)).to_rfc3339();
    let mut text = String::new();
    let mut bad = Vec::new();
    for i in 0..10_000 {
        let (line, reason) = line_of(i, &created);
        writeln!(text, "{line}").unwrap();
        if let Some(words) = reason {
            bad.push((i + 1, words));
        }
    }
    let file = cwd.join("keys.jsonl");
    std::fs::write(&file, &text).unwrap();
    let file = file.to_str().unwrap();

    // A dry run reports the same failures and writes nothing.
    let (code, out, err) = import(cwd, &addr, &key_file, &["--dry-run", file]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        out.contains(&format!("{} would be imported", 10_000 - bad.len())),
        "{out}"
    );
    let mut verifier = daemon.verifier().await;
    let answer = support::verify(&mut verifier, &key_of(0), "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);

    let started = std::time::Instant::now();
    let (code, out, err) = import(cwd, &addr, &key_file, &[file]);
    let took = started.elapsed();
    assert_eq!(code, 2, "some rows failed, the rest imported: {out}\n{err}");
    eprintln!("10,000 rows imported in {took:?}");
    let summary = format!(
        "{} imported, 0 unchanged, {} failed",
        10_000 - bad.len(),
        bad.len()
    );
    assert!(out.contains(&summary), "{out}");
    for (line, words) in &bad {
        let reported = out
            .lines()
            .find(|l| {
                l.starts_with(&format!("line {line}:")) || l.starts_with(&format!("line {line} "))
            })
            .unwrap_or_else(|| panic!("line {line} not reported: {out}"));
        assert!(reported.contains(words), "line {line}: {reported}");
    }

    for i in [0, 1, 2, 3, 4, 9_998, 9_999] {
        let key = key_of(i);
        let account = format!("acct{}", i % 20);
        for _ in 0..2 {
            let answer = support::verify(&mut verifier, &key, &account, &["orders:read"]).await;
            assert_eq!(answer.result(), pb::VerifyResult::Valid, "row {i}");
        }
    }
    let answer = support::verify(&mut verifier, "0123456789abcdef0123456789abcdef", "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);

    // Again: nothing changes, and says so.
    let (code, out, _) = import(cwd, &addr, &key_file, &[file]);
    assert_eq!(code, 2);
    assert!(
        out.contains(&format!("0 imported, {} unchanged", 10_000 - bad.len())),
        "{out}"
    );

    // CSV, by its extension.
    let csv = cwd.join("more.csv");
    let csv_key = "csv-imported-key-0123456789abcdef";
    std::fs::write(
        &csv,
        format!(
            "account,external_id,name,scopes,sha256_hex\nacme,csv-1,from csv,orders:read orders:write,{}\n",
            hex(&sha256(csv_key))
        ),
    )
    .unwrap();
    let (code, out, err) = import(cwd, &addr, &key_file, &[csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 imported, 0 unchanged, 0 failed"), "{out}");
    let answer = support::verify(&mut verifier, csv_key, "", &["orders:write"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    let (code, out, err) = import(cwd, &addr, &key_file, &[csv.to_str().unwrap()]);
    assert_eq!(code, 0, "all unchanged is a success: {out}\n{err}");
    assert!(err.contains("imported before"), "{err}");

    // Nothing to import is an error.
    let empty = cwd.join("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    let (code, _, err) = import(cwd, &addr, &key_file, &[empty.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("no rows"), "{err}");
    let all_bad = cwd.join("bad.jsonl");
    std::fs::write(&all_bad, "{\"account\":\"acme\"}\n").unwrap();
    let (code, out, err) = import(cwd, &addr, &key_file, &[all_bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("nothing imported"), "{err}");

    // No plaintext in the log or the data directory.
    let mut plaintexts: Vec<String> = [0, 1, 2, 3, 4, 5, 6, 9_998, 9_999]
        .into_iter()
        .map(key_of)
        .collect();
    plaintexts.push(csv_key.to_string());
    let logs = daemon.logs();
    assert!(
        logs.contains("credentials imported"),
        "the log is not empty"
    );
    for key in &plaintexts {
        assert!(!logs.contains(key.as_str()), "a plaintext is in the log");
    }
    support::assert_no_secret_in_files(&daemon.data_dir, &plaintexts);
}
