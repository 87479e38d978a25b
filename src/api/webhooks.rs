//! `credd.v1.WebhookAdmin`: webhook endpoints and their deliveries. The
//! engine decides; this module converts (and never prints a signing
//! secret: it is put into the one response that shows it).

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::admin::observed;
use super::auth::actor;
use super::convert::timestamp;
use super::pb;
use crate::config::WebhooksConfig;
use crate::engine::Engine;
use crate::engine::webhooks::{NewWebhook, RevealedWebhook, WebhookChange};
use crate::store::{DeliveryState, WebhookDelivery, WebhookEndpoint};

/// Deliveries per page when the caller names no size.
const DEFAULT_PAGE: usize = 100;

/// Serves `WebhookAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct WebhookService {
    engine: Arc<Engine>,
    rules: Arc<WebhooksConfig>,
}

impl WebhookService {
    /// Wraps an engine; `rules` check URLs and time rotations.
    pub fn new(engine: Arc<Engine>, rules: Arc<WebhooksConfig>) -> Self {
        Self { engine, rules }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::webhook_admin_server::WebhookAdminServer<Self> {
        pb::webhook_admin_server::WebhookAdminServer::new(self)
    }
}

fn endpoint_to_pb(e: WebhookEndpoint) -> pb::WebhookEndpoint {
    let now = chrono::Utc::now();
    let live: Vec<_> = e.signing_salts(now).cloned().collect();
    pb::WebhookEndpoint {
        signing_secrets: u32::try_from(live.len()).unwrap_or(u32::MAX),
        previous_secret_retires_at: live
            .iter()
            .filter_map(|s| s.retires_at)
            .max()
            .map(timestamp),
        id: e.id,
        account_id: e.account_id.unwrap_or_default(),
        url: e.url,
        description: e.description,
        event_types: e.event_types,
        enabled: e.enabled,
        disabled_reason: e.disabled_reason,
        created_at: Some(timestamp(e.created_at)),
        updated_at: Some(timestamp(e.updated_at)),
    }
}

fn delivery_to_pb(d: WebhookDelivery) -> pb::WebhookDelivery {
    pb::WebhookDelivery {
        webhook_id: d.endpoint_id,
        event_seq: d.seq,
        event_id: d.event_id,
        event_type: d.event_type,
        state: match d.state {
            DeliveryState::Pending => pb::WebhookDeliveryState::Pending,
            DeliveryState::Delivered => pb::WebhookDeliveryState::Delivered,
            DeliveryState::Failed => pb::WebhookDeliveryState::Failed,
        }
        .into(),
        created_at: Some(timestamp(d.created_at)),
        next_attempt_at: d.next_at.map(timestamp),
        attempts: d
            .attempts
            .into_iter()
            .map(|a| pb::WebhookAttempt {
                at: Some(timestamp(a.at)),
                latency_ms: a.latency_ms,
                status_code: a.status.map_or(0, u32::from),
                error: a.error,
            })
            .collect(),
        body: d.body,
    }
}

fn revealed(r: RevealedWebhook) -> (Option<pb::WebhookEndpoint>, String) {
    (Some(endpoint_to_pb(r.endpoint)), r.secret.to_string())
}

#[tonic::async_trait]
impl pb::webhook_admin_server::WebhookAdmin for WebhookService {
    #[instrument(skip_all, fields(rpc = "CreateWebhook"))]
    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::CreateWebhookResponse>, Status> {
        observed("CreateWebhook", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewWebhook {
                url: req.url,
                account_id: Some(req.account_id).filter(|a| !a.is_empty()),
                description: req.description,
                event_types: req.event_types,
            };
            let created = self.engine.create_webhook(&actor, &self.rules, new).await?;
            let (webhook, signing_secret) = revealed(created);
            Ok(Response::new(pb::CreateWebhookResponse {
                webhook,
                signing_secret,
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListWebhooks"))]
    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        observed("ListWebhooks", async move {
            let actor = actor(&request)?;
            let account = request.into_inner().account_id;
            let list = self.engine.list_webhooks(&actor, Some(account.as_str()))?;
            Ok(Response::new(pb::ListWebhooksResponse {
                webhooks: list.into_iter().map(endpoint_to_pb).collect(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetWebhook"))]
    async fn get_webhook(
        &self,
        request: Request<pb::GetWebhookRequest>,
    ) -> Result<Response<pb::GetWebhookResponse>, Status> {
        observed("GetWebhook", async move {
            let actor = actor(&request)?;
            let webhook = self.engine.get_webhook(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetWebhookResponse {
                webhook: Some(endpoint_to_pb(webhook)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpdateWebhook"))]
    async fn update_webhook(
        &self,
        request: Request<pb::UpdateWebhookRequest>,
    ) -> Result<Response<pb::UpdateWebhookResponse>, Status> {
        observed("UpdateWebhook", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let change = WebhookChange {
                url: req.url,
                description: req.description,
                event_types: req.event_types.map(|l| l.values),
                enabled: req.enabled,
            };
            let webhook = self
                .engine
                .update_webhook(&actor, &self.rules, &req.id, change)
                .await?;
            Ok(Response::new(pb::UpdateWebhookResponse {
                webhook: Some(endpoint_to_pb(webhook)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "DeleteWebhook"))]
    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        observed("DeleteWebhook", async move {
            let actor = actor(&request)?;
            self.engine
                .delete_webhook(&actor, &request.into_inner().id)
                .await?;
            Ok(Response::new(pb::DeleteWebhookResponse {}))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RotateWebhookSecret"))]
    async fn rotate_webhook_secret(
        &self,
        request: Request<pb::RotateWebhookSecretRequest>,
    ) -> Result<Response<pb::RotateWebhookSecretResponse>, Status> {
        observed("RotateWebhookSecret", async move {
            let actor = actor(&request)?;
            let id = request.into_inner().id;
            let rotated = self
                .engine
                .rotate_webhook_secret(&actor, &self.rules, &id)
                .await?;
            let (webhook, signing_secret) = revealed(rotated);
            Ok(Response::new(pb::RotateWebhookSecretResponse {
                webhook,
                signing_secret,
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "SendTestWebhook"))]
    async fn send_test_webhook(
        &self,
        request: Request<pb::SendTestWebhookRequest>,
    ) -> Result<Response<pb::SendTestWebhookResponse>, Status> {
        observed("SendTestWebhook", async move {
            let actor = actor(&request)?;
            let delivery = self
                .engine
                .send_test_webhook(&actor, &request.into_inner().id)
                .await?;
            Ok(Response::new(pb::SendTestWebhookResponse {
                delivery: Some(delivery_to_pb(delivery)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListWebhookDeliveries"))]
    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        observed("ListWebhookDeliveries", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let before = match req.page_token.as_str() {
                "" => None,
                token => Some(token.parse::<u64>().map_err(|_| {
                    Status::invalid_argument("page_token: not a token from ListWebhookDeliveries")
                })?),
            };
            let size = match req.page_size {
                0 => DEFAULT_PAGE,
                n => usize::try_from(n).unwrap_or(usize::MAX).min(1000),
            };
            let page = self
                .engine
                .list_webhook_deliveries(&actor, &req.id, before, size)?;
            let next_page_token = if page.len() == size {
                page.last().map(|d| d.seq.to_string()).unwrap_or_default()
            } else {
                String::new()
            };
            Ok(Response::new(pb::ListWebhookDeliveriesResponse {
                deliveries: page.into_iter().map(delivery_to_pb).collect(),
                next_page_token,
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "RedeliverWebhook"))]
    async fn redeliver_webhook(
        &self,
        request: Request<pb::RedeliverWebhookRequest>,
    ) -> Result<Response<pb::RedeliverWebhookResponse>, Status> {
        observed("RedeliverWebhook", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let delivery = self
                .engine
                .redeliver_webhook(&actor, &req.id, req.event_seq)
                .await?;
            Ok(Response::new(pb::RedeliverWebhookResponse {
                delivery: Some(delivery_to_pb(delivery)),
            }))
        })
        .await
    }
}
