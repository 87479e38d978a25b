//! `credd.v1.AuditLog`: reading the audit log with filters and pages.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::admin::observed;
use super::auth::actor;
use super::convert;
use super::pb;
use crate::engine::{AuditQuery, Engine};
use crate::store::{AuditEvent, AuditFilter};

/// Serves `AuditLog` over one engine.
#[derive(Debug, Clone)]
pub struct AuditService {
    engine: Arc<Engine>,
}

impl AuditService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::audit_log_server::AuditLogServer<Self> {
        pb::audit_log_server::AuditLogServer::new(self)
    }
}

fn outcome_filter(value: i32) -> Result<Option<&'static str>, Status> {
    match pb::AuditOutcome::try_from(value) {
        Ok(pb::AuditOutcome::Unspecified) => Ok(None),
        Ok(pb::AuditOutcome::Ok) => Ok(Some("ok")),
        Ok(pb::AuditOutcome::Denied) => Ok(Some("denied")),
        Err(_) => Err(Status::invalid_argument(format!(
            "outcome has unknown value {value}"
        ))),
    }
}

/// An audit event for the wire.
pub(crate) fn event_to_pb(event: AuditEvent) -> pb::AuditEvent {
    let outcome = match event.outcome.as_str() {
        "ok" => pb::AuditOutcome::Ok,
        "denied" => pb::AuditOutcome::Denied,
        _ => pb::AuditOutcome::Unspecified,
    };
    pb::AuditEvent {
        seq: event.seq,
        at: Some(convert::timestamp(event.at)),
        actor: event.actor,
        action: event.action,
        credential_id: event.credential_id,
        account_id: event.account_id,
        outcome: outcome.into(),
        detail: event.detail,
        request_id: event.request_id,
    }
}

#[tonic::async_trait]
impl pb::audit_log_server::AuditLog for AuditService {
    #[instrument(skip_all, fields(rpc = "ListAuditEvents"))]
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        observed("ListAuditEvents", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let non_empty = |s: String| Some(s).filter(|s| !s.is_empty());
            let filter = AuditFilter {
                credential_id: non_empty(req.credential_id),
                account_id: non_empty(req.account_id),
                actor: non_empty(req.actor),
                action: non_empty(req.action),
                since: req
                    .since
                    .as_ref()
                    .map(|t| convert::from_timestamp("since", t))
                    .transpose()?,
                until: req
                    .until
                    .as_ref()
                    .map(|t| convert::from_timestamp("until", t))
                    .transpose()?,
                outcome: outcome_filter(req.outcome)?.map(str::to_string),
            };
            let query = AuditQuery {
                filter,
                page_size: i64::from(req.page_size),
                page_token: non_empty(req.page_token),
            };
            let page = self.engine.list_audit(&actor, &query)?;
            Ok(Response::new(pb::ListAuditEventsResponse {
                events: page.events.into_iter().map(event_to_pb).collect(),
                next_page_token: page
                    .next_after
                    .map(Engine::audit_page_token)
                    .unwrap_or_default(),
            }))
        })
        .await
    }
}
