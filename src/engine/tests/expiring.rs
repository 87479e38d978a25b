//! "Expiring soon" in the engine: Get, List and Verify show the time left
//! and the flag; List's `expiring_within` and `inactive_for` filters, with
//! paging, and their bounds.

use super::*;

fn days(n: i64) -> Duration {
    Duration::days(n)
}

async fn create_for(h: &Harness, account: &str, lifetime: i64) -> (CredentialView, Secret) {
    let mut request = new_cred(account, Kind::ApiKey);
    request.lifetime = Some(days(lifetime));
    h.engine.create(&admin(), request).await.unwrap()
}

/// Every page of `query` (page size 2), checking each id comes once and in
/// order.
fn listed(h: &Harness, mut query: ListQuery) -> Vec<String> {
    query.page_size = 2;
    let mut ids = Vec::new();
    loop {
        let page = h.engine.list(&admin(), &query).unwrap();
        assert!(page.credentials.len() <= 2);
        if page.next_page_token.is_some() {
            assert_eq!(page.credentials.len(), 2, "only the last page is short");
        }
        ids.extend(page.credentials.into_iter().map(|c| c.record.id));
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => break,
        }
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    ids
}

fn sorted(views: &[&CredentialView]) -> Vec<String> {
    let mut ids: Vec<String> = views.iter().map(|v| v.record.id.clone()).collect();
    ids.sort();
    ids
}

/// A 40-day key: 40 days left and not soon at creation; soon from exactly
/// 30 days before its expiry (the standard window); nothing left at expiry.
#[tokio::test]
async fn get_shows_time_left_and_the_window() {
    let h = harness();
    let (view, _) = create_for(&h, "acme", 40).await;
    let id = view.record.id.clone();
    assert_eq!(view.expiry.expires_in, Some(days(40)));
    assert!(!view.expiry.expiring_soon);
    h.clock.advance(days(10) - Duration::microseconds(1));
    assert!(!h.engine.get(&admin(), &id).unwrap().expiry.expiring_soon);
    h.clock.advance(Duration::microseconds(1));
    let soon = h.engine.get(&admin(), &id).unwrap();
    assert_eq!(soon.expiry.expires_in, Some(days(30)));
    assert!(soon.expiry.expiring_soon);
    h.clock.advance(days(30));
    let expired = h.engine.get(&admin(), &id).unwrap();
    assert_eq!(expired.status, Status::Expired);
    assert_eq!(expired.expiry.expires_in, None);
    assert!(!expired.expiry.expiring_soon);
}

/// Verify carries the outlook; a revoked key answers REVOKED with nothing
/// left; an expired one EXPIRED, likewise.
#[tokio::test]
async fn verify_shows_the_outlook() {
    let h = harness();
    let (_, soon) = create_for(&h, "acme", 12).await;
    let (_, later) = create_for(&h, "acme", 90).await;
    let (revoked, revoked_secret) = create_for(&h, "acme", 12).await;
    h.engine
        .revoke(&admin(), &revoked.record.id, "")
        .await
        .unwrap();
    let expiry = |secret: &Secret| {
        let answer = h.engine.verify(secret.expose(), None, &[]).unwrap();
        (answer.outcome, answer.credential.unwrap().expiry)
    };
    let (outcome, outlook) = expiry(&soon);
    assert!(matches!(outcome, VerifyOutcome::Valid { .. }));
    assert_eq!(outlook.expires_in, Some(days(12)));
    assert!(outlook.expiring_soon);
    let (_, outlook) = expiry(&later);
    assert_eq!(outlook.expires_in, Some(days(90)));
    assert!(!outlook.expiring_soon);
    let (outcome, outlook) = expiry(&revoked_secret);
    assert_eq!(outcome, VerifyOutcome::Revoked);
    assert_eq!(outlook.expires_in, None);
    h.clock.advance(days(12));
    let (outcome, outlook) = expiry(&soon);
    assert_eq!(outcome, VerifyOutcome::Expired);
    assert!(outlook.expires_in.is_none() && !outlook.expiring_soon);
}

