//! CleverTap's header pair against the real binary: account and user
//! passcodes, and the connect call's partner whitelist.

use super::*;

/// Argon2 cost lowered, so creating a user is quick.
const USERS_CONFIG: &str = r#"
[users]
argon2_memory_kib = 64
argon2_iterations = 1
"#;

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
