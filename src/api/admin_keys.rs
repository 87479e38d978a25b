//! `credd.v1.AdminKeyAdmin`: issuing, reading, listing and revoking admin
//! keys. The engine decides who may; this module only converts.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::admin::observed;
use super::auth::actor;
use super::convert::{self, credential_to_pb};
use super::pb;
use crate::engine::{AdminKeyQuery, Engine, NewAdminKey};

/// Serves `AdminKeyAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct AdminKeyService {
    engine: Arc<Engine>,
}

impl AdminKeyService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::admin_key_admin_server::AdminKeyAdminServer<Self> {
        pb::admin_key_admin_server::AdminKeyAdminServer::new(self)
    }
}

#[tonic::async_trait]
impl pb::admin_key_admin_server::AdminKeyAdmin for AdminKeyService {
    #[instrument(skip_all, fields(rpc = "CreateAdminKey"))]
    async fn create_admin_key(
        &self,
        request: Request<pb::CreateAdminKeyRequest>,
    ) -> Result<Response<pb::CreateAdminKeyResponse>, Status> {
        observed("CreateAdminKey", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewAdminKey {
                account_id: Some(req.account_id).filter(|a| !a.is_empty()),
                name: req.name,
                description: req.description,
                scopes: req.scopes,
                lifetime: req
                    .lifetime
                    .as_ref()
                    .map(|d| convert::from_duration("lifetime", d))
                    .transpose()?,
                notify_emails: req.notify_emails,
            };
            let (view, secret) = self.engine.create_admin_key(&actor, new).await?;
            Ok(Response::new(pb::CreateAdminKeyResponse {
                admin_key: Some(credential_to_pb(view)),
                secret: secret.expose().to_string(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetAdminKey"))]
    async fn get_admin_key(
        &self,
        request: Request<pb::GetAdminKeyRequest>,
    ) -> Result<Response<pb::GetAdminKeyResponse>, Status> {
        observed("GetAdminKey", async move {
            let actor = actor(&request)?;
            let view = self
                .engine
                .get_admin_key(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetAdminKeyResponse {
                admin_key: Some(credential_to_pb(view)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListAdminKeys"))]
    async fn list_admin_keys(
        &self,
        request: Request<pb::ListAdminKeysRequest>,
    ) -> Result<Response<pb::ListAdminKeysResponse>, Status> {
        observed("ListAdminKeys", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let query = AdminKeyQuery {
                account_id: Some(req.account_id).filter(|a| !a.is_empty()),
                page_size: i64::from(req.page_size),
                page_token: Some(req.page_token).filter(|t| !t.is_empty()),
            };
            let page = self.engine.list_admin_keys(&actor, &query)?;
            Ok(Response::new(pb::ListAdminKeysResponse {
                admin_keys: page.credentials.into_iter().map(credential_to_pb).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RevokeAdminKey"))]
    async fn revoke_admin_key(
        &self,
        request: Request<pb::RevokeAdminKeyRequest>,
    ) -> Result<Response<pb::RevokeAdminKeyResponse>, Status> {
        observed("RevokeAdminKey", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let view = self
                .engine
                .revoke_admin_key(&actor, &req.id, &req.reason)
                .await?;
            Ok(Response::new(pb::RevokeAdminKeyResponse {
                admin_key: Some(credential_to_pb(view)),
            }))
        })
        .await
    }
}
