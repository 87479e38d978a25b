//! `credd.v1.AccountAdmin`: accounts, their quotas, rate limits, contacts
//! and suspension. The engine decides; this module converts.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;

use super::admin::observed;
use super::auth::actor;
use super::convert;
use super::pb;
use super::rate_limits;
use crate::engine::{AccountUpdate, Engine, NewAccount};
use crate::lifecycle::{AccountRecord, AccountStatus, RateLimit};

/// Serves `AccountAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct AccountService {
    engine: Arc<Engine>,
}

impl AccountService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::account_admin_server::AccountAdminServer<Self> {
        pb::account_admin_server::AccountAdminServer::new(self)
    }
}

fn account_to_pb(account: AccountRecord) -> pb::Account {
    pb::Account {
        id: account.id,
        display_name: account.display_name,
        contact_emails: account.contact_emails,
        max_live_credentials: account.max_live_credentials.unwrap_or(0),
        rate_limit: account.rate_limit.map(|r| pb::RateLimit {
            requests_per_second: r.per_second,
            burst: r.burst,
        }),
        status: match account.status {
            AccountStatus::Active => pb::AccountStatus::Active,
            AccountStatus::Suspended => pb::AccountStatus::Suspended,
        }
        .into(),
        status_reason: account.status_reason,
        created_at: Some(convert::timestamp(account.created_at)),
        updated_at: Some(convert::timestamp(account.updated_at)),
        rate_limits: rate_limits::rules_to_pb(account.rate_limits),
    }
}

fn rate_limit(limit: &pb::RateLimit) -> Result<RateLimit, Status> {
    RateLimit::requested(limit.requests_per_second, limit.burst).map_err(Status::invalid_argument)
}

fn response(account: AccountRecord) -> Option<pb::Account> {
    Some(account_to_pb(account))
}

#[tonic::async_trait]
impl pb::account_admin_server::AccountAdmin for AccountService {
    #[instrument(skip_all, fields(rpc = "CreateAccount"))]
    async fn create_account(
        &self,
        request: Request<pb::CreateAccountRequest>,
    ) -> Result<Response<pb::CreateAccountResponse>, Status> {
        observed("CreateAccount", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewAccount {
                id: req.id,
                display_name: req.display_name,
                contact_emails: req.contact_emails,
                max_live_credentials: Some(req.max_live_credentials).filter(|n| *n > 0),
                rate_limit: req.rate_limit.as_ref().map(rate_limit).transpose()?,
                rate_limits: rate_limits::rules_from_pb("rate_limits", &req.rate_limits)?,
            };
            let account = self.engine.create_account(&actor, new).await?;
            Ok(Response::new(pb::CreateAccountResponse {
                account: response(account),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetAccount"))]
    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        observed("GetAccount", async move {
            let actor = actor(&request)?;
            let account = self.engine.get_account(&actor, &request.into_inner().id)?;
            Ok(Response::new(pb::GetAccountResponse {
                account: response(account),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListAccounts"))]
    async fn list_accounts(
        &self,
        request: Request<pb::ListAccountsRequest>,
    ) -> Result<Response<pb::ListAccountsResponse>, Status> {
        observed("ListAccounts", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let token = Some(req.page_token.as_str()).filter(|t| !t.is_empty());
            let page = self
                .engine
                .list_accounts(&actor, i64::from(req.page_size), token)?;
            Ok(Response::new(pb::ListAccountsResponse {
                accounts: page.accounts.into_iter().map(account_to_pb).collect(),
                next_page_token: page.next_page_token.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpdateAccount"))]
    async fn update_account(
        &self,
        request: Request<pb::UpdateAccountRequest>,
    ) -> Result<Response<pb::UpdateAccountResponse>, Status> {
        observed("UpdateAccount", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            if req.clear_rate_limit && req.rate_limit.is_some() {
                return Err(Status::invalid_argument(
                    "set rate_limit or clear_rate_limit, not both",
                ));
            }
            let rate = match (&req.rate_limit, req.clear_rate_limit) {
                (Some(limit), _) => Some(Some(rate_limit(limit)?)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let update = AccountUpdate {
                display_name: req.display_name,
                contact_emails: req.contact_emails.map(|l| l.values),
                max_live_credentials: req.max_live_credentials.map(|n| Some(n).filter(|n| *n > 0)),
                rate_limit: rate,
                rate_limits: req
                    .rate_limits
                    .map(|l| rate_limits::rules_from_pb("rate_limits", &l.rules))
                    .transpose()?,
            };
            let account = self.engine.update_account(&actor, &req.id, update).await?;
            Ok(Response::new(pb::UpdateAccountResponse {
                account: response(account),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "SuspendAccount"))]
    async fn suspend_account(
        &self,
        request: Request<pb::SuspendAccountRequest>,
    ) -> Result<Response<pb::SuspendAccountResponse>, Status> {
        observed("SuspendAccount", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let account = self
                .engine
                .suspend_account(&actor, &req.id, &req.reason)
                .await?;
            Ok(Response::new(pb::SuspendAccountResponse {
                account: response(account),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ResumeAccount"))]
    async fn resume_account(
        &self,
        request: Request<pb::ResumeAccountRequest>,
    ) -> Result<Response<pb::ResumeAccountResponse>, Status> {
        observed("ResumeAccount", async move {
            let actor = actor(&request)?;
            let account = self
                .engine
                .resume_account(&actor, &request.into_inner().id)
                .await?;
            Ok(Response::new(pb::ResumeAccountResponse {
                account: response(account),
            }))
        })
        .await
    }
}
