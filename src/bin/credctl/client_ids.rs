//! `credctl client-id ...`: an account's public client ids, over the
//! ClientIdAdmin service.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::client_id_admin_client::ClientIdAdminClient;

use crate::args::{ClientIdCommand, env_pb};
use crate::connect::Authed;
use crate::output::{Output, Record, enum_name, short_name, time};
use crate::rpc::{all_pages, status_error};

impl Record for pb::ClientId {
    const PLURAL: &'static str = "client_ids";
    const HEADER: &'static [&'static str] = &["ID", "ACCOUNT", "ENV", "NAME", "STATUS", "CREATED"];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "account_id": self.account_id,
            "environment": enum_name(self.environment, pb::Environment::as_str_name),
            "name": self.name,
            "description": self.description,
            "status": enum_name(self.status, pb::ClientIdStatus::as_str_name),
            "status_reason": self.status_reason,
            "created_at": time(self.created_at.as_ref()),
            "revoked_at": time(self.revoked_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.account_id.clone(),
            short_name(self.environment, pb::Environment::as_str_name),
            self.name.clone(),
            short_name(self.status, pb::ClientIdStatus::as_str_name),
            time(self.created_at.as_ref()),
        ]
    }
}

pub(crate) async fn run(
    authed: Authed,
    command: ClientIdCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = ClientIdAdminClient::new(authed);
    let client_id = match command {
        ClientIdCommand::Create {
            account,
            environment,
            name,
            description,
        } => {
            client
                .create_client_id(pb::CreateClientIdRequest {
                    account_id: account,
                    environment: env_pb(environment).into(),
                    name,
                    description,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .client_id
        }
        ClientIdCommand::Get { id } => {
            client
                .get_client_id(pb::GetClientIdRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .client_id
        }
        ClientIdCommand::List { account } => {
            let client_ids = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListClientIdsRequest {
                    account_id: account.clone(),
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_client_ids(request).await?.into_inner();
                    Ok((page.client_ids, page.next_page_token))
                }
            })
            .await?;
            out.records(&client_ids);
            return Ok(());
        }
        ClientIdCommand::Revoke { id, reason } => {
            client
                .revoke_client_id(pb::RevokeClientIdRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .client_id
        }
    };
    out.records(client_id.as_slice());
    Ok(())
}
