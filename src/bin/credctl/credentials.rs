//! `credctl create`, `get`, `list`, `whoami`, `update`, `rotate`,
//! `complete-rotation`, `revoke`, `disable`, `reactivate` and `delete`: the
//! credential commands, over the CredentialAdmin service.

use serde_json::json;

use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;

use crate::args::{CredentialCommand, env_pb, kind_pb, status_pb};
use crate::connect::Authed;
use crate::input::{duration_arg, read_stdin};
use crate::output::Output;
use crate::rpc::status_error;

type Client = CredentialAdminClient<Authed>;

pub(crate) async fn run(
    authed: Authed,
    command: CredentialCommand,
    out: &Output,
) -> Result<(), String> {
    let mut admin = Client::new(authed);
    let credential = match command {
        CredentialCommand::Create {
            account,
            kind,
            environment,
            name,
            description,
            scopes,
            lifetime,
            notify_emails,
            client_id,
            metadata,
            credits,
            refill,
            rate_limits,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            let response = admin
                .create_credential(pb::CreateCredentialRequest {
                    account_id: account,
                    kind: kind_pb(kind).into(),
                    environment: env_pb(environment).into(),
                    name,
                    description,
                    scopes,
                    lifetime,
                    notify_emails,
                    client_id,
                    metadata,
                    credits: credits.map(|remaining| pb::Credits { remaining, refill }),
                    rate_limits,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential_with_secret(response.credential, &response.secret);
            return Ok(());
        }
        CredentialCommand::Get { id } => {
            admin
                .get_credential(pb::GetCredentialRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::List {
            account,
            status,
            kind,
            environment,
            expiring_within,
            inactive_for,
            page_size,
            page_token,
            all,
        } => {
            let span = |flag: &str, value: Option<String>| {
                value.map(|v| duration_arg(flag, &v)).transpose()
            };
            let request = pb::ListCredentialsRequest {
                expiring_within: span("expiring-within", expiring_within)?,
                inactive_for: span("inactive-for", inactive_for)?,
                account_id: account,
                status: status.map_or(pb::Status::Unspecified, status_pb).into(),
                kind: kind.map_or(pb::Kind::Unspecified, kind_pb).into(),
                environment: environment
                    .map_or(pb::Environment::Unspecified, env_pb)
                    .into(),
                page_size,
                page_token,
            };
            return list_pages(admin, request, all, out).await;
        }
        CredentialCommand::Whoami { secret, account } => {
            let secret = match secret {
                Some(secret) => secret,
                None => read_stdin("secret")?.trim().to_string(),
            };
            admin
                .lookup_credential_by_secret(pb::LookupCredentialBySecretRequest {
                    secret,
                    account_id: account,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::Update {
            id,
            name,
            description,
            scopes,
            clear_scopes,
            expires_at,
            notify_emails,
            clear_notify,
            metadata,
            clear_metadata,
            rate_limits,
            clear_rate_limits,
        } => {
            let list = |values: Vec<String>, clear: bool| {
                (clear || !values.is_empty()).then_some(pb::StringList { values })
            };
            admin
                .update_credential(pb::UpdateCredentialRequest {
                    id,
                    name,
                    description,
                    scopes: list(scopes, clear_scopes),
                    expires_at: expires_at.map(|t| prost_types::Timestamp {
                        seconds: t.timestamp(),
                        nanos: 0,
                    }),
                    notify_emails: list(notify_emails, clear_notify),
                    metadata: if clear_metadata {
                        Some(String::new())
                    } else {
                        metadata
                    },
                    rate_limits: (clear_rate_limits || !rate_limits.is_empty())
                        .then_some(pb::RateLimitRules { rules: rate_limits }),
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::Rotate { id, window } => {
            let window = window.map(|w| duration_arg("window", &w)).transpose()?;
            let response = admin
                .rotate_credential(pb::RotateCredentialRequest { id, window })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential_with_secret(response.credential, &response.secret);
            return Ok(());
        }
        CredentialCommand::CompleteRotation { id } => {
            admin
                .complete_rotation(pb::CompleteRotationRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::Revoke { id, reason } => {
            admin
                .revoke_credential(pb::RevokeCredentialRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::Disable { id, reason } => {
            admin
                .disable_credential(pb::DisableCredentialRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::Reactivate { id } => {
            admin
                .reactivate_credential(pb::ReactivateCredentialRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .credential
        }
        CredentialCommand::Delete { id } => return delete(admin, id, out).await,
    };
    out.credential(credential);
    Ok(())
}

/// One page of credentials, or with `all` every page from `request`'s token on.
async fn list_pages(
    mut admin: Client,
    mut request: pb::ListCredentialsRequest,
    all: bool,
    out: &Output,
) -> Result<(), String> {
    let mut credentials = Vec::new();
    loop {
        let response = admin
            .list_credentials(request.clone())
            .await
            .map_err(status_error)?
            .into_inner();
        credentials.extend(response.credentials);
        request.page_token = response.next_page_token;
        if !all || request.page_token.is_empty() {
            break;
        }
    }
    out.list(&credentials, &request.page_token);
    Ok(())
}

async fn delete(mut admin: Client, id: String, out: &Output) -> Result<(), String> {
    admin
        .delete_credential(pb::DeleteCredentialRequest { id: id.clone() })
        .await
        .map_err(status_error)?;
    if out.json {
        println!("{}", json!({ "deleted": id }));
    } else {
        println!("deleted {id}");
    }
    Ok(())
}
