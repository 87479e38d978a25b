//! `credd.v1.CredentialVerifier`: the hot path. A refusal is a `result`, not
//! an error; only malformed requests are gRPC errors.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::convert;
use super::pb;
use crate::engine::Engine;
use crate::lifecycle::VerifyOutcome;
use crate::telemetry;

/// Serves `CredentialVerifier` over one engine.
#[derive(Debug, Clone)]
pub struct VerifierService {
    engine: Arc<Engine>,
    /// Whether callers must hold an admin key with the `verify` scope.
    token_required: bool,
}

impl VerifierService {
    /// Wraps an engine; with `token_required`, every call must have passed
    /// an [`super::Authenticator`] with a key holding `verify`.
    pub fn new(engine: Arc<Engine>, token_required: bool) -> Self {
        Self {
            engine,
            token_required,
        }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::credential_verifier_server::CredentialVerifierServer<Self> {
        pb::credential_verifier_server::CredentialVerifierServer::new(self)
    }
}

#[tonic::async_trait]
impl pb::credential_verifier_server::CredentialVerifier for VerifierService {
    #[instrument(level = "debug", skip_all, fields(rpc = "Verify"))]
    async fn verify(
        &self,
        request: Request<pb::VerifyRequest>,
    ) -> Result<Response<pb::VerifyResponse>, Status> {
        let started = std::time::Instant::now();
        if self.token_required {
            self.engine.allow_verify(&super::auth::actor(&request)?)?;
        }
        let req = request.into_inner();
        let account_id = Some(req.account_id.as_str()).filter(|a| !a.is_empty());
        let verification = match self
            .engine
            .verify(&req.secret, account_id, &req.required_scopes)
        {
            Ok(verification) => verification,
            Err(e) => {
                telemetry::verify("INVALID_REQUEST", started.elapsed());
                return Err(e.into());
            }
        };
        let mut retry_after = None;
        let (result, retires_at, disabled_reason) = match verification.outcome {
            VerifyOutcome::RateLimited { retry_after: wait } => {
                retry_after = Some(wait);
                (pb::VerifyResult::RateLimited, None, None)
            }
            VerifyOutcome::Valid { retires_at } => (pb::VerifyResult::Valid, retires_at, None),
            VerifyOutcome::NotFound => (pb::VerifyResult::NotFound, None, None),
            VerifyOutcome::Expired => (pb::VerifyResult::Expired, None, None),
            VerifyOutcome::Disabled(reason) => (pb::VerifyResult::Disabled, None, Some(reason)),
            VerifyOutcome::Revoked => (pb::VerifyResult::Revoked, None, None),
            VerifyOutcome::AccountMismatch => (pb::VerifyResult::AccountMismatch, None, None),
            VerifyOutcome::InsufficientScope => (pb::VerifyResult::InsufficientScope, None, None),
        };
        telemetry::verify(result.as_str_name(), started.elapsed());
        let mut response = pb::VerifyResponse {
            result: result.into(),
            superseded: retires_at.is_some(),
            retires_at: retires_at.map(convert::timestamp),
            disabled_reason: convert::disabled_reason_to_pb(disabled_reason).into(),
            retry_after: retry_after.map(|wait| prost_types::Duration {
                seconds: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
                nanos: i32::try_from(wait.subsec_nanos()).unwrap_or(0),
            }),
            ..Default::default()
        };
        if let Some(credential) = verification.credential {
            response.credential_id = credential.id;
            response.account_id = credential.account_id;
            response.kind = convert::kind_to_pb(credential.kind).into();
            response.environment = convert::environment_to_pb(credential.environment).into();
            response.scopes = credential.scopes;
            response.expires_at = Some(convert::timestamp(credential.expires_at));
            if let Some((username, role)) = credential.user {
                response.username = username;
                response.user_role = convert::role_to_pb(role).into();
            }
        }
        Ok(Response::new(response))
    }

    async fn verify_http_authorization(
        &self,
        _request: Request<pb::VerifyHttpAuthorizationRequest>,
    ) -> Result<Response<pb::VerifyHttpAuthorizationResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }

    async fn verify_partner_pair(
        &self,
        _request: Request<pb::VerifyPartnerPairRequest>,
    ) -> Result<Response<pb::VerifyPartnerPairResponse>, Status> {
        Err(Status::unimplemented("not yet"))
    }
}
