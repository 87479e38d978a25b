//! `credctl grant ...`: let a partner act for a client account (delegation
//! grants), over the PartnerAdmin service.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::partner_admin_client::PartnerAdminClient;

use crate::args::GrantCommand;
use crate::connect::Authed;
use crate::input::duration_arg;
use crate::output::{Output, Record, enum_name, short_name, time};
use crate::rpc::{all_pages, status_error};

impl Record for pb::Grant {
    const PLURAL: &'static str = "grants";
    const HEADER: &'static [&'static str] = &[
        "ID", "PARTNER", "CLIENT", "SCOPES", "STATUS", "ORIGIN", "EXPIRES",
    ];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "partner_account_id": self.partner_account_id,
            "client_account_id": self.client_account_id,
            "scopes": self.scopes,
            "status": enum_name(self.status, pb::GrantStatus::as_str_name),
            "origin": enum_name(self.origin, pb::GrantOrigin::as_str_name),
            "consent_id": self.consent_id,
            "customer_key_id": self.customer_key_id,
            "created_at": time(self.created_at.as_ref()),
            "expires_at": time(self.expires_at.as_ref()),
            "revoked_at": time(self.revoked_at.as_ref()),
            "status_reason": self.status_reason,
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.partner_account_id.clone(),
            self.client_account_id.clone(),
            self.scopes.join(", "),
            short_name(self.status, pb::GrantStatus::as_str_name),
            short_name(self.origin, pb::GrantOrigin::as_str_name),
            self.expires_at
                .as_ref()
                .map_or_else(|| "never".to_string(), |t| time(Some(t))),
        ]
    }
}

pub(crate) async fn run(authed: Authed, command: GrantCommand, out: &Output) -> Result<(), String> {
    let mut client = PartnerAdminClient::new(authed);
    let grant = match command {
        GrantCommand::Create {
            partner,
            client: client_account,
            scopes,
            lifetime,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            client
                .create_grant(pb::CreateGrantRequest {
                    partner_account_id: partner,
                    client_account_id: client_account,
                    scopes,
                    lifetime,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .grant
        }
        GrantCommand::Get { id } => {
            client
                .get_grant(pb::GetGrantRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .grant
        }
        GrantCommand::List {
            partner,
            client: client_account,
            all,
        } => {
            let grants = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListGrantsRequest {
                    partner_account_id: partner.clone(),
                    client_account_id: client_account.clone(),
                    include_ended: all,
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_grants(request).await?.into_inner();
                    Ok((page.grants, page.next_page_token))
                }
            })
            .await?;
            out.records(&grants);
            return Ok(());
        }
        GrantCommand::Revoke { id, reason } => {
            client
                .revoke_grant(pb::RevokeGrantRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .grant
        }
    };
    out.records(grant.as_slice());
    Ok(())
}
