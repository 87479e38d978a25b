//! `credd.v1.CredentialVerifier`: the hot path. A refusal is a `result`, not
//! an error; only malformed requests are gRPC errors.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::pb;
use super::{convert, rate_limits};
use crate::engine::{Engine, Verification, VerifyQuery, validate};
use crate::lifecycle::VerifyOutcome;
use crate::lifecycle::http_auth::{AuthMode, HttpHeaders, Refusal};
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

/// The proto result and details of a Verify outcome.
fn outcome_to_pb(
    outcome: &VerifyOutcome,
) -> (
    pb::VerifyResult,
    Option<chrono::DateTime<chrono::Utc>>,
    Option<crate::lifecycle::DisabledReason>,
    Option<prost_types::Duration>,
) {
    match outcome {
        VerifyOutcome::RateLimited { retry_after } => (
            pb::VerifyResult::RateLimited,
            None,
            None,
            Some(duration_to_pb(*retry_after)),
        ),
        VerifyOutcome::Valid { retires_at } => (pb::VerifyResult::Valid, *retires_at, None, None),
        VerifyOutcome::NotFound => (pb::VerifyResult::NotFound, None, None, None),
        VerifyOutcome::Expired => (pb::VerifyResult::Expired, None, None, None),
        VerifyOutcome::Disabled(reason) => (pb::VerifyResult::Disabled, None, Some(*reason), None),
        VerifyOutcome::Revoked => (pb::VerifyResult::Revoked, None, None, None),
        VerifyOutcome::AccountMismatch => (pb::VerifyResult::AccountMismatch, None, None, None),
        VerifyOutcome::InsufficientScope => (pb::VerifyResult::InsufficientScope, None, None, None),
        VerifyOutcome::NotDelegated => (pb::VerifyResult::NotDelegated, None, None, None),
        VerifyOutcome::PartnerNotWhitelisted => {
            (pb::VerifyResult::PartnerNotWhitelisted, None, None, None)
        }
        VerifyOutcome::UsageExceeded => (pb::VerifyResult::UsageExceeded, None, None, None),
    }
}

fn duration_to_pb(wait: std::time::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(wait.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(wait.subsec_nanos()).unwrap_or(0),
    }
}

/// The proto answer for an engine verification.
fn verification_to_pb(verification: Verification) -> pb::VerifyResponse {
    let (result, retires_at, disabled_reason, retry_after) = outcome_to_pb(&verification.outcome);
    let mut response = pb::VerifyResponse {
        result: result.into(),
        superseded: retires_at.is_some(),
        retires_at: retires_at.map(convert::timestamp),
        disabled_reason: convert::disabled_reason_to_pb(disabled_reason).into(),
        retry_after,
        rate_limits: rate_limits::states_to_pb(&verification.rate_limits),
        ..Default::default()
    };
    if let Some(credential) = verification.credential {
        response.credential_id = credential.id;
        response.account_id = credential.account_id;
        response.kind = convert::kind_to_pb(credential.kind).into();
        response.environment = convert::environment_to_pb(credential.environment).into();
        response.scopes = credential.scopes;
        response.expires_at = Some(convert::timestamp(credential.expires_at));
        response.client_id = credential.client_id.unwrap_or_default();
        response.metadata = credential.metadata.unwrap_or_default();
        response.remaining = credential.remaining;
        response.expires_in = credential.expiry.expires_in.map(convert::duration);
        response.expiring_soon = credential.expiry.expiring_soon;
        if let Some((username, role)) = credential.user {
            response.username = username;
            response.user_role = convert::role_to_pb(role).into();
        }
    }
    if let Some(acting) = verification.acting_for {
        response.acting_for_account_id = acting.account_id;
        response.grant_id = acting.grant_id.unwrap_or_default();
    }
    response
}

fn mode_to_pb(mode: Option<AuthMode>) -> pb::AuthMode {
    match mode {
        None => pb::AuthMode::Unspecified,
        Some(AuthMode::Client) => pb::AuthMode::Client,
        Some(AuthMode::Product) => pb::AuthMode::Product,
        Some(AuthMode::CleverTap) => pb::AuthMode::Clevertap,
        Some(AuthMode::Key) => pb::AuthMode::Key,
    }
}

