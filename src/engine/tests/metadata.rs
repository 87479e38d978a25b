//! Credential metadata in the engine: validated and normalised at create
//! and update, refused input changing nothing, handed back by Get and by
//! Verify (from the secret index's view, cached or not, and for the
//! refusals that name the credential), and forwarded by the gateway check.

use super::*;

const PLAN: &str = r#"{"plan":"pro","seats":5,"note":"a\nb","nested":{"k":[1,2]}}"#;

async fn create_with(h: &Harness, metadata: &str) -> (CredentialView, Secret) {
    let mut request = new_cred("acme", Kind::ApiKey);
    request.metadata = Some(metadata.to_string());
    h.engine.create(&admin(), request).await.unwrap()
}

fn verified_metadata(h: &Harness, secret: &Secret) -> Option<String> {
    let v = h.engine.verify(secret.expose(), None, &[]).unwrap();
    v.credential.and_then(|c| c.metadata)
}

async fn update_metadata(h: &Harness, id: &str, metadata: &str) -> Result<CredentialView, Error> {
    let update = CredentialUpdate {
        metadata: Some(metadata.to_string()),
        ..CredentialUpdate::default()
    };
    h.engine.update(&admin(), id, update).await
}

/// Create stores the compact form; Get and Verify (a first read and a
/// cached one) return it.
#[tokio::test]
async fn create_get_verify() {
    let h = harness();
    let (view, secret) = create_with(&h, "{ \"plan\": \"pro\",\n  \"seats\": 5 }").await;
    let compact = r#"{"plan":"pro","seats":5}"#;
    assert_eq!(view.record.metadata.as_deref(), Some(compact));
    let got = h.engine.get(&admin(), &view.record.id).unwrap();
    assert_eq!(got.record.metadata.as_deref(), Some(compact));
    assert_eq!(verified_metadata(&h, &secret).as_deref(), Some(compact));
    assert_eq!(verified_metadata(&h, &secret).as_deref(), Some(compact));
    let (plain, plain_secret) = h.create("acme").await;
    assert_eq!(plain.record.metadata, None);
    assert_eq!(verified_metadata(&h, &plain_secret), None);
}

