//! `credd.v1.UserAdmin` (users and their passcodes) and
//! `credd.v1.SessionAuth` (login and logout). The engine decides; this
//! module converts, and keeps passwords in zeroized buffers.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::instrument;
use zeroize::Zeroizing;

use super::admin::observed;
use super::auth::actor;
use super::convert::{self, credential_to_pb};
use super::pb;
use crate::engine::{Engine, NewUser, PasscodeValidity, UserUpdate};
use crate::lifecycle::{UserRecord, UserStatus};

/// Serves `UserAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct UserService {
    engine: Arc<Engine>,
}

impl UserService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>) -> Self {
        Self { engine }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::user_admin_server::UserAdminServer<Self> {
        pb::user_admin_server::UserAdminServer::new(self)
    }
}

fn user_to_pb(user: UserRecord) -> pb::User {
    pb::User {
        login_name: user.login_name(),
        role: convert::role_to_pb(user.role).into(),
        status: match user.status {
            UserStatus::Active => pb::UserStatus::Active,
            UserStatus::Disabled => pb::UserStatus::Disabled,
        }
        .into(),
        has_password: user.password_hash.is_some(),
        passcode_id: user.passcode_id.unwrap_or_default(),
        created_at: Some(convert::timestamp(user.created_at)),
        updated_at: Some(convert::timestamp(user.updated_at)),
        account_id: user.account_id,
        username: user.username,
        email: user.email,
    }
}

fn validity(req: &pb::UserPasscodeRequest) -> PasscodeValidity {
    if req.infinite {
        PasscodeValidity::Infinite
    } else {
        PasscodeValidity::Days(req.validity_days)
    }
}

impl UserService {
    /// DisableUser and EnableUser.
    async fn set_status(
        &self,
        rpc: &'static str,
        request: Request<pb::SetUserStatusRequest>,
        status: UserStatus,
    ) -> Result<Response<pb::SetUserStatusResponse>, Status> {
        observed(rpc, async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let user = self
                .engine
                .set_user_status(&actor, &req.account_id, &req.username, status)
                .await?;
            Ok(Response::new(pb::SetUserStatusResponse {
                user: Some(user_to_pb(user)),
            }))
        })
        .await
    }

    /// GrantUserPasscode and ResetUserPasscode (`reset`: the old one is
    /// revoked first).
    async fn issue_passcode(
        &self,
        rpc: &'static str,
        request: Request<pb::UserPasscodeRequest>,
        reset: bool,
    ) -> Result<Response<pb::UserPasscodeResponse>, Status> {
        observed(rpc, async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let validity = validity(&req);
            let (user, passcode, secret) = if reset {
                self.engine
                    .reset_user_passcode(&actor, &req.account_id, &req.username, validity)
                    .await?
            } else {
                self.engine
                    .grant_user_passcode(&actor, &req.account_id, &req.username, validity)
                    .await?
            };
            Ok(Response::new(pb::UserPasscodeResponse {
                user: Some(user_to_pb(user)),
                passcode: Some(credential_to_pb(passcode)),
                secret: secret.expose().to_string(),
            }))
        })
        .await
    }
}

