//! Klarna-style client ids against the real binary: their shape, binding API
//! keys to them, and revoking one disabling its keys.

use super::*;

/// A Verify request with a client id.
fn with_client_id(secret: &str, client_id: &str) -> pb::VerifyRequest {
    pb::VerifyRequest {
        client_id: client_id.to_string(),
        ..support::verify_req(secret, "", &[])
    }
}

/// Whether `id` has the client-id shape `^credd_(live|test)_client_[0-9A-Za-z]{30}$`.
fn is_client_id(id: &str, environment: &str) -> bool {
    let Some(body) = id.strip_prefix(&format!("credd_{environment}_client_")) else {
        return false;
    };
    body.len() == 30 && body.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ids_bind_api_keys_and_revoking_one_disables_its_keys() {
    const MERCHANT: &str = "klarna-merchant";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut client_ids = daemon.client_ids().await;
    let mut verifier = daemon.verifier().await;
    let create_client_id =
        |account: &str, environment: pb::Environment| pb::CreateClientIdRequest {
            account_id: account.to_string(),
            environment: environment.into(),
            name: format!("{account} checkout"),
            description: "web shop".to_string(),
        };

    let first = client_ids
        .create_client_id(create_client_id(MERCHANT, pb::Environment::Unspecified))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert!(is_client_id(&first.id, "live"), "{}", first.id);
    assert_eq!(first.account_id, MERCHANT);
    assert_eq!(first.environment(), pb::Environment::Live);
    assert_eq!(first.status(), pb::ClientIdStatus::Active);
    let second = client_ids
        .create_client_id(create_client_id(MERCHANT, pb::Environment::Live))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert_ne!(second.id, first.id);
    let test_env = client_ids
        .create_client_id(create_client_id(MERCHANT, pb::Environment::Test))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert!(is_client_id(&test_env.id, "test"), "{}", test_env.id);
    let foreign = client_ids
        .create_client_id(create_client_id("other-merchant", pb::Environment::Live))
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id");
    let got = client_ids
        .get_client_id(pb::GetClientIdRequest {
            id: first.id.clone(),
        })
        .await
        .expect("get client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert_eq!(got, first);
    support::expect_code(
        client_ids
            .get_client_id(pb::GetClientIdRequest {
                id: unissued_client_id(),
            })
            .await,
        Code::NotFound,
        "an unknown client id",
    );
    support::expect_code(
        client_ids
            .get_client_id(pb::GetClientIdRequest {
                id: "not-a-client-id".to_string(),
            })
            .await,
        Code::InvalidArgument,
        "a malformed client id",
    );
    let listed = client_ids
        .list_client_ids(pb::ListClientIdsRequest {
            account_id: MERCHANT.to_string(),
            ..Default::default()
        })
        .await
        .expect("list client ids")
        .into_inner()
        .client_ids;
    assert_eq!(listed.len(), 3);

    // A key bound to the first client id.
    let mut request = support::api_key(MERCHANT, "bound");
    request.client_id = first.id.clone();
    let (bound, bound_key) = support::create(&mut admin, request).await;
    assert_eq!(bound.client_id, first.id);
    let (_, unbound_key) = support::create(&mut admin, support::api_key(MERCHANT, "free")).await;
    for (what, mut request, client_id, code) in [
        (
            "a passcode bound to a client id",
            support::passcode(MERCHANT, "p"),
            test_env.id.clone(),
            Code::InvalidArgument,
        ),
        (
            "another account's client id",
            support::api_key(MERCHANT, "x"),
            foreign.id.clone(),
            Code::InvalidArgument,
        ),
        (
            "a test client id on a live key",
            support::api_key(MERCHANT, "y"),
            test_env.id.clone(),
            Code::InvalidArgument,
        ),
        (
            "an unknown client id",
            support::api_key(MERCHANT, "z"),
            unissued_client_id(),
            Code::NotFound,
        ),
    ] {
        request.client_id = client_id;
        support::expect_code(admin.create_credential(request).await, code, what);
    }

    // Verify with client ids.
    let answer = ask(&mut verifier, with_client_id(&bound_key, &first.id)).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.client_id, first.id);
    assert_eq!(answer.account_id, MERCHANT);
    let answer = ask(&mut verifier, with_client_id(&bound_key, "")).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid);
    assert_eq!(answer.client_id, first.id, "the key's bound client id");
    for (what, client_id) in [
        ("another client id of the same account", second.id.clone()),
        ("another account's client id", foreign.id.clone()),
        ("an unknown client id", unissued_client_id()),
    ] {
        let answer = ask(&mut verifier, with_client_id(&bound_key, &client_id)).await;
        assert_eq!(answer.result(), pb::VerifyResult::AccountMismatch, "{what}");
    }
    let answer = ask(&mut verifier, with_client_id(&unbound_key, &second.id)).await;
    assert_eq!(
        answer.result(),
        pb::VerifyResult::Valid,
        "an unbound key with its account's client id"
    );
    assert!(answer.client_id.is_empty());
    support::expect_code(
        verifier
            .verify(with_client_id(&bound_key, "not-a-client-id"))
            .await,
        Code::InvalidArgument,
        "Verify with a malformed client id",
    );

    // Basic client-level authentication with the client id as ClientId.
    let mut http = Http::new(&daemon).await;
    http.secrets = vec![bound_key.clone(), unbound_key.clone()];
    let answer = http
        .ask(http_auth::headers(&basic(&first.id, &bound_key), "", ""))
        .await;
    assert_allowed(
        &answer,
        pb::AuthMode::Client,
        "Basic <client id>:<bound key>",
    );
    assert_eq!(answer.principal_id, first.id);
    assert_eq!(answer.principal_account_id, MERCHANT);
    assert_refused(
        &http
            .ask(http_auth::headers(&basic(&second.id, &bound_key), "", ""))
            .await,
        pb::HttpAuthRefusal::InvalidCredentials,
        401,
        "Basic <other client id>:<bound key>",
    );

    // Revoking the client id disables the keys bound to it.
    let revoke = pb::RevokeClientIdRequest {
        id: first.id.clone(),
        reason: "integration retired".to_string(),
    };
    let revoked = client_ids
        .revoke_client_id(revoke.clone())
        .await
        .expect("revoke client id")
        .into_inner()
        .client_id
        .expect("client id");
    assert_eq!(revoked.status(), pb::ClientIdStatus::Revoked);
    let again = client_ids
        .revoke_client_id(revoke)
        .await
        .expect("revoke client id again")
        .into_inner()
        .client_id
        .expect("client id");
    assert_eq!(again.status(), pb::ClientIdStatus::Revoked);
    for client_id in [first.id.as_str(), ""] {
        let answer = ask(&mut verifier, with_client_id(&bound_key, client_id)).await;
        assert_eq!(
            answer.result(),
            pb::VerifyResult::Disabled,
            "client id {client_id:?}"
        );
        assert_eq!(answer.disabled_reason(), pb::DisabledReason::ClientRevoked);
    }
    let answer = ask(&mut verifier, with_client_id(&unbound_key, "")).await;
    assert_eq!(answer.result(), pb::VerifyResult::Valid, "an unbound key");
    assert_refused(
        &http
            .ask(http_auth::headers(&basic(&first.id, &bound_key), "", ""))
            .await,
        pb::HttpAuthRefusal::CredentialNotActive,
        401,
        "Basic with a revoked client id",
    );
    let mut request = support::api_key(MERCHANT, "late");
    request.client_id = first.id.clone();
    support::expect_code(
        admin.create_credential(request).await,
        Code::FailedPrecondition,
        "binding a key to a revoked client id",
    );
    support::assert_no_secret_in_files(dir.path(), &http.secrets);
}
