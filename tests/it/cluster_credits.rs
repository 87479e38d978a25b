//! Credits on a cluster, end to end: two real credd nodes on a real etcd.
//! One balance spent through both nodes at once passes exactly as many
//! requests as it holds; a node killed with `kill -9` strands what it had
//! claimed (fewer uses, never more); a node stopped cleanly gives its
//! claim back, so the other spends all of it.

use std::time::{Duration, Instant};

use credd::api::pb;

use super::cluster::{etcd, start_node};
use crate::support::{self, Daemon};

fn with_credits(name: &str, remaining: u64) -> pb::CreateCredentialRequest {
    let mut request = support::api_key("acme", name);
    request.credits = Some(pb::Credits {
        remaining,
        refill: None,
    });
    request
}

/// Creates a key with credits on `a` and waits until `b` has it.
async fn metered(a: &Daemon, b: &Daemon, name: &str, remaining: u64) -> (String, String) {
    let (credential, secret) =
        support::create(&mut a.admin().await, with_credits(name, remaining)).await;
    let id = credential.id;
    let mut on_b = support::admin_on(b.channel().await, &a.admin_key());
    let started = Instant::now();
    while on_b
        .get_credential(pb::GetCredentialRequest { id: id.clone() })
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "b never saw {id}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    (id, secret)
}

type Verifier = pb::credential_verifier_client::CredentialVerifierClient<tonic::transport::Channel>;

/// One Verify of `secret`: its result.
async fn result(verifier: &mut Verifier, secret: &str) -> pb::VerifyResult {
    verifier
        .verify(support::verify_req(secret, "", &[]))
        .await
        .expect("verify")
        .into_inner()
        .result()
}

/// Verifies through `node` until it answers USAGE_EXCEEDED; how many
/// passed.
async fn spend_all(node: &Daemon, secret: &str) -> usize {
    let mut verifier = node.verifier().await;
    for passed in 0..10_000 {
        match result(&mut verifier, secret).await {
            pb::VerifyResult::Valid => {}
            pb::VerifyResult::UsageExceeded => return passed,
            other => panic!("{other:?}"),
        }
    }
    panic!("the balance never ran out");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_balance_holds_across_the_nodes() {
    let Some(etcd) = etcd("cluster_credits::one_balance_holds_across_the_nodes") else {
        return;
    };
    let shared = support::temp_dir();
    let a = start_node(shared.path(), "a", &etcd, "");
    let mut b = start_node(shared.path(), "b", &etcd, "");

    // 8 callers on each node at once: 300 pass, in all.
    let (_, secret) = metered(&a, &b, "shared", 300).await;
    let mut callers = tokio::task::JoinSet::new();
    for n in 0..16 {
        let node = if n % 2 == 0 { &a } else { &b };
        let mut verifier = node.verifier().await;
        let secret = secret.clone();
        callers.spawn(async move {
            let mut passed = 0;
            loop {
                match result(&mut verifier, &secret).await {
                    pb::VerifyResult::Valid => passed += 1,
                    pb::VerifyResult::UsageExceeded => return passed,
                    other => panic!("{other:?}"),
                }
            }
        });
    }
    let mut passed = 0;
    while let Some(n) = callers.join_next().await {
        passed += n.expect("caller");
    }
    assert_eq!(passed, 300);

    // A node killed with what it claimed strands it: fewer, never more.
    let (_, secret) = metered(&a, &b, "stranded", 100).await;
    let mut verifier = b.verifier().await;
    assert_eq!(
        result(&mut verifier, &secret).await,
        pb::VerifyResult::Valid
    );
    b.kill9();
    let on_a = spend_all(&a, &secret).await;
    assert!(on_a < 99, "b's claim is stranded: a passed {on_a}");
    b.restart();
    assert_eq!(spend_all(&b, &secret).await, 0, "the balance stays spent");

    // A node stopped cleanly gives its claim back.
    let (_, secret) = metered(&a, &b, "returned", 100).await;
    let mut verifier = b.verifier().await;
    assert_eq!(
        result(&mut verifier, &secret).await,
        pb::VerifyResult::Valid
    );
    assert!(b.terminate(Duration::from_secs(10)).success());
    assert_eq!(spend_all(&a, &secret).await, 99, "{}", a.logs());
}
