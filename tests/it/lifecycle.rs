//! The lifecycle sweep against the real daemon, with a policy in seconds and
//! a sweep every second: transitions show up through GetCredential, Verify
//! and ListCredentials within two sweep intervals of their deadline; use and
//! reactivation restart the inactivity clock; the first sweep at start
//! catches up after downtime; and `kill -9` during sweeps leaves neither a
//! half-applied transition nor a duplicated notice (checked by opening the
//! store of the stopped daemon).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use credd::api::pb;
use credd::lifecycle::NoticeKind;
use credd::secret::Pepper;
use credd::store::{OutboxNotice, Store};
use rand::Rng;
use tonic::Code;
use tonic::transport::Channel;

use crate::support::{self, Daemon};

use crate::support::Admin;
type Verifier = pb::credential_verifier_client::CredentialVerifierClient<Channel>;

/// How late a transition may be seen after its deadline: two sweep intervals
/// (the sweep runs every second), plus the polling period and an RPC.
const LATE_MS: i64 = 2_000 + 500;
/// How long a stopped daemon may take to exit after SIGTERM.
const STOP_LIMIT: Duration = Duration::from_secs(15);

/// A config with a sweep every second, usage flushed every second, and
/// `policy` lines added to `[policy]`.
fn config(policy: &str) -> String {
    config_with_sweep(policy, "* * * * * *")
}

/// [`config`] with another sweep schedule. Mail goes over SMTP to a closed
/// loopback port: every delivery fails (transiently, so it is retried and
/// nothing is dropped) and every queued notice stays in the outbox, where
/// the tests count them.
fn config_with_sweep(policy: &str, sweep: &str) -> String {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    format!(
        "[policy]\n{policy}\n\
         [schedule]\nsweep = \"{sweep}\"\nusage_flush_interval = \"1s\"\n\
         [email]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\n\
         smtp_port = {closed_port}\nsmtp_tls = \"none\"\nsmtp_timeout = \"2s\"\n"
    )
}

/// Expiry after 6 s with a warning 3 s ahead; unused for 3 s: disabled; for
/// 9 s: deleted.
const POLICY: &str = "default_lifetime = \"6s\"\n\
    expiry_warning_before = \"3s\"\n\
    inactivity_disable_after = \"3s\"\n\
    inactivity_delete_after = \"9s\"";

fn ms(n: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(n)
}

fn secs(n: i64) -> chrono::Duration {
    chrono::Duration::seconds(n)
}

fn time(ts: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    let ts = ts.expect("timestamp present");
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).expect("nanos"))
        .expect("valid timestamp")
}

fn lifetime(d: chrono::Duration) -> Option<prost_types::Duration> {
    let micros = d.num_microseconds().expect("lifetime fits");
    Some(prost_types::Duration {
        seconds: micros / 1_000_000,
        nanos: i32::try_from((micros % 1_000_000) * 1_000).expect("nanos"),
    })
}

async fn fetch(admin: &mut Admin, id: &str) -> Result<pb::Credential, tonic::Status> {
    admin
        .get_credential(pb::GetCredentialRequest { id: id.to_string() })
        .await
        .map(|r| r.into_inner().credential.expect("credential in response"))
}

async fn verify(verifier: &mut Verifier, secret: &str) -> pb::VerifyResponse {
    support::verify(verifier, secret, "", &[]).await
}

