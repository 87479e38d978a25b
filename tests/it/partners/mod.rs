//! Partners, delegation grants, client ids and consent against the real
//! binary: Verify with on_behalf_of (whitelist, grant, the grant's scopes),
//! Klarna-style client ids bound to API keys, KlickTipp's consent flow end to
//! end (developer key + customer key, approval, denial, expiry, revocation),
//! and who may register partners and answer consent requests.
//!
//! The tests are split by topic (delegation, client ids, consent, access);
//! this file holds the requests and helpers they share.

use std::time::Duration;

use credd::api::pb;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use tonic::Code;
use tonic::transport::Channel;

use crate::http_auth::{
    self, Http, LAGERMAN, MYPRODUCT, assert_allowed, assert_refused, basic, create_accounts,
    create_grant, register_partner, revoke_grant, unissued_client_id,
};
use crate::support::{self, Daemon, Partners};

mod access;
mod client_ids;
mod consents;
mod delegation;

const PARTNER: &str = "partner-app";

const CUSTOMER: &str = "customer-shop";

const PREFIX: &str = "https://partner.example/";

const REDIRECT: &str = "https://partner.example/klicktipp-api?customerkey=";

async fn ask(
    verifier: &mut CredentialVerifierClient<Channel>,
    request: pb::VerifyRequest,
) -> pb::VerifyResponse {
    verifier.verify(request).await.expect("verify").into_inner()
}

async fn pair(
    verifier: &mut CredentialVerifierClient<Channel>,
    developer_key: &str,
    customer_key: &str,
    scopes: &[&str],
) -> pb::VerifyPartnerPairResponse {
    verifier
        .verify_partner_pair(pb::VerifyPartnerPairRequest {
            developer_key: developer_key.to_string(),
            customer_key: customer_key.to_string(),
            required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        })
        .await
        .expect("verify partner pair")
        .into_inner()
}

fn consent_request(
    partner: &str,
    customer: &str,
    redirect: &str,
) -> pb::CreateConsentRequestRequest {
    pb::CreateConsentRequestRequest {
        partner_account_id: partner.to_string(),
        customer_account_id: customer.to_string(),
        redirect_url: redirect.to_string(),
        scopes: vec!["orders:read".to_string()],
        lifetime: None,
        environment: pb::Environment::Unspecified.into(),
    }
}

async fn create_consent(
    partners: &mut Partners,
    partner: &str,
    customer: &str,
) -> pb::CreateConsentRequestResponse {
    partners
        .create_consent_request(consent_request(partner, customer, REDIRECT))
        .await
        .expect("create consent request")
        .into_inner()
}

async fn get_consent(partners: &mut Partners, id: &str) -> pb::ConsentRequest {
    partners
        .get_consent_request(pb::GetConsentRequestRequest { id: id.to_string() })
        .await
        .expect("get consent request")
        .into_inner()
        .consent
        .expect("consent")
}

fn approve(id: &str) -> pb::ApproveConsentRequest {
    pb::ApproveConsentRequest { id: id.to_string() }
}

fn deny(id: &str) -> pb::DenyConsentRequest {
    pb::DenyConsentRequest {
        id: id.to_string(),
        reason: "not now".to_string(),
    }
}
