//! CredentialVerifier.VerifyHttpAuthorization against the real binary, with
//! the seeds' own examples: Basic client-level and product-level
//! authentication (accounts LAGERMAN and MYPRODUCT), every header
//! combination and the refusal and HTTP status each one gets, the seed's
//! literal header values, and CleverTap's header pair (account and user
//! passcodes, the connect call's partner whitelist). A refusal is always an
//! answer, never a gRPC error, and no answer, file or log line carries a key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use tonic::transport::Channel;

use crate::support::{self, Bearer, Daemon};

/// The seed's client (ClientId).
pub const LAGERMAN: &str = "LAGERMAN";
/// The seed's product (ProductId).
pub const MYPRODUCT: &str = "MYPRODUCT";

/// The seed's client-level header value (LAGERMAN:87ba874b8a5049beadc9710984606715).
const SEED_CLIENT_HEADER: &str = "Basic TEFHRVJNQU46ODdiYTg3NGI4YTUwNDliZWFkYzk3MTA5ODQ2MDY3MTU=";
/// The other encoding the seed shows for LAGERMAN (a different key).
const SEED_CLIENT_HEADER_TEXT: &str = "TEFHRVJNQU46OTQzZjM2Mjk0N2EyNDA0NTgyYTI2ODkzN2QyM2JjMzM=";
/// The seed's product-level header value (MYPRODUCT:abc123def456ghi789jkl012mno345pq).
const SEED_PRODUCT_HEADER: &str = "Basic TVlQUk9EVUNUOmFiYzEyM2RlZjQ1NmdoaTc4OWprbDAxMm1ubzM0NXBx";

/// Argon2 cost lowered, so creating a user is quick.
const USERS_CONFIG: &str = r#"
[users]
argon2_memory_kib = 64
argon2_iterations = 1
"#;

/// `Basic base64(id:key)`.
pub fn basic(id: &str, key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{key}")))
}

/// Basic headers: Authorization, X-Product-Id, X-Client-Id (empty: absent).
pub fn headers(
    authorization: &str,
    product: &str,
    client: &str,
) -> pb::VerifyHttpAuthorizationRequest {
    pb::VerifyHttpAuthorizationRequest {
        authorization: authorization.to_string(),
        x_product_id: product.to_string(),
        x_client_id: client.to_string(),
        ..Default::default()
    }
}

/// CleverTap's pair, and the connect call's partner (empty: absent).
fn clevertap(account: &str, passcode: &str, partner: &str) -> pb::VerifyHttpAuthorizationRequest {
    pb::VerifyHttpAuthorizationRequest {
        x_clevertap_account_id: account.to_string(),
        x_clevertap_passcode: passcode.to_string(),
        clevertap_partner: partner.to_string(),
        ..Default::default()
    }
}

/// A verifier that also checks no answer ever carries one of `secrets`.
pub struct Http {
    verifier: CredentialVerifierClient<Channel>,
    /// Every key issued in the test so far.
    pub secrets: Vec<String>,
}

impl Http {
    pub async fn new(daemon: &Daemon) -> Self {
        Http {
            verifier: daemon.verifier().await,
            secrets: Vec::new(),
        }
    }

    /// Asks VerifyHttpAuthorization; the call itself must succeed.
    pub async fn ask(
        &mut self,
        request: pb::VerifyHttpAuthorizationRequest,
    ) -> pb::VerifyHttpAuthorizationResponse {
        let what = format!("{request:?}");
        let answer = self
            .verifier
            .verify_http_authorization(request)
            .await
            .unwrap_or_else(|status| panic!("VerifyHttpAuthorization({what}): {status:?}"))
            .into_inner();
        let shown = format!("{answer:?}");
        for secret in &self.secrets {
            assert!(!shown.contains(secret.as_str()), "an answer carries a key");
        }
        answer
    }
}

/// Asserts a 200 answer in `mode` whose inner Verify said VALID.
#[track_caller]
pub fn assert_allowed(
    answer: &pb::VerifyHttpAuthorizationResponse,
    mode: pb::AuthMode,
    what: &str,
) {
    assert!(answer.allowed, "{what}: refused: {answer:?}");
    assert_eq!(answer.http_status, 200, "{what}");
    assert_eq!(answer.mode(), mode, "{what}");
    assert_eq!(answer.refusal(), pb::HttpAuthRefusal::Unspecified, "{what}");
    let verification = answer.verification.as_ref().expect("verification");
    assert_eq!(verification.result(), pb::VerifyResult::Valid, "{what}");
}

