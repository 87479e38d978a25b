//! credctl: the administrator's command line for credd, over gRPC. Every
//! admin RPC plus `verify`, admin keys and the audit log, as readable
//! tables or `--json`. It authenticates with the admin key in
//! `--admin-key-file` and speaks TLS or mTLS when given the files.
//!
//! This file parses the command line, connects and hands the command to
//! the module of its group; the clap types are in `args/`.

mod accounts;
mod admin_keys;
mod args;
mod audit;
mod backup;
mod client_ids;
mod connect;
mod credentials;
mod credits;
mod export;
mod import;
mod input;
mod leaks;
mod output;
mod partners;
mod rate_limits;
mod rpc;
mod sessions;
#[cfg(test)]
mod tests;
mod usage;
mod users;
mod verify;
mod webhooks;

use std::process::ExitCode;

use clap::Parser;
use tonic::service::interceptor::InterceptedService;

use args::{Cli, Command};
use output::Output;
use partners::{consents, grants};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("credctl: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("credctl: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, String> {
    let channel = connect::connect(&cli).await?;
    let bearer = connect::load_admin_key(cli.admin_key_file.as_ref())?;
    let authed = InterceptedService::new(channel, bearer);
    let out = Output { json: cli.json };
    match cli.command {
        Command::Credential(command) => credentials::run(authed, command, &out).await,
        Command::Account(command) => accounts::run(authed, command, &out).await,
        Command::User(command) => users::run(authed, command, &out).await,
        Command::Session(command) => sessions::run(authed, command, &out).await,
        Command::ClientId(command) => client_ids::run(authed, command, &out).await,
        Command::Partner(command) => partners::run(authed, command, &out).await,
        Command::Grant(command) => grants::run(authed, command, &out).await,
        Command::Consent(command) => consents::run(authed, command, &out).await,
        Command::AdminKey(command) => admin_keys::run(authed, command, &out).await,
        Command::Audit(args) => audit::run(authed, args, &out).await,
        Command::Webhook(command) => webhooks::run(authed, command, &out).await,
        Command::Backup(args) => backup::run(authed, args, &out).await,
        Command::Export(args) => export::run(authed, args).await,
        Command::Usage(args) => usage::run(authed, args, &out).await,
        Command::Credits(args) => credits::run(authed, args, &out).await,
        Command::Verify(args) => verify::verify(authed, args, &out).await,
        Command::VerifyHttp(args) => verify::verify_http(authed, args, &out).await,
        Command::VerifyPair(args) => verify::verify_pair(authed, args, &out).await,
        Command::Leak(command) => leaks::run(authed, command, &out).await,
        Command::Import(args) => return import::run(authed, args, &out).await,
    }
    .map(|()| ExitCode::SUCCESS)
}
