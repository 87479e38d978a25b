//! Partners and delegation survive `kill -9`: an acknowledged client id,
//! partner, grant and approved consent (with its customer key) are there
//! after a SIGKILL and a restart, and so is an acknowledged revocation.

use credd::api::pb;
use credd::api::pb::client_id_admin_client::ClientIdAdminClient;
use credd::api::pb::partner_admin_client::PartnerAdminClient;

use crate::support::{self, Bearer};

/// Every partner change acknowledged before a SIGKILL holds after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn delegation_survives_kill9() {
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let key = daemon.admin_key();
    let mut admin = daemon.admin().await;
    let mut partners =
        PartnerAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(&key)));
    let mut clients =
        ClientIdAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(&key)));

    let client_id = clients
        .create_client_id(pb::CreateClientIdRequest {
            account_id: "LAGERMAN".to_string(),
            name: "webshop".to_string(),
            ..Default::default()
        })
        .await
        .expect("create client id")
        .into_inner()
        .client_id
        .expect("client id")
        .id;
    let mut bound = support::api_key("LAGERMAN", "bound");
    bound.client_id = client_id.clone();
    let (_, bound_key) = support::create(&mut admin, bound).await;
    let (_, product_key) = support::create(&mut admin, support::api_key("MYPRODUCT", "p")).await;
    partners
        .register_partner(pb::RegisterPartnerRequest {
            account_id: "MYPRODUCT".to_string(),
            display_name: "My Product".to_string(),
            redirect_prefixes: vec!["https://partner.example/".to_string()],
        })
        .await
        .expect("register");
    let grant = partners
        .create_grant(pb::CreateGrantRequest {
            partner_account_id: "MYPRODUCT".to_string(),
            client_account_id: "LAGERMAN".to_string(),
            ..Default::default()
        })
        .await
        .expect("grant")
        .into_inner()
        .grant
        .expect("grant");
    let consent = partners
        .create_consent_request(pb::CreateConsentRequestRequest {
            partner_account_id: "MYPRODUCT".to_string(),
            customer_account_id: "CUSTOMER".to_string(),
            redirect_url: "https://partner.example/cb?customerkey=".to_string(),
            ..Default::default()
        })
        .await
        .expect("consent")
        .into_inner()
        .consent
        .expect("consent");
    let approved = partners
        .approve_consent(pb::ApproveConsentRequest { id: consent.id })
        .await
        .expect("approve")
        .into_inner();
    let customer_key = approved
        .redirect_url
        .split("customerkey=")
        .nth(1)
        .expect("customer key in the redirect")
        .to_string();
    daemon.kill9();
    daemon.restart();

    let mut verifier = daemon.verifier().await;
    let bound_answer = verifier
        .verify(pb::VerifyRequest {
            secret: bound_key.clone(),
            client_id: client_id.clone(),
            ..Default::default()
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(bound_answer.result(), pb::VerifyResult::Valid);
    assert_eq!(bound_answer.client_id, client_id);
    let acting = verifier
        .verify(pb::VerifyRequest {
            secret: product_key.clone(),
            on_behalf_of: "LAGERMAN".to_string(),
            ..Default::default()
        })
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(acting.result(), pb::VerifyResult::Valid);
    assert_eq!(acting.grant_id, grant.id);
    let pair = verifier
        .verify_partner_pair(pb::VerifyPartnerPairRequest {
            developer_key: product_key.clone(),
            customer_key: customer_key.clone(),
            required_scopes: Vec::new(),
        })
        .await
        .expect("pair")
        .into_inner();
    assert_eq!(pair.result(), pb::VerifyResult::Valid);
    assert_eq!(pair.customer_account_id, "CUSTOMER");

    let key = daemon.admin_key();
    let mut partners =
        PartnerAdminClient::with_interceptor(daemon.channel().await, Bearer::new(Some(&key)));
    partners
        .revoke_grant(pb::RevokeGrantRequest {
            id: approved.grant.expect("grant").id,
            reason: "customer left".to_string(),
        })
        .await
        .expect("revoke");
    daemon.kill9();
    daemon.restart();
    let mut verifier = daemon.verifier().await;
    let pair = verifier
        .verify_partner_pair(pb::VerifyPartnerPairRequest {
            developer_key: product_key.clone(),
            customer_key: customer_key.clone(),
            required_scopes: Vec::new(),
        })
        .await
        .expect("pair")
        .into_inner();
    assert_ne!(pair.result(), pb::VerifyResult::Valid);
    daemon.terminate(std::time::Duration::from_secs(20));
    support::assert_no_secret_in_files(dir.path(), &[bound_key, product_key, customer_key]);
}
