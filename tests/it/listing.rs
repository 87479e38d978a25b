//! ListCredentials over real gRPC: paging with opaque tokens, account scoping, filters, and refused page sizes and tokens.

use std::collections::BTreeSet;

use credd::api::pb;
use tonic::Code;

use crate::support;

use crate::support::Admin;

/// What a test knows about one credential it made.
#[derive(Debug, Clone)]
struct Made {
    id: String,
    account: &'static str,
    kind: pb::Kind,
    environment: pb::Environment,
    revoked: bool,
    secret: String,
}

/// Creates 35 credentials over two accounts (20 for acme, 15 for globex):
/// every third a passcode, every fourth TEST, every fifth revoked.
async fn populate(admin: &mut Admin) -> Vec<Made> {
    let mut made = Vec::new();
    for i in 0..35 {
        let account = if i % 7 < 4 { "acme" } else { "globex" };
        let kind = if i % 3 == 0 {
            pb::Kind::Passcode
        } else {
            pb::Kind::ApiKey
        };
        let environment = if i % 4 == 1 {
            pb::Environment::Test
        } else {
            pb::Environment::Live
        };
        let request = pb::CreateCredentialRequest {
            kind: kind.into(),
            environment: environment.into(),
            ..support::api_key(account, &format!("cred-{i}"))
        };
        let (cred, secret) = support::create(admin, request).await;
        let revoked = i % 5 == 2;
        if revoked {
            admin
                .revoke_credential(pb::RevokeCredentialRequest {
                    id: cred.id.clone(),
                    reason: "test".to_string(),
                })
                .await
                .expect("revoke");
        }
        made.push(Made {
            id: cred.id,
            account,
            kind,
            environment,
            revoked,
            secret,
        });
    }
    assert_eq!(made.iter().filter(|m| m.account == "acme").count(), 20);
    made
}

/// Follows next_page_token from the first page to the last; returns the pages.
async fn all_pages(
    admin: &mut Admin,
    request: pb::ListCredentialsRequest,
) -> Vec<pb::ListCredentialsResponse> {
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let page = admin
            .list_credentials(pb::ListCredentialsRequest {
                page_token: token.clone(),
                ..request.clone()
            })
            .await
            .expect("list")
            .into_inner();
        token = page.next_page_token.clone();
        pages.push(page);
        if token.is_empty() {
            return pages;
        }
        assert!(pages.len() < 100, "paging does not end");
    }
}

fn ids(pages: &[pb::ListCredentialsResponse]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.credentials.iter().map(|c| c.id.clone()))
        .collect()
}

fn sorted_ids<'a>(made: impl Iterator<Item = &'a Made>) -> Vec<String> {
    let set: BTreeSet<String> = made.map(|m| m.id.clone()).collect();
    set.into_iter().collect()
}

/// Pages of 4 cover every credential of an account exactly once, in id order, the same on a second pass; every page but the last is full and carries an opaque token, the last has an empty one; no secret is shown.
#[tokio::test(flavor = "multi_thread")]
async fn pages_cover_an_account_exactly_once() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let made = populate(&mut admin).await;

    for (account, expected_pages) in [("acme", 5), ("globex", 4)] {
        let request = pb::ListCredentialsRequest {
            account_id: account.to_string(),
            page_size: 4,
            ..Default::default()
        };
        let pages = all_pages(&mut admin, request.clone()).await;
        let expected = sorted_ids(made.iter().filter(|m| m.account == account));
        assert_eq!(
            ids(&pages),
            expected,
            "{account}: each credential once, in id order"
        );
        assert_eq!(
            pages.len(),
            expected_pages,
            "{account}: no empty trailing page"
        );
        let (last, full) = pages.split_last().expect("a page");
        for page in full {
            assert_eq!(page.credentials.len(), 4);
            assert!(!page.next_page_token.is_empty());
            for cred in &page.credentials {
                assert!(
                    !page.next_page_token.contains(&cred.id),
                    "the token shows an id in clear"
                );
            }
        }
        assert!(last.next_page_token.is_empty());
        assert!(!last.credentials.is_empty());
        assert!(
            pages
                .iter()
                .flat_map(|p| &p.credentials)
                .all(|c| c.account_id == account)
        );
        // The time left to expiry counts down between the passes.
        let steady = |pages: &[pb::ListCredentialsResponse]| {
            let mut pages = pages.to_vec();
            for c in pages.iter_mut().flat_map(|p| &mut p.credentials) {
                c.expires_in = None;
            }
            pages
        };
        let again = all_pages(&mut admin, request).await;
        assert_eq!(
            steady(&again),
            steady(&pages),
            "{account}: a second pass gives the same pages"
        );

        let shown = format!("{pages:?}");
        for m in &made {
            assert!(!shown.contains(&m.secret), "a listed page shows a secret");
        }
    }
}