async fn list_ids(admin: &mut Admin, account: &str) -> Vec<String> {
    admin
        .list_credentials(pb::ListCredentialsRequest {
            account_id: account.to_string(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .credentials
        .into_iter()
        .map(|c| c.id)
        .collect()
}

/// When a polled state was first seen: the RPC that showed it was sent at
/// `sent` and answered at `answered`.
struct Seen<T> {
    value: T,
    sent: DateTime<Utc>,
    answered: DateTime<Utc>,
}

impl<T> Seen<T> {
    /// Asserts that the state appeared at `deadline`: not before it, and at
    /// most two sweep intervals after it.
    fn assert_on_time(&self, deadline: DateTime<Utc>, what: &str) {
        assert!(
            self.answered >= deadline,
            "{what} seen at {} before its deadline {deadline}",
            self.answered
        );
        let late = self.sent - deadline;
        assert!(
            late <= ms(LATE_MS),
            "{what} seen {} ms after its deadline {deadline}",
            late.num_milliseconds()
        );
    }
}

/// Polls GetCredential every 50 ms until `done` holds, for at most `limit`.
async fn wait_for(
    admin: &mut Admin,
    id: &str,
    limit: Duration,
    what: &str,
    done: impl Fn(&Result<pb::Credential, tonic::Status>) -> bool,
) -> Seen<Result<pb::Credential, tonic::Status>> {
    let started = Instant::now();
    loop {
        let sent = Utc::now();
        let value = fetch(admin, id).await;
        let answered = Utc::now();
        if done(&value) {
            return Seen {
                value,
                sent,
                answered,
            };
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not reached within {limit:?}; last seen {value:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn has_status(status: pb::Status) -> impl Fn(&Result<pb::Credential, tonic::Status>) -> bool {
    move |r| matches!(r, Ok(c) if c.status() == status)
}

fn is_not_found(r: &Result<pb::Credential, tonic::Status>) -> bool {
    matches!(r, Err(s) if s.code() == Code::NotFound)
}

/// Sleeps until the wall clock reaches `t`.
async fn sleep_until(t: DateTime<Utc>) {
    if let Ok(d) = (t - Utc::now()).to_std() {
        tokio::time::sleep(d).await;
    }
}

/// Opens the store of a stopped daemon (sled holds a lock while it runs).
fn open_store(data_dir: &Path) -> Store {
    let (pepper, created) = Pepper::load_or_create(&data_dir.join("pepper")).expect("pepper");
    assert!(!created, "the daemon's pepper file exists");
    Store::open(&data_dir.join("db"), 64 << 20, pepper.fingerprint()).expect("open store")
}

fn pepper_of(data_dir: &Path) -> Pepper {
    Pepper::load_or_create(&data_dir.join("pepper"))
        .expect("pepper")
        .0
}

/// The outbox grouped by (credential, kind).
fn notices_by_key(store: &Store) -> BTreeMap<(String, NoticeKind), Vec<OutboxNotice>> {
    let mut by_key: BTreeMap<(String, NoticeKind), Vec<OutboxNotice>> = BTreeMap::new();
    for notice in store.outbox().expect("read outbox") {
        by_key
            .entry((notice.credential_id.clone(), notice.kind))
            .or_default()
            .push(notice);
    }
    by_key
}

/// The one notice of `kind` for `id`.
fn single<'a>(
    by_key: &'a BTreeMap<(String, NoticeKind), Vec<OutboxNotice>>,
    id: &str,
    kind: NoticeKind,
) -> &'a OutboxNotice {
    let found = by_key
        .get(&(id.to_string(), kind))
        .map(Vec::as_slice)
        .unwrap_or_default();
    assert_eq!(found.len(), 1, "{kind:?} notices for {id}: {found:?}");
    &found[0]
}

fn kinds_for(
    by_key: &BTreeMap<(String, NoticeKind), Vec<OutboxNotice>>,
    id: &str,
) -> BTreeSet<NoticeKind> {
    by_key
        .keys()
        .filter(|(cid, _)| cid == id)
        .map(|(_, k)| *k)
        .collect()
}

fn stop(daemon: &mut Daemon) {
    let status = daemon.terminate(STOP_LIMIT);
    assert!(status.success(), "credd exited with {status}");
}

/// An unused credential is disabled (INACTIVITY) 3 s after creation, expires
/// and is recorded EXPIRED at 6 s, and is deleted at 9 s, each seen through
/// Get and Verify within two sweep intervals of its deadline and never before
/// it; once deleted it is gone from Get, List and Verify; the outbox holds
/// exactly one notice of each kind, with the right deadlines and delete date.
#[tokio::test(flavor = "multi_thread")]
async fn unused_credential_is_disabled_expired_and_deleted_on_time() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), &config(POLICY));
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let account = "acct-walk";
    let (cred, secret) = support::create(&mut admin, support::api_key(account, "walk")).await;
    let id = cred.id.clone();
    let created = time(cred.created_at.as_ref());
    let expires = time(cred.expires_at.as_ref());
    assert_eq!(expires - created, secs(6));
    let disable_at = created + secs(3);
    let delete_at = created + secs(9);
    let limit = Duration::from_secs(15);

    let seen = wait_for(
        &mut admin,
        &id,
        limit,
        "disabled",
        has_status(pb::Status::Disabled),
    )
    .await;
    seen.assert_on_time(disable_at, "DISABLED");
    let c = seen.value.expect("credential");
    assert_eq!(c.disabled_reason(), pb::DisabledReason::Inactivity);
    let v = verify(&mut verifier, &secret).await;
    assert_eq!(v.result(), pb::VerifyResult::Disabled);
    assert_eq!(v.disabled_reason(), pb::DisabledReason::Inactivity);

    let seen = wait_for(&mut admin, &id, limit, "expiry recorded", |r| {
        matches!(r, Ok(c) if c.status() == pb::Status::Expired
            && time(c.updated_at.as_ref()) >= expires)
    })
    .await;
    seen.assert_on_time(expires, "EXPIRED recorded by the sweep");
    assert_eq!(
        verify(&mut verifier, &secret).await.result(),
        pb::VerifyResult::Expired
    );
    assert_eq!(list_ids(&mut admin, account).await, vec![id.clone()]);

    let seen = wait_for(&mut admin, &id, limit, "deleted", is_not_found).await;
    seen.assert_on_time(delete_at, "deletion");
    let v = verify(&mut verifier, &secret).await;
    assert_eq!(v.result(), pb::VerifyResult::NotFound);
    assert!(v.credential_id.is_empty());
    assert!(list_ids(&mut admin, account).await.is_empty());

    stop(&mut daemon);
    let store = open_store(&daemon.data_dir);
    assert!(store.get(&id).expect("get").is_none());
    assert_eq!(store.deadline_count(), support::BOOTSTRAP_KEY_DEADLINES);
    let pepper = pepper_of(&daemon.data_dir);
    assert_eq!(
        store
            .lookup_secret(&pepper.hash(&secret).0)
            .expect("lookup"),
        None
    );
    let by_key = notices_by_key(&store);
    assert_eq!(by_key.len(), 4, "{by_key:?}");
    assert_eq!(
        single(&by_key, &id, NoticeKind::ExpiringSoon).deadline,
        expires
    );
    let disabled = single(&by_key, &id, NoticeKind::DisabledInactivity);
    assert_eq!(disabled.deadline, disable_at);
    assert_eq!(disabled.delete_at, Some(delete_at));
    assert_eq!(single(&by_key, &id, NoticeKind::Expired).deadline, expires);
    assert_eq!(
        single(&by_key, &id, NoticeKind::DeletedInactivity).deadline,
        delete_at
    );
    // The audit log keeps the creation and every transition, after the
    // bootstrap admin key's creation and the account's (made with its first
    // credential).
    assert_eq!(store.audit_count(), 2 + 5);
}

/// A credential verified about once a second stays ACTIVE well past the
/// disable time (twice the inactivity period), while one created alongside
/// it and never used is disabled; once the uses stop, the used one is
/// disabled 3 s after its last use, not earlier.
#[tokio::test(flavor = "multi_thread")]
async fn regular_use_keeps_a_credential_active() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &config(POLICY));
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let mut request = support::api_key("acct-use", "used");
    request.lifetime = lifetime(secs(60));
    let (used, used_secret) = support::create(&mut admin, request.clone()).await;
    request.name = "idle".to_string();
    let (idle, _) = support::create(&mut admin, request).await;
    let idle_disable_at = time(idle.created_at.as_ref()) + secs(3);

    let started = Instant::now();
    let mut n_uses = 0;
    while started.elapsed() < Duration::from_secs(7) {
        let v = verify(&mut verifier, &used_secret).await;
        assert_eq!(v.result(), pb::VerifyResult::Valid, "use {n_uses}");
        n_uses += 1;
        let c = fetch(&mut admin, &used.id).await.expect("get used");
        assert_eq!(c.status(), pb::Status::Active, "after {n_uses} uses");
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    assert!(n_uses >= 6, "{n_uses} uses");
    let idle_now = fetch(&mut admin, &idle.id).await.expect("get idle");
    assert!(Utc::now() > idle_disable_at + ms(LATE_MS));
    assert_eq!(idle_now.status(), pb::Status::Disabled);
    assert_eq!(idle_now.disabled_reason(), pb::DisabledReason::Inactivity);

    let c = fetch(&mut admin, &used.id).await.expect("get used");
    assert_eq!(c.status(), pb::Status::Active);
    let last_use = time(c.last_used_at.as_ref());
    assert!(Utc::now() - last_use < secs(2), "last use {last_use}");
    let seen = wait_for(
        &mut admin,
        &used.id,
        Duration::from_secs(10),
        "disabled after the last use",
        has_status(pb::Status::Disabled),
    )
    .await;
    seen.assert_on_time(last_use + secs(3), "DISABLED after the last use");
}

/// Reactivating a credential disabled for inactivity restarts its clock: it
/// is disabled again 3 s after the reactivation (not earlier), it is still
/// there after the delete time counted from creation has passed, and it is
/// deleted 9 s after the reactivation.
#[tokio::test(flavor = "multi_thread")]
async fn reactivation_restarts_the_inactivity_clock() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &config(POLICY));
    let mut admin = daemon.admin().await;
    let mut request = support::api_key("acct-react", "react");
    request.lifetime = lifetime(secs(60));
    let (cred, _) = support::create(&mut admin, request).await;
    let created = time(cred.created_at.as_ref());
    let limit = Duration::from_secs(15);

    let seen = wait_for(
        &mut admin,
        &cred.id,
        limit,
        "disabled",
        has_status(pb::Status::Disabled),
    )
    .await;
    seen.assert_on_time(created + secs(3), "first DISABLED");
    let reactivated = admin
        .reactivate_credential(pb::ReactivateCredentialRequest {
            id: cred.id.clone(),
        })
        .await
        .expect("reactivate")
        .into_inner()
        .credential
        .expect("credential");
    assert_eq!(reactivated.status(), pb::Status::Active);
    let r0 = time(reactivated.reactivated_at.as_ref());

    let seen = wait_for(
        &mut admin,
        &cred.id,
        limit,
        "disabled again",
        has_status(pb::Status::Disabled),
    )
    .await;
    seen.assert_on_time(r0 + secs(3), "DISABLED after reactivation");
    assert_eq!(
        seen.value.expect("credential").disabled_reason(),
        pb::DisabledReason::Inactivity
    );

    // Past the deletion time counted from creation (+9 s), and two sweeps more.
    sleep_until(created + secs(9) + ms(LATE_MS)).await;
    let c = fetch(&mut admin, &cred.id)
        .await
        .expect("still there after the original delete time");
    assert_eq!(c.status(), pb::Status::Disabled);

    let seen = wait_for(&mut admin, &cred.id, limit, "deleted", is_not_found).await;
    seen.assert_on_time(r0 + secs(9), "deletion after reactivation");
}

