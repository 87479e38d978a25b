//! The seed's Basic authentication against the real binary: client-level and
//! product-level keys, every header combination with its refusal and HTTP
//! status, and the seed's literal header values.

use super::*;

/// The seed's client-level header value (LAGERMAN:87ba874b8a5049beadc9710984606715).
const SEED_CLIENT_HEADER: &str = "Basic TEFHRVJNQU46ODdiYTg3NGI4YTUwNDliZWFkYzk3MTA5ODQ2MDY3MTU=";

/// The other encoding the seed shows for LAGERMAN (a different key).
const SEED_CLIENT_HEADER_TEXT: &str = "TEFHRVJNQU46OTQzZjM2Mjk0N2EyNDA0NTgyYTI2ODkzN2QyM2JjMzM=";

/// The seed's product-level header value (MYPRODUCT:abc123def456ghi789jkl012mno345pq).
const SEED_PRODUCT_HEADER: &str = "Basic TVlQUk9EVUNUOmFiYzEyM2RlZjQ1NmdoaTc4OWprbDAxMm1ubzM0NXBx";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_seed_every_header_combination() {
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let (_, client_key) = support::create(&mut admin, support::api_key(LAGERMAN, "checkout")).await;
    let (_, product_key) =
        support::create(&mut admin, support::api_key(MYPRODUCT, "product")).await;
    let (old, old_key) = support::create(&mut admin, support::api_key(LAGERMAN, "old")).await;
    admin
        .revoke_credential(pb::RevokeCredentialRequest {
            id: old.id.clone(),
            reason: "rotated".to_string(),
        })
        .await
        .expect("revoke");
    let mut http = Http::new(&daemon).await;
    http.secrets = vec![client_key.clone(), product_key.clone(), old_key.clone()];
    let client_header = basic(LAGERMAN, &client_key);
    let product_header = basic(MYPRODUCT, &product_key);

    // Client level: Basic base64("LAGERMAN:<key>"), no X-Product-Id.
    let answer = http.ask(headers(&client_header, "", "")).await;
    assert_allowed(&answer, pb::AuthMode::Client, "client level");
    assert_eq!(answer.principal_id, LAGERMAN);
    assert_eq!(answer.principal_account_id, LAGERMAN);
    assert_eq!(answer.acting_for_account_id, LAGERMAN);
    assert!(answer.product_id.is_empty() && answer.grant_id.is_empty());
    assert_eq!(
        answer.verification.expect("verification").account_id,
        LAGERMAN
    );
    // The scheme is case-insensitive.
    let lower = client_header.replacen("Basic", "basic", 1);
    let answer = http.ask(headers(&lower, "", "")).await;
    assert_allowed(&answer, pb::AuthMode::Client, "lower-case scheme");
    let mut scoped = headers(&client_header, "", "");
    scoped.required_scopes = vec!["orders:read".to_string()];
    assert_allowed(
        &http.ask(scoped.clone()).await,
        pb::AuthMode::Client,
        "a scope the key holds",
    );
    scoped.required_scopes = vec!["billing:write".to_string()];
    assert_refused(
        &http.ask(scoped).await,
        pb::HttpAuthRefusal::InsufficientScope,
        403,
        "a scope the key lacks",
    );

    // Refusals before any key is looked at.
    assert_refused(
        &http.ask(headers("", "", "")).await,
        pb::HttpAuthRefusal::MissingCredentials,
        401,
        "no headers",
    );
    assert_refused(
        &http.ask(headers("", MYPRODUCT, LAGERMAN)).await,
        pb::HttpAuthRefusal::MissingCredentials,
        401,
        "X-Product-Id and X-Client-Id without Authorization",
    );
    assert_refused(
        &http
            .ask(headers(&format!("Bearer {client_key}"), "", ""))
            .await,
        pb::HttpAuthRefusal::UnsupportedScheme,
        401,
        "a Bearer header",
    );
    assert_refused(
        &http
            .ask(headers("Digest username=\"LAGERMAN\"", "", ""))
            .await,
        pb::HttpAuthRefusal::UnsupportedScheme,
        401,
        "a Digest header",
    );
    assert_refused(
        &http.ask(headers("Basic !!not*base64!!", "", "")).await,
        pb::HttpAuthRefusal::MalformedBase64,
        401,
        "bad base64",
    );
    let no_colon = format!(
        "Basic {}",
        STANDARD.encode(format!("{LAGERMAN}{client_key}"))
    );
    assert_refused(
        &http.ask(headers(&no_colon, "", "")).await,
        pb::HttpAuthRefusal::MalformedCredentials,
        401,
        "no colon",
    );
    assert_refused(
        &http.ask(headers(&basic(LAGERMAN, ""), "", "")).await,
        pb::HttpAuthRefusal::MalformedCredentials,
        401,
        "an empty key",
    );
    assert_refused(
        &http.ask(headers(&basic("", &client_key), "", "")).await,
        pb::HttpAuthRefusal::MalformedCredentials,
        401,
        "an empty id",
    );
    let not_utf8 = format!("Basic {}", STANDARD.encode([0xff, 0xfe, b':', b'k', b'e']));
    assert_refused(
        &http.ask(headers(&not_utf8, "", "")).await,
        pb::HttpAuthRefusal::MalformedCredentials,
        401,
        "decoded value not UTF-8",
    );
    // Both modes at once.
    assert_refused(
        &http.ask(headers(&client_header, "", LAGERMAN)).await,
        pb::HttpAuthRefusal::MixedModes,
        401,
        "X-Client-Id without X-Product-Id",
    );
    let mut mixed = headers(&client_header, "", "");
    mixed.x_clevertap_account_id = LAGERMAN.to_string();
    mixed.x_clevertap_passcode = client_key.clone();
    assert_refused(
        &http.ask(mixed.clone()).await,
        pb::HttpAuthRefusal::MixedModes,
        401,
        "Basic with the CleverTap pair",
    );
    mixed.x_clevertap_passcode.clear();
    assert_refused(
        &http.ask(mixed).await,
        pb::HttpAuthRefusal::MixedModes,
        401,
        "Basic with X-CleverTap-Account-Id alone",
    );

    // Keys that do not belong, or are not active.
    for (what, header) in [
        (
            "an unknown key",
            basic(LAGERMAN, &support::flip_char(&client_key)),
        ),
        ("not a credd key", basic(LAGERMAN, "hunter2")),
        ("another account's key", basic(LAGERMAN, &product_key)),
        ("an unknown client", basic("NOBODY", &client_key)),
    ] {
        let answer = http.ask(headers(&header, "", "")).await;
        assert_refused(&answer, pb::HttpAuthRefusal::InvalidCredentials, 401, what);
        assert!(!answer.reason.contains(&client_key) && !answer.reason.contains(&product_key));
    }
    let answer = http.ask(headers(&basic(LAGERMAN, &old_key), "", "")).await;
    assert_refused(
        &answer,
        pb::HttpAuthRefusal::CredentialNotActive,
        401,
        "a revoked key",
    );
    assert_eq!(
        answer.verification.expect("verification").result(),
        pb::VerifyResult::Revoked
    );

    // Product level: not whitelisted, whitelisted without a grant, granted.
    let product_request = headers(&product_header, MYPRODUCT, LAGERMAN);
    let answer = http.ask(product_request.clone()).await;
    assert_refused(
        &answer,
        pb::HttpAuthRefusal::PartnerNotWhitelisted,
        403,
        "a product that is not a registered partner",
    );
    assert_eq!(answer.mode(), pb::AuthMode::Product);
    register_partner(&mut partners, MYPRODUCT, &[]).await;
    assert_refused(
        &http.ask(product_request.clone()).await,
        pb::HttpAuthRefusal::NotDelegated,
        403,
        "a registered product without a grant",
    );
    let grant = create_grant(&mut partners, MYPRODUCT, LAGERMAN, &[]).await;
    assert!(grant.id.starts_with("grant_"), "{}", grant.id);
    assert_eq!(grant.status(), pb::GrantStatus::Active);
    assert_eq!(grant.origin(), pb::GrantOrigin::Admin);
    let answer = http.ask(product_request.clone()).await;
    assert_allowed(&answer, pb::AuthMode::Product, "product level");
    assert_eq!(answer.product_id, MYPRODUCT);
    assert_eq!(answer.client_id, LAGERMAN);
    assert_eq!(answer.principal_id, MYPRODUCT);
    assert_eq!(answer.principal_account_id, MYPRODUCT);
    assert_eq!(answer.acting_for_account_id, LAGERMAN);
    assert_eq!(answer.grant_id, grant.id);
    let verification = answer.verification.expect("verification");
    assert_eq!(verification.account_id, MYPRODUCT);
    assert_eq!(verification.acting_for_account_id, LAGERMAN);
    assert_eq!(verification.grant_id, grant.id);

    // Product-level refusals.
    for (what, product) in [
        ("another X-Product-Id", "OTHERPRODUCT"),
        ("X-Product-Id in another case", "myproduct"),
    ] {
        assert_refused(
            &http.ask(headers(&product_header, product, LAGERMAN)).await,
            pb::HttpAuthRefusal::ProductIdMismatch,
            401,
            what,
        );
    }
    assert_refused(
        &http.ask(headers(&product_header, MYPRODUCT, "")).await,
        pb::HttpAuthRefusal::MissingClientId,
        401,
        "X-Product-Id without X-Client-Id",
    );
    let mut mixed = product_request.clone();
    mixed.x_clevertap_account_id = LAGERMAN.to_string();
    assert_refused(
        &http.ask(mixed).await,
        pb::HttpAuthRefusal::MixedModes,
        401,
        "product level with a CleverTap header",
    );
    assert_refused(
        &http
            .ask(headers(&product_header, MYPRODUCT, "NOBODY"))
            .await,
        pb::HttpAuthRefusal::NotDelegated,
        403,
        "a client the product has no grant for",
    );
    for (what, header) in [
        (
            "an unknown product key",
            basic(MYPRODUCT, &support::flip_char(&product_key)),
        ),
        (
            "the client's key as the product's",
            basic(MYPRODUCT, &client_key),
        ),
    ] {
        assert_refused(
            &http.ask(headers(&header, MYPRODUCT, LAGERMAN)).await,
            pb::HttpAuthRefusal::InvalidCredentials,
            401,
            what,
        );
    }

    // X-Client-Id may be a credd client id of the client account.
    let mut client_ids = daemon.client_ids().await;
    let client_id = client_ids
        .create_client_id(pb::CreateClientIdRequest {
            account_id: LAGERMAN.to_string(),
            name: "shop".to_string(),
            ..Default::default()
        })
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id")
        .id;
    let answer = http
        .ask(headers(&product_header, MYPRODUCT, &client_id))
        .await;
    assert_allowed(&answer, pb::AuthMode::Product, "X-Client-Id as a client id");
    assert_eq!(answer.client_id, client_id);
    assert_eq!(answer.acting_for_account_id, LAGERMAN);
    assert_eq!(answer.grant_id, grant.id);
    assert_refused(
        &http
            .ask(headers(&product_header, MYPRODUCT, &unissued_client_id()))
            .await,
        pb::HttpAuthRefusal::NotDelegated,
        403,
        "X-Client-Id an unknown client id",
    );
    client_ids
        .revoke_client_id(pb::RevokeClientIdRequest {
            id: client_id.clone(),
            reason: "retired".to_string(),
        })
        .await
        .expect("revoke client id");
    assert_refused(
        &http
            .ask(headers(&product_header, MYPRODUCT, &client_id))
            .await,
        pb::HttpAuthRefusal::NotDelegated,
        403,
        "X-Client-Id a revoked client id",
    );

    // The seed's literal header values hold keys credd never issued.
    assert_eq!(
        STANDARD
            .decode(SEED_CLIENT_HEADER.trim_start_matches("Basic "))
            .expect("seed base64"),
        b"LAGERMAN:87ba874b8a5049beadc9710984606715"
    );
    for (what, request) in [
        (
            "the seed's client header",
            headers(SEED_CLIENT_HEADER, "", ""),
        ),
        (
            "the seed's other client encoding",
            headers(&format!("Basic {SEED_CLIENT_HEADER_TEXT}"), "", ""),
        ),
        (
            "the seed's product headers",
            headers(SEED_PRODUCT_HEADER, MYPRODUCT, LAGERMAN),
        ),
    ] {
        assert_refused(
            &http.ask(request).await,
            pb::HttpAuthRefusal::InvalidCredentials,
            401,
            what,
        );
    }

    // Revoking the grant ends product access at once; client level stays.
    let revoked = revoke_grant(&mut partners, &grant.id).await;
    assert_eq!(revoked.status(), pb::GrantStatus::Revoked);
    assert_refused(
        &http.ask(product_request).await,
        pb::HttpAuthRefusal::NotDelegated,
        403,
        "a revoked grant",
    );
    assert_allowed(
        &http.ask(headers(&client_header, "", "")).await,
        pb::AuthMode::Client,
        "client level after the grant's revocation",
    );

    support::assert_no_secret_in_files(dir.path(), &http.secrets);
    let logs = daemon.logs();
    for header in [&client_header, &product_header] {
        let encoded = header.trim_start_matches("Basic ");
        assert!(!logs.contains(encoded), "a Basic header was logged");
    }
}
