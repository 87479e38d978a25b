//! `credd.v1.PartnerAdmin` and `credd.v1.ClientIdAdmin`: partners, their
//! delegation grants and consent requests, and public client ids. The
//! engine decides; this module converts.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::admin::observed;
use super::auth::actor;
use super::convert::{self, credential_to_pb, timestamp};
use super::pb;
use crate::engine::{Engine, GrantQuery, NewClientId, NewConsent, NewGrant, PartnerUpdate};
use crate::lifecycle::{
    ClientIdRecord, ClientIdStatus, ConsentRecord, ConsentStatus, Environment, GrantOrigin,
    GrantRecord, GrantStatus, PartnerRecord,
};

/// Serves `PartnerAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct PartnerService {
    engine: Arc<Engine>,
}

impl PartnerService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::partner_admin_server::PartnerAdminServer<Self> {
        pb::partner_admin_server::PartnerAdminServer::new(self)
    }
}

/// Serves `ClientIdAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct ClientIdService {
    engine: Arc<Engine>,
}

impl ClientIdService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::client_id_admin_server::ClientIdAdminServer<Self> {
        pb::client_id_admin_server::ClientIdAdminServer::new(self)
    }
}

fn partner_to_pb(p: PartnerRecord) -> pb::Partner {
    pb::Partner {
        account_id: p.account_id,
        display_name: p.display_name,
        redirect_prefixes: p.redirect_prefixes,
        mtls_identities: p.mtls_identities,
        created_at: Some(timestamp(p.created_at)),
        updated_at: Some(timestamp(p.updated_at)),
    }
}

fn grant_to_pb(g: GrantRecord, now: chrono::DateTime<chrono::Utc>) -> pb::Grant {
    pb::Grant {
        status: match g.status_at(now) {
            GrantStatus::Active => pb::GrantStatus::Active,
            GrantStatus::Expired => pb::GrantStatus::Expired,
            GrantStatus::Revoked => pb::GrantStatus::Revoked,
        }
        .into(),
        origin: match g.origin {
            GrantOrigin::Admin => pb::GrantOrigin::Admin,
            GrantOrigin::Consent => pb::GrantOrigin::Consent,
        }
        .into(),
        created_at: Some(timestamp(g.created_at)),
        expires_at: g.expires_at.map(timestamp),
        revoked_at: g.revoked_at.map(timestamp),
        id: g.id,
        partner_account_id: g.partner_account_id,
        client_account_id: g.client_account_id,
        scopes: g.scopes,
        consent_id: g.consent_id.unwrap_or_default(),
        customer_key_id: g.customer_key_id.unwrap_or_default(),
        status_reason: g.status_reason,
    }
}

fn consent_to_pb(c: ConsentRecord, partner_display_name: String) -> pb::ConsentRequest {
    pb::ConsentRequest {
        status: match c.status {
            ConsentStatus::Pending => pb::ConsentStatus::Pending,
            ConsentStatus::Approved => pb::ConsentStatus::Approved,
            ConsentStatus::Denied => pb::ConsentStatus::Denied,
            ConsentStatus::Expired => pb::ConsentStatus::Expired,
        }
        .into(),
        created_at: Some(timestamp(c.created_at)),
        expires_at: Some(timestamp(c.expires_at)),
        answered_at: c.answered_at.map(timestamp),
        lifetime: c.lifetime.map(|d| prost_types::Duration {
            seconds: d.num_seconds(),
            nanos: 0,
        }),
        id: c.id,
        partner_account_id: c.partner_account_id,
        customer_account_id: c.customer_account_id,
        redirect_url: c.redirect_url,
        scopes: c.scopes,
        grant_id: c.grant_id.unwrap_or_default(),
        partner_display_name,
    }
}

fn client_id_to_pb(c: ClientIdRecord) -> pb::ClientId {
    pb::ClientId {
        environment: convert::environment_to_pb(c.environment).into(),
        status: match c.status {
            ClientIdStatus::Active => pb::ClientIdStatus::Active,
            ClientIdStatus::Revoked => pb::ClientIdStatus::Revoked,
        }
        .into(),
        created_at: Some(timestamp(c.created_at)),
        revoked_at: c.revoked_at.map(timestamp),
        id: c.id,
        account_id: c.account_id,
        name: c.name,
        description: c.description,
        status_reason: c.status_reason,
    }
}

fn lifetime(d: Option<&prost_types::Duration>) -> Result<Option<chrono::Duration>, Status> {
    d.map(|d| convert::from_duration("lifetime", d)).transpose()
}

/// UNSPECIFIED means LIVE.
fn environment_or_live(value: i32) -> Result<Environment, Status> {
    Ok(convert::environment_filter(value)?.unwrap_or(Environment::Live))
}

fn token(value: &str) -> Option<&str> {
    Some(value).filter(|t| !t.is_empty())
}

