//! `credctl admin-key ...`: issue, show, list and revoke admin keys, over
//! the AdminKeyAdmin service.

use credd::api::pb;
use credd::api::pb::admin_key_admin_client::AdminKeyAdminClient;

use crate::args::AdminKeyCommand;
use crate::connect::Authed;
use crate::input::duration_arg;
use crate::output::Output;
use crate::rpc::{all_pages, status_error};

pub(crate) async fn run(
    authed: Authed,
    command: AdminKeyCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = AdminKeyAdminClient::new(authed);
    match command {
        AdminKeyCommand::Create {
            name,
            description,
            scopes,
            account,
            lifetime,
            notify_emails,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            let response = client
                .create_admin_key(pb::CreateAdminKeyRequest {
                    account_id: account,
                    name,
                    description,
                    scopes,
                    lifetime,
                    notify_emails,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential_with_secret(response.admin_key, &response.secret);
        }
        AdminKeyCommand::Get { id } => {
            let response = client
                .get_admin_key(pb::GetAdminKeyRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.admin_key);
        }
        AdminKeyCommand::List { account } => {
            let keys = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListAdminKeysRequest {
                    account_id: account.clone(),
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_admin_keys(request).await?.into_inner();
                    Ok((page.admin_keys, page.next_page_token))
                }
            })
            .await?;
            out.list(&keys, "");
        }
        AdminKeyCommand::Revoke { id, reason } => {
            let response = client
                .revoke_admin_key(pb::RevokeAdminKeyRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.admin_key);
        }
    }
    Ok(())
}
