//! `credctl partner ...` (whitelisting accounts as partners), and with
//! `grant ...` and `consent ...` in this folder, partners acting for other
//! accounts; all over the PartnerAdmin service.

pub(crate) mod consents;
pub(crate) mod grants;
#[cfg(test)]
mod tests;

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::partner_admin_client::PartnerAdminClient;

use crate::args::PartnerCommand;
use crate::connect::Authed;
use crate::output::{Output, Record, time};
use crate::rpc::{all_pages, status_error};

impl Record for pb::Partner {
    const PLURAL: &'static str = "partners";
    const HEADER: &'static [&'static str] = &["ACCOUNT", "NAME", "REDIRECT PREFIXES", "CREATED"];

    fn to_json(&self) -> Value {
        json!({
            "account_id": self.account_id,
            "display_name": self.display_name,
            "redirect_prefixes": self.redirect_prefixes,
            "mtls_identities": self.mtls_identities,
            "created_at": time(self.created_at.as_ref()),
            "updated_at": time(self.updated_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.account_id.clone(),
            self.display_name.clone(),
            self.redirect_prefixes.join(", "),
            time(self.created_at.as_ref()),
        ]
    }
}

pub(crate) async fn run(
    authed: Authed,
    command: PartnerCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = PartnerAdminClient::new(authed);
    let partner = match command {
        PartnerCommand::Register {
            account,
            display_name,
            redirect_prefixes,
        } => {
            client
                .register_partner(pb::RegisterPartnerRequest {
                    account_id: account,
                    display_name,
                    redirect_prefixes,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .partner
        }
        PartnerCommand::Get { account } => {
            client
                .get_partner(pb::GetPartnerRequest {
                    account_id: account,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .partner
        }
        PartnerCommand::List => {
            let partners = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListPartnersRequest {
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_partners(request).await?.into_inner();
                    Ok((page.partners, page.next_page_token))
                }
            })
            .await?;
            out.records(&partners);
            return Ok(());
        }
        PartnerCommand::Update {
            account,
            display_name,
            redirect_prefixes,
            clear_redirect_prefixes,
            mtls_identities,
            clear_mtls_identities,
        } => {
            client
                .update_partner(pb::UpdatePartnerRequest {
                    account_id: account,
                    display_name,
                    redirect_prefixes: (clear_redirect_prefixes || !redirect_prefixes.is_empty())
                        .then_some(pb::StringList {
                            values: redirect_prefixes,
                        }),
                    mtls_identities: (clear_mtls_identities || !mtls_identities.is_empty())
                        .then_some(pb::StringList {
                            values: mtls_identities,
                        }),
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .partner
        }
        PartnerCommand::Remove { account, reason } => {
            let revoked = client
                .remove_partner(pb::RemovePartnerRequest {
                    account_id: account.clone(),
                    reason,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .grants_revoked;
            if out.json {
                println!(
                    "{}",
                    json!({ "removed": account, "grants_revoked": revoked })
                );
            } else {
                println!("removed partner {account}; {revoked} grant(s) revoked");
            }
            return Ok(());
        }
    };
    out.records(partner.as_slice());
    Ok(())
}