impl PartnerService {
    fn consent_pb(&self, consent: ConsentRecord) -> pb::ConsentRequest {
        let name = self
            .engine
            .partner_display_name(&consent.partner_account_id)
            .unwrap_or_else(|| consent.partner_account_id.clone());
        consent_to_pb(consent, name)
    }
}

#[tonic::async_trait]
impl pb::partner_admin_server::PartnerAdmin for PartnerService {
    #[instrument(skip_all, fields(rpc = "RegisterPartner"))]
    async fn register_partner(
        &self,
        request: Request<pb::RegisterPartnerRequest>,
    ) -> Result<Response<pb::RegisterPartnerResponse>, Status> {
        observed("RegisterPartner", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let partner = self
                .engine
                .register_partner(
                    &actor,
                    &req.account_id,
                    &req.display_name,
                    &req.redirect_prefixes,
                )
                .await?;
            Ok(Response::new(pb::RegisterPartnerResponse {
                partner: Some(partner_to_pb(partner)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetPartner"))]
    async fn get_partner(
        &self,
        request: Request<pb::GetPartnerRequest>,
    ) -> Result<Response<pb::GetPartnerResponse>, Status> {
        observed("GetPartner", async move {
            let actor = actor(&request)?;
            let partner = self
                .engine
                .get_partner(&actor, &request.into_inner().account_id)?;
            Ok(Response::new(pb::GetPartnerResponse {
                partner: Some(partner_to_pb(partner)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListPartners"))]
    async fn list_partners(
        &self,
        request: Request<pb::ListPartnersRequest>,
    ) -> Result<Response<pb::ListPartnersResponse>, Status> {
        observed("ListPartners", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let (partners, next) = self.engine.list_partners(
                &actor,
                i64::from(req.page_size),
                token(&req.page_token),
            )?;
            Ok(Response::new(pb::ListPartnersResponse {
                partners: partners.into_iter().map(partner_to_pb).collect(),
                next_page_token: next.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpdatePartner"))]
    async fn update_partner(
        &self,
        request: Request<pb::UpdatePartnerRequest>,
    ) -> Result<Response<pb::UpdatePartnerResponse>, Status> {
        observed("UpdatePartner", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let update = PartnerUpdate {
                display_name: req.display_name,
                redirect_prefixes: req.redirect_prefixes.map(|l| l.values),
                mtls_identities: req.mtls_identities.map(|l| l.values),
            };
            let partner = self
                .engine
                .update_partner(&actor, &req.account_id, update)
                .await?;
            Ok(Response::new(pb::UpdatePartnerResponse {
                partner: Some(partner_to_pb(partner)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RemovePartner"))]
    async fn remove_partner(
        &self,
        request: Request<pb::RemovePartnerRequest>,
    ) -> Result<Response<pb::RemovePartnerResponse>, Status> {
        observed("RemovePartner", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let grants_revoked = self
                .engine
                .remove_partner(&actor, &req.account_id, &req.reason)
                .await?;
            Ok(Response::new(pb::RemovePartnerResponse { grants_revoked }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "CreateGrant"))]
    async fn create_grant(
        &self,
        request: Request<pb::CreateGrantRequest>,
    ) -> Result<Response<pb::CreateGrantResponse>, Status> {
        observed("CreateGrant", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewGrant {
                lifetime: lifetime(req.lifetime.as_ref())?,
                partner_account_id: req.partner_account_id,
                client_account_id: req.client_account_id,
                scopes: req.scopes,
            };
            let grant = self.engine.create_grant(&actor, new).await?;
            Ok(Response::new(pb::CreateGrantResponse {
                grant: Some(grant_to_pb(grant, self.engine.now())),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetGrant"))]
    async fn get_grant(
        &self,
        request: Request<pb::GetGrantRequest>,
    ) -> Result<Response<pb::GetGrantResponse>, Status> {
        observed("GetGrant", async move {
            let actor = actor(&request)?;
            let grant = self.engine.get_grant(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetGrantResponse {
                grant: Some(grant_to_pb(grant, self.engine.now())),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListGrants"))]
    async fn list_grants(
        &self,
        request: Request<pb::ListGrantsRequest>,
    ) -> Result<Response<pb::ListGrantsResponse>, Status> {
        observed("ListGrants", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let query = GrantQuery {
                partner_account_id: token(&req.partner_account_id).map(str::to_string),
                client_account_id: token(&req.client_account_id).map(str::to_string),
                include_ended: req.include_ended,
                page_size: i64::from(req.page_size),
                page_token: token(&req.page_token).map(str::to_string),
            };
            let (grants, next) = self.engine.list_grants(&actor, &query)?;
            let now = self.engine.now();
            Ok(Response::new(pb::ListGrantsResponse {
                grants: grants.into_iter().map(|g| grant_to_pb(g, now)).collect(),
                next_page_token: next.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RevokeGrant"))]
    async fn revoke_grant(
        &self,
        request: Request<pb::RevokeGrantRequest>,
    ) -> Result<Response<pb::RevokeGrantResponse>, Status> {
        observed("RevokeGrant", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let grant = self
                .engine
                .revoke_grant(&actor, &req.id, &req.reason)
                .await?;
            Ok(Response::new(pb::RevokeGrantResponse {
                grant: Some(grant_to_pb(grant, self.engine.now())),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "CreateConsentRequest"))]
    async fn create_consent_request(
        &self,
        request: Request<pb::CreateConsentRequestRequest>,
    ) -> Result<Response<pb::CreateConsentRequestResponse>, Status> {
        observed("CreateConsentRequest", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewConsent {
                lifetime: lifetime(req.lifetime.as_ref())?,
                environment: environment_or_live(req.environment)?,
                partner_account_id: req.partner_account_id,
                customer_account_id: req.customer_account_id,
                redirect_url: req.redirect_url,
                scopes: req.scopes,
            };
            let consent = self.engine.create_consent(&actor, new).await?;
            let approval_path = format!("/consent/{}", consent.id);
            Ok(Response::new(pb::CreateConsentRequestResponse {
                consent: Some(self.consent_pb(consent)),
                approval_path,
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetConsentRequest"))]
    async fn get_consent_request(
        &self,
        request: Request<pb::GetConsentRequestRequest>,
    ) -> Result<Response<pb::GetConsentRequestResponse>, Status> {
        observed("GetConsentRequest", async move {
            let actor = actor(&request)?;
            let consent = self.engine.get_consent(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetConsentRequestResponse {
                consent: Some(self.consent_pb(consent)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ApproveConsent"))]
    async fn approve_consent(
        &self,
        request: Request<pb::ApproveConsentRequest>,
    ) -> Result<Response<pb::ApproveConsentResponse>, Status> {
        observed("ApproveConsent", async move {
            let actor = actor(&request)?;
            let approval = self
                .engine
                .approve_consent(&actor, &request.into_inner().id)
                .await?;
            let now = self.engine.now();
            Ok(Response::new(pb::ApproveConsentResponse {
                redirect_url: approval.redirect_url.to_string(),
                consent: Some(self.consent_pb(approval.consent)),
                grant: Some(grant_to_pb(approval.grant, now)),
                customer_key: Some(credential_to_pb(approval.customer_key)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "DenyConsent"))]
    async fn deny_consent(
        &self,
        request: Request<pb::DenyConsentRequest>,
    ) -> Result<Response<pb::DenyConsentResponse>, Status> {
        observed("DenyConsent", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let (consent, redirect_url) = self
                .engine
                .deny_consent(&actor, &req.id, &req.reason)
                .await?;
            Ok(Response::new(pb::DenyConsentResponse {
                consent: Some(self.consent_pb(consent)),
                redirect_url,
            }))
        })
        .await
    }
}

#[tonic::async_trait]
impl pb::client_id_admin_server::ClientIdAdmin for ClientIdService {
    #[instrument(skip_all, fields(rpc = "CreateClientId"))]
    async fn create_client_id(
        &self,
        request: Request<pb::CreateClientIdRequest>,
    ) -> Result<Response<pb::CreateClientIdResponse>, Status> {
        observed("CreateClientId", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewClientId {
                environment: environment_or_live(req.environment)?,
                account_id: req.account_id,
                name: req.name,
                description: req.description,
            };
            let client = self.engine.create_client_id(&actor, new).await?;
            Ok(Response::new(pb::CreateClientIdResponse {
                client_id: Some(client_id_to_pb(client)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetClientId"))]
    async fn get_client_id(
        &self,
        request: Request<pb::GetClientIdRequest>,
    ) -> Result<Response<pb::GetClientIdResponse>, Status> {
        observed("GetClientId", async move {
            let actor = actor(&request)?;
            let client = self
                .engine
                .get_client_id(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetClientIdResponse {
                client_id: Some(client_id_to_pb(client)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListClientIds"))]
    async fn list_client_ids(
        &self,
        request: Request<pb::ListClientIdsRequest>,
    ) -> Result<Response<pb::ListClientIdsResponse>, Status> {
        observed("ListClientIds", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let (clients, next) = self.engine.list_client_ids(
                &actor,
                &req.account_id,
                i64::from(req.page_size),
                token(&req.page_token),
            )?;
            Ok(Response::new(pb::ListClientIdsResponse {
                client_ids: clients.into_iter().map(client_id_to_pb).collect(),
                next_page_token: next.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RevokeClientId"))]
    async fn revoke_client_id(
        &self,
        request: Request<pb::RevokeClientIdRequest>,
    ) -> Result<Response<pb::RevokeClientIdResponse>, Status> {
        observed("RevokeClientId", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let client = self
                .engine
                .revoke_client_id(&actor, &req.id, &req.reason)
                .await?;
            Ok(Response::new(pb::RevokeClientIdResponse {
                client_id: Some(client_id_to_pb(client)),
            }))
        })
        .await
    }
}
