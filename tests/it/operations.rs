//! Operations: systemd readiness notifications over a real `NOTIFY_SOCKET`,
//! the Prometheus endpoint, and graceful shutdown while calls are in flight.

use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::support;

/// Reads datagrams until one contains `want`, or fails after `limit`.
fn wait_for_datagram(socket: &UnixDatagram, want: &str, limit: Duration) -> String {
    let deadline = std::time::Instant::now() + limit;
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while std::time::Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            seen.push_str(&text);
            seen.push('\n');
            if text.lines().any(|l| l == want) {
                return seen;
            }
        }
    }
    panic!("no {want} within {limit:?}; saw: {seen}");
}

/// credd tells systemd READY=1 once it listens, and STOPPING=1 on SIGTERM,
/// then exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn notifies_ready_then_stopping() {
    let dir = support::temp_dir();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind notify socket");
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let socket_env = socket_path.to_string_lossy().to_string();
    let mut daemon = support::start_with_env(dir.path(), "", &[("NOTIFY_SOCKET", &socket_env)]);
    let ready = wait_for_datagram(&socket, "READY=1", Duration::from_secs(10));
    assert!(ready.contains("STATUS=listening on"), "{ready}");
    // Ready means serving: a call succeeds right away.
    let mut admin = daemon.admin().await;
    support::create(&mut admin, support::api_key("acct-ops", "ready")).await;
    daemon.signal(libc::SIGTERM);
    wait_for_datagram(&socket, "STOPPING=1", Duration::from_secs(10));
    let status = daemon.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}");
}

/// The metrics endpoint serves Prometheus text with Verify results, admin
/// calls and no credential ids or secrets in any label.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_endpoint_is_scrapable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        &format!(
            "[metrics]\nlisten = \"127.0.0.1:{port}\"\n\n[schedule]\nusage_flush_interval = \"1s\"\n"
        ),
    );
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (credential, secret) =
        support::create(&mut admin, support::api_key("acct-metrics", "scraped")).await;
    let id = credential.id;
    verifier
        .verify(support::verify_req(&secret, "", &[]))
        .await
        .expect("verify");
    verifier
        .verify(support::verify_req(&support::flip_char(&secret), "", &[]))
        .await
        .expect("verify");
    // The verify cache's figures are published with each usage flush (1 s).
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let body = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .expect("request");
        let mut body = String::new();
        let _ = stream.read_to_string(&mut body);
        body
    })
    .await
    .expect("scrape");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(
        body.contains("credd_verify_total{result=\"VERIFY_RESULT_VALID\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("credd_verify_total{result=\"VERIFY_RESULT_NOT_FOUND\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("credd_admin_calls_total{rpc=\"CreateCredential\",code=\"OK\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("credd_verify_duration_seconds_bucket"),
        "{body}"
    );
    assert!(
        body.contains("credd_verify_cache_lookups_total{result=\"miss\"}"),
        "{body}"
    );
    let entries = body
        .lines()
        .find_map(|l| l.strip_prefix("credd_verify_cache_entries "))
        .unwrap_or_else(|| panic!("no credd_verify_cache_entries in {body}"));
    assert!(
        entries.trim().parse::<f64>().is_ok_and(|n| n >= 1.0),
        "the verified key is cached: {entries}"
    );
    assert!(!body.contains(&id), "a credential id is used as a label");
    assert!(!body.contains(&secret), "a secret reached the metrics");
}

/// SIGTERM while many Verify and create calls are in flight: the daemon
/// finishes them, exits 0, and every create it acknowledged is there after
/// a restart.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_drains_and_exits_zero() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let (_, secret) = support::create(&mut admin, support::api_key("acct-drain", "hot")).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let mut verifier = daemon.verifier().await;
        let mut admin = admin.clone();
        let secret = secret.clone();
        let stop = stop.clone();
        tasks.spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..2_000 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                if i % 10 == 0 {
                    match admin
                        .create_credential(support::api_key(
                            &format!("acct-drain-{worker}"),
                            &format!("k{i}"),
                        ))
                        .await
                    {
                        Ok(r) => acknowledged.push(r.into_inner().credential.expect("c").id),
                        Err(_) => break,
                    }
                } else if verifier
                    .verify(support::verify_req(&secret, "", &[]))
                    .await
                    .is_err()
                {
                    break;
                }
            }
            acknowledged
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = daemon.terminate(Duration::from_secs(30));
        (daemon, status)
    })
    .await
    .expect("terminate");
    let (mut daemon, status) = status;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(status.success(), "exit status {status:?}");
    let mut acknowledged = Vec::new();
    while let Some(result) = tasks.join_next().await {
        acknowledged.extend(result.expect("load task"));
    }
    assert!(
        !acknowledged.is_empty(),
        "no create was acknowledged under load"
    );
    daemon.restart();
    let mut admin = daemon.admin().await;
    for id in &acknowledged {
        support::get(&mut admin, id).await;
    }
    let logs = daemon.logs();
    assert!(logs.contains("database flushed; credd stopped"), "{logs}");
}

/// A call whose request never finishes keeps the drain waiting for the whole
/// grace period; a second SIGTERM ends the process at once (exit 130).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_exits_at_once() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "shutdown_grace = \"120s\"\n");
    // An HTTP/2 request whose body never ends: in flight until the client
    // gives up, which it does not.
    let tcp = tokio::net::TcpStream::connect(daemon.addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(connection);
    let mut client = client.ready().await.unwrap();
    let request = http::Request::post(format!(
        "http://{}/credd.v1.CredentialVerifier/Verify",
        daemon.addr
    ))
    .header("content-type", "application/grpc")
    .header("te", "trailers")
    .body(())
    .unwrap();
    let (_response, mut body) = client.send_request(request, false).unwrap();
    // Half a gRPC frame header: the handler is waiting for the rest.
    body.send_data(bytes::Bytes::from_static(&[0, 0]), false)
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    daemon.signal(libc::SIGTERM);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        daemon.logs().contains("shutdown requested"),
        "{}",
        daemon.logs()
    );
    let started = std::time::Instant::now();
    daemon.signal(libc::SIGTERM);
    let status = tokio::task::spawn_blocking(move || daemon.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
    drop(body);
}
