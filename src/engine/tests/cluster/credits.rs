//! Credits on a cluster: one balance, spent through both nodes, passes
//! exactly as many requests as it holds; a refill sets it anew for the
//! whole cluster; what a stopping node holds goes back to the pool.

use super::*;
use crate::engine::NewCredits;
use crate::lifecycle::credits::{Refill, RefillInterval};

async fn with_credits(engine: &Engine, remaining: u64, refill: Option<Refill>) -> (String, Secret) {
    let mut new = new_cred("acme", Kind::ApiKey);
    new.credits = Some(NewCredits { remaining, refill });
    let (view, secret) = engine.create(&admin(), new).await.unwrap();
    (view.record.id, secret)
}

fn valid(engine: &Engine, secret: &Secret) -> bool {
    match engine.verify(secret.expose(), None, &[]).unwrap().outcome {
        VerifyOutcome::Valid { .. } => true,
        VerifyOutcome::UsageExceeded => false,
        other => panic!("{other:?}"),
    }
}

/// Verifies through `a` and `b` in turn until both refuse; how many passed.
fn spend_all(a: &Engine, b: &Engine, secret: &Secret) -> usize {
    let (mut passed, mut a_open, mut b_open) = (0, true, true);
    for _ in 0..10_000 {
        if a_open {
            a_open = valid(a, secret);
            passed += usize::from(a_open);
        }
        if b_open {
            b_open = valid(b, secret);
            passed += usize::from(b_open);
        }
        if !a_open && !b_open {
            return passed;
        }
    }
    panic!("the balance never ran out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_balance_holds_across_nodes() {
    let Some(Pair { a, b, clock, _dirs }) = pair("engine::tests::cluster::credits") else {
        return;
    };
    let (id, secret) = with_credits(&a, 40, None).await;
    known(&b, &id).await;
    assert_eq!(spend_all(&a, &b, &secret), 40);
    for node in [&a, &b] {
        let shown = node
            .get(&admin(), &id)
            .unwrap()
            .credits
            .map(|c| c.remaining);
        assert_eq!(shown, Some(0));
    }

    // A daily refill to 20: each day the cluster passes 20 in all.
    let daily = Refill {
        interval: RefillInterval::Daily,
        amount: 20,
    };
    let (refilled_id, refilled) = with_credits(&a, 20, Some(daily)).await;
    known(&b, &refilled_id).await;
    assert_eq!(spend_all(&a, &b, &refilled), 20);
    clock.set(t0() + Duration::days(1));
    assert_eq!(spend_all(&a, &b, &refilled), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_node_gives_its_claim_back() {
    let Some(Pair { a, b, _dirs, .. }) = pair("engine::tests::cluster::credits_back") else {
        return;
    };
    let (id, secret) = with_credits(&a, 100, None).await;
    known(&b, &id).await;
    assert!(valid(&a, &secret), "a claims a share and spends one");
    let mut on_b = 0;
    while valid(&b, &secret) {
        on_b += 1;
        assert!(on_b <= 100);
    }
    assert!(on_b < 99, "a holds part of the balance: b passed {on_b}");
    assert_eq!(a.return_claimed_credits(), 1);
    eventually("b sees the uses a gave back", || async {
        b.get(&admin(), &id).unwrap().credits.map(|c| c.remaining) == Some(99 - on_b as u64)
    })
    .await;
    while valid(&b, &secret) {
        on_b += 1;
    }
    assert_eq!(on_b, 99, "every use but a's one passed on b");
}
