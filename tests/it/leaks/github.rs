//! GitHub's secret-scanning reports at `/v1/leaks/github`.

use std::time::Duration;

use super::*;
use crate::smtp_server::SmtpServer;

/// Mail through the test SMTP server, delivered every second.
fn smtp(port: u16) -> String {
    format!(
        "[email]\ntransport = \"smtp\"\nsmtp_tls = \"none\"\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {port}\nsmtp_timeout = \"5s\"\ndelivery_interval = \"1s\"\n\
         admin_to = [\"admin@example.com\"]\n"
    )
}

/// A signed report of a real key, a credd-shaped string credd never
/// issued and garbage: the real key is revoked before the answer (the next
/// Verify says REVOKED), the labels are right, the audit log has one
/// `credential.leaked` event with the url and source, the owner gets the
/// notice, a second report is still a true positive that changes nothing,
/// and no token is in the log, the audit log or the mail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_report_revokes_before_the_answer() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let reporter = Reporter::new();
    let daemon = start(dir.path(), &reporter, &smtp(server.port()));
    let mut admin = daemon.admin().await;
    let owner = "owner@example.com";
    let (cred, secret) = support::create(
        &mut admin,
        pb::CreateCredentialRequest {
            notify_emails: vec![owner.to_string()],
            ..support::api_key("acme", "billing")
        },
    )
    .await;
    let (_, bystander) = support::create(&mut admin, support::api_key("acme", "other")).await;
    let never_issued = support::flip_char(&bystander);
    let garbage = "hunter2-not-a-key";
    let body = report_body(&[&secret, &never_issued, garbage]);

    let answer = post(&daemon, &reporter.request(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/json")
    );
    // Revoked before the answer: nothing is waited for.
    assert_eq!(
        verify_result(&daemon, &secret).await,
        pb::VerifyResult::Revoked
    );
    assert_eq!(
        verify_result(&daemon, &bystander).await,
        pb::VerifyResult::Valid
    );
    let labels = answer.json();
    let labels = labels.as_array().expect("an array");
    let expected = [
        (secret.as_str(), "true_positive"),
        (never_issued.as_str(), "false_positive"),
        (garbage, "false_positive"),
    ];
    assert_eq!(labels.len(), expected.len(), "{labels:?}");
    for (label, (token, positive)) in labels.iter().zip(expected) {
        assert_eq!(label["token_raw"], token);
        assert_eq!(label["token_type"], "credd_api_key");
        assert_eq!(label["label"], positive);
    }
    let got = support::get(&mut admin, &cred.id).await;
    assert_eq!(got.status, i32::from(pb::Status::Revoked));
    assert_eq!(got.status_reason, "leaked");

    let events = leaked_events(&daemon).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.credential_id, cred.id);
    assert_eq!(event.account_id, "acme");
    assert_eq!(event.actor, "leak-report:github");
    assert_eq!(event.outcome, i32::from(pb::AuditOutcome::Ok));
    assert!(event.detail.starts_with("revoked;"), "{}", event.detail);
    assert!(event.detail.contains("source: content"), "{}", event.detail);
    assert!(
        event
            .detail
            .contains("url: https://github.com/octo/leaky/blob/0123abc/settings.py")
    );

    // The same token again: still a true positive, no second change.
    let again = post(&daemon, &reporter.request(&report_body(&[&secret]))).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()[0]["label"], "true_positive");
    let events = leaked_events(&daemon).await;
    assert_eq!(events.len(), 2);
    assert!(events[1].detail.starts_with("unchanged (already revoked)"));
    assert_eq!(
        support::get(&mut admin, &cred.id).await.updated_at,
        got.updated_at
    );

    // One notice, to the owner.
    let mut mails = Vec::new();
    for _ in 0..100 {
        mails = server.messages_to(owner);
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(mails.len(), 1, "one leak notice to the owner");
    let mail = &mails[0].data;
    assert!(mail.contains("reported as leaked"), "{mail}");
    assert!(mail.contains(&cred.id));
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(server.messages_to(owner).len(), 1, "no second notice");

    let tokens = [secret.as_str(), never_issued.as_str(), garbage];
    let logs = daemon.logs();
    assert!(
        logs.contains("leak report received"),
        "the report was logged"
    );
    for token in tokens {
        assert!(!logs.contains(token), "a token reached the daemon's log");
        for event in leaked_events(&daemon).await {
            assert!(!event.detail.contains(token));
        }
        for message in server.messages() {
            assert!(!message.data.contains(token), "a token reached a mail");
        }
    }
    support::assert_no_secret_in_files(&daemon.data_dir, std::slice::from_ref(&secret));
}

