//! CredentialVerifier.VerifyHttpAuthorization against the real binary, with
//! the seeds' own examples: Basic client-level and product-level
//! authentication (accounts LAGERMAN and MYPRODUCT), every header
//! combination and the refusal and HTTP status each one gets, the seed's
//! literal header values, and CleverTap's header pair (account and user
//! passcodes, the connect call's partner whitelist). A refusal is always an
//! answer, never a gRPC error, and no answer, file or log line carries a key.
//!
//! The tests are split by topic (Basic, CleverTap, refusals); this file holds
//! the helpers they share, which `partners` uses too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use tonic::transport::Channel;

use crate::support::{self, Bearer, Daemon};

mod basic;
mod clevertap;
mod refusals;

/// The seed's client (ClientId).
pub const LAGERMAN: &str = "LAGERMAN";

/// The seed's product (ProductId).
pub const MYPRODUCT: &str = "MYPRODUCT";

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

/// Creates account `id` limited to one Verify a second, `burst` at once.
pub async fn create_limited_account(daemon: &Daemon, id: &str, burst: u32) {
    let mut accounts = AccountAdminClient::with_interceptor(
        daemon.channel().await,
        Bearer::new(Some(&daemon.admin_key())),
    );
    accounts
        .create_account(pb::CreateAccountRequest {
            id: id.to_string(),
            display_name: format!("{id} inc."),
            rate_limit: Some(pb::RateLimit {
                requests_per_second: 1,
                burst,
            }),
            ..Default::default()
        })
        .await
        .expect("create limited account");
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
