//! `credd.v1.CredentialAdmin`: the administration RPCs. Each handler converts
//! its request, calls the engine, and converts the answer; spans skip every
//! argument so no secret can land in one.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::auth::actor;
use super::convert::{self, credential_to_pb};
use super::pb;
use super::rate_limits;
use super::usage::{usage_day_to_pb, usage_query};
use crate::engine::{CredentialUpdate, Engine, ListQuery, NewCredential};
use crate::telemetry;

/// Serves `CredentialAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct AdminService {
    engine: Arc<Engine>,
}

impl AdminService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::credential_admin_server::CredentialAdminServer<Self> {
        pb::credential_admin_server::CredentialAdminServer::new(self)
    }
}

/// Runs one admin call and counts it by RPC and status code.
pub(super) async fn observed<T>(
    rpc: &'static str,
    call: impl std::future::Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    let result = call.await;
    telemetry::admin_call(
        rpc,
        code_name(
            result
                .as_ref()
                .map_or_else(|s| s.code(), |_| tonic::Code::Ok),
        ),
    );
    result
}

/// The canonical name of a gRPC status code, as the metrics label it.
fn code_name(code: tonic::Code) -> &'static str {
    match code {
        tonic::Code::Ok => "OK",
        tonic::Code::Cancelled => "CANCELLED",
        tonic::Code::Unknown => "UNKNOWN",
        tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
        tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        tonic::Code::NotFound => "NOT_FOUND",
        tonic::Code::AlreadyExists => "ALREADY_EXISTS",
        tonic::Code::PermissionDenied => "PERMISSION_DENIED",
        tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
        tonic::Code::Aborted => "ABORTED",
        tonic::Code::OutOfRange => "OUT_OF_RANGE",
        tonic::Code::Unimplemented => "UNIMPLEMENTED",
        tonic::Code::Internal => "INTERNAL",
        tonic::Code::Unavailable => "UNAVAILABLE",
        tonic::Code::DataLoss => "DATA_LOSS",
        tonic::Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

#[tonic::async_trait]
impl pb::credential_admin_server::CredentialAdmin for AdminService {
    #[instrument(skip_all, fields(rpc = "CreateCredential"))]
    async fn create_credential(
        &self,
        request: Request<pb::CreateCredentialRequest>,
    ) -> Result<Response<pb::CreateCredentialResponse>, Status> {
        observed("CreateCredential", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewCredential {
                kind: convert::kind_required(req.kind)?,
                environment: convert::environment_required(req.environment)?,
                lifetime: req
                    .lifetime
                    .as_ref()
                    .map(|d| convert::from_duration("lifetime", d))
                    .transpose()?,
                account_id: req.account_id,
                name: req.name,
                description: req.description,
                scopes: req.scopes,
                notify_emails: req.notify_emails,
                client_id: Some(req.client_id).filter(|c| !c.is_empty()),
                metadata: Some(req.metadata).filter(|m| !m.is_empty()),
                credits: super::credits::new_credits(req.credits)?,
                rate_limits: rate_limits::rules_from_pb("rate_limits", &req.rate_limits)?,
            };
            let (view, secret) = self.engine.create(&actor, new).await?;
            Ok(Response::new(pb::CreateCredentialResponse {
                credential: Some(credential_to_pb(view)),
                secret: secret.expose().to_string(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ImportCredentials"))]
    async fn import_credentials(
        &self,
        request: Request<pb::ImportCredentialsRequest>,
    ) -> Result<Response<pb::ImportCredentialsResponse>, Status> {
        observed("ImportCredentials", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let rows = super::import::rows_from_pb(req.rows);
            let results = self.engine.import(&actor, rows, req.dry_run).await?;
            Ok(Response::new(super::import::response(results)))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetCredential"))]
    async fn get_credential(
        &self,
        request: Request<pb::GetCredentialRequest>,
    ) -> Result<Response<pb::GetCredentialResponse>, Status> {
        observed("GetCredential", async move {
            let actor = actor(&request)?;
            let view = self.engine.get(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetCredentialResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpdateCredits"))]
    async fn update_credits(
        &self,
        request: Request<pb::UpdateCreditsRequest>,
    ) -> Result<Response<pb::UpdateCreditsResponse>, Status> {
        observed("UpdateCredits", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let update = super::credits::update_from_pb(&req)?;
            let view = self.engine.update_credits(&actor, &req.id, update).await?;
            Ok(Response::new(pb::UpdateCreditsResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetUsage"))]
    async fn get_usage(
        &self,
        request: Request<pb::GetUsageRequest>,
    ) -> Result<Response<pb::GetUsageResponse>, Status> {
        observed("GetUsage", async move {
            let actor = actor(&request)?;
            let query = usage_query(request.into_inner())?;
            let days = self.engine.usage_report(&actor, &query).await?;
            Ok(Response::new(pb::GetUsageResponse {
                days: days.into_iter().map(usage_day_to_pb).collect(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "LookupCredentialBySecret"))]
    async fn lookup_credential_by_secret(
        &self,
        request: Request<pb::LookupCredentialBySecretRequest>,
    ) -> Result<Response<pb::LookupCredentialBySecretResponse>, Status> {
        observed("LookupCredentialBySecret", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let account_id = Some(req.account_id.as_str()).filter(|a| !a.is_empty());
            let view = self
                .engine
                .lookup_by_secret(&actor, &req.secret, account_id)?;
            Ok(Response::new(pb::LookupCredentialBySecretResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListCredentials"))]
    async fn list_credentials(
        &self,
        request: Request<pb::ListCredentialsRequest>,
    ) -> Result<Response<pb::ListCredentialsResponse>, Status> {
        observed("ListCredentials", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let query = ListQuery {
                account_id: Some(req.account_id).filter(|a| !a.is_empty()),
                status: convert::status_filter(req.status)?,
                kind: convert::kind_filter(req.kind)?,
                environment: convert::environment_filter(req.environment)?,
                expiring_within: convert::optional_duration(
                    "expiring_within",
                    req.expiring_within.as_ref(),
                )?,
                inactive_for: convert::optional_duration(
                    "inactive_for",
                    req.inactive_for.as_ref(),
                )?,
                page_size: i64::from(req.page_size),
                page_token: Some(req.page_token).filter(|t| !t.is_empty()),
            };
            let page = self.engine.list(&actor, &query)?;
            Ok(Response::new(pb::ListCredentialsResponse {
                credentials: page.credentials.into_iter().map(credential_to_pb).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpdateCredential"))]
    async fn update_credential(
        &self,
        request: Request<pb::UpdateCredentialRequest>,
    ) -> Result<Response<pb::UpdateCredentialResponse>, Status> {
        observed("UpdateCredential", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let update = CredentialUpdate {
                expires_at: req
                    .expires_at
                    .as_ref()
                    .map(|t| convert::from_timestamp("expires_at", t))
                    .transpose()?,
                name: req.name,
                description: req.description,
                scopes: req.scopes.map(|l| l.values),
                notify_emails: req.notify_emails.map(|l| l.values),
                metadata: req.metadata,
                rate_limits: req
                    .rate_limits
                    .map(|l| rate_limits::rules_from_pb("rate_limits", &l.rules))
                    .transpose()?,
            };
            let view = self.engine.update(&actor, &req.id, update).await?;
            Ok(Response::new(pb::UpdateCredentialResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RotateCredential"))]
    async fn rotate_credential(
        &self,
        request: Request<pb::RotateCredentialRequest>,
    ) -> Result<Response<pb::RotateCredentialResponse>, Status> {
        observed("RotateCredential", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let window = req
                .window
                .as_ref()
                .map(|d| convert::from_duration("window", d))
                .transpose()?;
            let (view, secret) = self.engine.rotate(&actor, &req.id, window).await?;
            Ok(Response::new(pb::RotateCredentialResponse {
                credential: Some(credential_to_pb(view)),
                secret: secret.expose().to_string(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "CompleteRotation"))]
    async fn complete_rotation(
        &self,
        request: Request<pb::CompleteRotationRequest>,
    ) -> Result<Response<pb::CompleteRotationResponse>, Status> {
        observed("CompleteRotation", async move {
            let actor = actor(&request)?;
            let view = self
                .engine
                .complete_rotation(&actor, &request.into_inner().id)
                .await?;
            Ok(Response::new(pb::CompleteRotationResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RevokeCredential"))]
    async fn revoke_credential(
        &self,
        request: Request<pb::RevokeCredentialRequest>,
    ) -> Result<Response<pb::RevokeCredentialResponse>, Status> {
        observed("RevokeCredential", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let view = self.engine.revoke(&actor, &req.id, &req.reason).await?;
            Ok(Response::new(pb::RevokeCredentialResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "DisableCredential"))]
    async fn disable_credential(
        &self,
        request: Request<pb::DisableCredentialRequest>,
    ) -> Result<Response<pb::DisableCredentialResponse>, Status> {
        observed("DisableCredential", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let view = self.engine.disable(&actor, &req.id, &req.reason).await?;
            Ok(Response::new(pb::DisableCredentialResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ReactivateCredential"))]
    async fn reactivate_credential(
        &self,
        request: Request<pb::ReactivateCredentialRequest>,
    ) -> Result<Response<pb::ReactivateCredentialResponse>, Status> {
        observed("ReactivateCredential", async move {
            let actor = actor(&request)?;
            let view = self
                .engine
                .reactivate(&actor, &request.into_inner().id)
                .await?;
            Ok(Response::new(pb::ReactivateCredentialResponse {
                credential: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "DeleteCredential"))]
    async fn delete_credential(
        &self,
        request: Request<pb::DeleteCredentialRequest>,
    ) -> Result<Response<pb::DeleteCredentialResponse>, Status> {
        observed("DeleteCredential", async move {
            let actor = actor(&request)?;
            self.engine.delete(&actor, &request.into_inner().id).await?;
            Ok(Response::new(pb::DeleteCredentialResponse {}))
        })
        .await
    }
}
