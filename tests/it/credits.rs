//! Credits through the real daemon: spending by Verify, USAGE_EXCEEDED
//! spending nothing, UpdateCredits, the refill shown by Get, bad input,
//! and what survives: a graceful stop keeps every spend, a kill -9 gives
//! back exactly the spends since the last flush, an admin change is
//! durable when acknowledged.

use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support;

/// A key with `remaining` credits (and a refill).
fn with_credits(remaining: u64, refill: Option<pb::Refill>) -> pb::CreateCredentialRequest {
    let mut request = support::api_key("acme", "metered");
    request.credits = Some(pb::Credits { remaining, refill });
    request
}

fn verify_cost(secret: &str, cost: Option<u64>) -> pb::VerifyRequest {
    pb::VerifyRequest {
        cost,
        ..support::verify_req(secret, "", &[])
    }
}

async fn remaining(admin: &mut support::Admin, id: &str) -> Option<u64> {
    support::get(admin, id).await.credits.map(|c| c.remaining)
}

/// Spends and refusals as documented; across a SIGTERM every spend stays,
/// across a kill -9 the spends since the last flush come back, and an
/// acknowledged UpdateCredits survives a kill -9.
#[tokio::test(flavor = "multi_thread")]
async fn credits_are_spent_and_survive_as_documented() {
    let dir = support::temp_dir();
    // No periodic flush during the test: only shutdown and admin changes write.
    let mut daemon = support::start(dir.path(), "[schedule]\nusage_flush_interval = \"1h\"\n");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let (cred, secret) = support::create(&mut admin, with_credits(5, None)).await;

    let answer = verifier
        .verify(verify_cost(&secret, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.remaining, Some(4));
    let answer = verifier
        .verify(verify_cost(&secret, Some(3)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.remaining, Some(1));
    let answer = verifier
        .verify(verify_cost(&secret, Some(2)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.result(), pb::VerifyResult::UsageExceeded);
    assert_eq!(answer.remaining, Some(1), "nothing spent");
    let refused = pb::VerifyRequest {
        required_scopes: vec!["admin".to_string()],
        ..verify_cost(&secret, Some(1))
    };
    let answer = verifier.verify(refused).await.unwrap().into_inner();
    assert_eq!(answer.result(), pb::VerifyResult::InsufficientScope);
    assert_eq!(remaining(&mut admin, &cred.id).await, Some(1));

    // A graceful stop flushes: the spends stay spent.
    drop((admin, verifier));
    assert!(daemon.terminate(Duration::from_secs(20)).success());
    daemon.restart();
    let mut admin = daemon.admin().await;
    assert_eq!(remaining(&mut admin, &cred.id).await, Some(1));

    // A kill -9 before the next flush gives back the spend since the last one.
    let mut verifier = daemon.verifier().await;
    let answer = verifier
        .verify(verify_cost(&secret, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.remaining, Some(0));
    daemon.kill9();
    daemon.restart();
    let mut admin = daemon.admin().await;
    assert_eq!(
        remaining(&mut admin, &cred.id).await,
        Some(1),
        "one interval's spends came back"
    );

    // An acknowledged admin change is durable at once.
    let changed = admin
        .update_credits(pb::UpdateCreditsRequest {
            id: cred.id.clone(),
            change: Some(pb::update_credits_request::Change::Set(9)),
            refill: Some(pb::Refill {
                interval: pb::RefillInterval::Monthly.into(),
                amount: 50,
                day: 31,
            }),
            clear_refill: false,
        })
        .await
        .unwrap()
        .into_inner()
        .credential
        .unwrap();
    assert_eq!(changed.credits.as_ref().map(|c| c.remaining), Some(9));
    assert!(changed.next_refill_at.is_some());
    daemon.kill9();
    daemon.restart();
    let mut admin = daemon.admin().await;
    let got = support::get(&mut admin, &cred.id).await;
    assert_eq!(got.credits.as_ref().map(|c| c.remaining), Some(9));
    let refill = got.credits.and_then(|c| c.refill).expect("refill");
    assert_eq!((refill.amount, refill.day), (50, 31));
    // The next refill is at 00:00 UTC on the 31st or the month's last day.
    let next = chrono::DateTime::from_timestamp(got.next_refill_at.unwrap().seconds, 0).unwrap();
    assert_eq!(next.time(), chrono::NaiveTime::MIN);
    assert!(next.date_naive() > chrono::Utc::now().date_naive() - chrono::Duration::days(1));
}

/// Bad credits, refills, changes and costs are INVALID_ARGUMENT naming the
/// field, and change nothing.
#[tokio::test(flavor = "multi_thread")]
async fn bad_credit_requests_are_refused() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut verifier = daemon.verifier().await;
    let monthly = |day, amount| pb::Refill {
        interval: pb::RefillInterval::Monthly.into(),
        amount,
        day,
    };
    for (refill, says) in [
        (monthly(32, 5), "refill.day"),
        (monthly(0, 5), "refill.day"),
        (monthly(3, 0), "refill.amount"),
        (pb::Refill::default(), "refill.interval"),
    ] {
        let status = support::expect_code(
            admin.create_credential(with_credits(5, Some(refill))).await,
            Code::InvalidArgument,
            says,
        );
        assert!(
            status.message().contains(says),
            "{says}: {}",
            status.message()
        );
    }
    let (cred, secret) = support::create(&mut admin, with_credits(5, None)).await;
    let status = support::expect_code(
        verifier
            .verify(verify_cost(&secret, Some(2_000_000_000_000)))
            .await,
        Code::InvalidArgument,
        "huge cost",
    );
    assert!(status.message().contains("cost"), "{}", status.message());
    let status = support::expect_code(
        admin
            .update_credits(pb::UpdateCreditsRequest {
                id: cred.id.clone(),
                ..pb::UpdateCreditsRequest::default()
            })
            .await,
        Code::InvalidArgument,
        "nothing to change",
    );
    assert!(
        status.message().contains("nothing to change"),
        "{}",
        status.message()
    );
    assert_eq!(remaining(&mut admin, &cred.id).await, Some(5));
}
