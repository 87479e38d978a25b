//! What arrives and to whom: each notice kind once with its facts and never
//! the secret, admin_to for credentials without contacts, one digest per
//! recipient and sweep, and no traffic for a notice without recipients.

use super::*;

/// A credential with notify_emails gets each of the four notices exactly
/// once, only at its contact: subject, text and HTML, name (escaped in
/// HTML), id, account, environment, hint, ISO and human dates, the credctl
/// command, a distinct Message-ID, and never the secret.
#[tokio::test(flavor = "multi_thread")]
async fn every_notice_kind_arrives_once_with_the_facts_and_without_the_secret() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        &smtp_config(
            server.port(),
            FULL_POLICY,
            "admin_to = [\"admin@example.com\"]",
        ),
    );
    let mut admin = daemon.admin().await;
    let owner = "owner@example.com";
    let (cred, secret) = support::create(
        &mut admin,
        request("acct-mail-a", "billing & <sync>", &[owner]),
    )
    .await;
    let created = time(cred.created_at.as_ref());
    let expires = time(cred.expires_at.as_ref());
    let deleted = created + chrono::Duration::seconds(6);

    let all = [SOON_1, DISABLED_1, EXPIRED_1, DELETED_1];
    wait_for("all four notices", Duration::from_secs(25), || {
        has_subjects(&server, owner, &all)
    })
    .await;
    tokio::time::sleep(LATE).await;

    let mails = mails_to(&server, owner);
    assert_eq!(
        mails.len(),
        4,
        "subjects: {:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    assert!(
        server.messages_to("admin@example.com").is_empty(),
        "a credential with contacts must not be mailed to admin_to"
    );
    let mut ids: Vec<&str> = Vec::new();
    for mail in &mails {
        assert_well_formed(mail, owner, &[&secret]);
        for fact in [
            cred.id.as_str(),
            "acct-mail-a",
            cred.secret_hint.as_str(),
            "live",
        ] {
            assert_both(mail, fact);
        }
        assert!(mail.text().contains("billing & <sync>"), "{}", mail.text());
        assert!(
            mail.html().contains("billing &amp; &lt;sync&gt;") && !mail.html().contains("<sync>"),
            "{}",
            mail.html()
        );
        ids.push(mail.header("message-id").unwrap_or_default());
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "Message-IDs must differ: {ids:?}");

    let soon = &mails[only(&mails, SOON_1)];
    assert_both(soon, &iso(expires));
    assert_both(soon, &human(expires));
    assert_both(soon, &format!("credctl rotate {}", cred.id));

    let expired = &mails[only(&mails, EXPIRED_1)];
    assert_both(expired, &iso(expires));
    assert_both(expired, &human(expires));
    assert_both(
        expired,
        "credctl create --account acct-mail-a --kind api --env live",
    );

    let disabled = &mails[only(&mails, DISABLED_1)];
    assert_both(disabled, &iso(deleted));
    assert_both(disabled, &human(deleted));
    assert_both(disabled, &format!("credctl reactivate {}", cred.id));

    let gone = &mails[only(&mails, DELETED_1)];
    assert_both(gone, &iso(deleted));
    assert!(
        !gone.text().contains("credctl reactivate"),
        "{}",
        gone.text()
    );
}