/// After downtime the first sweep at start applies everything that fell due
/// meanwhile, in order: with the scheduled sweep effectively off, a
/// credential that was warned, disabled and expired while the daemon was
/// down is recorded EXPIRED (with "disabled" and "expired" notices but no
/// "expiring soon", which would be too late), and a long-lived one is
/// DISABLED, right after the restart.
#[tokio::test(flavor = "multi_thread")]
async fn first_sweep_at_start_catches_up() {
    let dir = support::temp_dir();
    // Deleted after 12 s, so the restart lands well before any deletion.
    let policy = "default_lifetime = \"6s\"\n\
        expiry_warning_before = \"3s\"\n\
        inactivity_disable_after = \"3s\"\n\
        inactivity_delete_after = \"12s\"";
    // Midnight on 1 January only: every sweep in this test is a start sweep.
    let mut daemon = support::start(dir.path(), &config_with_sweep(policy, "0 0 0 1 1 *"));
    let mut admin = daemon.admin().await;
    let (short, short_secret) =
        support::create(&mut admin, support::api_key("acct-catch", "short")).await;
    let mut request = support::api_key("acct-catch", "long");
    request.lifetime = lifetime(secs(60));
    let (long, long_secret) = support::create(&mut admin, request).await;
    let short_created = time(short.created_at.as_ref());
    let short_expires = time(short.expires_at.as_ref());
    let long_created = time(long.created_at.as_ref());
    stop(&mut daemon);

    // Past the short one's warning, disable time and expiry (+3 s, +6 s),
    // and well before its deletion (+12 s).
    sleep_until(short_created + secs(7)).await;
    let log_before = daemon.logs().len();
    daemon.restart();
    let restarted = Utc::now();
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;

    let limit = Duration::from_secs(10);
    let seen = wait_for(
        &mut admin,
        &long.id,
        limit,
        "long disabled",
        has_status(pb::Status::Disabled),
    )
    .await;
    assert!(
        seen.sent - restarted < secs(5),
        "the start sweep took {} ms",
        (seen.sent - restarted).num_milliseconds()
    );
    let seen = wait_for(&mut admin, &short.id, limit, "short expiry recorded", |r| {
        matches!(r, Ok(c) if c.status() == pb::Status::Expired
            && time(c.updated_at.as_ref()) >= short_expires)
    })
    .await;
    assert!(seen.sent - restarted < secs(5));
    assert_eq!(
        verify(&mut verifier, &short_secret).await.result(),
        pb::VerifyResult::Expired
    );
    let v = verify(&mut verifier, &long_secret).await;
    assert_eq!(v.result(), pb::VerifyResult::Disabled);
    assert_eq!(v.disabled_reason(), pb::DisabledReason::Inactivity);

    stop(&mut daemon);
    // The short one's transitions, in the order they fell due.
    let log = &daemon.logs()[log_before..];
    let steps: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("lifecycle transition") && l.contains(&short.id))
        .map(|l| {
            [
                "expiry_warning",
                "disable_inactivity",
                "expire",
                "delete_inactivity",
            ]
            .into_iter()
            .find(|s| {
                l.contains(&format!("transition={s} "))
                    || l.contains(&format!("transition=\"{s}\""))
            })
            .unwrap_or("?")
        })
        .collect();
    assert_eq!(
        steps,
        ["expiry_warning", "disable_inactivity", "expire"],
        "{log}"
    );

    let store = open_store(&daemon.data_dir);
    let by_key = notices_by_key(&store);
    assert_eq!(
        kinds_for(&by_key, &short.id),
        BTreeSet::from([NoticeKind::DisabledInactivity, NoticeKind::Expired])
    );
    let disabled = single(&by_key, &short.id, NoticeKind::DisabledInactivity);
    assert_eq!(disabled.deadline, short_created + secs(3));
    assert_eq!(disabled.delete_at, Some(short_created + secs(12)));
    assert_eq!(
        single(&by_key, &short.id, NoticeKind::Expired).deadline,
        short_expires
    );
    assert_eq!(
        kinds_for(&by_key, &long.id),
        BTreeSet::from([NoticeKind::DisabledInactivity])
    );
    assert_eq!(
        single(&by_key, &long.id, NoticeKind::DisabledInactivity).delete_at,
        Some(long_created + secs(12))
    );
    assert_eq!(by_key.len(), 3);
}

