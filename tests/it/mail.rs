//! E-mail notices end to end: the real daemon with a policy in seconds, a
//! sweep every second and delivery every second, talking SMTP to the test
//! server of `smtp_server.rs` (or writing `.eml` files). Checks what arrives
//! (subjects, both alternatives, the facts, a Message-ID, never the secret),
//! to whom (notify_emails, else admin_to), how often (digests, once per
//! notice, also across restarts), and what happens when the server refuses,
//! fails for a while, is down or lacks STARTTLS (checked in the outbox of
//! the stopped daemon's store).

use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{DateTime, Utc};
use credd::api::pb;
use credd::secret::Pepper;
use credd::store::Store;
use tonic::Code;

use crate::smtp_server::{Received, SmtpServer};
use crate::support::{self, Daemon};

/// How long a stopped daemon may take to exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// How long to keep watching for a duplicate after the expected messages
/// arrived: more than one delivery round (every second, and after every
/// sweep).
const LATE: Duration = Duration::from_millis(1500);
/// Polling period of every wait.
const POLL: Duration = Duration::from_millis(100);

/// Every notice within 6 s of creation: warning at +2 s, disabled at +3 s,
/// expired at +5 s, deleted at +6 s.
const FULL_POLICY: &str = "default_lifetime = \"5s\"\n\
    expiry_warning_before = \"3s\"\n\
    inactivity_disable_after = \"3s\"\n\
    inactivity_delete_after = \"6s\"";

/// Only the expiry notices: warning at +2 s, expired at +5 s.
const EXPIRY_POLICY: &str = "default_lifetime = \"5s\"\n\
    expiry_warning_before = \"3s\"\n\
    inactivity_disable_after = \"1h\"\n\
    inactivity_delete_after = \"2h\"";

const SOON_1: &str = "[credd] 1 credential expires within 3s";
const EXPIRED_1: &str = "[credd] 1 credential has expired";
const DISABLED_1: &str = "[credd] 1 credential disabled for inactivity";
const DELETED_1: &str = "[credd] 1 credential deleted for inactivity";

/// A config with sweeps every second, SMTP without TLS to `port` on
/// loopback, delivery every second, `policy` in `[policy]` and `email`
/// lines added to `[email]`.
fn smtp_config(port: u16, policy: &str, email: &str) -> String {
    format!(
        "[policy]\n{policy}\n\
         [schedule]\nsweep = \"* * * * * *\"\nusage_flush_interval = \"1s\"\n\
         [email]\ntransport = \"smtp\"\nsmtp_tls = \"none\"\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {port}\nsmtp_timeout = \"5s\"\ndelivery_interval = \"1s\"\n{email}\n"
    )
}

/// An API key request for `account` with these contacts.
fn request(account: &str, name: &str, emails: &[&str]) -> pb::CreateCredentialRequest {
    pb::CreateCredentialRequest {
        notify_emails: emails.iter().map(|e| e.to_string()).collect(),
        ..support::api_key(account, name)
    }
}

fn time(ts: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    let ts = ts.expect("timestamp present");
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).expect("nanos"))
        .expect("valid timestamp")
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn human(t: DateTime<Utc>) -> String {
    t.format("%A, %-d %B %Y").to_string()
}