#[tonic::async_trait]
impl pb::user_admin_server::UserAdmin for UserService {
    #[instrument(skip_all, fields(rpc = "CreateUser"))]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        observed("CreateUser", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let new = NewUser {
                role: convert::role_required(req.role)?,
                account_id: req.account_id,
                username: req.username,
                email: req.email,
                password: Some(Zeroizing::new(req.password)).filter(|p| !p.is_empty()),
            };
            let user = self.engine.create_user(&actor, new).await?;
            Ok(Response::new(pb::CreateUserResponse {
                user: Some(user_to_pb(user)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GetUser"))]
    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::GetUserResponse>, Status> {
        observed("GetUser", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let user = self
                .engine
                .get_user(&actor, &req.account_id, &req.username)?;
            Ok(Response::new(pb::GetUserResponse {
                user: Some(user_to_pb(user)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "ListUsers"))]
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        observed("ListUsers", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let after = Some(req.page_token.as_str()).filter(|t| !t.is_empty());
            let (users, next) =
                self.engine
                    .list_users(&actor, &req.account_id, i64::from(req.page_size), after)?;
            Ok(Response::new(pb::ListUsersResponse {
                users: users.into_iter().map(user_to_pb).collect(),
                next_page_token: next.unwrap_or_default(),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "UpdateUser"))]
    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::UpdateUserResponse>, Status> {
        observed("UpdateUser", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            if req.clear_password && req.password.is_some() {
                return Err(Status::invalid_argument(
                    "set password or clear_password, not both",
                ));
            }
            let password = match (req.password, req.clear_password) {
                (Some(p), _) => Some(Some(Zeroizing::new(p))),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let update = UserUpdate {
                role: convert::role_filter(req.role)?,
                email: req.email,
                password,
            };
            let user = self
                .engine
                .update_user(&actor, &req.account_id, &req.username, update)
                .await?;
            Ok(Response::new(pb::UpdateUserResponse {
                user: Some(user_to_pb(user)),
            }))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "DisableUser"))]
    async fn disable_user(
        &self,
        request: Request<pb::SetUserStatusRequest>,
    ) -> Result<Response<pb::SetUserStatusResponse>, Status> {
        self.set_status("DisableUser", request, UserStatus::Disabled)
            .await
    }

    #[instrument(skip_all, fields(rpc = "EnableUser"))]
    async fn enable_user(
        &self,
        request: Request<pb::SetUserStatusRequest>,
    ) -> Result<Response<pb::SetUserStatusResponse>, Status> {
        self.set_status("EnableUser", request, UserStatus::Active)
            .await
    }

    #[instrument(skip_all, fields(rpc = "DeleteUser"))]
    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<pb::DeleteUserResponse>, Status> {
        observed("DeleteUser", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            self.engine
                .delete_user(&actor, &req.account_id, &req.username)
                .await?;
            Ok(Response::new(pb::DeleteUserResponse {}))
        })
        .await
    }

    #[instrument(skip_all, fields(rpc = "GrantUserPasscode"))]
    async fn grant_user_passcode(
        &self,
        request: Request<pb::UserPasscodeRequest>,
    ) -> Result<Response<pb::UserPasscodeResponse>, Status> {
        self.issue_passcode("GrantUserPasscode", request, false)
            .await
    }

    #[instrument(skip_all, fields(rpc = "ResetUserPasscode"))]
    async fn reset_user_passcode(
        &self,
        request: Request<pb::UserPasscodeRequest>,
    ) -> Result<Response<pb::UserPasscodeResponse>, Status> {
        self.issue_passcode("ResetUserPasscode", request, true)
            .await
    }

    #[instrument(skip_all, fields(rpc = "RevokeUserPasscode"))]
    async fn revoke_user_passcode(
        &self,
        request: Request<pb::RevokeUserPasscodeRequest>,
    ) -> Result<Response<pb::RevokeUserPasscodeResponse>, Status> {
        observed("RevokeUserPasscode", async move {
            let actor = actor(&request)?;
            let req = request.into_inner();
            let user = self
                .engine
                .revoke_user_passcode(&actor, &req.account_id, &req.username)
                .await?;
            Ok(Response::new(pb::RevokeUserPasscodeResponse {
                user: Some(user_to_pb(user)),
            }))
        })
        .await
    }
}

/// Serves `SessionAuth` over one engine.
#[derive(Debug, Clone)]
pub struct SessionService {
    engine: Arc<Engine>,
    /// Whether callers must hold a key with `verify` (as for Verify).
    token_required: bool,
}

impl SessionService {
    /// Wraps an engine.
    pub fn new(engine: Arc<Engine>, token_required: bool) -> Self {
        Self {
            engine,
            token_required,
        }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::session_auth_server::SessionAuthServer<Self> {
        pb::session_auth_server::SessionAuthServer::new(self)
    }
}

#[tonic::async_trait]
impl pb::session_auth_server::SessionAuth for SessionService {
    #[instrument(skip_all, fields(rpc = "Login"))]
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        if self.token_required {
            self.engine.allow_verify(&actor(&request)?)?;
        }
        let peer = request.remote_addr().map(|a| a.ip());
        let req = request.into_inner();
        let password = Zeroizing::new(req.password);
        let peer = if req.client_ip.is_empty() {
            peer
        } else {
            Some(
                req.client_ip
                    .parse()
                    .map_err(|_| Status::invalid_argument("client_ip is not an IP address"))?,
            )
        };
        let (session, token) = self
            .engine
            .login(&req.account_id, &req.username, password, peer)
            .await?;
        let idle = self.engine.session_policy().idle_timeout;
        Ok(Response::new(pb::LoginResponse {
            session_token: token.expose().to_string(),
            session_id: session.id,
            expires_at: Some(convert::timestamp(session.expires_at)),
            idle_timeout: Some(prost_types::Duration {
                seconds: idle.num_seconds(),
                nanos: 0,
            }),
        }))
    }

    #[instrument(skip_all, fields(rpc = "Logout"))]
    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        if self.token_required {
            self.engine.allow_verify(&actor(&request)?)?;
        }
        let ended = self
            .engine
            .logout(&request.into_inner().session_token)
            .await?;
        Ok(Response::new(pb::LogoutResponse { ended }))
    }
}