fn refusal_to_pb(refusal: Option<Refusal>) -> pb::HttpAuthRefusal {
    match refusal {
        None => pb::HttpAuthRefusal::Unspecified,
        Some(Refusal::MissingCredentials) => pb::HttpAuthRefusal::MissingCredentials,
        Some(Refusal::UnsupportedScheme) => pb::HttpAuthRefusal::UnsupportedScheme,
        Some(Refusal::MalformedBase64) => pb::HttpAuthRefusal::MalformedBase64,
        Some(Refusal::MalformedCredentials) => pb::HttpAuthRefusal::MalformedCredentials,
        Some(Refusal::InvalidCredentials) => pb::HttpAuthRefusal::InvalidCredentials,
        Some(Refusal::CredentialNotActive) => pb::HttpAuthRefusal::CredentialNotActive,
        Some(Refusal::ProductIdMismatch) => pb::HttpAuthRefusal::ProductIdMismatch,
        Some(Refusal::MissingClientId) => pb::HttpAuthRefusal::MissingClientId,
        Some(Refusal::MixedModes) => pb::HttpAuthRefusal::MixedModes,
        Some(Refusal::PartnerNotWhitelisted) => pb::HttpAuthRefusal::PartnerNotWhitelisted,
        Some(Refusal::NotDelegated) => pb::HttpAuthRefusal::NotDelegated,
        Some(Refusal::InsufficientScope) => pb::HttpAuthRefusal::InsufficientScope,
        Some(Refusal::RateLimited) => pb::HttpAuthRefusal::RateLimited,
        Some(Refusal::UsageExceeded) => pb::HttpAuthRefusal::UsageExceeded,
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
        let scope_query = match validate::scope_query("scope_query", &req.scope_query) {
            Ok(parsed) => parsed,
            Err(e) => {
                telemetry::verify("INVALID_REQUEST", started.elapsed());
                return Err(e.into());
            }
        };
        let present = |s: &str| -> bool { !s.is_empty() };
        let query = VerifyQuery {
            secret: &req.secret,
            account_id: Some(req.account_id.as_str()).filter(|a| present(a)),
            client_id: Some(req.client_id.as_str()).filter(|c| present(c)),
            on_behalf_of: Some(req.on_behalf_of.as_str()).filter(|o| present(o)),
            required_scopes: &req.required_scopes,
            scope_query: scope_query.as_ref(),
            cost: req.cost,
            rate_limits: &rate_limits::requests_from_pb(&req.rate_limits),
        };
        let verification = match self.engine.verify_query(&query) {
            Ok(verification) => verification,
            Err(e) => {
                telemetry::verify("INVALID_REQUEST", started.elapsed());
                return Err(e.into());
            }
        };
        let response = verification_to_pb(verification);
        telemetry::verify(response.result().as_str_name(), started.elapsed());
        Ok(Response::new(response))
    }

    #[instrument(level = "debug", skip_all, fields(rpc = "VerifyHttpAuthorization"))]
    async fn verify_http_authorization(
        &self,
        request: Request<pb::VerifyHttpAuthorizationRequest>,
    ) -> Result<Response<pb::VerifyHttpAuthorizationResponse>, Status> {
        if self.token_required {
            self.engine.allow_verify(&super::auth::actor(&request)?)?;
        }
        let req = request.into_inner();
        let headers = HttpHeaders {
            authorization: &req.authorization,
            product_id: &req.x_product_id,
            client_id: &req.x_client_id,
            clevertap_account_id: &req.x_clevertap_account_id,
            clevertap_passcode: &req.x_clevertap_passcode,
            clevertap_partner: &req.clevertap_partner,
            api_key: &req.x_api_key,
            bearer: req.accept_bearer,
        };
        let scope_query = validate::scope_query("scope_query", &req.scope_query)?;
        let verdict = self.engine.verify_http_with(
            &headers,
            &req.required_scopes,
            scope_query.as_ref(),
            &[],
        )?;
        telemetry::http_auth(
            match verdict.mode {
                None => "none",
                Some(AuthMode::Client) => "client",
                Some(AuthMode::Product) => "product",
                Some(AuthMode::CleverTap) => "clevertap",
                Some(AuthMode::Key) => "key",
            },
            verdict.http_status,
        );
        let retry_after = verdict.verification.as_ref().and_then(|v| match v.outcome {
            VerifyOutcome::RateLimited { retry_after } => Some(duration_to_pb(retry_after)),
            _ => None,
        });
        let metadata = verdict
            .verification
            .as_ref()
            .and_then(|v| v.credential.as_ref())
            .and_then(|c| c.metadata.clone())
            .unwrap_or_default();
        let limit_states = verdict
            .verification
            .as_ref()
            .map(|v| rate_limits::states_to_pb(&v.rate_limits))
            .unwrap_or_default();
        Ok(Response::new(pb::VerifyHttpAuthorizationResponse {
            allowed: verdict.refusal.is_none(),
            mode: mode_to_pb(verdict.mode).into(),
            http_status: u32::from(verdict.http_status),
            refusal: refusal_to_pb(verdict.refusal).into(),
            reason: verdict.reason,
            principal_id: verdict.principal_id,
            principal_account_id: verdict.principal_account_id,
            acting_for_account_id: verdict.acting_for_account_id,
            product_id: verdict.product_id,
            client_id: verdict.client_id,
            grant_id: verdict.grant_id,
            verification: verdict.verification.map(verification_to_pb),
            retry_after,
            metadata,
            rate_limits: limit_states,
        }))
    }

    #[instrument(level = "debug", skip_all, fields(rpc = "VerifyPartnerPair"))]
    async fn verify_partner_pair(
        &self,
        request: Request<pb::VerifyPartnerPairRequest>,
    ) -> Result<Response<pb::VerifyPartnerPairResponse>, Status> {
        if self.token_required {
            self.engine.allow_verify(&super::auth::actor(&request)?)?;
        }
        let req = request.into_inner();
        let verdict =
            self.engine
                .verify_pair(&req.developer_key, &req.customer_key, &req.required_scopes)?;
        let (result, _, disabled_reason, retry_after) = outcome_to_pb(&verdict.outcome);
        telemetry::partner_pair(result.as_str_name());
        Ok(Response::new(pb::VerifyPartnerPairResponse {
            result: result.into(),
            partner_account_id: verdict.partner_account_id,
            customer_account_id: verdict.customer_account_id,
            grant_id: verdict.grant_id,
            developer_key_id: verdict.developer_key_id,
            customer_key_id: verdict.customer_key_id,
            grant_scopes: verdict.grant_scopes,
            expires_at: verdict.expires_at.map(convert::timestamp),
            disabled_reason: convert::disabled_reason_to_pb(disabled_reason).into(),
            retry_after,
        }))
    }
}
