//! `credctl consent ...`: a partner's request for a customer's consent,
//! and the customer's approval (which creates the grant and the customer
//! key) or denial, over the PartnerAdmin service.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::partner_admin_client::PartnerAdminClient;

use crate::args::{ConsentCommand, env_pb};
use crate::connect::Authed;
use crate::input::duration_arg;
use crate::output::{Output, Record, credential_json, enum_name, short_name, time};
use crate::rpc::status_error;

impl Record for pb::ConsentRequest {
    const PLURAL: &'static str = "consents";
    const HEADER: &'static [&'static str] = &[
        "ID", "PARTNER", "CUSTOMER", "STATUS", "SCOPES", "EXPIRES", "GRANT",
    ];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "partner_account_id": self.partner_account_id,
            "partner_display_name": self.partner_display_name,
            "customer_account_id": self.customer_account_id,
            "redirect_url": self.redirect_url,
            "scopes": self.scopes,
            "lifetime_s": self.lifetime.as_ref().map(|d| d.seconds),
            "status": enum_name(self.status, pb::ConsentStatus::as_str_name),
            "created_at": time(self.created_at.as_ref()),
            "expires_at": time(self.expires_at.as_ref()),
            "answered_at": time(self.answered_at.as_ref()),
            "grant_id": self.grant_id,
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.partner_account_id.clone(),
            self.customer_account_id.clone(),
            short_name(self.status, pb::ConsentStatus::as_str_name),
            self.scopes.join(", "),
            time(self.expires_at.as_ref()),
            self.grant_id.clone(),
        ]
    }
}

/// A record and a few fields of the answer around it: merged into its JSON
/// object, or printed as `key: value` lines under its table.
fn print_with<R: Record>(out: &Output, record: Option<R>, extra: &[(&str, &str)]) {
    if out.json {
        let mut value = record.as_ref().map_or_else(|| json!({}), R::to_json);
        for (key, text) in extra {
            value[*key] = Value::String((*text).to_string());
        }
        println!("{value}");
        return;
    }
    out.records(record.as_slice());
    for (key, text) in extra {
        println!("{key}: {text}");
    }
}

/// The customer key ApproveConsent appended to the redirect URL as its last
/// non-empty `customerkey=` parameter. Keys are made of letters, digits and
/// `_`, which URL encoding leaves as they are.
pub(super) fn customer_key_of(redirect_url: &str) -> Option<&str> {
    let (_, query) = redirect_url.split_once('?')?;
    query
        .split('&')
        .filter_map(|param| param.strip_prefix("customerkey="))
        .rfind(|key| !key.is_empty())
}

pub(crate) async fn run(
    authed: Authed,
    command: ConsentCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = PartnerAdminClient::new(authed);
    match command {
        ConsentCommand::Request {
            partner,
            customer,
            redirect_url,
            scopes,
            lifetime,
            environment,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            let response = client
                .create_consent_request(pb::CreateConsentRequestRequest {
                    partner_account_id: partner,
                    customer_account_id: customer,
                    redirect_url,
                    scopes,
                    lifetime,
                    environment: env_pb(environment).into(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_with(
                out,
                response.consent,
                &[("approval_path", &response.approval_path)],
            );
        }
        ConsentCommand::Get { id } => {
            let consent = client
                .get_consent_request(pb::GetConsentRequestRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .consent;
            out.records(consent.as_slice());
        }
        ConsentCommand::Approve { id } => {
            let response = client
                .approve_consent(pb::ApproveConsentRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            let key = customer_key_of(&response.redirect_url).unwrap_or_default();
            if out.json {
                let mut value = response
                    .consent
                    .as_ref()
                    .map_or_else(|| json!({}), Record::to_json);
                value["grant"] = response.grant.as_ref().map_or(Value::Null, Record::to_json);
                let mut customer_key = response
                    .customer_key
                    .as_ref()
                    .map_or_else(|| json!({}), credential_json);
                customer_key["secret"] = Value::String(key.to_string());
                value["customer_key"] = customer_key;
                value["redirect_url"] = Value::String(response.redirect_url);
                println!("{value}");
            } else {
                out.records(response.consent.as_slice());
                out.records(response.grant.as_slice());
                if key.is_empty() {
                    out.credential(response.customer_key);
                } else {
                    out.credential_with_secret(response.customer_key, key);
                }
                println!("redirect_url: {}", response.redirect_url);
            }
        }
        ConsentCommand::Deny { id, reason } => {
            let response = client
                .deny_consent(pb::DenyConsentRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            print_with(
                out,
                response.consent,
                &[("redirect_url", &response.redirect_url)],
            );
        }
    }
    Ok(())
}