/// A credential without notify_emails is mailed to every admin_to address
/// (one message each), while a credential with contacts goes only to them.
#[tokio::test(flavor = "multi_thread")]
async fn credentials_without_contacts_go_to_admin_to() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        &smtp_config(
            server.port(),
            EXPIRY_POLICY,
            "admin_to = [\"admin1@example.com\", \"admin2@example.com\"]",
        ),
    );
    let mut admin = daemon.admin().await;
    let (orphan, orphan_secret) =
        support::create(&mut admin, request("acct-mail-b", "orphan", &[])).await;
    let (owned, owned_secret) = support::create(
        &mut admin,
        request("acct-mail-b", "owned", &["owner@example.com"]),
    )
    .await;
    assert!(orphan.notify_emails.is_empty());

    let recipients = [
        "admin1@example.com",
        "admin2@example.com",
        "owner@example.com",
    ];
    wait_for(
        "warnings to the admins and the owner",
        Duration::from_secs(20),
        || {
            recipients.iter().all(|r| {
                mails_to(&server, r)
                    .iter()
                    .any(|m| m.subject().contains("within 3s"))
            })
        },
    )
    .await;
    let secrets = [orphan_secret.as_str(), owned_secret.as_str()];
    for admin_address in &recipients[..2] {
        let mails = mails_to(&server, admin_address);
        assert_eq!(
            count_subject(&mails, SOON_1),
            1,
            "{admin_address}: {:?}",
            mails.iter().map(Mail::subject).collect::<Vec<_>>()
        );
        for mail in &mails {
            assert_well_formed(mail, admin_address, &secrets);
            assert_both(mail, &orphan.id);
            assert!(
                !mail.mentions(&owned.id),
                "{admin_address} got the owned credential"
            );
        }
    }
    for mail in &mails_to(&server, "owner@example.com") {
        assert_well_formed(mail, "owner@example.com", &secrets);
        assert_both(mail, &owned.id);
        assert!(
            !mail.mentions(&orphan.id),
            "the owner got the orphan credential"
        );
    }
}

/// Three credentials for one contact falling due in the same sweep produce
/// one digest per notice kind ("3 credentials expire within 3s", "3
/// credentials have expired") naming all three, not three messages.
#[tokio::test(flavor = "multi_thread")]
async fn notices_for_one_recipient_in_one_sweep_form_one_digest() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let policy = "default_lifetime = \"1h\"\n\
        expiry_warning_before = \"3s\"\n\
        inactivity_disable_after = \"2h\"\n\
        inactivity_delete_after = \"3h\"";
    let daemon = support::start(dir.path(), &smtp_config(server.port(), policy, ""));
    let mut admin = daemon.admin().await;
    let team = "team@example.com";
    let mut creds = Vec::new();
    let mut secrets = Vec::new();
    for name in ["one", "two", "three"] {
        let (cred, secret) =
            support::create(&mut admin, request("acct-mail-c", name, &[team])).await;
        creds.push(cred);
        secrets.push(secret);
    }
    // The same expiry for all three, so their deadlines fall in one sweep.
    let expires_at = prost_types::Timestamp {
        seconds: support::unix_now() + 6,
        nanos: 0,
    };
    for cred in &creds {
        admin
            .update_credential(pb::UpdateCredentialRequest {
                id: cred.id.clone(),
                expires_at: Some(expires_at),
                ..Default::default()
            })
            .await
            .expect("update expiry");
    }

    let soon = "[credd] 3 credentials expire within 3s";
    let expired = "[credd] 3 credentials have expired";
    wait_for("both digests", Duration::from_secs(20), || {
        has_subjects(&server, team, &[soon, expired])
    })
    .await;
    tokio::time::sleep(LATE).await;
    let mails = mails_to(&server, team);
    assert_eq!(
        mails.len(),
        2,
        "expected two digests, got {:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
    for subject in [soon, expired] {
        let mail = &mails[only(&mails, subject)];
        assert_well_formed(mail, team, &secret_refs);
        for cred in &creds {
            assert_both(mail, &cred.id);
            assert_both(mail, &cred.secret_hint);
        }
    }
}

/// A notice with no recipient (no notify_emails, empty admin_to) is settled
/// at once without any SMTP traffic, and logged as such.
#[tokio::test(flavor = "multi_thread")]
async fn a_notice_without_any_recipient_is_settled_at_once() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &smtp_config(server.port(), EXPIRY_POLICY, ""));
    let mut admin = daemon.admin().await;
    support::create(&mut admin, request("acct-mail-n", "nobody", &[])).await;

    let handled = |daemon: &Daemon| daemon.logs().matches("notice has no recipient").count();
    wait_for("the warning to be handled", Duration::from_secs(15), || {
        handled(&daemon) >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(handled(&daemon), 1, "logged more than once");
    assert_eq!(server.connections(), 0, "no recipient, yet SMTP was used");
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
}