/// An empty account_id lists every account's credentials in id order; page_size 0 means 100.
#[tokio::test(flavor = "multi_thread")]
async fn empty_account_lists_everything() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let made = populate(&mut admin).await;
    let expected = sorted_ids(made.iter());

    let pages = all_pages(
        &mut admin,
        pb::ListCredentialsRequest {
            page_size: 7,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(ids(&pages), expected);
    assert_eq!(pages.len(), 5);

    let one = admin
        .list_credentials(pb::ListCredentialsRequest::default())
        .await
        .expect("list with defaults")
        .into_inner();
    assert_eq!(ids(std::slice::from_ref(&one)), expected);
    assert!(one.next_page_token.is_empty());
}

/// Status, kind and environment filters (alone, combined, and while paging) return exactly the matching credentials.
#[tokio::test(flavor = "multi_thread")]
async fn filters_by_status_kind_and_environment() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let made = populate(&mut admin).await;

    type Filter = (pb::Status, pb::Kind, pb::Environment);
    let cases: [(&str, &str, Filter); 7] = [
        (
            "revoked in acme",
            "acme",
            (
                pb::Status::Revoked,
                pb::Kind::Unspecified,
                pb::Environment::Unspecified,
            ),
        ),
        (
            "active in acme",
            "acme",
            (
                pb::Status::Active,
                pb::Kind::Unspecified,
                pb::Environment::Unspecified,
            ),
        ),
        (
            "passcodes in globex",
            "globex",
            (
                pb::Status::Unspecified,
                pb::Kind::Passcode,
                pb::Environment::Unspecified,
            ),
        ),
        (
            "API keys everywhere",
            "",
            (
                pb::Status::Unspecified,
                pb::Kind::ApiKey,
                pb::Environment::Unspecified,
            ),
        ),
        (
            "TEST in acme",
            "acme",
            (
                pb::Status::Unspecified,
                pb::Kind::Unspecified,
                pb::Environment::Test,
            ),
        ),
        (
            "active live API keys in acme",
            "acme",
            (pb::Status::Active, pb::Kind::ApiKey, pb::Environment::Live),
        ),
        (
            "disabled anywhere",
            "",
            (
                pb::Status::Disabled,
                pb::Kind::Unspecified,
                pb::Environment::Unspecified,
            ),
        ),
    ];
    for (what, account, (status, kind, environment)) in cases {
        let expected = sorted_ids(made.iter().filter(|m| {
            (account.is_empty() || m.account == account)
                && match status {
                    pb::Status::Unspecified => true,
                    pb::Status::Revoked => m.revoked,
                    pb::Status::Active => !m.revoked,
                    _ => false,
                }
                && (kind == pb::Kind::Unspecified || m.kind == kind)
                && (environment == pb::Environment::Unspecified || m.environment == environment)
        }));
        let pages = all_pages(
            &mut admin,
            pb::ListCredentialsRequest {
                account_id: account.to_string(),
                status: status.into(),
                kind: kind.into(),
                environment: environment.into(),
                page_size: 2,
                page_token: String::new(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(ids(&pages), expected, "{what}");
        for cred in pages.iter().flat_map(|p| &p.credentials) {
            if status != pb::Status::Unspecified {
                assert_eq!(cred.status(), status, "{what}");
            }
            if kind != pb::Kind::Unspecified {
                assert_eq!(cred.kind(), kind, "{what}");
            }
            if environment != pb::Environment::Unspecified {
                assert_eq!(cred.environment(), environment, "{what}");
            }
        }
    }
}

/// page_size outside 0..=1000, a page_token the server did not issue, an unknown enum filter and a malformed account id are INVALID_ARGUMENT.
#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_invalid() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    for i in 0..3 {
        support::create(&mut admin, support::api_key("acme", &format!("k{i}"))).await;
    }
    let base = pb::ListCredentialsRequest {
        account_id: "acme".to_string(),
        ..Default::default()
    };
    let cases = [
        (
            "page_size 1001",
            pb::ListCredentialsRequest {
                page_size: 1001,
                ..base.clone()
            },
            "page_size",
        ),
        (
            "page_size -1",
            pb::ListCredentialsRequest {
                page_size: -1,
                ..base.clone()
            },
            "page_size",
        ),
        (
            "garbage token",
            pb::ListCredentialsRequest {
                page_token: "garbage!".to_string(),
                ..base.clone()
            },
            "page_token",
        ),
        (
            "well-encoded foreign token",
            pb::ListCredentialsRequest {
                page_token: "djE6bm9wZQ".to_string(),
                ..base.clone()
            },
            "page_token",
        ),
        (
            "unknown status",
            pb::ListCredentialsRequest {
                status: 99,
                ..base.clone()
            },
            "status",
        ),
        (
            "unknown kind",
            pb::ListCredentialsRequest {
                kind: 7,
                ..base.clone()
            },
            "kind",
        ),
        (
            "unknown environment",
            pb::ListCredentialsRequest {
                environment: -3,
                ..base.clone()
            },
            "environment",
        ),
        (
            "malformed account id",
            pb::ListCredentialsRequest {
                account_id: "a b".to_string(),
                ..base.clone()
            },
            "account_id",
        ),
    ];
    for (what, request, named) in cases {
        let status = support::expect_code(
            admin.list_credentials(request).await,
            Code::InvalidArgument,
            what,
        );
        assert!(
            status.message().contains(named),
            "{what}: {}",
            status.message()
        );
    }

    for page_size in [1, 1000] {
        let page = admin
            .list_credentials(pb::ListCredentialsRequest {
                page_size,
                ..base.clone()
            })
            .await
            .expect("a page size at the limits")
            .into_inner();
        assert_eq!(page.credentials.len(), if page_size == 1 { 1 } else { 3 });
    }
}
