//! Listing client ids and grants in the engine: id order and page tokens
//! that belong to their own listing.

use super::*;

/// Client ids and grants page in id order with opaque tokens that belong to
/// their own listing.
#[tokio::test]
async fn listings_page() {
    let h = harness();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(h.client_id("LAGERMAN").await);
    }
    ids.sort();
    let (first, token) = h
        .engine
        .list_client_ids(&admin(), "LAGERMAN", 2, None)
        .unwrap();
    assert_eq!(
        first.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        ids[..2]
    );
    let token = token.expect("a second page");
    let (second, last) = h
        .engine
        .list_client_ids(&admin(), "LAGERMAN", 2, Some(&token))
        .unwrap();
    assert_eq!(
        (second.len(), second[0].id.as_str(), last),
        (1, ids[2].as_str(), None)
    );
    // A client-id token is not a grant token.
    assert!(matches!(
        h.engine.list_grants(
            &admin(),
            &GrantQuery {
                page_token: Some(token),
                ..GrantQuery::default()
            }
        ),
        Err(Error::InvalidArgument(_))
    ));
}
