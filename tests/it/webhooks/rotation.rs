//! Rotating an endpoint's signing secret: during the overlap every
//! request carries two signatures (space-separated), one by the new
//! secret and one by the old, each accepted by the oracle with its own
//! secret; once the overlap ends (3 s here), only the new one.

use std::time::Duration;

use credd::api::pb;

use super::receiver::{Received, Receiver};
use super::*;

/// Which of `secrets` signed each signature of `r` (by index); panics on
/// a signature none of them made.
fn signers(r: &Received, secrets: &[&str]) -> Vec<usize> {
    r.signatures()
        .iter()
        .map(|sig| {
            assert!(sig.starts_with("v1,"), "{sig}");
            let by: Vec<usize> = secrets
                .iter()
                .enumerate()
                .filter(|(_, s)| r.verify_one(s, sig).is_ok())
                .map(|(i, _)| i)
                .collect();
            assert_eq!(by.len(), 1, "signature {sig} verified by {by:?}");
            by[0]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_signs_with_both_secrets_during_the_overlap() {
    let dir = support::temp_dir();
    let daemon = support::start(
        dir.path(),
        &webhooks_config(&["0s", "1s", "1s", "2s"], "3s"),
    );
    let receiver = Receiver::start().await;
    let mut hooks = hooks(&daemon).await;
    let (endpoint, old) = create_hook(&mut hooks, &receiver.url(), "", &[]).await;
    assert_eq!(endpoint.signing_secrets, 1);
    assert!(endpoint.previous_secret_retires_at.is_none());

    let by_credential = |id: String| move |r: &Received| r.json()["data"]["credential_id"] == id;
    let (before, _) = credential(&daemon, "rot", "before").await;
    let r = receiver
        .wait_for(LIMIT, "before the rotation", by_credential(before))
        .await;
    assert_eq!(r.signatures().len(), 1, "{}", r.header("webhook-signature"));
    r.verify(&old).expect("oracle, old secret");

    let rotated = hooks
        .rotate_webhook_secret(pb::RotateWebhookSecretRequest {
            id: endpoint.id.clone(),
        })
        .await
        .expect("rotate")
        .into_inner();
    let new = rotated.signing_secret;
    assert!(new.starts_with("whsec_") && new != old);
    let shown = rotated.webhook.expect("endpoint");
    assert_eq!(shown.signing_secrets, 2);
    let retires = shown.previous_secret_retires_at.expect("retires_at");
    let left = retires.seconds - support::unix_now();
    assert!(
        (1..=4).contains(&left),
        "the old secret retires in {left} s"
    );
    assert_eq!(get_hook(&mut hooks, &endpoint.id).await.signing_secrets, 2);

    let (during, _) = credential(&daemon, "rot", "during").await;
    let r = receiver
        .wait_for(LIMIT, "during the overlap", by_credential(during))
        .await;
    assert_eq!(
        r.signatures().len(),
        2,
        "two signatures during the overlap: {}",
        r.header("webhook-signature")
    );
    let mut by = signers(&r, &[&old, &new]);
    by.sort_unstable();
    assert_eq!(by, [0, 1], "one signature by each secret");
    r.verify(&old).expect("oracle, old secret alone");
    r.verify(&new).expect("oracle, new secret alone");

    // After the overlap: the new secret alone.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (after, _) = credential(&daemon, "rot", "after").await;
    let r = receiver
        .wait_for(LIMIT, "after the overlap", by_credential(after))
        .await;
    assert_eq!(
        r.signatures().len(),
        1,
        "one signature after the overlap: {}",
        r.header("webhook-signature")
    );
    assert_eq!(signers(&r, &[&old, &new]), [1]);
    r.verify(&new).expect("oracle, new secret");
    assert!(r.verify(&old).is_err(), "the old secret no longer signs");
    let now = get_hook(&mut hooks, &endpoint.id).await;
    assert_eq!(now.signing_secrets, 1, "{now:?}");
    assert!(now.previous_secret_retires_at.is_none(), "{now:?}");

    // Neither secret is in the logs or the data files.
    let logs = daemon.logs();
    for secret in [&old, &new] {
        let body = secret.trim_start_matches("whsec_");
        assert!(!logs.contains(body), "a signing secret in the logs");
        support::assert_no_secret_in_files(&daemon.data_dir, &[secret.clone(), body.to_string()]);
    }
}