/// A bad signature, an unknown key id, a missing header, malformed JSON,
/// an oversize body, too many tokens and another method are each refused
/// with a 4xx JSON `{code, message}`; the key stays valid and nothing is
/// audited as leaked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_reports_change_nothing() {
    let dir = support::temp_dir();
    let reporter = Reporter::new();
    let daemon = start(
        dir.path(),
        &reporter,
        "max_body_bytes = 4096\nmax_tokens = 3\n",
    );
    let mut admin = daemon.admin().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acme", "billing")).await;
    let body = report_body(&[&secret]);
    let impostor = Reporter::new();

    let oversize = format!(
        "[{{\"token\":{:?},\"type\":\"t\",\"url\":\"{}\",\"source\":\"content\"}}]",
        secret,
        "x".repeat(5000)
    );
    let cases = [
        (
            "bad signature",
            Request::new("POST", PATH)
                .header("Github-Public-Key-Identifier", KEY_ID)
                .header("Github-Public-Key-Signature", impostor.sign(&body))
                .body(&body),
            401,
            "BAD_SIGNATURE",
        ),
        (
            "signature of another body",
            Request::new("POST", PATH)
                .header("Github-Public-Key-Identifier", KEY_ID)
                .header("Github-Public-Key-Signature", reporter.sign(b"[]"))
                .body(&body),
            401,
            "BAD_SIGNATURE",
        ),
        (
            "undecodable signature",
            Request::new("POST", PATH)
                .header("Github-Public-Key-Identifier", KEY_ID)
                .header("Github-Public-Key-Signature", "not-base64!")
                .body(&body),
            401,
            "BAD_SIGNATURE",
        ),
        (
            "unknown key id",
            Request::new("POST", PATH)
                .header("Github-Public-Key-Identifier", "no-such-key")
                .header("Github-Public-Key-Signature", reporter.sign(&body))
                .body(&body),
            401,
            "UNKNOWN_KEY",
        ),
        (
            "missing signature",
            Request::new("POST", PATH)
                .header("Github-Public-Key-Identifier", KEY_ID)
                .body(&body),
            401,
            "UNSIGNED",
        ),
        (
            "missing key id",
            Request::new("POST", PATH)
                .header("Github-Public-Key-Signature", reporter.sign(&body))
                .body(&body),
            401,
            "UNSIGNED",
        ),
        (
            "malformed json",
            reporter.request(b"{\"token\": not json"),
            400,
            "MALFORMED",
        ),
        (
            "an object, not an array",
            reporter.request(br#"{"token":"x","type":"t","url":"","source":""}"#),
            400,
            "MALFORMED",
        ),
        (
            "oversize body",
            reporter.request(oversize.as_bytes()),
            413,
            "TOO_LARGE",
        ),
        (
            "too many tokens",
            reporter.request(&report_body(&[&secret, "a", "b", "c"])),
            413,
            "TOO_MANY_TOKENS",
        ),
        (
            "GET",
            Request::get(PATH)
                .header("Github-Public-Key-Identifier", KEY_ID)
                .header("Github-Public-Key-Signature", reporter.sign(b"")),
            405,
            "METHOD_NOT_ALLOWED",
        ),
    ];
    for (what, request, status, code) in cases {
        let answer = post(&daemon, &request).await;
        assert_eq!(answer.status, status, "{what}: {}", answer.text());
        assert_eq!(
            answer.header("content-type").as_deref(),
            Some("application/json"),
            "{what}"
        );
        let json = answer.json();
        assert_eq!(json["code"], code, "{what}: {json}");
        assert!(
            !json["message"].as_str().unwrap_or_default().is_empty(),
            "{what}"
        );
        assert!(
            !answer.text().contains(&secret),
            "{what}: the answer echoes the token"
        );
        assert_eq!(
            verify_result(&daemon, &secret).await,
            pb::VerifyResult::Valid,
            "{what} changed the key"
        );
    }
    assert!(leaked_events(&daemon).await.is_empty());
    assert!(
        !daemon.logs().contains(&secret),
        "a token reached the daemon's log"
    );

    // The same report, signed by the configured key, is accepted.
    let answer = post(&daemon, &reporter.request(&body)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        verify_result(&daemon, &secret).await,
        pb::VerifyResult::Revoked
    );
}

/// Without `[leaks] github_public_keys` the route is a JSON 404; a keys
/// file that is missing or not GitHub's document stops the daemon at start
/// with a message naming the key and the problem.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_without_keys_and_a_bad_keys_file_stops_the_daemon() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "[http]\nlisten = \"127.0.0.1:0\"\n");
    let reporter = Reporter::new();
    let answer = post(&daemon, &reporter.request(&report_body(&["x"]))).await;
    assert_eq!(answer.status, 404, "{}", answer.text());
    assert_eq!(answer.json()["code"], "NOT_FOUND");
    drop(daemon);

    for (name, content, expected) in [
        ("missing.json", None, "cannot read GitHub's public keys"),
        (
            "bad.json",
            Some("{\"keys\": []}"),
            "not the JSON of meta/public_keys/secret_scanning",
        ),
    ] {
        let bad = support::temp_dir();
        let keys = bad.path().join(name);
        if let Some(content) = content {
            std::fs::write(&keys, content).expect("write keys");
        }
        let config = bad.path().join("credd.toml");
        std::fs::write(
            &config,
            format!(
                "[http]\nlisten = \"127.0.0.1:0\"\n[leaks]\ngithub_public_keys = {:?}\n",
                keys.display().to_string()
            ),
        )
        .expect("write config");
        let (status, log) = support::run_until_exit(
            bad.path(),
            &config,
            &bad.path().join("data"),
            "credd.log",
            Duration::from_secs(20),
        );
        let status = status.expect("credd stopped by itself");
        assert!(!status.success(), "{log}");
        assert!(log.contains("leaks.github_public_keys"), "{log}");
        assert!(log.contains(expected), "{log}");
    }
}
