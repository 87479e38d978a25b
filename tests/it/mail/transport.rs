//! The mail transport's configuration: `.eml` files, required STARTTLS, the
//! SMTP password file's mode, and invalid addresses.

use super::*;

/// The default file transport writes one `.eml` per message under
/// `<data_dir>/mail`, with the expected subjects and recipients (contacts,
/// else admin_to) and no secret.
#[tokio::test(flavor = "multi_thread")]
async fn file_transport_writes_eml_files() {
    let dir = support::temp_dir();
    let config = format!(
        "[policy]\n{EXPIRY_POLICY}\n[schedule]\nsweep = \"* * * * * *\"\n\
         usage_flush_interval = \"1s\"\n[email]\nadmin_to = [\"admin@example.com\"]\n"
    );
    let daemon = support::start(dir.path(), &config);
    let mut admin = daemon.admin().await;
    let (owned, owned_secret) = support::create(
        &mut admin,
        request("acct-mail-g", "owned", &["owner@example.com"]),
    )
    .await;
    let (orphan, orphan_secret) =
        support::create(&mut admin, request("acct-mail-g", "orphan", &[])).await;
    let mail_dir = daemon.data_dir.join("mail");

    let files = |mail_dir: &Path| -> Vec<Mail> {
        support::all_files(mail_dir)
            .into_iter()
            .filter(|(p, _)| p.extension().is_some_and(|e| e == "eml"))
            .map(|(_, bytes)| Mail::parse(&String::from_utf8_lossy(&bytes)))
            .collect()
    };
    let delivered = |mails: &[Mail], to: &str, id: &str, subject: &str| {
        mails.iter().any(|m| {
            m.subject() == subject
                && m.header("to").unwrap_or_default().contains(to)
                && m.text().contains(id)
                && m.html().contains("</html>")
        })
    };
    wait_for(
        "both expiry notices as files",
        Duration::from_secs(20),
        || {
            let mails = files(&mail_dir);
            [SOON_1, EXPIRED_1].iter().all(|s| {
                delivered(&mails, "owner@example.com", &owned.id, s)
                    && delivered(&mails, "admin@example.com", &orphan.id, s)
            })
        },
    )
    .await;
    tokio::time::sleep(LATE).await;
    let mails = files(&mail_dir);
    assert_eq!(
        mails.len(),
        4,
        "{:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    let secrets = [owned_secret.as_str(), orphan_secret.as_str()];
    for mail in &mails {
        let to = if mail.mentions(&owned.id) {
            "owner@example.com"
        } else {
            "admin@example.com"
        };
        assert_well_formed(mail, to, &secrets);
    }
    support::assert_no_secret_in_files(&mail_dir, &[owned_secret, orphan_secret]);
}

/// With `smtp_tls = "starttls"` and a server that does not offer STARTTLS,
/// nothing is sent in plain text: no MAIL FROM ever reaches the server and
/// the notice stays in the outbox.
#[tokio::test(flavor = "multi_thread")]
async fn required_starttls_refuses_a_plain_server() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let config = smtp_config(server.port(), EXPIRY_POLICY, "")
        .replace("smtp_tls = \"none\"", "smtp_tls = \"starttls\"");
    let mut daemon = support::start(dir.path(), &config);
    let mut admin = daemon.admin().await;
    support::create(
        &mut admin,
        request("acct-mail-h", "tls-only", &["owner@example.com"]),
    )
    .await;

    wait_for(
        "an attempt that stops after EHLO",
        Duration::from_secs(15),
        || {
            server.connections() >= 1
                && server.ehlos() >= 1
                && daemon.logs().contains("notice delivery failed")
        },
    )
    .await;
    tokio::time::sleep(LATE).await;
    assert_eq!(
        server.mail_commands(),
        0,
        "a MAIL FROM was sent without TLS"
    );
    assert!(server.messages().is_empty());
    assert!(
        stop_and_count_outbox(&mut daemon) >= 1,
        "the undelivered notice must stay in the outbox"
    );
}

/// A daemon with smtp_username and a group/world-readable password file
/// refuses to start and says "chmod 600" without showing the password; after
/// `chmod 600` it starts.
#[tokio::test(flavor = "multi_thread")]
async fn a_readable_smtp_password_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;

    let dir = support::temp_dir();
    let password_file = dir.path().join("smtp.pass");
    std::fs::write(&password_file, "hunter2-not-for-logs\n").expect("write password");
    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o644))
        .expect("chmod 644");
    let config = smtp_config(
        free_port(),
        EXPIRY_POLICY,
        &format!(
            "smtp_username = \"credd\"\nsmtp_password_file = \"{}\"",
            password_file.display()
        ),
    );
    let config_path = dir.path().join("credd.toml");
    std::fs::write(&config_path, &config).expect("write config");
    let (status, log) = support::run_until_exit(
        dir.path(),
        &config_path,
        &dir.path().join("data"),
        "refused.log",
        Duration::from_secs(20),
    );
    let status = status.expect("credd should exit by itself");
    assert!(
        !status.success(),
        "credd started with a readable password file"
    );
    assert!(log.contains("chmod 600"), "log: {log}");
    assert!(!log.contains("hunter2"), "the password was logged");

    std::fs::set_permissions(&password_file, std::fs::Permissions::from_mode(0o600))
        .expect("chmod 600");
    let mut daemon = support::start(dir.path(), &config);
    assert!(daemon.terminate(STOP_LIMIT).success());
    assert!(
        !daemon.logs().contains("hunter2"),
        "the password was logged"
    );
}

/// An invalid contact address is refused at create and update with
/// INVALID_ARGUMENT naming it; an invalid admin_to stops the daemon at start.
#[tokio::test(flavor = "multi_thread")]
async fn invalid_addresses_are_refused_by_name() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let status = support::expect_code(
        admin
            .create_credential(request(
                "acct-mail-j",
                "bad",
                &["ok@example.com", "not-an-address"],
            ))
            .await,
        Code::InvalidArgument,
        "create with a bad address",
    );
    assert!(
        status.message().contains("not-an-address"),
        "{}",
        status.message()
    );

    let (cred, _) = support::create(
        &mut admin,
        request("acct-mail-j", "good", &["ok@example.com"]),
    )
    .await;
    let status = support::expect_code(
        admin
            .update_credential(pb::UpdateCredentialRequest {
                id: cred.id.clone(),
                notify_emails: Some(pb::StringList {
                    values: vec!["no-at-sign.example.com".to_string()],
                }),
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
        "update with a bad address",
    );
    assert!(
        status.message().contains("no-at-sign.example.com"),
        "{}",
        status.message()
    );
    assert_eq!(
        support::get(&mut admin, &cred.id).await.notify_emails,
        vec!["ok@example.com".to_string()]
    );

    let other = support::temp_dir();
    let config_path = other.path().join("credd.toml");
    std::fs::write(&config_path, "[email]\nadmin_to = [\"bad-admin\"]\n").expect("write config");
    let (status, log) = support::run_until_exit(
        other.path(),
        &config_path,
        &other.path().join("data"),
        "refused.log",
        Duration::from_secs(20),
    );
    assert!(!status.expect("credd should exit by itself").success());
    assert!(log.contains("bad-admin"), "log: {log}");
}