/// Asserts a refusal with this reason and HTTP status.
#[track_caller]
pub fn assert_refused(
    answer: &pb::VerifyHttpAuthorizationResponse,
    refusal: pb::HttpAuthRefusal,
    http_status: u32,
    what: &str,
) {
    assert!(!answer.allowed, "{what}: allowed: {answer:?}");
    assert_eq!(answer.refusal(), refusal, "{what}: {answer:?}");
    assert_eq!(answer.http_status, http_status, "{what}: {answer:?}");
    assert!(!answer.reason.is_empty(), "{what}: a refusal says why");
}

/// A well-formed client id (right checksum) that no daemon issued.
pub fn unissued_client_id() -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut covered = "credd_live_client_".to_string();
    for n in 0..24u8 {
        covered.push(char::from(ALPHABET[usize::from(n * 7 % 62)]));
    }
    let mut value = u64::from(crc32fast::hash(covered.as_bytes()));
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    covered.push_str(std::str::from_utf8(&digits).expect("ascii"));
    covered
}

/// Creates accounts that have no credential yet.
pub async fn create_accounts(daemon: &Daemon, ids: &[&str]) {
    let mut accounts = AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    );
    for id in ids {
        accounts
            .create_account(pb::CreateAccountRequest {
                id: id.to_string(),
                display_name: format!("{id} inc."),
                contact_emails: vec![format!("ops@{}.example", id.to_lowercase())],
                ..Default::default()
            })
            .await
            .expect("create account");
    }
}

/// Whitelists `account` as a partner (global admin key).
pub async fn register_partner(
    partners: &mut support::Partners,
    account: &str,
    prefixes: &[&str],
) -> pb::Partner {
    partners
        .register_partner(pb::RegisterPartnerRequest {
            account_id: account.to_string(),
            display_name: format!("{account} (partner)"),
            redirect_prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        })
        .await
        .expect("register partner")
        .into_inner()
        .partner
        .expect("partner")
}

