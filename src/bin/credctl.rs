//! credctl: the administrator's command line for credd, over gRPC. Every
//! admin RPC plus `verify`, as readable tables or `--json`.

use std::io::Read;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::{Value, json};
use tonic::transport::Channel;

use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::lifecycle::Span;

/// Administer credd: create, inspect, rotate and retire credentials.
#[derive(Debug, Parser)]
#[command(name = "credctl", version)]
struct Cli {
    /// credd's gRPC address.
    #[arg(
        long,
        env = "CREDD_ADDR",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    addr: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Api,
    Passcode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EnvArg {
    Live,
    Test,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Disabled,
    Expired,
    Revoked,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Issue a credential; its secret is printed once.
    Create {
        /// Owning account id.
        #[arg(long)]
        account: String,
        /// api (presented alone) or passcode (presented with the account id).
        #[arg(long, value_enum, default_value = "api")]
        kind: KindArg,
        /// live or test.
        #[arg(long = "env", value_enum, default_value = "live")]
        environment: EnvArg,
        /// Short name.
        #[arg(long)]
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// A scope (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime such as 90d or 12h (default: the server's policy).
        #[arg(long)]
        lifetime: Option<String>,
        /// A contact address (repeat for several).
        #[arg(long = "notify")]
        notify_emails: Vec<String>,
    },
    /// Show one credential.
    Get {
        /// Credential id.
        id: String,
    },
    /// List credentials.
    List {
        /// Only this account.
        #[arg(long, default_value = "")]
        account: String,
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Only this environment.
        #[arg(long = "env", value_enum)]
        environment: Option<EnvArg>,
        /// Page size, 1 to 1000.
        #[arg(long, default_value_t = 100)]
        page_size: i32,
        /// Continue from a previous page.
        #[arg(long, default_value = "")]
        page_token: String,
        /// Follow page tokens to the end.
        #[arg(long)]
        all: bool,
    },
    /// Change fields of a credential.
    Update {
        /// Credential id.
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// Replace the scopes (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Remove every scope.
        #[arg(long, conflicts_with = "scopes")]
        clear_scopes: bool,
        /// New expiry, RFC 3339 (e.g. 2027-01-31T00:00:00Z).
        #[arg(long)]
        expires_at: Option<DateTime<Utc>>,
        /// Replace the contacts (repeat for several).
        #[arg(long = "notify")]
        notify_emails: Vec<String>,
        /// Remove every contact.
        #[arg(long, conflicts_with = "notify_emails")]
        clear_notify: bool,
    },
    /// Issue a second secret; the old one works until the window ends.
    Rotate {
        /// Credential id.
        id: String,
        /// Window such as 7d (default: the server's policy).
        #[arg(long)]
        window: Option<String>,
    },
    /// Retire the older secret of an open rotation now.
    CompleteRotation {
        /// Credential id.
        id: String,
    },
    /// Revoke for good.
    Revoke {
        /// Credential id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Disable until reactivated.
    Disable {
        /// Credential id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Bring a disabled credential back.
    Reactivate {
        /// Credential id.
        id: String,
    },
    /// Delete a credential and its secrets.
    Delete {
        /// Credential id.
        id: String,
    },
    /// Check a secret as a verifying service would. Reads the secret from
    /// stdin when none is given, so it stays out of shell history.
    Verify {
        /// The secret (omit to read it from stdin).
        secret: Option<String>,
        /// Account id (required for passcodes).
        #[arg(long, default_value = "")]
        account: String,
        /// A required scope (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
}

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
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("credctl: {message}");
            ExitCode::FAILURE
        }
    }
}

fn status_error(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

fn duration_arg(flag: &str, text: &str) -> Result<prost_types::Duration, String> {
    match text.parse::<Span>().map_err(|e| format!("--{flag}: {e}"))? {
        Span::Fixed(d) => Ok(prost_types::Duration {
            seconds: d.num_seconds(),
            nanos: 0,
        }),
        Span::Months(_) => Err(format!(
            "--{flag}: give a fixed length such as 60d; months are only for the server's policy"
        )),
    }
}

fn kind_pb(kind: KindArg) -> pb::Kind {
    match kind {
        KindArg::Api => pb::Kind::ApiKey,
        KindArg::Passcode => pb::Kind::Passcode,
    }
}

fn env_pb(environment: EnvArg) -> pb::Environment {
    match environment {
        EnvArg::Live => pb::Environment::Live,
        EnvArg::Test => pb::Environment::Test,
    }
}

fn status_pb(status: StatusArg) -> pb::Status {
    match status {
        StatusArg::Active => pb::Status::Active,
        StatusArg::Disabled => pb::Status::Disabled,
        StatusArg::Expired => pb::Status::Expired,
        StatusArg::Revoked => pb::Status::Revoked,
    }
}

async fn connect(addr: &str) -> Result<Channel, String> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    Channel::from_shared(url.clone())
        .map_err(|e| format!("bad --addr {url:?}: {e}"))?
        .connect()
        .await
        .map_err(|e| format!("cannot connect to credd at {url}: {e}"))
}

async fn run(cli: Cli) -> Result<(), String> {
    let channel = connect(&cli.addr).await?;
    let mut admin = CredentialAdminClient::new(channel.clone());
    let out = Output { json: cli.json };
    match cli.command {
        Command::Create {
            account,
            kind,
            environment,
            name,
            description,
            scopes,
            lifetime,
            notify_emails,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            let response = admin
                .create_credential(pb::CreateCredentialRequest {
                    account_id: account,
                    kind: kind_pb(kind).into(),
                    environment: env_pb(environment).into(),
                    name,
                    description,
                    scopes,
                    lifetime,
                    notify_emails,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential_with_secret(response.credential, &response.secret);
        }
        Command::Get { id } => {
            let response = admin
                .get_credential(pb::GetCredentialRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.credential);
        }
        Command::List {
            account,
            status,
            kind,
            environment,
            page_size,
            mut page_token,
            all,
        } => {
            let mut credentials = Vec::new();
            loop {
                let response = admin
                    .list_credentials(pb::ListCredentialsRequest {
                        account_id: account.clone(),
                        status: status.map_or(pb::Status::Unspecified, status_pb).into(),
                        kind: kind.map_or(pb::Kind::Unspecified, kind_pb).into(),
                        environment: environment
                            .map_or(pb::Environment::Unspecified, env_pb)
                            .into(),
                        page_size,
                        page_token: page_token.clone(),
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                credentials.extend(response.credentials);
                page_token = response.next_page_token;
                if !all || page_token.is_empty() {
                    break;
                }
            }
            out.list(&credentials, &page_token);
        }
        Command::Update {
            id,
            name,
            description,
            scopes,
            clear_scopes,
            expires_at,
            notify_emails,
            clear_notify,
        } => {
            let list = |values: Vec<String>, clear: bool| {
                (clear || !values.is_empty()).then_some(pb::StringList { values })
            };
            let response = admin
                .update_credential(pb::UpdateCredentialRequest {
                    id,
                    name,
                    description,
                    scopes: list(scopes, clear_scopes),
                    expires_at: expires_at.map(|t| prost_types::Timestamp {
                        seconds: t.timestamp(),
                        nanos: 0,
                    }),
                    notify_emails: list(notify_emails, clear_notify),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.credential);
        }
        Command::Rotate { id, window } => {
            let window = window.map(|w| duration_arg("window", &w)).transpose()?;
            let response = admin
                .rotate_credential(pb::RotateCredentialRequest { id, window })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential_with_secret(response.credential, &response.secret);
        }
        Command::CompleteRotation { id } => {
            let response = admin
                .complete_rotation(pb::CompleteRotationRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.credential);
        }
        Command::Revoke { id, reason } => {
            let response = admin
                .revoke_credential(pb::RevokeCredentialRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.credential);
        }
        Command::Disable { id, reason } => {
            let response = admin
                .disable_credential(pb::DisableCredentialRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.credential);
        }
        Command::Reactivate { id } => {
            let response = admin
                .reactivate_credential(pb::ReactivateCredentialRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.credential);
        }
        Command::Delete { id } => {
            admin
                .delete_credential(pb::DeleteCredentialRequest { id: id.clone() })
                .await
                .map_err(status_error)?;
            if out.json {
                println!("{}", json!({ "deleted": id }));
            } else {
                println!("deleted {id}");
            }
        }
        Command::Verify {
            secret,
            account,
            scopes,
        } => {
            let secret = match secret {
                Some(secret) => secret,
                None => {
                    let mut text = String::new();
                    std::io::stdin()
                        .read_to_string(&mut text)
                        .map_err(|e| format!("cannot read the secret from stdin: {e}"))?;
                    text.trim().to_string()
                }
            };
            let response = CredentialVerifierClient::new(channel)
                .verify(pb::VerifyRequest {
                    secret,
                    account_id: account,
                    required_scopes: scopes,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.verification(&response);
        }
    }
    Ok(())
}

/// Renders responses as tables or JSON.
struct Output {
    json: bool,
}

fn time(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn enum_name(name: Option<&str>) -> String {
    name.unwrap_or("UNKNOWN").to_string()
}

fn kind_name(value: i32) -> String {
    enum_name(pb::Kind::try_from(value).ok().map(|k| k.as_str_name()))
}

fn env_name(value: i32) -> String {
    enum_name(
        pb::Environment::try_from(value)
            .ok()
            .map(|k| k.as_str_name()),
    )
}

fn status_name(value: i32) -> String {
    enum_name(pb::Status::try_from(value).ok().map(|k| k.as_str_name()))
}

fn reason_name(value: i32) -> String {
    enum_name(
        pb::DisabledReason::try_from(value)
            .ok()
            .map(|k| k.as_str_name()),
    )
}

fn credential_json(c: &pb::Credential) -> Value {
    json!({
        "id": c.id,
        "account_id": c.account_id,
        "kind": kind_name(c.kind),
        "environment": env_name(c.environment),
        "name": c.name,
        "description": c.description,
        "scopes": c.scopes,
        "status": status_name(c.status),
        "disabled_reason": reason_name(c.disabled_reason),
        "status_reason": c.status_reason,
        "created_at": time(c.created_at.as_ref()),
        "updated_at": time(c.updated_at.as_ref()),
        "expires_at": time(c.expires_at.as_ref()),
        "last_used_at": time(c.last_used_at.as_ref()),
        "reactivated_at": time(c.reactivated_at.as_ref()),
        "secret_hint": c.secret_hint,
        "previous_secret_hint": c.previous_secret_hint,
        "rotation_retires_at": time(c.rotation_retires_at.as_ref()),
        "notify_emails": c.notify_emails,
    })
}

impl Output {
    fn credential(&self, credential: Option<pb::Credential>) {
        let Some(c) = credential else { return };
        let value = credential_json(&c);
        if self.json {
            println!("{value}");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        if let Value::Object(fields) = value {
            for (key, value) in fields {
                let shown = match value {
                    Value::String(s) => s,
                    Value::Array(items) => items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                if !shown.is_empty() && !shown.ends_with("_UNSPECIFIED") {
                    table.add_row(vec![key, shown]);
                }
            }
        }
        println!("{table}");
    }

    fn credential_with_secret(&self, credential: Option<pb::Credential>, secret: &str) {
        if self.json {
            let mut value = credential
                .as_ref()
                .map(credential_json)
                .unwrap_or(json!({}));
            value["secret"] = Value::String(secret.to_string());
            println!("{value}");
            return;
        }
        self.credential(credential);
        println!("secret: {secret}");
        println!("This secret is shown once. Store it now; credd keeps only a hash.");
    }

    fn list(&self, credentials: &[pb::Credential], next_page_token: &str) {
        if self.json {
            let items: Vec<Value> = credentials.iter().map(credential_json).collect();
            println!(
                "{}",
                json!({ "credentials": items, "next_page_token": next_page_token })
            );
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.set_header(vec![
            "ID",
            "ACCOUNT",
            "KIND",
            "ENV",
            "NAME",
            "STATUS",
            "HINT",
            "EXPIRES",
            "LAST USED",
        ]);
        for c in credentials {
            table.add_row(vec![
                c.id.clone(),
                c.account_id.clone(),
                kind_name(c.kind).trim_start_matches("KIND_").to_string(),
                env_name(c.environment)
                    .trim_start_matches("ENVIRONMENT_")
                    .to_string(),
                c.name.clone(),
                status_name(c.status)
                    .trim_start_matches("STATUS_")
                    .to_string(),
                c.secret_hint.clone(),
                time(c.expires_at.as_ref()),
                time(c.last_used_at.as_ref()),
            ]);
        }
        println!("{table}");
        if !next_page_token.is_empty() {
            println!("more: --page-token {next_page_token}");
        }
    }

    fn verification(&self, r: &pb::VerifyResponse) {
        let result = enum_name(
            pb::VerifyResult::try_from(r.result)
                .ok()
                .map(|k| k.as_str_name()),
        );
        let value = json!({
            "result": result,
            "credential_id": r.credential_id,
            "account_id": r.account_id,
            "kind": kind_name(r.kind),
            "environment": env_name(r.environment),
            "scopes": r.scopes,
            "expires_at": time(r.expires_at.as_ref()),
            "superseded": r.superseded,
            "retires_at": time(r.retires_at.as_ref()),
            "disabled_reason": reason_name(r.disabled_reason),
        });
        if self.json {
            println!("{value}");
            return;
        }
        let mut table = Table::new();
        table.load_preset(UTF8_BORDERS_ONLY);
        table.add_row(vec![
            "result".to_string(),
            result.trim_start_matches("VERIFY_RESULT_").to_string(),
        ]);
        if !r.credential_id.is_empty() {
            table.add_row(vec!["credential_id".to_string(), r.credential_id.clone()]);
            table.add_row(vec!["account_id".to_string(), r.account_id.clone()]);
            table.add_row(vec!["scopes".to_string(), r.scopes.join(", ")]);
            table.add_row(vec!["expires_at".to_string(), time(r.expires_at.as_ref())]);
        }
        if r.superseded {
            table.add_row(vec![
                "superseded_until".to_string(),
                time(r.retires_at.as_ref()),
            ]);
        }
        println!("{table}");
    }
}
