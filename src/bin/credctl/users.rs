//! `credctl user ...`: an account's users and their passcodes, over the
//! UserAdmin service. Passwords are read from stdin, never from the
//! command line, so they stay out of shell history and `ps`.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::user_admin_client::UserAdminClient;

use crate::args::{UserCommand, role_pb};
use crate::connect::Authed;
use crate::input::read_stdin;
use crate::output::{Output, Record, enum_name, short_name, time};
use crate::rpc::{all_pages, status_error};

type Client = UserAdminClient<Authed>;

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

pub(crate) async fn run(authed: Authed, command: UserCommand, out: &Output) -> Result<(), String> {
    let mut client = UserAdminClient::new(authed);
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
            let request = pb::CreateUserRequest {
                account_id: account,
                username,
                role: role_pb(role).into(),
                email,
                password,
            };
            let response = client.create_user(request).await;
            response.map_err(status_error)?.into_inner().user
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
        UserCommand::List { account } => return list(client, account, out).await,
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
            let request = pb::UpdateUserRequest {
                account_id: account,
                username,
                role: role.map_or(pb::UserRole::Unspecified, role_pb).into(),
                email,
                password,
                clear_password,
            };
            let response = client.update_user(request).await;
            response.map_err(status_error)?.into_inner().user
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
            return delete(client, account, username, out).await;
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

/// Every user of an account, following page tokens.
async fn list(client: Client, account: String, out: &Output) -> Result<(), String> {
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
    Ok(())
}

/// Deletes a user and says so.
async fn delete(
    mut client: Client,
    account: String,
    username: String,
    out: &Output,
) -> Result<(), String> {
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
    Ok(())
}