/// `expiring_within` keeps the live credentials expiring within the span,
/// page after page, and combines with the other filters.
#[tokio::test]
async fn list_expiring_within_pages() {
    let h = harness();
    let mut views = Vec::new();
    for lifetime in [5, 10, 15, 20, 25, 30, 35, 40, 45, 50] {
        views.push(create_for(&h, "acme", lifetime).await.0);
        views.push(create_for(&h, "globex", lifetime).await.0);
    }
    h.engine
        .revoke(&admin(), &views[0].record.id, "")
        .await
        .unwrap();
    h.clock.advance(days(5));
    // Now acme/globex 5-day keys are expired, acme's also revoked.
    let within = |span: i64, account: Option<&str>| {
        listed(
            &h,
            ListQuery {
                account_id: account.map(str::to_string),
                expiring_within: Some(days(span)),
                ..ListQuery::default()
            },
        )
    };
    let expect = |max_lifetime: i64, account: Option<&str>| {
        sorted(
            &views
                .iter()
                .filter(|v| {
                    let left = v.record.expires_at - h.engine.now();
                    left > Duration::zero()
                        && left <= days(max_lifetime - 5)
                        && account.is_none_or(|a| a == v.record.account_id)
                })
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(within(20, None), expect(25, None));
    assert_eq!(within(20, None).len(), 8);
    assert_eq!(within(20, Some("acme")), expect(25, Some("acme")));
    assert_eq!(within(3650, None).len(), 18);
    assert!(within(1, None).is_empty());
    // With a status filter: a disabled key is still expiring.
    h.engine
        .disable(&admin(), &views[2].record.id, "")
        .await
        .unwrap();
    let disabled = listed(
        &h,
        ListQuery {
            status: Some(Status::Disabled),
            expiring_within: Some(days(10)),
            ..ListQuery::default()
        },
    );
    assert_eq!(disabled, vec![views[2].record.id.clone()]);
}

/// `inactive_for` counts from the latest use (pending in memory or
/// flushed), else from creation or reactivation.
#[tokio::test]
async fn list_inactive_for_uses_the_merged_last_use() {
    let h = harness();
    let mut keys = Vec::new();
    for _ in 0..7 {
        keys.push(create_for(&h, "acme", 365).await);
    }
    h.clock.advance(days(20));
    let late = create_for(&h, "acme", 365).await;
    h.clock.advance(days(20));
    // Keys 0 and 1 used now (1 flushed), the rest not.
    for (_, secret) in &keys[..2] {
        assert!(matches!(h.outcome(secret), VerifyOutcome::Valid { .. }));
    }
    let inactive = |span: i64| {
        listed(
            &h,
            ListQuery {
                inactive_for: Some(days(span)),
                ..ListQuery::default()
            },
        )
    };
    let unused: Vec<&CredentialView> = keys[2..].iter().map(|(v, _)| v).collect();
    assert_eq!(inactive(40), sorted(&unused));
    assert_eq!(inactive(40), inactive(30), "the late key is 20 days old");
    let mut with_late = unused.clone();
    with_late.push(&late.0);
    assert_eq!(inactive(20), sorted(&with_late));
    h.engine.flush_usage().await.unwrap();
    assert_eq!(inactive(40), sorted(&unused), "the same after the flush");
    h.clock.advance(days(1));
    assert_eq!(inactive(1).len(), 8, "one day after the uses, all match");
    assert!(inactive(3650).is_empty());
}

/// Zero, negative and over-ten-year spans are refused naming the field,
/// and 3650 days is accepted.
#[tokio::test]
async fn list_spans_are_bounded() {
    let h = harness();
    create_for(&h, "acme", 30).await;
    let bad = [
        Duration::zero(),
        days(-1),
        days(3650) + Duration::seconds(1),
    ];
    for span in bad {
        for field in ["expiring_within", "inactive_for"] {
            let mut query = ListQuery::default();
            if field == "expiring_within" {
                query.expiring_within = Some(span);
            } else {
                query.inactive_for = Some(span);
            }
            match h.engine.list(&admin(), &query) {
                Err(Error::InvalidArgument(message)) => {
                    assert!(message.contains(field), "{message}");
                }
                other => panic!("{field} {span}: {other:?}"),
            }
        }
    }
    let query = ListQuery {
        expiring_within: Some(days(3650)),
        inactive_for: Some(days(3650)),
        ..ListQuery::default()
    };
    assert!(h.engine.list(&admin(), &query).is_ok());
}