/// An administrator's grant `partner -> client`.
pub async fn create_grant(
    partners: &mut support::Partners,
    partner: &str,
    client: &str,
    scopes: &[&str],
) -> pb::Grant {
    partners
        .create_grant(pb::CreateGrantRequest {
            partner_account_id: partner.to_string(),
            client_account_id: client.to_string(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            lifetime: None,
        })
        .await
        .expect("create grant")
        .into_inner()
        .grant
        .expect("grant")
}

/// Revokes a grant; returns it as answered.
pub async fn revoke_grant(partners: &mut support::Partners, id: &str) -> pb::Grant {
    partners
        .revoke_grant(pb::RevokeGrantRequest {
            id: id.to_string(),
            reason: "test".to_string(),
        })
        .await
        .expect("revoke grant")
        .into_inner()
        .grant
        .expect("grant")
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clevertap_account_and_user_passcodes_and_partner_whitelist() {
    const ACCOUNT: &str = "W9R-486-4W5Z";
    const PARTNER: &str = "adjust";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), USERS_CONFIG);
    let mut admin = daemon.admin().await;
    let mut users = daemon.users().await;
    let mut partners = daemon.partners().await;
    let (_, account_passcode) =
        support::create(&mut admin, support::passcode(ACCOUNT, "adjust-connector")).await;
    let (_, other_passcode) =
        support::create(&mut admin, support::passcode("ZZZ-999-ZZZZ", "other")).await;
    users
        .create_user(pb::CreateUserRequest {
            account_id: ACCOUNT.to_string(),
            username: "api-bot".to_string(),
            role: pb::UserRole::ApiUser.into(),
            email: "api-bot@clevertap.example".to_string(),
            password: String::new(),
        })
        .await
        .expect("create user");
    let user_passcode = users
        .grant_user_passcode(pb::UserPasscodeRequest {
            account_id: ACCOUNT.to_string(),
            username: "api-bot".to_string(),
            validity_days: 30,
            infinite: false,
        })
        .await
        .expect("grant user passcode")
        .into_inner()
        .secret;
    create_accounts(&daemon, &[PARTNER]).await;
    register_partner(&mut partners, PARTNER, &[]).await;
    let mut http = Http::new(&daemon).await;
    http.secrets = vec![
        account_passcode.clone(),
        other_passcode.clone(),
        user_passcode.clone(),
    ];

    // Customers' own calls: account passcode and user passcode.
    let answer = http.ask(clevertap(ACCOUNT, &account_passcode, "")).await;
    assert_allowed(&answer, pb::AuthMode::Clevertap, "an account passcode");
    assert_eq!(answer.principal_id, ACCOUNT);
    assert_eq!(answer.principal_account_id, ACCOUNT);
    assert_eq!(answer.acting_for_account_id, ACCOUNT);
    let answer = http.ask(clevertap(ACCOUNT, &user_passcode, "")).await;
    assert_allowed(&answer, pb::AuthMode::Clevertap, "a user passcode");
    assert_eq!(
        answer.verification.expect("verification").username,
        "api-bot"
    );

    // Wrong passcodes: 401, or 400 on the connect call of a whitelisted partner.
    for (what, passcode) in [
        ("a wrong passcode", support::flip_char(&account_passcode)),
        ("another account's passcode", other_passcode.clone()),
        ("not a credd passcode", "YOUR_ACCOUNT_PASSCODE".to_string()),
    ] {
        let answer = http.ask(clevertap(ACCOUNT, &passcode, "")).await;
        assert_refused(&answer, pb::HttpAuthRefusal::InvalidCredentials, 401, what);
        assert_eq!(answer.mode(), pb::AuthMode::Clevertap, "{what}");
        assert_refused(
            &http.ask(clevertap(ACCOUNT, &passcode, PARTNER)).await,
            pb::HttpAuthRefusal::InvalidCredentials,
            400,
            &format!("{what} on the connect call"),
        );
    }
    assert_allowed(
        &http
            .ask(clevertap(ACCOUNT, &account_passcode, PARTNER))
            .await,
        pb::AuthMode::Clevertap,
        "the connect call of a whitelisted partner",
    );

    // A partner that is not whitelisted: 403, before the credentials.
    for (what, passcode) in [
        ("good credentials", account_passcode.clone()),
        ("wrong credentials", support::flip_char(&account_passcode)),
    ] {
        let answer = http.ask(clevertap(ACCOUNT, &passcode, "patnername")).await;
        assert_refused(
            &answer,
            pb::HttpAuthRefusal::PartnerNotWhitelisted,
            403,
            &format!("a partner not whitelisted, {what}"),
        );
        assert!(
            answer.reason.contains("Partner not whitelisted"),
            "{}",
            answer.reason
        );
        assert!(answer.reason.contains("patnername"), "{}", answer.reason);
    }

    // Incomplete pairs, and the pair mixed with Basic's headers.
    assert_refused(
        &http.ask(clevertap(ACCOUNT, "", "")).await,
        pb::HttpAuthRefusal::MalformedCredentials,
        401,
        "an account id without a passcode",
    );
    assert_refused(
        &http.ask(clevertap("", &account_passcode, "")).await,
        pb::HttpAuthRefusal::MalformedCredentials,
        401,
        "a passcode without an account id",
    );
    let mut mixed = clevertap(ACCOUNT, &account_passcode, "");
    mixed.x_product_id = MYPRODUCT.to_string();
    assert_refused(
        &http.ask(mixed).await,
        pb::HttpAuthRefusal::MixedModes,
        401,
        "the pair with X-Product-Id",
    );
    let mut mixed = clevertap(ACCOUNT, &account_passcode, "");
    mixed.x_client_id = LAGERMAN.to_string();
    assert_refused(
        &http.ask(mixed).await,
        pb::HttpAuthRefusal::MixedModes,
        401,
        "the pair with X-Client-Id",
    );

    // A revoked user passcode is no longer active.
    users
        .revoke_user_passcode(pb::RevokeUserPasscodeRequest {
            account_id: ACCOUNT.to_string(),
            username: "api-bot".to_string(),
        })
        .await
        .expect("revoke user passcode");
    let answer = http.ask(clevertap(ACCOUNT, &user_passcode, "")).await;
    assert_refused(
        &answer,
        pb::HttpAuthRefusal::CredentialNotActive,
        401,
        "a revoked user passcode",
    );

    support::assert_no_secret_in_files(dir.path(), &http.secrets);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_and_rate_limit_refusals_carry_their_http_status() {
    const CT_ACCOUNT: &str = "W9R-486-4W5Z";
    let dir = support::temp_dir();
    let daemon = support::start(dir.path(), "");
    let mut accounts = AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    );
    accounts
        .create_account(pb::CreateAccountRequest {
            id: "bursty".to_string(),
            display_name: "Bursty".to_string(),
            rate_limit: Some(pb::RateLimit {
                requests_per_second: 1,
                burst: 2,
            }),
            ..Default::default()
        })
        .await
        .expect("create account");
    let mut admin = daemon.admin().await;
    let mut partners = daemon.partners().await;
    let (_, bursty_key) = support::create(&mut admin, support::api_key("bursty", "k")).await;
    let (_, client_key) = support::create(&mut admin, support::api_key(LAGERMAN, "k")).await;
    let (_, product_key) = support::create(&mut admin, support::api_key(MYPRODUCT, "k")).await;
    let (_, passcode) = support::create(&mut admin, support::passcode(CT_ACCOUNT, "p")).await;
    register_partner(&mut partners, MYPRODUCT, &[]).await;
    create_grant(&mut partners, MYPRODUCT, LAGERMAN, &["orders:read"]).await;
    let mut http = Http::new(&daemon).await;
    http.secrets = vec![
        bursty_key.clone(),
        client_key.clone(),
        product_key.clone(),
        passcode.clone(),
    ];

    // Product level: the grant allows orders:read only, the key holds both.
    let mut request = headers(&basic(MYPRODUCT, &product_key), MYPRODUCT, LAGERMAN);
    request.required_scopes = vec!["orders:read".to_string()];
    assert_allowed(
        &http.ask(request.clone()).await,
        pb::AuthMode::Product,
        "a scope the grant allows",
    );
    request.required_scopes = vec!["orders:write".to_string()];
    assert_refused(
        &http.ask(request).await,
        pb::HttpAuthRefusal::InsufficientScope,
        403,
        "a scope the grant does not allow",
    );
    // CleverTap: a scope the passcode lacks.
    let mut request = clevertap(CT_ACCOUNT, &passcode, "");
    request.required_scopes = vec!["billing:write".to_string()];
    let answer = http.ask(request).await;
    assert_refused(
        &answer,
        pb::HttpAuthRefusal::InsufficientScope,
        403,
        "a scope the passcode lacks",
    );
    assert_eq!(answer.mode(), pb::AuthMode::Clevertap);
    // Malformed required scopes are the one gRPC error.
    let mut request = headers(&basic(LAGERMAN, &client_key), "", "");
    request.required_scopes = vec!["not a scope!".to_string()];
    support::expect_code(
        daemon
            .verifier()
            .await
            .verify_http_authorization(request)
            .await,
        tonic::Code::InvalidArgument,
        "a malformed required scope",
    );

    // A bucket of 2 at 1/s: five requests at once see at least one 429.
    let header = basic("bursty", &bursty_key);
    let mut limited = 0;
    let mut allowed = 0;
    for _ in 0..5 {
        let answer = http.ask(headers(&header, "", "")).await;
        if answer.allowed {
            assert_allowed(&answer, pb::AuthMode::Client, "within the bucket");
            allowed += 1;
        } else {
            assert_refused(
                &answer,
                pb::HttpAuthRefusal::RateLimited,
                429,
                "over the bucket",
            );
            let retry = answer.retry_after.expect("retry_after with 429");
            assert!(
                retry.seconds <= 1 && (retry.seconds > 0 || retry.nanos > 0),
                "{retry:?}"
            );
            limited += 1;
        }
    }
    assert!(
        allowed >= 2 && limited >= 1,
        "{allowed} allowed, {limited} limited"
    );
    support::assert_no_secret_in_files(dir.path(), &http.secrets);
}
