//! `credctl user ...` (users and their passcodes) and `credctl session ...`
//! (login and logout). Passwords are read from stdin, never from the
//! command line, so they stay out of shell history and `ps`.

use clap::{Subcommand, ValueEnum};
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use credd::api::pb;
use credd::api::pb::session_auth_client::SessionAuthClient;
use credd::api::pb::user_admin_client::UserAdminClient;

use super::{Bearer, all_pages, read_stdin, status_error};
use crate::output::{Output, Record, enum_name, short_name, time};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum RoleArg {
    ApiUser,
    Admin,
    Member,
}

fn role_pb(role: RoleArg) -> pb::UserRole {
    match role {
        RoleArg::ApiUser => pb::UserRole::ApiUser,
        RoleArg::Admin => pb::UserRole::Admin,
        RoleArg::Member => pb::UserRole::Member,
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; with --password-stdin, its password is read from stdin.
    Create {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username within the account.
        username: String,
        /// Role.
        #[arg(long, value_enum, default_value = "api-user")]
        role: RoleArg,
        /// Contact address.
        #[arg(long, default_value = "")]
        email: String,
        /// Read a password from stdin (else: no password login).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Show a user.
    Get {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// List an account's users.
    List {
        /// Account id.
        #[arg(long)]
        account: String,
    },
    /// Change a user's role, address or password.
    Update {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
        /// New role.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// New address.
        #[arg(long)]
        email: Option<String>,
        /// Read a new password from stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Remove the password.
        #[arg(long, conflicts_with = "password_stdin")]
        clear_password: bool,
    },
    /// Disable: no login; its passcode and sessions verify DISABLED.
    Disable {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// Enable a disabled user.
    Enable {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// Revoke the user's passcode and delete the user.
    Delete {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// Grant a passcode (shown once): --days 1..365, or --infinite (ten years).
    GrantPasscode(PasscodeArgs),
    /// Issue a new passcode; the old one stops working at once.
    ResetPasscode(PasscodeArgs),
    /// Revoke the user's passcode.
    RevokePasscode {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
}

/// Which user's passcode, and for how long.
#[derive(Debug, clap::Args)]
pub(crate) struct PasscodeArgs {
    /// Account id.
    #[arg(long)]
    account: String,
    /// Username.
    username: String,
    /// Days of validity, 1 to 365.
    #[arg(
        long,
        conflicts_with = "infinite",
        required_unless_present = "infinite"
    )]
    days: Option<u32>,
    /// Ten years.
    #[arg(long)]
    infinite: bool,
}

impl From<PasscodeArgs> for pb::UserPasscodeRequest {
    fn from(args: PasscodeArgs) -> Self {
        pb::UserPasscodeRequest {
            account_id: args.account,
            username: args.username,
            validity_days: args.days.unwrap_or(0),
            infinite: args.infinite,
        }
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum SessionCommand {
    /// Log in with the password read from stdin; prints the session token once.
    Login {
        /// Account id.
        #[arg(long)]
        account: String,
        /// Username.
        username: String,
    },
    /// End a session; the token is read from stdin when not given.
    Logout {
        /// Session token.
        token: Option<String>,
    },
}

impl Record for pb::User {
    const PLURAL: &'static str = "users";
    const HEADER: &'static [&'static str] =
        &["LOGIN", "ROLE", "STATUS", "PASSWORD", "PASSCODE", "EMAIL"];

    fn to_json(&self) -> Value {
        json!({
            "account_id": self.account_id,
            "username": self.username,
            "login_name": self.login_name,
            "role": enum_name(self.role, pb::UserRole::as_str_name),
            "email": self.email,
            "status": enum_name(self.status, pb::UserStatus::as_str_name),
            "has_password": self.has_password,
            "passcode_id": self.passcode_id,
            "created_at": time(self.created_at.as_ref()),
            "updated_at": time(self.updated_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.login_name.clone(),
            short_name(self.role, pb::UserRole::as_str_name),
            short_name(self.status, pb::UserStatus::as_str_name),
            if self.has_password { "yes" } else { "no" }.to_string(),
            self.passcode_id.clone(),
            self.email.clone(),
        ]
    }
}

fn print_passcode(out: &Output, response: pb::UserPasscodeResponse) {
    if let Some(user) = &response.user {
        out.records(std::slice::from_ref(user));
    }
    out.credential_with_secret(response.passcode, &response.secret);
}

type Users = UserAdminClient<InterceptedService<Channel, Bearer>>;

pub(crate) async fn run_user(
    mut client: Users,
    command: UserCommand,
    out: &Output,
) -> Result<(), String> {
    let status = |account: String, username: String| pb::SetUserStatusRequest {
        account_id: account,
        username,
    };
    let user = match command {
        UserCommand::Create {
            account,
            username,
            role,
            email,
            password_stdin,
        } => {
            let password = if password_stdin {
                read_stdin("password")?
            } else {
                String::new()
            };
            client
                .create_user(pb::CreateUserRequest {
                    account_id: account,
                    username,
                    role: role_pb(role).into(),
                    email,
                    password,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .user
        }
        UserCommand::Get { account, username } => {
            client
                .get_user(pb::GetUserRequest {
                    account_id: account,
                    username,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .user
        }
        UserCommand::List { account } => {
            let users = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListUsersRequest {
                    account_id: account.clone(),
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_users(request).await?.into_inner();
                    Ok((page.users, page.next_page_token))
                }
            })
            .await?;
            out.records(&users);
            return Ok(());
        }
        UserCommand::Update {
            account,
            username,
            role,
            email,
            password_stdin,
            clear_password,
        } => {
            let password = if password_stdin {
                Some(read_stdin("password")?)
            } else {
                None
            };
            client
                .update_user(pb::UpdateUserRequest {
                    account_id: account,
                    username,
                    role: role.map_or(pb::UserRole::Unspecified, role_pb).into(),
                    email,
                    password,
                    clear_password,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .user
        }
        UserCommand::Disable { account, username } => {
            client
                .disable_user(status(account, username))
                .await
                .map_err(status_error)?
                .into_inner()
                .user
        }
        UserCommand::Enable { account, username } => {
            client
                .enable_user(status(account, username))
                .await
                .map_err(status_error)?
                .into_inner()
                .user
        }
        UserCommand::Delete { account, username } => {
            client
                .delete_user(pb::DeleteUserRequest {
                    account_id: account.clone(),
                    username: username.clone(),
                })
                .await
                .map_err(status_error)?;
            if out.json {
                println!("{}", json!({ "deleted": format!("{account}-{username}") }));
            } else {
                println!("deleted {account}-{username}");
            }
            return Ok(());
        }
        UserCommand::GrantPasscode(args) => {
            let response = client.grant_user_passcode(pb::UserPasscodeRequest::from(args));
            print_passcode(out, response.await.map_err(status_error)?.into_inner());
            return Ok(());
        }
        UserCommand::ResetPasscode(args) => {
            let response = client.reset_user_passcode(pb::UserPasscodeRequest::from(args));
            print_passcode(out, response.await.map_err(status_error)?.into_inner());
            return Ok(());
        }
        UserCommand::RevokePasscode { account, username } => {
            client
                .revoke_user_passcode(pb::RevokeUserPasscodeRequest {
                    account_id: account,
                    username,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .user
        }
    };
    out.records(user.as_slice());
    Ok(())
}

type Sessions = SessionAuthClient<InterceptedService<Channel, Bearer>>;

pub(crate) async fn run_session(
    mut client: Sessions,
    command: SessionCommand,
    out: &Output,
) -> Result<(), String> {
    match command {
        SessionCommand::Login { account, username } => {
            let password = read_stdin("password")?;
            let session = client
                .login(pb::LoginRequest {
                    account_id: account,
                    username,
                    password,
                    client_ip: String::new(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            let value = json!({
                "session_id": session.session_id,
                "session_token": session.session_token,
                "expires_at": time(session.expires_at.as_ref()),
                "idle_timeout_s": session.idle_timeout.map_or(0, |d| d.seconds),
            });
            if out.json {
                println!("{value}");
            } else {
                println!(
                    "session {} until {}",
                    session.session_id, value["expires_at"]
                );
                println!("token: {}", session.session_token);
                println!("This token is shown once; logout ends it.");
            }
        }
        SessionCommand::Logout { token } => {
            let token = match token {
                Some(token) => token,
                None => read_stdin("session token")?,
            };
            let ended = client
                .logout(pb::LogoutRequest {
                    session_token: token,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .ended;
            if out.json {
                println!("{}", json!({ "ended": ended }));
            } else if ended {
                println!("session ended");
            } else {
                println!("no such session (already ended or expired)");
            }
        }
    }
    Ok(())
}
