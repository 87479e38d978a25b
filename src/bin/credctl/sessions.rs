//! `credctl session ...`: log a user in (the password read from stdin) or
//! out, over the SessionAuth service.

use serde_json::json;

use credd::api::pb;
use credd::api::pb::session_auth_client::SessionAuthClient;

use crate::args::SessionCommand;
use crate::connect::Authed;
use crate::input::read_stdin;
use crate::output::{Output, time};
use crate::rpc::status_error;

pub(crate) async fn run(
    authed: Authed,
    command: SessionCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = SessionAuthClient::new(authed);
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
