//! Credits in the engine: spending all or nothing, a refused request
//! spending nothing, the daily refill, admin changes, and what a restart
//! after a flush (and without one) keeps.

use super::*;
use crate::engine::{CreditsUpdate, NewCredits, VerifyQuery};
use crate::lifecycle::credits::{CreditChange, Refill, RefillInterval};

async fn with_credits(h: &Harness, remaining: u64, refill: Option<Refill>) -> (String, Secret) {
    let mut new = new_cred("acme", Kind::ApiKey);
    new.credits = Some(NewCredits { remaining, refill });
    let (view, secret) = h.engine.create(&admin(), new).await.unwrap();
    (view.record.id, secret)
}

fn spend(
    h: &Harness,
    secret: &Secret,
    cost: Option<u64>,
    scopes: &[&str],
) -> (VerifyOutcome, Option<u64>) {
    let scopes = strings(scopes);
    let v = h
        .engine
        .verify_query(&VerifyQuery {
            secret: secret.expose(),
            required_scopes: &scopes,
            cost,
            ..VerifyQuery::default()
        })
        .unwrap();
    (v.outcome, v.credential.and_then(|c| c.remaining))
}

impl Harness {
    /// A new engine over the same store: what a restarted daemon sees
    /// (nothing of the old engine's memory).
    fn reopen(&self) -> Engine {
        Engine::new(
            self.engine.store().clone(),
            pepper(),
            self.clock.clone() as Arc<dyn Clock>,
            Policy::standard(),
            "credd".to_string(),
        )
        .unwrap()
    }
}

fn remaining(h: &Harness, id: &str) -> Option<u64> {
    h.engine
        .get(&admin(), id)
        .unwrap()
        .credits
        .map(|c| c.remaining)
}

/// Each VALID answer spends its cost; a cost over what is left is
/// USAGE_EXCEEDED and spends nothing; cost 0 only checks; a refusal for
/// another reason spends nothing; Get shows what is left.
#[tokio::test]
async fn spends_all_or_nothing() {
    let h = harness();
    let (id, secret) = with_credits(&h, 3, None).await;
    let valid = VerifyOutcome::Valid { retires_at: None };
    assert_eq!(spend(&h, &secret, None, &[]), (valid, Some(2)));
    assert_eq!(spend(&h, &secret, Some(0), &[]), (valid, Some(2)));
    assert_eq!(
        spend(&h, &secret, Some(3), &[]),
        (VerifyOutcome::UsageExceeded, Some(2))
    );
    assert_eq!(
        spend(&h, &secret, Some(1), &["admin"]).0,
        VerifyOutcome::InsufficientScope
    );
    assert_eq!(remaining(&h, &id), Some(2));
    assert_eq!(spend(&h, &secret, Some(2), &[]), (valid, Some(0)));
    assert_eq!(
        spend(&h, &secret, None, &[]),
        (VerifyOutcome::UsageExceeded, Some(0))
    );
    // USAGE_EXCEEDED is no use.
    h.engine.flush_usage().await.unwrap();
    let huge = h.engine.verify_query(&VerifyQuery {
        secret: secret.expose(),
        cost: Some(2_000_000_000_000),
        ..VerifyQuery::default()
    });
    assert!(matches!(huge, Err(Error::InvalidArgument(m)) if m.contains("cost")));
}

/// A daily refill sets the uses left to its amount at 00:00 UTC, and Get
/// says when the next one is.
#[tokio::test]
async fn daily_refill() {
    let h = harness();
    let refill = Refill {
        interval: RefillInterval::Daily,
        amount: 5,
    };
    let (id, secret) = with_credits(&h, 1, Some(refill)).await;
    assert_eq!(spend(&h, &secret, None, &[]).1, Some(0));
    assert_eq!(
        spend(&h, &secret, None, &[]).0,
        VerifyOutcome::UsageExceeded
    );
    let tomorrow = (h.engine.now().date_naive() + Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    assert_eq!(
        h.engine.get(&admin(), &id).unwrap().next_refill_at,
        Some(tomorrow)
    );
    h.clock.set(tomorrow);
    assert_eq!(remaining(&h, &id), Some(5));
    assert_eq!(spend(&h, &secret, Some(2), &[]).1, Some(3));
}

/// Set, increment, decrement (not below zero) and unlimited; bad amounts
/// and refills change nothing.
#[tokio::test]
async fn admin_changes() {
    let h = harness();
    let (id, secret) = with_credits(&h, 3, None).await;
    spend(&h, &secret, None, &[]);
    let change = |c| CreditsUpdate::Change {
        change: Some(c),
        refill: None,
    };
    let after = |update| {
        let engine = h.engine.clone();
        let id = id.clone();
        async move {
            engine
                .update_credits(&admin(), &id, update)
                .await
                .map(|v| v.credits.map(|c| c.remaining))
        }
    };
    assert_eq!(
        after(change(CreditChange::Increment(10))).await.unwrap(),
        Some(12)
    );
    assert_eq!(
        after(change(CreditChange::Decrement(20))).await.unwrap(),
        Some(0)
    );
    assert_eq!(after(change(CreditChange::Set(7))).await.unwrap(), Some(7));
    assert_eq!(spend(&h, &secret, None, &[]).1, Some(6));
    let bad_refill = CreditsUpdate::Change {
        change: None,
        refill: Some(Some(Refill {
            interval: RefillInterval::Monthly { day: 32 },
            amount: 1,
        })),
    };
    assert!(
        matches!(after(bad_refill).await, Err(Error::InvalidArgument(m)) if m.contains("refill.day"))
    );
    assert_eq!(remaining(&h, &id), Some(6));
    assert_eq!(after(CreditsUpdate::Unlimited).await.unwrap(), None);
    let (outcome, left) = spend(&h, &secret, Some(1000), &[]);
    assert!(matches!(outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(left, None);
}

/// What a restart keeps: the state of the last flush (spends after it
/// come back, at most one flush interval's worth), and every admin change.
#[tokio::test]
async fn restart_keeps_the_flushed_state_and_admin_changes() {
    let h = harness();
    let (id, secret) = with_credits(&h, 10, None).await;
    spend(&h, &secret, Some(4), &[]);
    h.engine.flush_usage().await.unwrap();
    spend(&h, &secret, Some(1), &[]);
    assert_eq!(remaining(&h, &id), Some(5));
    let reopened = h.reopen();
    assert_eq!(
        reopened
            .get(&admin(), &id)
            .unwrap()
            .credits
            .map(|c| c.remaining),
        Some(6),
        "the unflushed spend came back, the flushed ones did not"
    );
    reopened
        .update_credits(
            &admin(),
            &id,
            CreditsUpdate::Change {
                change: Some(CreditChange::Set(2)),
                refill: None,
            },
        )
        .await
        .unwrap();
    drop(reopened);
    let again = h.reopen();
    assert_eq!(
        again
            .get(&admin(), &id)
            .unwrap()
            .credits
            .map(|c| c.remaining),
        Some(2)
    );
}