/// Polls `done` every 100 ms until it holds; fails after `limit`.
async fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    let max_polls = limit.as_millis() / POLL.as_millis() + 1;
    for _ in 0..max_polls {
        if done() {
            return;
        }
        if started.elapsed() > limit {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    assert!(done(), "timed out after {limit:?} waiting for {what}");
}

/// SIGTERM, then the number of notices left in the stopped daemon's outbox.
fn stop_and_count_outbox(daemon: &mut Daemon) -> usize {
    let status = daemon.terminate(STOP_LIMIT);
    assert!(status.success(), "credd exited with {status}");
    let (pepper, _) = Pepper::load_or_create(&daemon.data_dir.join("pepper")).expect("pepper");
    let store = Store::open(&daemon.data_dir.join("db"), 64 << 20, pepper.fingerprint())
        .expect("open store");
    store.outbox_len()
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

// ---- A small MIME reader: headers, and the decoded text and HTML parts ----

/// A parsed message.
#[derive(Debug)]
struct Mail {
    /// As transmitted or written.
    raw: String,
    /// Unfolded headers, names lowercased.
    headers: Vec<(String, String)>,
    /// Decoded text/plain alternative.
    text: Option<String>,
    /// Decoded text/html alternative.
    html: Option<String>,
    /// Envelope recipients (SMTP) or empty (files).
    envelope_to: Vec<String>,
    /// Envelope sender (SMTP) or empty (files).
    envelope_from: String,
}

impl Mail {
    fn from_received(received: &Received) -> Mail {
        Mail {
            envelope_to: received.to.clone(),
            envelope_from: received.from.clone(),
            ..Mail::parse(&received.data)
        }
    }

    fn parse(raw: &str) -> Mail {
        let normalized = raw.replace("\r\n", "\n");
        let (head, body) = split_head(&normalized);
        let headers = unfold(head);
        let mut mail = Mail {
            raw: raw.to_string(),
            headers,
            text: None,
            html: None,
            envelope_to: Vec::new(),
            envelope_from: String::new(),
        };
        let content_type = mail.header("content-type").unwrap_or_default().to_string();
        let encoding = mail
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_string();
        if let Some(boundary) = param(&content_type, "boundary") {
            for part in parts(body, &boundary) {
                let (part_head, part_body) = split_head(part);
                let part_headers = unfold(part_head);
                let get = |name: &str| {
                    part_headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.to_ascii_lowercase())
                        .unwrap_or_default()
                };
                let decoded = decode(part_body, &get("content-transfer-encoding"));
                let part_type = get("content-type");
                if part_type.starts_with("text/plain") {
                    mail.text = Some(decoded);
                } else if part_type.starts_with("text/html") {
                    mail.html = Some(decoded);
                }
            }
        } else if content_type.to_ascii_lowercase().starts_with("text/plain") {
            mail.text = Some(decode(body, &encoding.to_ascii_lowercase()));
        }
        mail
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn subject(&self) -> &str {
        self.header("subject").unwrap_or_default()
    }

    fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }

    fn html(&self) -> &str {
        self.html.as_deref().unwrap_or_default()
    }

    /// The raw message and both decoded alternatives.
    fn all_forms(&self) -> [&str; 3] {
        [&self.raw, self.text(), self.html()]
    }

    /// Whether any form of the message contains `needle`.
    fn mentions(&self, needle: &str) -> bool {
        self.all_forms().iter().any(|f| f.contains(needle))
    }
}

fn split_head(message: &str) -> (&str, &str) {
    let message = message.trim_start_matches('\n');
    message.split_once("\n\n").unwrap_or((message, ""))
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    for header in &mut headers {
        header.1 = header.1.trim().to_string();
    }
    headers
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .skip(1)
        .take_while(|p| !p.starts_with("--"))
        .collect()
}

fn decode(body: &str, encoding: &str) -> String {
    match encoding.trim() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("valid base64 body");
            String::from_utf8(bytes).expect("utf-8 body")
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    }
}

fn quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 body")
}

/// The messages to `recipient`, parsed.
fn mails_to(server: &SmtpServer, recipient: &str) -> Vec<Mail> {
    server
        .messages_to(recipient)
        .iter()
        .map(Mail::from_received)
        .collect()
}

fn count_subject(mails: &[Mail], subject: &str) -> usize {
    mails.iter().filter(|m| m.subject() == subject).count()
}

fn has_subjects(server: &SmtpServer, recipient: &str, subjects: &[&str]) -> bool {
    let mails = mails_to(server, recipient);
    subjects.iter().all(|s| count_subject(&mails, s) > 0)
}

/// Asserts what every notice message must be: from credd, to `recipient`,
/// a Message-ID, both alternatives, and none of `secrets` anywhere.
fn assert_well_formed(mail: &Mail, recipient: &str, secrets: &[&str]) {
    let subject = mail.subject();
    assert!(subject.starts_with("[credd] "), "subject {subject:?}");
    if !mail.envelope_to.is_empty() {
        assert_eq!(mail.envelope_to, vec![recipient.to_string()], "{subject}");
        assert_eq!(mail.envelope_from, "credd@localhost", "{subject}");
    }
    let to = mail.header("to").unwrap_or_default();
    assert!(to.contains(recipient), "{subject}: To {to:?}");
    let from = mail.header("from").unwrap_or_default();
    assert!(from.contains("credd@localhost"), "{subject}: From {from:?}");
    let message_id = mail.header("message-id").unwrap_or_default();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@localhost>") && message_id.len() > 20,
        "{subject}: Message-ID {message_id:?}"
    );
    let content_type = mail.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{subject}: Content-Type {content_type:?}"
    );
    assert!(!mail.text().is_empty(), "{subject}: no text/plain part");
    assert!(
        mail.html().contains("<html") && mail.html().contains("<table"),
        "{subject}: no text/html part: {:?}",
        mail.html()
    );
    for secret in secrets {
        assert!(!secret.is_empty());
        for form in mail.all_forms() {
            assert!(!form.contains(secret), "{subject}: the secret was mailed");
        }
    }
}

/// Asserts that `needle` is in both the text and the HTML alternative.
fn assert_both(mail: &Mail, needle: &str) {
    assert!(
        mail.text().contains(needle),
        "{}: text lacks {needle:?}:\n{}",
        mail.subject(),
        mail.text()
    );
    assert!(
        mail.html().contains(needle),
        "{}: HTML lacks {needle:?}:\n{}",
        mail.subject(),
        mail.html()
    );
}

fn only(mails: &[Mail], subject: &str) -> usize {
    let n = count_subject(mails, subject);
    assert_eq!(
        n,
        1,
        "expected one {subject:?}, got {n}; subjects: {:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    mails
        .iter()
        .position(|m| m.subject() == subject)
        .expect("present")
}

// ---- The tests ----

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
