//! Delivery when the server refuses or fails: retries with back-off, permanent
//! refusals, a server coming up late, restarts, per-recipient back-off,
//! notices too old to send, and audited rejections.

use super::*;

/// While the server answers 451 to MAIL FROM, nothing is settled and the
/// daemon retries with back-off; after recovery each notice arrives exactly
/// once and the outbox is empty.
#[tokio::test(flavor = "multi_thread")]
async fn transient_failures_are_retried_until_delivered_once() {
    let server = SmtpServer::start().await;
    server.set_tempfail(true);
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &smtp_config(server.port(), EXPIRY_POLICY, ""));
    let mut admin = daemon.admin().await;
    let owner = "owner@example.com";
    let (_cred, secret) =
        support::create(&mut admin, request("acct-mail-d", "flaky", &[owner])).await;

    wait_for("two refused attempts", Duration::from_secs(15), || {
        server.mail_commands() >= 2
    })
    .await;
    assert!(server.messages().is_empty());
    assert!(daemon.logs().contains("will retry"), "no retry logged");
    server.set_tempfail(false);

    wait_for(
        "both notices after recovery",
        Duration::from_secs(25),
        || has_subjects(&server, owner, &[SOON_1, EXPIRED_1]),
    )
    .await;
    tokio::time::sleep(LATE).await;
    let mails = mails_to(&server, owner);
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    for subject in [SOON_1, EXPIRED_1] {
        assert_well_formed(&mails[only(&mails, subject)], owner, &[&secret]);
    }
    assert!(server.mail_commands() > mails.len());
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
}

/// A recipient refused with 550 is not retried and does not hold back the
/// credential's other recipient; the notice still leaves the outbox.
#[tokio::test(flavor = "multi_thread")]
async fn a_permanently_refused_recipient_does_not_block_the_others() {
    let server = SmtpServer::start().await;
    let gone = "gone@example.com";
    let ok = "ok@example.com";
    server.reject(gone);
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &smtp_config(server.port(), EXPIRY_POLICY, ""));
    let mut admin = daemon.admin().await;
    let (_cred, secret) =
        support::create(&mut admin, request("acct-mail-e", "split", &[gone, ok])).await;

    wait_for(
        "both notices to the good recipient",
        Duration::from_secs(20),
        || has_subjects(&server, ok, &[SOON_1, EXPIRED_1]),
    )
    .await;
    tokio::time::sleep(LATE).await;
    let mails = mails_to(&server, ok);
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    for subject in [SOON_1, EXPIRED_1] {
        assert_well_formed(&mails[only(&mails, subject)], ok, &[&secret]);
    }
    assert!(server.messages_to(gone).is_empty());
    assert_eq!(
        server.rcpt_commands(gone),
        2,
        "the refused recipient must be tried once per notice, not retried"
    );
    assert!(daemon.logs().contains("refused permanently"));
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
}