/// Update replaces and clears (with "" or `{}`), and a cached Verify sees
/// each change at once; a rotation's new secret carries it too.
#[tokio::test]
async fn update_replaces_and_clears() {
    let h = harness();
    let (view, secret) = create_with(&h, r#"{"plan":"free"}"#).await;
    let id = view.record.id;
    assert_eq!(
        verified_metadata(&h, &secret).as_deref(),
        Some(r#"{"plan":"free"}"#)
    );
    let updated = update_metadata(&h, &id, r#"{"plan":"pro"}"#).await.unwrap();
    assert_eq!(
        updated.record.metadata.as_deref(),
        Some(r#"{"plan":"pro"}"#)
    );
    assert_eq!(
        verified_metadata(&h, &secret).as_deref(),
        Some(r#"{"plan":"pro"}"#)
    );
    let (_, fresh) = h.engine.rotate(&admin(), &id, None).await.unwrap();
    assert_eq!(
        verified_metadata(&h, &fresh).as_deref(),
        Some(r#"{"plan":"pro"}"#)
    );
    let cleared = update_metadata(&h, &id, "").await.unwrap();
    assert_eq!(cleared.record.metadata, None);
    assert_eq!(verified_metadata(&h, &secret), None);
    update_metadata(&h, &id, r#"{"a":1}"#).await.unwrap();
    let cleared = update_metadata(&h, &id, "{}").await.unwrap();
    assert_eq!(cleared.record.metadata, None);
    assert_eq!(verified_metadata(&h, &fresh), None);
}

/// Malformed metadata is refused naming the field, at create and update,
/// and nothing is written.
#[tokio::test]
async fn bad_metadata_changes_nothing() {
    let h = harness();
    let too_big = format!(r#"{{"k":"{}"}}"#, "x".repeat(validate::MAX_METADATA));
    for bad in ["{\"plan\":", "[1]", "\"pro\"", too_big.as_str()] {
        let mut request = new_cred("acme", Kind::ApiKey);
        request.metadata = Some(bad.to_string());
        let result = h.engine.create(&admin(), request).await;
        assert!(
            matches!(&result, Err(Error::InvalidArgument(m)) if m.contains("metadata")),
            "{bad}: {result:?}"
        );
    }
    assert_eq!(h.audits(), 0);
    let (view, secret) = create_with(&h, r#"{"plan":"pro"}"#).await;
    let before = h.engine.get(&admin(), &view.record.id).unwrap().record;
    let audits = h.audits();
    for bad in ["not json", "null", too_big.as_str()] {
        let result = update_metadata(&h, &view.record.id, bad).await;
        assert!(
            matches!(&result, Err(Error::InvalidArgument(m)) if m.contains("metadata")),
            "{bad}: {result:?}"
        );
    }
    assert_eq!(h.audits(), audits);
    let after = h.engine.get(&admin(), &view.record.id).unwrap().record;
    assert_eq!(after, before);
    assert_eq!(
        verified_metadata(&h, &secret).as_deref(),
        Some(r#"{"plan":"pro"}"#)
    );
}

/// Verify hands metadata back with every result that names the
/// credential (here REVOKED and INSUFFICIENT_SCOPE), never with one that
/// does not (ACCOUNT_MISMATCH).
#[tokio::test]
async fn verify_refusals_that_name_the_credential() {
    let h = harness();
    let (view, secret) = create_with(&h, r#"{"plan":"pro"}"#).await;
    let v = h
        .engine
        .verify(secret.expose(), None, &strings(&["admin:all"]))
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::InsufficientScope);
    assert!(v.credential.unwrap().metadata.is_some());
    let v = h
        .engine
        .verify(secret.expose(), Some("globex"), &[])
        .unwrap();
    assert_eq!(v.outcome, VerifyOutcome::AccountMismatch);
    assert!(v.credential.is_none());
    h.engine
        .revoke(&admin(), &view.record.id, "")
        .await
        .unwrap();
    let v = h.engine.verify(secret.expose(), None, &[]).unwrap();
    assert_eq!(v.outcome, VerifyOutcome::Revoked);
    assert_eq!(
        v.credential.and_then(|c| c.metadata).as_deref(),
        Some(r#"{"plan":"pro"}"#)
    );
}

/// An allowed gateway request carries the mapped keys that are present:
/// strings as they are, other values as compact JSON; a value with a
/// control character is left out, and unmapped keys never travel.
#[tokio::test]
async fn gateway_forwards_mapped_keys() {
    let h = harness();
    let (_, secret) = create_with(&h, PLAN).await;
    let mapping = [
        ("absent".to_string(), "x-credd-absent".to_string()),
        ("nested".to_string(), "x-credd-nested".to_string()),
        ("note".to_string(), "x-credd-note".to_string()),
        ("plan".to_string(), "x-credd-meta-plan".to_string()),
        ("seats".to_string(), "x-credd-seats".to_string()),
    ];
    let authorization = format!("Bearer {}", secret.expose());
    let ask = |metadata_headers: &[(String, String)]| {
        let request = GatewayRequest {
            metadata_headers,
            ..super::gateway::bearer_request(&authorization)
        };
        match h.engine.check_gateway(&request).unwrap() {
            GatewayAnswer::Allowed(allowed) => allowed.metadata,
            GatewayAnswer::Denied(d) => panic!("refused: {d:?}"),
        }
    };
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    };
    assert_eq!(
        ask(&mapping),
        pairs(&[
            ("x-credd-nested", r#"{"k":[1,2]}"#),
            ("x-credd-meta-plan", "pro"),
            ("x-credd-seats", "5"),
        ])
    );
    assert!(ask(&[]).is_empty());
}