/// Counts "lifecycle transition" lines appended to a log file since an offset.
struct LogWatch {
    file: std::fs::File,
    buffer: String,
    transitions: usize,
}

impl LogWatch {
    fn new(path: &Path, offset: usize) -> Self {
        let mut file = std::fs::File::open(path).expect("open log");
        file.seek(SeekFrom::Start(offset as u64)).expect("seek log");
        Self {
            file,
            buffer: String::new(),
            transitions: 0,
        }
    }

    fn poll(&mut self) -> usize {
        let mut chunk = String::new();
        let _ = self.file.read_to_string(&mut chunk);
        self.buffer.push_str(&chunk);
        if let Some(end) = self.buffer.rfind('\n') {
            let complete: String = self.buffer.drain(..=end).collect();
            self.transitions += complete.matches("lifecycle transition").count();
        }
        self.transitions
    }
}

/// Whether the last life in `log` was killed inside a sweep: a transition
/// was logged after the last finished sweep.
fn killed_mid_sweep(log: &str) -> bool {
    match (
        log.rfind("lifecycle transition"),
        log.rfind("sweep finished"),
    ) {
        (Some(t), Some(f)) => t > f,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// `kill -9` at random moments while sweeps work through 300 credentials
/// that fall due at about the same time, then a restart that finishes the
/// work: every credential is deleted with nothing left in any index, every
/// (credential, notice) is queued at most once, each has exactly the
/// notices its deadlines call for ("expired", "deleted", and "disabled" when
/// that came first), and the audit log holds each transition exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_during_sweeps_leaves_no_half_transition_or_duplicate_notice() {
    const N: usize = 300;
    const ACCOUNT: &str = "acct-kill";
    let dir = support::temp_dir();
    let policy = "default_lifetime = \"6s\"\n\
        expiry_warning_before = \"2s\"\n\
        inactivity_disable_after = \"3s\"\n\
        inactivity_delete_after = \"6s\"\n\
        max_credentials_per_account = 1000";
    let mut daemon = support::start(dir.path(), &config(policy));
    let admin = daemon.admin().await;

    // Everything expires at about `target`; whatever was created more than
    // 3 s before it (in the first 300 ms or so) is disabled first, the rest
    // expire first.
    let target = Utc::now() + ms(3_300);
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..4 {
        let mut admin = admin.clone();
        tasks.spawn(async move {
            let mut made = Vec::new();
            for i in (worker..N).step_by(4) {
                let mut request = support::api_key(ACCOUNT, &format!("bulk {i}"));
                request.lifetime = lifetime((target - Utc::now()).clamp(secs(1), secs(4)));
                made.push(support::create(&mut admin, request).await);
            }
            made
        });
    }
    let mut creds: Vec<(pb::Credential, String)> = Vec::with_capacity(N);
    while let Some(made) = tasks.join_next().await {
        creds.extend(made.expect("create task"));
    }
    assert_eq!(creds.len(), N);
    let created_in = Utc::now() - (target - ms(3_300));

    let mut rng = rand::rng();
    let mut kills = Vec::new();
    for round in 0..3 {
        let offset = daemon.logs().len();
        let mut watch = LogWatch::new(&daemon.log_path, offset);
        let want = rng.random_range(1..=if round == 0 { 300 } else { 150 });
        let started = Instant::now();
        while watch.poll() < want && started.elapsed() < Duration::from_secs(12) {
            std::thread::sleep(Duration::from_millis(1));
        }
        daemon.kill9();
        let life = daemon.logs()[offset..].to_string();
        kills.push((want, watch.transitions, killed_mid_sweep(&life)));
        daemon.restart();
    }
    eprintln!(
        "created {N} in {} ms; kills (wanted, seen, mid-sweep): {kills:?}",
        created_in.num_milliseconds()
    );
    assert!(
        kills.iter().any(|(_, _, mid)| *mid),
        "no kill landed inside a sweep: {kills:?}"
    );

    // Let the last life finish: every credential is deleted 6 s after its
    // creation, so all are gone a few sweeps after that.
    let mut admin = daemon.admin().await;
    let started = Instant::now();
    loop {
        let left = list_ids(&mut admin, ACCOUNT).await;
        if left.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} credentials still there",
            left.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop(&mut daemon);

    let store = open_store(&daemon.data_dir);
    let pepper = pepper_of(&daemon.data_dir);
    assert_eq!(
        store.deadline_count(),
        support::BOOTSTRAP_KEY_DEADLINES,
        "deadlines left behind"
    );
    assert_eq!(store.count_live(ACCOUNT, Utc::now()).expect("count"), 0);
    assert_eq!(store.scan(Some(ACCOUNT), None).count(), 0);
    let by_key = notices_by_key(&store);
    for ((id, kind), notices) in &by_key {
        assert_eq!(
            notices.len(),
            1,
            "{kind:?} for {id} queued {} times",
            notices.len()
        );
    }
    let ids: BTreeSet<&str> = creds.iter().map(|(c, _)| c.id.as_str()).collect();
    assert!(
        by_key.keys().all(|(id, _)| ids.contains(id.as_str())),
        "a notice for an unknown credential"
    );
    let mut expected_audits = N;
    let mut disabled_first = 0;
    for (cred, secret) in &creds {
        let id = cred.id.as_str();
        let created = time(cred.created_at.as_ref());
        let expires = time(cred.expires_at.as_ref());
        assert!(expires < created + secs(6), "expiry comes before deletion");
        assert!(store.get(id).expect("get").is_none(), "{id} not deleted");
        assert_eq!(
            store.lookup_secret(&pepper.hash(secret).0).expect("lookup"),
            None,
            "{id}: secret still indexed"
        );
        assert_eq!(single(&by_key, id, NoticeKind::Expired).deadline, expires);
        assert_eq!(
            single(&by_key, id, NoticeKind::DeletedInactivity).deadline,
            created + secs(6)
        );
        // Warning, expiry and deletion; the disable step when it came first.
        let disable_first = created + secs(3) < expires;
        let disabled = kinds_for(&by_key, id).contains(&NoticeKind::DisabledInactivity);
        assert_eq!(
            disabled, disable_first,
            "{id}: created {created}, expires {expires}"
        );
        if disable_first {
            let d = single(&by_key, id, NoticeKind::DisabledInactivity);
            assert_eq!(d.delete_at, Some(created + secs(6)));
            disabled_first += 1;
        }
        expected_audits += 3 + usize::from(disable_first);
    }
    eprintln!("{disabled_first} of {N} were disabled before they expired");
    // And the bootstrap admin key's creation and the account's.
    assert_eq!(store.audit_count(), 2 + expected_audits, "audit entries");
}
