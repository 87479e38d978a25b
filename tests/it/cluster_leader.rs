//! The cluster's one sweeper and one mailer: real credd nodes on a real
//! 3-member etcd and a real SMTP server on loopback. When the leader is
//! killed with -9, another node takes over within the lease, sweeps what
//! falls due and mails each notice once; a leader stopped (SIGSTOP) past
//! its lease and woken again does not mail what its successor mails.

use std::path::Path;
use std::time::{Duration, Instant};

use credd::api::pb;

use crate::etcd_cluster::{self, EtcdCluster};
use crate::smtp_server::SmtpServer;
use crate::support::{self, Daemon};

/// The line a node logs when it becomes the leader.
const LEADS: &str = "this node leads the sweeps and the mail";

/// A key's warning at +3 s and its expiry at +6 s; sweeps and delivery
/// every second; the leader's lease 2 s.
fn node_config(shared: &Path, etcd: &EtcdCluster, smtp_port: u16) -> String {
    let endpoints = etcd.endpoints_toml();
    format!(
        "pepper_file = {pepper:?}\n\
         [policy]\ndefault_lifetime = \"6s\"\nexpiry_warning_before = \"3s\"\n\
         inactivity_disable_after = \"1h\"\ninactivity_delete_after = \"2h\"\n\
         [schedule]\nsweep = \"* * * * * *\"\nusage_flush_interval = \"1s\"\n\
         [email]\ntransport = \"smtp\"\nsmtp_tls = \"none\"\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {smtp_port}\nsmtp_timeout = \"5s\"\ndelivery_interval = \"1s\"\n\
         [store]\nbackend = \"etcd\"\nendpoints = [{endpoints}]\nprefix = \"/credd-lead/\"\n\
         lease_ttl_seconds = 2\n",
        pepper = shared.join("pepper").display().to_string(),
    )
}

fn start_node(shared: &Path, name: &str, config: &str) -> Daemon {
    let dir = shared.join(name);
    std::fs::create_dir_all(&dir).expect("node dir");
    support::start(&dir, config)
}

/// Waits until `done` holds, for up to `limit`.
async fn wait_until(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Messages whose subject mentions `words`.
fn count(smtp: &SmtpServer, words: &str) -> usize {
    smtp.messages()
        .iter()
        .filter(|m| {
            m.data
                .lines()
                .any(|l| l.starts_with("Subject:") && l.contains(words))
        })
        .count()
}

/// A leader (node A, started first), a second node B, and a key with a
/// contact created through B: everything a test of the takeover needs.
/// Bind `_etcd` and `_dir` by name: a field left to `..` is dropped at
/// once, and with it the etcd cluster.
struct Setup {
    _etcd: EtcdCluster,
    smtp: SmtpServer,
    _dir: tempfile::TempDir,
    a: Daemon,
    b: Daemon,
    admin: support::Admin,
    cred: pb::Credential,
}

/// [`Setup`], or None when etcd is missing.
async fn setup(test: &str) -> Option<Setup> {
    let binary = etcd_cluster::require_etcd(test)?;
    let etcd = EtcdCluster::start(&binary, 3);
    let smtp = SmtpServer::start().await;
    let dir = support::temp_dir();
    let config = node_config(dir.path(), &etcd, smtp.port());
    let a = start_node(dir.path(), "a", &config);
    wait_until("A leads", Duration::from_secs(10), || {
        a.logs().contains(LEADS)
    })
    .await;
    let b = start_node(dir.path(), "b", &config);
    let mut admin = support::admin_on(b.channel().await, &a.admin_key());
    let request = pb::CreateCredentialRequest {
        notify_emails: vec!["ops@example.com".into()],
        ..support::api_key("acme", "svc")
    };
    let (cred, _) = support::create(&mut admin, request).await;
    Some(Setup {
        _etcd: etcd,
        smtp,
        _dir: dir,
        a,
        b,
        admin,
        cred,
    })
}

/// Waits for both notices, then longer than a delivery round and a sweep
/// (any duplicate shows) and checks each arrived once.
async fn each_notice_once(smtp: &SmtpServer) {
    wait_until("both notices", Duration::from_secs(20), || {
        count(smtp, "expires within") >= 1 && count(smtp, "has expired") >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(count(smtp, "expires within"), 1, "{:?}", smtp.messages());
    assert_eq!(count(smtp, "has expired"), 1, "{:?}", smtp.messages());
}

/// The leader (node A) is killed with -9 right after a key is created on
/// B: B takes over within the 2 s lease, sweeps the warning (+3 s) and the
/// expiry (+6 s) on time, and each notice arrives exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn another_node_takes_over_when_the_leader_dies() {
    let Some(Setup {
        _etcd,
        _dir,
        smtp,
        mut a,
        b,
        mut admin,
        cred,
    }) = setup("cluster_leader::another_node_takes_over").await
    else {
        return;
    };
    let killed = Instant::now();
    a.kill9();
    wait_until("B leads", Duration::from_secs(10), || {
        b.logs().contains(LEADS)
    })
    .await;
    eprintln!("B leads {:?} after the leader was killed", killed.elapsed());
    each_notice_once(&smtp).await;
    assert_eq!(
        support::get(&mut admin, &cred.id).await.status(),
        pb::Status::Expired
    );
}

/// The leader is stopped (SIGSTOP) past its lease: B takes over and mails.
/// When A wakes (SIGCONT), it gives up leadership instead of sweeping or
/// mailing again, so each notice still arrives once.
#[tokio::test(flavor = "multi_thread")]
async fn a_leader_woken_after_its_lease_mails_nothing() {
    let Some(Setup {
        _etcd,
        _dir,
        smtp,
        a,
        b,
        ..
    }) = setup("cluster_leader::a_leader_woken").await
    else {
        return;
    };
    a.signal(libc::SIGSTOP);
    wait_until("B leads", Duration::from_secs(10), || {
        b.logs().contains(LEADS)
    })
    .await;
    wait_until("both notices", Duration::from_secs(20), || {
        count(&smtp, "expires within") >= 1 && count(&smtp, "has expired") >= 1
    })
    .await;
    a.signal(libc::SIGCONT);
    wait_until("A steps down", Duration::from_secs(10), || {
        let logs = a.logs();
        logs.contains("no longer leads") || logs.contains("leader election interrupted")
    })
    .await;
    each_notice_once(&smtp).await;
}
