//! E-mail notices end to end: the real daemon with a policy in seconds, a
//! sweep every second and delivery every second, talking SMTP to the test
//! server of `smtp_server.rs` (or writing `.eml` files). Checks what arrives
//! (subjects, both alternatives, the facts, a Message-ID, never the secret),
//! to whom (notify_emails, else admin_to), how often (digests, once per
//! notice, also across restarts), and what happens when the server refuses,
//! fails for a while, is down or lacks STARTTLS (checked in the outbox of
//! the stopped daemon's store).
//!
//! The tests are split by topic (what arrives, retries, the transport); this
//! file holds the configuration, polling and daemon helpers they share, and
//! `mime.rs` reads the messages.

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

mod mime;
mod notices;
mod retries;
mod transport;

use mime::{Mail, assert_both, assert_well_formed, count_subject, has_subjects, mails_to, only};

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
