//! The audit log against the real binary: one event per action with the
//! right actor and request id, denied attempts recorded as such, filters
//! and pages, the JSON-lines mirror, and no secret anywhere in either.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use credd::api::pb;
use tonic::Code;

use crate::support::{self, Audit};

async fn list_all(
    audit: &mut Audit,
    mut request: pb::ListAuditEventsRequest,
) -> Vec<pb::AuditEvent> {
    let mut events = Vec::new();
    loop {
        let page = audit
            .list_audit_events(request.clone())
            .await
            .expect("list audit events")
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        request.page_token = page.next_page_token;
    }
}

/// `message` with an `x-request-id`.
fn with_id<T>(id: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-request-id", id.parse().unwrap());
    request
}

fn actions(events: &[pb::AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.action.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_action_is_one_event_with_its_actor() {
    let dir = support::temp_dir();
    let mirror = dir.path().join("audit.jsonl");
    let config = format!("[audit]\nfile = {:?}\n", mirror.display().to_string());
    let daemon = support::start(dir.path(), &config);
    let root = daemon.admin_key();
    let mut keys = daemon.admin_keys_as(Some(&root)).await;
    let operator = keys
        .create_admin_key(pb::CreateAdminKeyRequest {
            name: "operator".to_string(),
            scopes: vec![
                "credentials:read".to_string(),
                "credentials:write".to_string(),
                "audit:read".to_string(),
            ],
            ..Default::default()
        })
        .await
        .expect("create operator key")
        .into_inner();
    let operator_id = operator.admin_key.expect("key").id;
    let operator_key = operator.secret;
    let mut secrets = vec![operator_key.clone()];

    // The operator's actions, each with its own request id.
    let channel = daemon.channel().await;
    let mut admin = pb::credential_admin_client::CredentialAdminClient::with_interceptor(
        channel,
        support::Bearer::new(Some(&operator_key)),
    );
    let created = admin
        .create_credential(with_id("req-create", support::api_key("acme", "audited")))
        .await
        .expect("create")
        .into_inner();
    secrets.push(created.secret.clone());
    let id = created.credential.expect("credential").id;
    let rotated = admin
        .rotate_credential(with_id(
            "req-rotate",
            pb::RotateCredentialRequest {
                id: id.clone(),
                window: None,
            },
        ))
        .await
        .expect("rotate")
        .into_inner();
    secrets.push(rotated.secret.clone());
    admin
        .complete_rotation(with_id(
            "req-complete",
            pb::CompleteRotationRequest { id: id.clone() },
        ))
        .await
        .expect("complete");
    admin
        .disable_credential(with_id(
            "req-disable",
            pb::DisableCredentialRequest {
                id: id.clone(),
                reason: "suspicious traffic".to_string(),
            },
        ))
        .await
        .expect("disable");
    admin
        .reactivate_credential(with_id(
            "req-reactivate",
            pb::ReactivateCredentialRequest { id: id.clone() },
        ))
        .await
        .expect("reactivate");
    admin
        .revoke_credential(with_id(
            "req-revoke",
            pb::RevokeCredentialRequest {
                id: id.clone(),
                reason: "customer left".to_string(),
            },
        ))
        .await
        .expect("revoke");
    // A denied attempt by a key without the scope.
    let reader = keys
        .create_admin_key(pb::CreateAdminKeyRequest {
            name: "reader".to_string(),
            scopes: vec!["credentials:read".to_string()],
            ..Default::default()
        })
        .await
        .expect("create reader")
        .into_inner();
    secrets.push(reader.secret.clone());
    let reader_id = reader.admin_key.expect("key").id;
    support::expect_code(
        daemon
            .admin_as(Some(&reader.secret))
            .await
            .delete_credential(pb::DeleteCredentialRequest { id: id.clone() })
            .await,
        Code::PermissionDenied,
        "delete with a read-only key",
    );

    let mut audit = daemon.audit_as(Some(&operator_key)).await;
    let events = list_all(
        &mut audit,
        pb::ListAuditEventsRequest {
            credential_id: id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        actions(&events),
        [
            "credential.create",
            "credential.rotate",
            "credential.complete_rotation",
            "credential.disable",
            "credential.reactivate",
            "credential.revoke",
            "credential.delete",
        ]
    );
    let (done, denied) = events.split_at(6);
    for (event, request_id) in done.iter().zip([
        "req-create",
        "req-rotate",
        "req-complete",
        "req-disable",
        "req-reactivate",
        "req-revoke",
    ]) {
        assert_eq!(event.actor, operator_id, "{}", event.action);
        assert_eq!(event.account_id, "acme");
        assert_eq!(event.outcome, pb::AuditOutcome::Ok as i32);
        assert_eq!(event.request_id, request_id);
        assert!(event.at.is_some());
    }
    assert_eq!(denied[0].actor, reader_id);
    assert_eq!(denied[0].outcome, pb::AuditOutcome::Denied as i32);
    assert!(
        denied[0].detail.contains("credentials:write"),
        "{}",
        denied[0].detail
    );
    assert!(done[3].detail.contains("suspicious traffic"));
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[0] < w[1]),
        "seq increases: {seqs:?}"
    );

    // Filters: actor, action, outcome, account, time range; pages of two.
    let by_root = list_all(
        &mut audit,
        pb::ListAuditEventsRequest {
            actor: credd_key_id(&mut keys, &root).await,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        actions(&by_root),
        ["admin_key.create", "admin_key.create"],
        "the bootstrap key made the operator and the reader"
    );
    let revokes = list_all(
        &mut audit,
        pb::ListAuditEventsRequest {
            action: "credential.revoke".to_string(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(revokes.len(), 1);
    let denials = list_all(
        &mut audit,
        pb::ListAuditEventsRequest {
            outcome: pb::AuditOutcome::Denied.into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(denials.len(), 1);
    let mut paged = Vec::new();
    let mut request = pb::ListAuditEventsRequest {
        account_id: "acme".to_string(),
        page_size: 2,
        ..Default::default()
    };
    let mut n_pages = 0;
    loop {
        let page = audit
            .list_audit_events(request.clone())
            .await
            .expect("page")
            .into_inner();
        assert!(page.events.len() <= 2);
        n_pages += 1;
        paged.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    // The account's own creation (with its first credential) comes first.
    assert_eq!(paged[0].action, "account.create");
    assert_eq!(paged[0].actor, operator_id);
    assert_eq!(&paged[1..], events, "pages of two give the same events");
    assert!(n_pages >= 4);
    let middle = events[3].at;
    let before_middle = list_all(
        &mut audit,
        pb::ListAuditEventsRequest {
            credential_id: id.clone(),
            until: middle,
            ..Default::default()
        },
    )
    .await;
    let from_middle = list_all(
        &mut audit,
        pb::ListAuditEventsRequest {
            credential_id: id.clone(),
            since: middle,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(before_middle.len() + from_middle.len(), events.len());
    assert!(!from_middle.is_empty() && from_middle[0].seq <= events[3].seq);
    support::expect_code(
        audit
            .list_audit_events(pb::ListAuditEventsRequest {
                page_token: "forged".to_string(),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "a forged page token",
    );
    support::expect_code(
        daemon
            .audit_as(Some(&reader.secret))
            .await
            .list_audit_events(pb::ListAuditEventsRequest::default())
            .await,
        Code::PermissionDenied,
        "audit without audit:read",
    );

    // The mirror catches up within a few seconds and holds the same events.
    let want: BTreeSet<u64> = events.iter().map(|e| e.seq).collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mirrored = loop {
        let text = std::fs::read_to_string(&mirror).unwrap_or_default();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let seen: BTreeSet<u64> = lines.iter().filter_map(|l| l["seq"].as_u64()).collect();
        if want.is_subset(&seen) || Instant::now() > deadline {
            break lines;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    for event in &events {
        let line = mirrored
            .iter()
            .find(|l| l["seq"].as_u64() == Some(event.seq))
            .unwrap_or_else(|| panic!("event {} not mirrored", event.seq));
        assert_eq!(line["action"], event.action.as_str());
        assert_eq!(line["actor"], event.actor.as_str());
        assert_eq!(line["credential_id"], event.credential_id.as_str());
        assert_eq!(line["request_id"], event.request_id.as_str());
    }

    // No secret issued in this test is in the mirror, the database or the
    // log; the bootstrap key is in its own file only.
    support::assert_no_secret_in_files(dir.path(), &secrets);
    for (path, bytes) in support::all_files(dir.path()) {
        let found = bytes.windows(root.len()).any(|w| w == root.as_bytes());
        assert!(
            !found || path.ends_with("admin.key"),
            "the bootstrap key is in {}",
            path.display()
        );
    }
}

/// The id of the admin key `key`, read through the API.
async fn credd_key_id(keys: &mut support::AdminKeys, key: &str) -> String {
    let hint_tail = &key[key.len() - 4..];
    keys.list_admin_keys(pb::ListAdminKeysRequest::default())
        .await
        .expect("list admin keys")
        .into_inner()
        .admin_keys
        .into_iter()
        .find(|k| k.name == "bootstrap" && k.secret_hint.ends_with(hint_tail))
        .expect("the bootstrap key")
        .id
}
