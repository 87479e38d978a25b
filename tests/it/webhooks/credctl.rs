//! `credctl webhook create/list/test/deliveries` through the binary, with
//! `--json`: the secret printed once at create, the test event received
//! and signed, and the delivery listed as delivered.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::receiver::Receiver;
use super::*;

/// Runs credctl against `daemon` with the bootstrap key; returns the
/// parsed JSON it printed (panics on failure).
fn credctl(daemon: &Daemon, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_credctl"))
        .env_remove("CREDD_ADMIN_KEY_FILE")
        .env_remove("CREDD_ADDR")
        .args(["--addr", &daemon.url(), "--json", "--admin-key-file"])
        .arg(daemon.admin_key_file())
        .args(args)
        .output()
        .expect("run credctl");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "credctl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credctl_webhook_create_list_test_deliveries() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), &default_config());
    let receiver = Receiver::start().await;

    let created = credctl(
        &daemon,
        &[
            "webhook",
            "create",
            &receiver.url(),
            "--description",
            "ops",
            "--event",
            "credential.*",
        ],
    );
    let id = created["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("wh_"), "{created}");
    let secret = created["signing_secret"]
        .as_str()
        .expect("signing_secret")
        .to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(created["enabled"], true);
    assert_eq!(created["event_types"][0], "credential.*");

    let listed = credctl(&daemon, &["webhook", "list"]);
    // One endpoint prints as the object itself.
    assert_eq!(listed["id"], id.as_str(), "{listed}");
    assert!(listed.get("signing_secret").is_none(), "{listed}");
    assert!(!listed.to_string().contains(&secret));

    let tested = credctl(&daemon, &["webhook", "test", &id]);
    assert_eq!(tested["event_type"], "webhook.test", "{tested}");
    let event_id = tested["event_id"].as_str().expect("event_id").to_string();
    let r = receiver
        .wait_for(LIMIT, "the test event", |r| r.id() == event_id)
        .await;
    r.verify(&secret).expect("oracle");
    assert_eq!(r.event_type(), "webhook.test");

    let started = Instant::now();
    loop {
        let shown = credctl(&daemon, &["webhook", "deliveries", &id]);
        if shown["state"] == "WEBHOOK_DELIVERY_STATE_DELIVERED" {
            assert_eq!(shown["event_id"], event_id.as_str());
            assert_eq!(shown["attempts"][0]["status_code"], 200, "{shown}");
            break;
        }
        assert!(started.elapsed() < LIMIT, "not shown delivered: {shown}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
