//! Daily usage through the real daemon: known Verify traffic read back with
//! GetUsage per credential and per account (before the flush and after a
//! kill -9 and restart), `credctl usage --json`, and the request errors.

use std::process::Command;
use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support;

fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

/// (date, valid, insufficient_scope, revoked) of each day.
fn days(response: pb::GetUsageResponse) -> Vec<(String, u64, u64, u64)> {
    response
        .days
        .into_iter()
        .map(|d| (d.date, d.valid, d.insufficient_scope, d.revoked))
        .collect()
}

async fn usage(
    admin: &mut support::Admin,
    credential: &str,
    account: &str,
) -> Vec<(String, u64, u64, u64)> {
    days(
        admin
            .get_usage(pb::GetUsageRequest {
                credential_id: credential.to_string(),
                account_id: account.to_string(),
                ..pb::GetUsageRequest::default()
            })
            .await
            .expect("get usage")
            .into_inner(),
    )
}

/// Three VALID answers, one INSUFFICIENT_SCOPE and (of another key) one
/// REVOKED show per credential and summed per account at once, and the
/// same after the flush, a kill -9 and a restart; unknown secrets count
/// nowhere; credctl prints the rows as JSON.
#[tokio::test(flavor = "multi_thread")]
async fn known_traffic_is_counted_per_day_and_survives_kill_9() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "[schedule]\nusage_flush_interval = \"1s\"\n");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (used, used_secret) = support::create(&mut admin, support::api_key("acme", "orders")).await;
    let (revoked, revoked_secret) =
        support::create(&mut admin, support::api_key("acme", "old")).await;
    let (_, other_secret) = support::create(&mut admin, support::api_key("globex", "search")).await;
    for _ in 0..3 {
        let answer = support::verify(&mut verifier, &used_secret, "", &["orders:read"]).await;
        assert_eq!(answer.result(), pb::VerifyResult::Valid);
    }
    let answer = support::verify(&mut verifier, &used_secret, "", &["admin"]).await;
    assert_eq!(answer.result(), pb::VerifyResult::InsufficientScope);
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: "rotated out".to_string(),
        })
        .await
        .expect("revoke");
    let answer = support::verify(&mut verifier, &revoked_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Revoked);
    let answer = support::verify(&mut verifier, &support::flip_char(&other_secret), "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::NotFound);

    let expected_key = vec![(today(), 3, 1, 0)];
    let expected_account = vec![(today(), 3, 1, 1)];
    assert_eq!(usage(&mut admin, &used.id, "").await, expected_key);
    assert_eq!(usage(&mut admin, "", "acme").await, expected_account);
    assert_eq!(usage(&mut admin, "", "globex").await, vec![]);

    // Flushed within a second; kill -9 loses nothing flushed.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    daemon.kill9();
    daemon.restart();
    let mut admin = daemon.admin().await;
    assert_eq!(usage(&mut admin, &used.id, "").await, expected_key);
    assert_eq!(usage(&mut admin, "", "acme").await, expected_account);

    std::os::unix::fs::symlink(&daemon.data_dir, dir.path().join("credd-data")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .current_dir(dir.path())
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .args([
            "--addr",
            &daemon.url(),
            "--json",
            "usage",
            "--credential",
            &used.id,
        ])
        .output()
        .expect("run credctl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(printed["days"][0]["date"], today());
    assert_eq!(printed["days"][0]["valid"], 3);
    assert_eq!(printed["days"][0]["insufficient_scope"], 1);
}

/// Both subjects or none, a malformed date, `from` after `to`, and a range
/// over 1000 days are INVALID_ARGUMENT naming the problem; an unknown
/// credential is NOT_FOUND.
#[tokio::test(flavor = "multi_thread")]
async fn bad_usage_requests_are_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (cred, _) = support::create(&mut admin, support::api_key("acme", "orders")).await;
    let cases = [
        (cred.id.as_str(), "acme", "", "", "not both"),
        ("", "", "", "", "is required"),
        ("", "acme", "2026-13-01", "", "from must be a date"),
        ("", "acme", "2026-12-02", "2026-12-01", "is after to"),
        (
            "",
            "acme",
            "2020-01-01",
            "2026-12-01",
            "more than 1000 days",
        ),
    ];
    for (credential, account, from, to, says) in cases {
        let status = support::expect_code(
            admin
                .get_usage(pb::GetUsageRequest {
                    credential_id: credential.to_string(),
                    account_id: account.to_string(),
                    from: from.to_string(),
                    to: to.to_string(),
                })
                .await,
            Code::InvalidArgument,
            says,
        );
        assert!(
            status.message().contains(says),
            "{says}: {}",
            status.message()
        );
    }
    support::expect_code(
        admin
            .get_usage(pb::GetUsageRequest {
                credential_id: "cred_01M905ZQJ6WRZ0VB2XQX4S138T".to_string(),
                ..pb::GetUsageRequest::default()
            })
            .await,
        Code::NotFound,
        "unknown credential",
    );
}