/// With no server listening, delivery fails and is retried; once a server
/// listens on the port the notice arrives. The same holds when the server
/// goes away later and comes back.
#[tokio::test(flavor = "multi_thread")]
async fn delivery_resumes_when_the_server_comes_up() {
    let port = free_port();
    let dir = support::temp_dir();
    // Warning at +6 s, expiry at +12 s: room to bring the server up between.
    let policy = "default_lifetime = \"12s\"\n\
        expiry_warning_before = \"6s\"\n\
        inactivity_disable_after = \"1h\"\n\
        inactivity_delete_after = \"2h\"";
    let soon = "[credd] 1 credential expires within 6s";
    let mut daemon = support::start(dir.path(), &smtp_config(port, policy, ""));
    let mut admin = daemon.admin().await;
    let owner = "owner@example.com";
    let (_cred, secret) =
        support::create(&mut admin, request("acct-mail-f", "patient", &[owner])).await;

    let failures = |daemon: &Daemon| daemon.logs().matches("notice delivery failed").count();
    wait_for(
        "a failed delivery while down",
        Duration::from_secs(20),
        || failures(&daemon) >= 1,
    )
    .await;
    let mut server = SmtpServer::start_on(port).await;
    wait_for(
        "the warning once the server is up",
        Duration::from_secs(20),
        || has_subjects(&server, owner, &[soon]),
    )
    .await;
    assert!(!has_subjects(&server, owner, &[EXPIRED_1]));

    server.stop().await;
    let before = failures(&daemon);
    wait_for(
        "a failed delivery while down again",
        Duration::from_secs(20),
        || failures(&daemon) > before,
    )
    .await;
    server.restart().await;
    wait_for(
        "the expiry once the server is back",
        Duration::from_secs(20),
        || has_subjects(&server, owner, &[EXPIRED_1]),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mails = mails_to(&server, owner);
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    for subject in [soon, EXPIRED_1] {
        assert_well_formed(&mails[only(&mails, subject)], owner, &[&secret]);
    }
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
}

/// A delivered notice is not mailed again after a restart: warning and
/// expiry each arrive once although the daemon is stopped and started after
/// each of them.
#[tokio::test(flavor = "multi_thread")]
async fn delivered_notices_are_not_mailed_again_after_restart() {
    let server = SmtpServer::start().await;
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &smtp_config(server.port(), EXPIRY_POLICY, ""));
    let mut admin = daemon.admin().await;
    let owner = "owner@example.com";
    support::create(&mut admin, request("acct-mail-r", "restarted", &[owner])).await;

    wait_for("the warning", Duration::from_secs(15), || {
        has_subjects(&server, owner, &[SOON_1])
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(daemon.terminate(STOP_LIMIT).success());
    daemon.restart();
    wait_for("the expiry", Duration::from_secs(15), || {
        has_subjects(&server, owner, &[EXPIRED_1])
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(daemon.terminate(STOP_LIMIT).success());
    daemon.restart();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mails = mails_to(&server, owner);
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    only(&mails, SOON_1);
    only(&mails, EXPIRED_1);
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
}

/// Back-off is per recipient: while one contact's server answers 451 at
/// RCPT, the credential's other contact is served at once; the deferred one
/// gets the notice once after recovery, and only then does it leave the
/// outbox.
#[tokio::test(flavor = "multi_thread")]
async fn a_deferred_recipient_does_not_delay_the_others() {
    let server = SmtpServer::start().await;
    let slow = "slow@example.com";
    let ok = "ok@example.com";
    server.set_defer(slow, true);
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &smtp_config(server.port(), EXPIRY_POLICY, ""));
    let mut admin = daemon.admin().await;
    let (_cred, secret) =
        support::create(&mut admin, request("acct-mail-s", "deferred", &[slow, ok])).await;

    wait_for(
        "the warning to the other recipient",
        Duration::from_secs(15),
        || has_subjects(&server, ok, &[SOON_1]),
    )
    .await;
    wait_for("a retried deferral", Duration::from_secs(15), || {
        server.rcpt_commands(slow) >= 2
    })
    .await;
    assert!(server.messages_to(slow).is_empty());
    server.set_defer(slow, false);
    wait_for(
        "both notices to the deferred recipient",
        Duration::from_secs(25),
        || has_subjects(&server, slow, &[SOON_1, EXPIRED_1]),
    )
    .await;
    tokio::time::sleep(LATE).await;
    for recipient in [slow, ok] {
        let mails = mails_to(&server, recipient);
        assert_eq!(
            mails.len(),
            2,
            "{recipient}: {:?}",
            mails.iter().map(Mail::subject).collect::<Vec<_>>()
        );
        for subject in [SOON_1, EXPIRED_1] {
            assert_well_formed(&mails[only(&mails, subject)], recipient, &[&secret]);
        }
    }
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
}

/// A notice still undelivered after `email.max_notice_age` is dropped with
/// an error log and an audit entry, and is not sent after the server
/// recovers.
#[tokio::test(flavor = "multi_thread")]
async fn notices_older_than_max_notice_age_are_dropped() {
    let server = SmtpServer::start().await;
    server.set_tempfail(true);
    let dir = support::temp_dir();
    let mut daemon = support::start(
        dir.path(),
        &smtp_config(server.port(), EXPIRY_POLICY, "max_notice_age = \"2s\""),
    );
    let mut admin = daemon.admin().await;
    let (cred, _) = support::create(
        &mut admin,
        request("acct-mail-o", "stale", &["owner@example.com"]),
    )
    .await;

    let dropped = |daemon: &Daemon| {
        daemon
            .logs()
            .matches("longer than email.max_notice_age")
            .count()
    };
    // Generous: under a loaded test run the retries' backoff (with jitter)
    // spaces the rounds that notice the age; done is done at once.
    wait_for("both notices dropped", Duration::from_secs(45), || {
        dropped(&daemon) >= 2
    })
    .await;
    assert!(server.mail_commands() >= 1, "delivery was never attempted");
    server.set_tempfail(false);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(server.messages().is_empty(), "a dropped notice was sent");
    assert_eq!(dropped(&daemon), 2);
    assert_eq!(stop_and_count_outbox(&mut daemon), 0, "outbox not empty");
    let (pepper, _) = Pepper::load_or_create(&daemon.data_dir.join("pepper")).expect("pepper");
    let store = Store::open(&daemon.data_dir.join("db"), 64 << 20, pepper.fingerprint())
        .expect("open store");
    // admin_key.create (the bootstrap key), account.create (with the first
    // credential), credential.create, lifecycle.expiry_warning,
    // lifecycle.expire, and one notice.dropped per notice.
    assert_eq!(store.audit_count(), 7, "audit entries");
    assert!(store.get(&cred.id).expect("read").is_some());
}

/// A permanent refusal is audited even when the notice cannot settle yet
/// because another recipient is still being retried.
#[tokio::test(flavor = "multi_thread")]
async fn rejection_audit_survives_an_unsettled_round() {
    let server = SmtpServer::start().await;
    let (gone, slow) = ("gone@example.com", "slow@example.com");
    server.reject(gone);
    server.set_defer(slow, true);
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &smtp_config(server.port(), EXPIRY_POLICY, ""));
    let mut admin = daemon.admin().await;
    support::create(&mut admin, request("acct-mail-s", "audit", &[gone, slow])).await;
    wait_for("both rejections", Duration::from_secs(20), || {
        server.rcpt_commands(gone) >= 2
    })
    .await;
    server.set_defer(slow, false);
    wait_for("both to slow", Duration::from_secs(30), || {
        has_subjects(&server, slow, &[SOON_1, EXPIRED_1])
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(stop_and_count_outbox(&mut daemon), 0);
    let (pepper, _) = Pepper::load_or_create(&daemon.data_dir.join("pepper")).expect("pepper");
    let store = Store::open(&daemon.data_dir.join("db"), 64 << 20, pepper.fingerprint())
        .expect("open store");
    // bootstrap admin key + account + create + expiry_warning + expire +
    // notice.rejected x2
    assert_eq!(store.audit_count(), 7);
}
