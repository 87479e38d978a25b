//! credctl: the administrator's command line for credd, over gRPC. Every
//! admin RPC plus `verify`, admin keys and the audit log, as readable
//! tables or `--json`. It authenticates with the admin key in
//! `--admin-key-file` and speaks TLS or mTLS when given the files.

mod accounts;
mod output;
mod partners;
#[cfg(test)]
mod tests;
mod users;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use credd::api::pb;
use credd::api::pb::admin_key_admin_client::AdminKeyAdminClient;
use credd::api::pb::audit_log_client::AuditLogClient;
use credd::api::pb::client_id_admin_client::ClientIdAdminClient;
use credd::api::pb::credential_admin_client::CredentialAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::api::pb::partner_admin_client::PartnerAdminClient;
use credd::lifecycle::Span;
use output::Output;

/// Where credctl looks for the admin key when no flag or variable names one.
const DEFAULT_ADMIN_KEY_FILE: &str = "./credd-data/admin.key";

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
    /// File holding the admin key (default ./credd-data/admin.key, the
    /// key a first start of credd with default settings writes).
    #[arg(long, env = "CREDD_ADMIN_KEY_FILE", global = true)]
    admin_key_file: Option<PathBuf>,
    /// PEM CA certificate to check credd's TLS certificate with (turns TLS on).
    #[arg(long, env = "CREDD_CA_FILE", global = true)]
    ca_file: Option<PathBuf>,
    /// PEM client certificate for mTLS (with --key-file).
    #[arg(long, env = "CREDD_CERT_FILE", global = true, requires = "key_file")]
    cert_file: Option<PathBuf>,
    /// PEM private key of --cert-file.
    #[arg(long, env = "CREDD_KEY_FILE", global = true, requires = "cert_file")]
    key_file: Option<PathBuf>,
    /// Name to expect in credd's certificate (default: the host of --addr).
    #[arg(long, env = "CREDD_TLS_DOMAIN", global = true)]
    tls_domain: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum AdminKeyCommand {
    /// Issue an admin key; it is printed once.
    Create {
        /// Short name.
        #[arg(long)]
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
        /// A scope: credentials:read, credentials:write, audit:read,
        /// admin:manage, verify, accounts:read, accounts:write,
        /// partners:read or partners:write (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Confine the key to this account's credentials (a management key).
        #[arg(long, default_value = "")]
        account: String,
        /// Lifetime such as 365d (default and most: ten years).
        #[arg(long)]
        lifetime: Option<String>,
        /// Who is warned before it expires (repeat for several).
        #[arg(long = "notify")]
        notify_emails: Vec<String>,
    },
    /// Show one admin key.
    Get {
        /// Admin key id.
        id: String,
    },
    /// List the global admin keys, or one account's management keys.
    List {
        /// The account whose management keys to list.
        #[arg(long, default_value = "")]
        account: String,
    },
    /// Revoke an admin key; calls made with it fail from now on.
    Revoke {
        /// Admin key id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutcomeArg {
    Ok,
    Denied,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Api,
    Passcode,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum EnvArg {
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
        /// Bind the API key to one of the account's client ids; Verify
        /// with another client id then answers ACCOUNT_MISMATCH.
        #[arg(long, default_value = "")]
        client_id: String,
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
    /// Manage accounts (needs accounts:read / accounts:write).
    #[command(subcommand)]
    Account(accounts::AccountCommand),
    /// Manage an account's users and their passcodes.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Log a user in or out.
    #[command(subcommand)]
    Session(users::SessionCommand),
    /// Manage an account's public client ids (Klarna-style).
    #[command(subcommand)]
    ClientId(partners::ClientIdCommand),
    /// Whitelist accounts as partners (needs partners:read / partners:write).
    #[command(subcommand)]
    Partner(partners::PartnerCommand),
    /// Let a partner act for a client account (delegation grants).
    #[command(subcommand)]
    Grant(partners::GrantCommand),
    /// A partner's request for a customer's consent, and its answer.
    #[command(subcommand)]
    Consent(partners::ConsentCommand),
    /// Manage admin keys (needs admin:manage).
    #[command(subcommand)]
    AdminKey(AdminKeyCommand),
    /// Read the audit log, oldest first (needs audit:read).
    Audit {
        /// Only this credential.
        #[arg(long, default_value = "")]
        credential: String,
        /// Only this account.
        #[arg(long, default_value = "")]
        account: String,
        /// Only this actor (`system` or an admin key id).
        #[arg(long, default_value = "")]
        actor: String,
        /// Only this action, e.g. credential.revoke.
        #[arg(long, default_value = "")]
        action: String,
        /// Only ok or only denied attempts.
        #[arg(long, value_enum)]
        outcome: Option<OutcomeArg>,
        /// At or after, RFC 3339.
        #[arg(long)]
        since: Option<DateTime<Utc>>,
        /// Before, RFC 3339.
        #[arg(long)]
        until: Option<DateTime<Utc>>,
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
        /// The client id presented with the key.
        #[arg(long, default_value = "")]
        client_id: String,
        /// The account a partner's key acts for.
        #[arg(long, default_value = "")]
        on_behalf_of: String,
    },
    /// Judge a request's HTTP authentication headers as the gateway in
    /// front of an API would, and print the HTTP answer to give.
    VerifyHttp(partners::VerifyHttpArgs),
    /// Check a partner's developer key together with a customer key.
    VerifyPair(partners::VerifyPairArgs),
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

/// Reads stdin to the end, without the final line break.
pub(crate) fn read_stdin(what: &str) -> Result<String, String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read the {what} from stdin: {e}"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// Reads one value a line from stdin, in the order of `names`: secrets
/// stay out of argv (visible in `ps`) and shell history. Nothing is read
/// when no value is wanted.
pub(crate) fn read_stdin_lines(names: &[&str]) -> Result<Vec<String>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    stdin_lines(&read_stdin(&names.join(" and "))?, names)
}

/// Splits `text` into exactly one trimmed line per name.
fn stdin_lines(text: &str, names: &[&str]) -> Result<Vec<String>, String> {
    let lines: Vec<String> = text.lines().map(|l| l.trim().to_string()).collect();
    if lines.len() != names.len() {
        return Err(format!(
            "expected {} on stdin, one a line; got {} line(s)",
            names.join(" and "),
            lines.len()
        ));
    }
    Ok(lines)
}

pub(crate) fn status_error(status: tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// Follows page tokens to the end: `page(token)` fetches one page and
/// returns its items and the next token (empty on the last page).
pub(crate) async fn all_pages<T, Fut>(mut page: impl FnMut(String) -> Fut) -> Result<Vec<T>, String>
where
    Fut: std::future::Future<Output = Result<(Vec<T>, String), tonic::Status>>,
{
    let mut items = Vec::new();
    let mut token = String::new();
    loop {
        let (batch, next) = page(token).await.map_err(status_error)?;
        items.extend(batch);
        if next.is_empty() {
            return Ok(items);
        }
        token = next;
    }
}

/// Adds `authorization: Bearer <admin key>` to every call, when credctl has
/// a key.
#[derive(Clone)]
pub(crate) struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Reads the admin key. A file named by flag or variable must exist; the
/// default one may be missing (Verify on an open verifier needs no key).
fn load_admin_key(flag: Option<&PathBuf>) -> Result<Bearer, String> {
    let path = flag
        .cloned()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ADMIN_KEY_FILE));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && flag.is_none() => {
            return Ok(Bearer(None));
        }
        Err(e) => {
            return Err(format!(
                "cannot read the admin key file {}: {e}",
                path.display()
            ));
        }
    };
    let value = format!("Bearer {}", text.trim())
        .parse()
        .map_err(|_| format!("{} does not hold an admin key", path.display()))?;
    Ok(Bearer(Some(value)))
}

