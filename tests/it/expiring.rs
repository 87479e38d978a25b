//! "Expiring soon", List's time filters and lookup by secret through the
//! real daemon: Get, List and Verify show `expires_in` and `expiring_soon`
//! (the default 30-day window); `expiring_within` and `inactive_for` filter
//! page after page and refuse bad spans; LookupCredentialBySecret and
//! `credctl whoami` find a key without counting a use, refuse an admin key
//! of another account, and never write the secret to the log or the data.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use credd::api::pb;
use serde_json::Value;
use tonic::Code;

use crate::support::{self, Admin};

const DAY: i64 = 86_400;

fn lived(name: &str, days: i64) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        lifetime: Some(prost_types::Duration {
            seconds: days * DAY,
            nanos: 0,
        }),
        ..support::api_key("acme", name)
    }
}

fn span(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

/// Every page of `request` at two a page, as ids; checks each page is full
/// but the last.
async fn list_ids(admin: &mut Admin, mut request: pb::ListCredentialsRequest) -> Vec<String> {
    request.page_size = 2;
    let mut ids = Vec::new();
    loop {
        let page = admin
            .list_credentials(request.clone())
            .await
            .expect("list")
            .into_inner();
        if !page.next_page_token.is_empty() {
            assert_eq!(page.credentials.len(), 2, "only the last page is short");
        }
        ids.extend(page.credentials.into_iter().map(|c| c.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        request.page_token = page.next_page_token;
    }
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// A key with 10 days left is expiring soon in Get, List and Verify; one
/// with 90 days is not; a revoked one has nothing left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_list_and_verify_show_expiring_soon() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (soon, soon_secret) = support::create(&mut admin, lived("soon", 10)).await;
    let (later, later_secret) = support::create(&mut admin, lived("later", 90)).await;
    let (revoked, _) = support::create(&mut admin, lived("revoked", 10)).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: String::new(),
        })
        .await
        .expect("revoke");

    let left = |d: Option<&prost_types::Duration>| d.map(|d| d.seconds);
    assert!(soon.expiring_soon && !later.expiring_soon, "create answers");
    let got = support::get(&mut admin, &soon.id).await;
    assert!(got.expiring_soon);
    let seconds = left(got.expires_in.as_ref()).expect("expires_in set");
    assert!((10 * DAY - 60..=10 * DAY).contains(&seconds), "{seconds}");
    let got = support::get(&mut admin, &later.id).await;
    assert!(!got.expiring_soon);
    assert!(left(got.expires_in.as_ref()).unwrap() > 89 * DAY);
    let got = support::get(&mut admin, &revoked.id).await;
    assert!(!got.expiring_soon && got.expires_in.is_none());

    let listed = admin
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("list")
        .into_inner()
        .credentials;
    let flags: Vec<(String, bool)> = listed
        .iter()
        .map(|c| (c.name.clone(), c.expiring_soon))
        .collect();
    assert_eq!(
        flags,
        sorted_by_id(
            &listed,
            &[("soon", true), ("later", false), ("revoked", false)]
        )
    );

    let answer = support::verify(&mut verifier, &soon_secret, "", &[]).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert!(answer.expiring_soon);
    assert!(left(answer.expires_in.as_ref()).unwrap() > 9 * DAY);
    let answer = support::verify(&mut verifier, &later_secret, "", &[]).await;
    assert!(!answer.expiring_soon && answer.expires_in.is_some());
}

/// The expected (name, flag) pairs in the listing's id order.
fn sorted_by_id(listed: &[pb::Credential], expected: &[(&str, bool)]) -> Vec<(String, bool)> {
    listed
        .iter()
        .map(|c| {
            let (name, flag) = expected.iter().find(|(n, _)| *n == c.name).unwrap();
            (name.to_string(), *flag)
        })
        .collect()
}

/// `expiring_within` and `inactive_for` over several pages; bad spans are
/// INVALID_ARGUMENT naming the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_filters_page_and_refuse_bad_spans() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[schedule]\nusage_flush_interval = \"1s\"\n");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let mut short = Vec::new();
    let mut secrets = Vec::new();
    for (i, days) in [5, 40, 20, 60, 25, 400, 7].into_iter().enumerate() {
        let (cred, secret) = support::create(&mut admin, lived(&format!("k{i}"), days)).await;
        if days <= 30 {
            short.push(cred.id.clone());
        }
        secrets.push((cred.id, secret));
    }
    let within = list_ids(
        &mut admin,
        pb::ListCredentialsRequest {
            expiring_within: span(30 * DAY),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(within, sorted(short));

    // Two seconds on, three keys used: the other four are idle for 2s.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let mut idle = Vec::new();
    for (i, (id, secret)) in secrets.iter().enumerate() {
        if i % 2 == 1 {
            let answer = support::verify(&mut verifier, secret, "", &[]).await;
            assert_eq!(answer.result(), pb::VerifyResult::Valid);
        } else {
            idle.push(id.clone());
        }
    }
    let inactive = pb::ListCredentialsRequest {
        inactive_for: span(2),
        ..Default::default()
    };
    assert_eq!(
        list_ids(&mut admin, inactive.clone()).await,
        sorted(idle.clone())
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // The uses are flushed by now; the same four still.
    assert_eq!(list_ids(&mut admin, inactive).await, sorted(idle));

    for field in ["expiring_within", "inactive_for"] {
        for seconds in [0, -DAY, 3650 * DAY + 1] {
            let mut request = pb::ListCredentialsRequest::default();
            if field == "expiring_within" {
                request.expiring_within = span(seconds);
            } else {
                request.inactive_for = span(seconds);
            }
            let status = support::expect_code(
                admin.list_credentials(request).await,
                Code::InvalidArgument,
                field,
            );
            assert!(status.message().contains(field), "{}", status.message());
        }
    }
}

/// A confined admin key presenting `scopes` on `account`.
async fn confined_key(daemon: &support::Daemon, account: &str) -> String {
    let root = daemon.admin_key();
    let mut keys = daemon.admin_keys_as(Some(&root)).await;
    keys.create_admin_key(pb::CreateAdminKeyRequest {
        account_id: account.to_string(),
        name: format!("{account} reader"),
        scopes: vec!["credentials:read".to_string()],
        ..Default::default()
    })
    .await
    .expect("create confined key")
    .into_inner()
    .secret
}

/// Runs credctl with the daemon's bootstrap key and `input` on stdin.
fn credctl(daemon: &support::Daemon, args: &[&str], input: &str) -> (bool, String, String) {
    use std::io::Write;
    let key_file = daemon.data_dir.join("admin.key");
    let mut child = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .env_remove("CREDD_ADDR")
        .arg("--addr")
        .arg(daemon.addr.to_string())
        .arg("--admin-key-file")
        .arg(&key_file)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run credctl");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let output = child.wait_with_output().expect("credctl output");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Lookup finds a key (revoked too) without a use or a usage row, refuses
/// another account's key and unknown secrets without echoing them, is
/// audited; `credctl whoami` reads the secret from stdin; `credctl list`
/// filters and shows the EXPIRES column; no secret reaches a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lookup_by_secret_and_whoami() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[schedule]\nusage_flush_interval = \"1s\"\n");
    let mut admin = daemon.admin().await;
    let (cred, secret) = support::create(&mut admin, lived("support", 12)).await;
    let (revoked, revoked_secret) = support::create(&mut admin, lived("old", 90)).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: revoked.id.clone(),
            reason: "leaked".to_string(),
        })
        .await
        .expect("revoke");
    let lookup = |secret: &str| pb::LookupCredentialBySecretRequest {
        secret: secret.to_string(),
        account_id: String::new(),
    };
    let found = admin
        .lookup_credential_by_secret(lookup(&secret))
        .await
        .expect("lookup")
        .into_inner()
        .credential
        .unwrap();
    assert_eq!(found.id, cred.id);
    assert!(found.expiring_soon);
    let found = admin
        .lookup_credential_by_secret(lookup(&revoked_secret))
        .await
        .expect("lookup revoked")
        .into_inner()
        .credential
        .unwrap();
    assert_eq!(found.status(), pb::Status::Revoked);

    let unknown = support::flip_char(&secret);
    let status = support::expect_code(
        admin.lookup_credential_by_secret(lookup(&unknown)).await,
        Code::NotFound,
        "unknown secret",
    );
    assert!(!status.message().contains(&unknown), "{}", status.message());
    let globex = confined_key(&daemon, "globex").await;
    let mut globex_admin = daemon.admin_as(Some(&globex)).await;
    support::expect_code(
        globex_admin
            .lookup_credential_by_secret(lookup(&secret))
            .await,
        Code::PermissionDenied,
        "another account's key",
    );

    // whoami, secret on stdin.
    let (ok, out, err) = credctl(&daemon, &["--json", "whoami"], &format!("{secret}\n"));
    assert!(ok, "whoami: {err}");
    let shown: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["id"], cred.id.as_str());
    assert_eq!(shown["expiring_soon"], true);
    let (ok, out, err) = credctl(&daemon, &["whoami"], &secret);
    assert!(ok, "whoami table: {err}");
    assert!(out.contains(&cred.id) && out.contains("(soon)"), "{out}");
    let (ok, _, err) = credctl(&daemon, &["whoami"], &unknown);
    assert!(!ok && err.contains("NotFound"), "{err}");
    assert!(!err.contains(&unknown), "{err}");

    // credctl list: filters and the EXPIRES column.
    let (ok, out, err) = credctl(&daemon, &["list", "--expiring-within", "30d"], "");
    assert!(ok, "list: {err}");
    assert!(
        out.contains(&cred.id) && !out.contains(&revoked.id),
        "{out}"
    );
    assert!(
        out.contains("in 11d 23h (soon)") || out.contains("in 12d (soon)"),
        "{out}"
    );
    let (ok, out, err) = credctl(&daemon, &["--json", "list", "--inactive-for", "60d"], "");
    assert!(ok, "list inactive: {err}");
    let listed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 0);

    // No use was counted: no last use, no usage rows, even after a flush.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(
        support::get(&mut admin, &cred.id)
            .await
            .last_used_at
            .is_none()
    );
    let usage = admin
        .get_usage(pb::GetUsageRequest {
            credential_id: cred.id.clone(),
            ..Default::default()
        })
        .await
        .expect("usage")
        .into_inner();
    assert!(usage.days.is_empty(), "{:?}", usage.days);
    assert_lookups_audited(&daemon, &cred.id).await;
    assert_no_secret_anywhere(dir.path(), &[secret, revoked_secret, unknown]);
}

/// The audit log holds the lookups (ok, and the confined key's denied one).
async fn assert_lookups_audited(daemon: &support::Daemon, id: &str) {
    let mut audit = daemon.audit_as(Some(&daemon.admin_key())).await;
    let events = audit
        .list_audit_events(pb::ListAuditEventsRequest {
            action: "credential.lookup".to_string(),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .events;
    let found = events
        .iter()
        .filter(|e| e.credential_id == id && e.outcome() == pb::AuditOutcome::Ok)
        .count();
    assert!(found >= 3, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| e.outcome() == pb::AuditOutcome::Denied && e.account_id == "acme"),
        "{events:?}"
    );
}

fn assert_no_secret_anywhere(dir: &Path, secrets: &[String]) {
    support::assert_no_secret_in_files(dir, secrets);
}
