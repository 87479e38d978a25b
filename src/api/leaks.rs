//! `credd.v1.LeakAdmin`: ReportLeakedCredential, a leaked secret reported
//! by an administrator or a scanner other than GitHub. The engine finds and
//! handles it with the configured `[leaks] action`; this file only converts.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::admin::observed;
use super::auth::actor;
use super::pb;
use crate::engine::{Engine, LeakOutcome, LeakReport};
use crate::lifecycle::LeakAction;

/// Serves `LeakAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct LeakService {
    engine: Arc<Engine>,
    /// `[leaks] action`.
    action: LeakAction,
}

impl LeakService {
    /// Wraps an engine; matches are handled with `action`.
    pub fn new(engine: Arc<Engine>, action: LeakAction) -> Self {
        Self { engine, action }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::leak_admin_server::LeakAdminServer<Self> {
        pb::leak_admin_server::LeakAdminServer::new(self)
    }
}

fn outcome_pb(outcome: LeakOutcome) -> pb::LeakOutcome {
    match outcome {
        LeakOutcome::NotFound => pb::LeakOutcome::NotFound,
        LeakOutcome::Revoked => pb::LeakOutcome::Revoked,
        LeakOutcome::Disabled => pb::LeakOutcome::Disabled,
        LeakOutcome::Flagged => pb::LeakOutcome::Flagged,
        LeakOutcome::Unchanged => pb::LeakOutcome::Unchanged,
    }
}

#[tonic::async_trait]
impl pb::leak_admin_server::LeakAdmin for LeakService {
    #[instrument(skip_all, fields(rpc = "ReportLeakedCredential"))]
    async fn report_leaked_credential(
        &self,
        request: Request<pb::ReportLeakedCredentialRequest>,
    ) -> Result<Response<pb::ReportLeakedCredentialResponse>, Status> {
        observed("ReportLeakedCredential", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let report = LeakReport {
                secret: &req.secret,
                source: &req.source,
                url: &req.url,
            };
            let result = self
                .engine
                .report_leak(&actor, &report, self.action)
                .await?;
            Ok(Response::new(pb::ReportLeakedCredentialResponse {
                outcome: outcome_pb(result.outcome).into(),
                credential_id: result.credential_id,
                account_id: result.account_id,
            }))
        })
        .await
    }
}
