//! Listing credentials in the engine: pages in id order, filters, and bad
//! page tokens or sizes.

use super::*;

fn list_all(h: &Harness, mut query: ListQuery) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    loop {
        let page = h
            .engine
            .list(&Actor::unrestricted("admin"), &query)
            .unwrap();
        pages.push(
            page.credentials
                .iter()
                .map(|c| c.record.id.clone())
                .collect(),
        );
        match page.next_page_token {
            Some(token) => query.page_token = Some(token),
            None => return pages,
        }
        assert!(pages.len() < 100, "paging does not terminate");
    }
}

/// Paging covers every credential of an account exactly once in id order,
/// filters apply, and bad tokens or sizes are refused.
#[tokio::test]
async fn list_pages_and_filters() {
    let h = harness();
    let mut by_account: [(String, Vec<CredentialView>); 2] = [
        ("acme".to_string(), Vec::new()),
        ("acme2".to_string(), Vec::new()),
    ];
    for i in 0..25 {
        let slot = i % 2;
        let mut request = new_cred(&by_account[slot].0, Kind::ApiKey);
        if i % 3 == 0 {
            request.kind = Kind::Passcode;
        }
        if i % 4 == 0 {
            request.environment = Environment::Test;
        }
        let (view, _) = h.engine.create(&admin(), request).await.unwrap();
        by_account[slot].1.push(view);
    }
    // Revoke two and disable one of "acme".
    let acme = &by_account[0].1;
    assert_eq!(acme.len(), 13);
    assert_eq!(by_account[1].1.len(), 12);
    let revoked: BTreeSet<String> = [&acme[1], &acme[4]]
        .iter()
        .map(|v| v.record.id.clone())
        .collect();
    for id in &revoked {
        h.engine.revoke(&admin(), id, "").await.unwrap();
    }
    h.engine
        .disable(&admin(), &acme[2].record.id, "")
        .await
        .unwrap();

    for (account, views) in &by_account {
        let mut expected: Vec<String> = views.iter().map(|v| v.record.id.clone()).collect();
        expected.sort();
        let pages = list_all(
            &h,
            ListQuery {
                account_id: Some(account.clone()),
                page_size: 7,
                ..ListQuery::default()
            },
        );
        assert!(pages.iter().all(|p| p.len() <= 7));
        assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == 7));
        assert_eq!(pages.len(), expected.len().div_ceil(7));
        let flat: Vec<String> = pages.concat();
        assert_eq!(flat, expected, "{account}");
    }

    // All accounts.
    let mut everything: Vec<String> = by_account
        .iter()
        .flat_map(|(_, views)| views.iter().map(|v| v.record.id.clone()))
        .collect();
    everything.sort();
    let flat = list_all(
        &h,
        ListQuery {
            page_size: 7,
            ..ListQuery::default()
        },
    )
    .concat();
    assert_eq!(flat, everything);

    // Filters.
    let filtered = |query: ListQuery| -> Vec<CredentialView> {
        let mut query = query;
        query.account_id = Some("acme".to_string());
        query.page_size = 3;
        let mut out = Vec::new();
        loop {
            let page = h
                .engine
                .list(&Actor::unrestricted("admin"), &query)
                .unwrap();
            out.extend(page.credentials);
            match page.next_page_token {
                Some(token) => query.page_token = Some(token),
                None => return out,
            }
        }
    };
    let got: BTreeSet<String> = filtered(ListQuery {
        status: Some(Status::Revoked),
        ..ListQuery::default()
    })
    .into_iter()
    .map(|v| v.record.id)
    .collect();
    assert_eq!(got, revoked);
    let disabled = filtered(ListQuery {
        status: Some(Status::Disabled),
        ..ListQuery::default()
    });
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].record.id, acme[2].record.id);
    assert_eq!(
        filtered(ListQuery {
            status: Some(Status::Active),
            ..ListQuery::default()
        })
        .len(),
        10
    );

    let count_where =
        |pred: &dyn Fn(&CredentialView) -> bool| acme.iter().filter(|v| pred(v)).count();
    let passcodes = filtered(ListQuery {
        kind: Some(Kind::Passcode),
        ..ListQuery::default()
    });
    assert!(passcodes.iter().all(|v| v.record.kind == Kind::Passcode));
    assert_eq!(
        passcodes.len(),
        count_where(&|v| v.record.kind == Kind::Passcode)
    );
    let test_env = filtered(ListQuery {
        environment: Some(Environment::Test),
        ..ListQuery::default()
    });
    assert!(
        test_env
            .iter()
            .all(|v| v.record.environment == Environment::Test)
    );
    assert_eq!(
        test_env.len(),
        count_where(&|v| v.record.environment == Environment::Test)
    );
    let both = filtered(ListQuery {
        kind: Some(Kind::Passcode),
        environment: Some(Environment::Test),
        ..ListQuery::default()
    });
    assert_eq!(
        both.len(),
        count_where(
            &|v| v.record.kind == Kind::Passcode && v.record.environment == Environment::Test
        )
    );
    assert!(!both.is_empty());

    // Expired (by time) shows as EXPIRED in filters, without a sweep.
    h.clock.advance(Duration::days(366));
    assert_eq!(
        filtered(ListQuery {
            status: Some(Status::Expired),
            ..ListQuery::default()
        })
        .len(),
        11
    );

    // Malformed requests.
    for token in ["garbage", "", "djE6bm9wZQ"] {
        let result = h.engine.list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                account_id: Some("acme".to_string()),
                page_token: Some(token.to_string()),
                ..ListQuery::default()
            },
        );
        assert!(
            matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("page_token")),
            "{token:?}: {result:?}"
        );
    }
    for size in [1001, -1] {
        let result = h.engine.list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                page_size: size,
                ..ListQuery::default()
            },
        );
        assert!(
            matches!(result, Err(Error::InvalidArgument(ref m)) if m.contains("page_size")),
            "{result:?}"
        );
    }
    let result = h.engine.list(
        &Actor::unrestricted("admin"),
        &ListQuery {
            account_id: Some("bad account".to_string()),
            ..ListQuery::default()
        },
    );
    assert!(
        matches!(result, Err(Error::InvalidArgument(_))),
        "{result:?}"
    );
    // page_size 0 means 100: everything of one account on one page.
    let page = h
        .engine
        .list(
            &Actor::unrestricted("admin"),
            &ListQuery {
                account_id: Some("acme".to_string()),
                ..ListQuery::default()
            },
        )
        .unwrap();
    assert_eq!(page.credentials.len(), 13);
    assert!(page.next_page_token.is_none());
}
