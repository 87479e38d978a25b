//! `LeakAdmin.ReportLeakedCredential` and `credctl leak report`.

use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use credd::api::pb::leak_admin_client::LeakAdminClient;

fn leak_request(secret: &str) -> pb::ReportLeakedCredentialRequest {
    pb::ReportLeakedCredentialRequest {
        secret: secret.to_string(),
        source: "pastebin".to_string(),
        url: "https://paste.example/abc".to_string(),
    }
}

/// A key without credentials:write is PERMISSION_DENIED and changes
/// nothing; an account-scoped key hears NOT_FOUND about another account's
/// key (which stays valid) and revokes its own; an unknown secret is
/// NOT_FOUND; `credctl leak report` reads the secret from stdin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_need_the_scope_and_stay_in_their_account() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (_, acme_key) = support::create(&mut admin, support::api_key("acme", "a")).await;
    let (globex, globex_key) = support::create(&mut admin, support::api_key("globex", "g")).await;
    let keys = daemon.admin_keys_as(Some(&daemon.admin_key())).await;
    let admin_key = |account: &str, scopes: &[&str]| {
        let request = pb::CreateAdminKeyRequest {
            name: format!("{account} {scopes:?}"),
            account_id: account.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let mut keys = keys.clone();
        async move {
            keys.create_admin_key(request)
                .await
                .expect("create admin key")
                .into_inner()
                .secret
        }
    };
    let reader = admin_key("", &["credentials:read"]).await;
    let acme = admin_key("acme", &["credentials:read", "credentials:write"]).await;
    let client = |key: &str| {
        let key = key.to_string();
        let daemon = &daemon;
        async move {
            LeakAdminClient::with_interceptor(
                daemon.channel().await,
                support::Bearer::new(Some(&key)),
            )
        }
    };

    let refused = client(&reader)
        .await
        .report_leaked_credential(leak_request(&acme_key))
        .await;
    support::expect_code(refused, tonic::Code::PermissionDenied, "reader");
    assert_eq!(
        verify_result(&daemon, &acme_key).await,
        pb::VerifyResult::Valid
    );

    let mut acme_client = client(&acme).await;
    let other = acme_client
        .report_leaked_credential(leak_request(&globex_key))
        .await
        .expect("another account's key is no error")
        .into_inner();
    assert_eq!(other.outcome, i32::from(pb::LeakOutcome::NotFound));
    assert!(other.credential_id.is_empty() && other.account_id.is_empty());
    assert_eq!(
        verify_result(&daemon, &globex_key).await,
        pb::VerifyResult::Valid
    );

    let unknown = acme_client
        .report_leaked_credential(leak_request(&support::flip_char(&acme_key)))
        .await
        .expect("unknown")
        .into_inner();
    assert_eq!(unknown.outcome, i32::from(pb::LeakOutcome::NotFound));
    let empty = acme_client.report_leaked_credential(leak_request("")).await;
    support::expect_code(empty, tonic::Code::InvalidArgument, "empty secret");

    let own = acme_client
        .report_leaked_credential(leak_request(&acme_key))
        .await
        .expect("own key")
        .into_inner();
    assert_eq!(own.outcome, i32::from(pb::LeakOutcome::Revoked));
    assert_eq!(own.account_id, "acme");
    assert_eq!(
        verify_result(&daemon, &acme_key).await,
        pb::VerifyResult::Revoked
    );
    let events = leaked_events(&daemon).await;
    let ok: Vec<_> = events
        .iter()
        .filter(|e| e.outcome == i32::from(pb::AuditOutcome::Ok))
        .collect();
    assert_eq!(ok.len(), 1, "{events:?}");
    assert!(ok[0].detail.contains("source: pastebin"));
    assert!(ok[0].detail.contains("url: https://paste.example/abc"));

    // credctl, the secret on stdin.
    let mut child = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .args([
            "--addr",
            &daemon.url(),
            "--json",
            "leak",
            "report",
            "--source",
            "ticket",
        ])
        .arg("--admin-key-file")
        .arg(daemon.admin_key_file())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn credctl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{globex_key}\n").as_bytes())
        .expect("write secret");
    let output = child.wait_with_output().expect("credctl");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(printed["outcome"], "REVOKED");
    assert_eq!(printed["credential_id"], globex.id);
    assert_eq!(
        verify_result(&daemon, &globex_key).await,
        pb::VerifyResult::Revoked
    );
    assert!(!daemon.logs().contains(&globex_key));
}