pub(crate) fn duration_arg(flag: &str, text: &str) -> Result<prost_types::Duration, String> {
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

pub(crate) fn env_pb(environment: EnvArg) -> pb::Environment {
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

fn read_pem(flag: &str, path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("--{flag} {}: {e}", path.display()))
}

async fn connect(cli: &Cli) -> Result<Channel, String> {
    let tls = cli.ca_file.is_some() || cli.cert_file.is_some();
    let url = if cli.addr.contains("://") {
        cli.addr.clone()
    } else if tls {
        format!("https://{}", cli.addr)
    } else {
        format!("http://{}", cli.addr)
    };
    let mut endpoint =
        Channel::from_shared(url.clone()).map_err(|e| format!("bad --addr {url:?}: {e}"))?;
    if tls || url.starts_with("https://") {
        let mut config = ClientTlsConfig::new();
        if let Some(ca) = &cli.ca_file {
            config = config.ca_certificate(Certificate::from_pem(read_pem("ca-file", ca)?));
        }
        if let (Some(cert), Some(key)) = (&cli.cert_file, &cli.key_file) {
            config = config.identity(Identity::from_pem(
                read_pem("cert-file", cert)?,
                read_pem("key-file", key)?,
            ));
        }
        if let Some(domain) = &cli.tls_domain {
            config = config.domain_name(domain.clone());
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| format!("tls setup: {e}"))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to credd at {url}: {e}"))
}

async fn run(cli: Cli) -> Result<(), String> {
    let channel = connect(&cli).await?;
    let bearer = load_admin_key(cli.admin_key_file.as_ref())?;
    let mut admin = CredentialAdminClient::with_interceptor(channel.clone(), bearer.clone());
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
            client_id,
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
                    client_id,
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
            client_id,
            on_behalf_of,
        } => {
            let secret = match secret {
                Some(secret) => secret,
                None => read_stdin("secret")?.trim().to_string(),
            };
            let response = CredentialVerifierClient::with_interceptor(channel, bearer)
                .verify(pb::VerifyRequest {
                    secret,
                    account_id: account,
                    required_scopes: scopes,
                    client_id,
                    on_behalf_of,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.verification(&response);
        }
        Command::Account(command) => {
            let client =
                pb::account_admin_client::AccountAdminClient::with_interceptor(channel, bearer);
            accounts::run(client, command, &out).await?;
        }
        Command::User(command) => {
            let client = pb::user_admin_client::UserAdminClient::with_interceptor(channel, bearer);
            users::run_user(client, command, &out).await?;
        }
        Command::Session(command) => {
            let client =
                pb::session_auth_client::SessionAuthClient::with_interceptor(channel, bearer);
            users::run_session(client, command, &out).await?;
        }
        Command::ClientId(command) => {
            let client = ClientIdAdminClient::with_interceptor(channel, bearer);
            partners::run_client_id(client, command, &out).await?;
        }
        Command::Partner(command) => {
            let client = PartnerAdminClient::with_interceptor(channel, bearer);
            partners::run_partner(client, command, &out).await?;
        }
        Command::Grant(command) => {
            let client = PartnerAdminClient::with_interceptor(channel, bearer);
            partners::run_grant(client, command, &out).await?;
        }
        Command::Consent(command) => {
            let client = PartnerAdminClient::with_interceptor(channel, bearer);
            partners::run_consent(client, command, &out).await?;
        }
        Command::VerifyHttp(args) => {
            let client = CredentialVerifierClient::with_interceptor(channel, bearer);
            partners::verify_http(client, args, &out).await?;
        }
        Command::VerifyPair(args) => {
            let client = CredentialVerifierClient::with_interceptor(channel, bearer);
            partners::verify_pair(client, args, &out).await?;
        }
        Command::AdminKey(command) => {
            admin_key(
                AdminKeyAdminClient::with_interceptor(channel, bearer),
                command,
                &out,
            )
            .await?;
        }
        Command::Audit {
            credential,
            account,
            actor,
            action,
            outcome,
            since,
            until,
            page_size,
            mut page_token,
            all,
        } => {
            let mut client = AuditLogClient::with_interceptor(channel, bearer);
            let timestamp = |t: DateTime<Utc>| prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: 0,
            };
            let mut events = Vec::new();
            loop {
                let response = client
                    .list_audit_events(pb::ListAuditEventsRequest {
                        credential_id: credential.clone(),
                        account_id: account.clone(),
                        actor: actor.clone(),
                        action: action.clone(),
                        since: since.map(timestamp),
                        until: until.map(timestamp),
                        outcome: match outcome {
                            None => pb::AuditOutcome::Unspecified,
                            Some(OutcomeArg::Ok) => pb::AuditOutcome::Ok,
                            Some(OutcomeArg::Denied) => pb::AuditOutcome::Denied,
                        }
                        .into(),
                        page_size,
                        page_token: page_token.clone(),
                    })
                    .await
                    .map_err(status_error)?
                    .into_inner();
                events.extend(response.events);
                page_token = response.next_page_token;
                if page_token.is_empty() || (!all && !events.is_empty()) {
                    break;
                }
            }
            out.audit(&events, &page_token);
        }
    }
    Ok(())
}

type AdminKeys =
    AdminKeyAdminClient<tonic::service::interceptor::InterceptedService<Channel, Bearer>>;

async fn admin_key(
    mut client: AdminKeys,
    command: AdminKeyCommand,
    out: &Output,
) -> Result<(), String> {
    match command {
        AdminKeyCommand::Create {
            name,
            description,
            scopes,
            account,
            lifetime,
            notify_emails,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            let response = client
                .create_admin_key(pb::CreateAdminKeyRequest {
                    account_id: account,
                    name,
                    description,
                    scopes,
                    lifetime,
                    notify_emails,
                })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential_with_secret(response.admin_key, &response.secret);
        }
        AdminKeyCommand::Get { id } => {
            let response = client
                .get_admin_key(pb::GetAdminKeyRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.admin_key);
        }
        AdminKeyCommand::List { account } => {
            let keys = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListAdminKeysRequest {
                    account_id: account.clone(),
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_admin_keys(request).await?.into_inner();
                    Ok((page.admin_keys, page.next_page_token))
                }
            })
            .await?;
            out.list(&keys, "");
        }
        AdminKeyCommand::Revoke { id, reason } => {
            let response = client
                .revoke_admin_key(pb::RevokeAdminKeyRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            out.credential(response.admin_key);
        }
    }
    Ok(())
}
