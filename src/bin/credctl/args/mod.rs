//! The command line's clap types: the global flags ([`Cli`]) and the list
//! of subcommands ([`Command`]), with the flags of each command group in
//! its own file here. Values that several groups take (the environment)
//! are here too. Nothing here calls credd.

mod accounts;
mod admin_keys;
mod audit;
mod backup;
mod client_ids;
mod consents;
mod credentials;
mod credits;
mod export;
mod grants;
mod import;
mod leaks;
mod partners;
mod sessions;
mod usage;
mod users;
mod verify;
mod webhooks;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use credd::api::pb;

pub(crate) use accounts::AccountCommand;
pub(crate) use admin_keys::AdminKeyCommand;
pub(crate) use audit::{AuditArgs, outcome_pb};
pub(crate) use backup::BackupArgs;
pub(crate) use client_ids::ClientIdCommand;
pub(crate) use consents::ConsentCommand;
pub(crate) use credentials::{CredentialCommand, kind_pb, status_pb};
pub(crate) use credits::{CreditsArgs, parse_refill};
pub(crate) use export::ExportArgs;
pub(crate) use grants::GrantCommand;
pub(crate) use import::{FormatArg, ImportArgs};
pub(crate) use leaks::LeakCommand;
pub(crate) use partners::PartnerCommand;
pub(crate) use sessions::SessionCommand;
pub(crate) use usage::UsageArgs;
pub(crate) use users::{UserCommand, role_pb};
pub(crate) use verify::{VerifyArgs, VerifyHttpArgs, VerifyPairArgs};
pub(crate) use webhooks::WebhookCommand;

/// Administer credd: create, inspect, rotate and retire credentials.
#[derive(Debug, Parser)]
#[command(name = "credctl", version)]
pub(crate) struct Cli {
    /// credd's gRPC address.
    #[arg(
        long,
        env = "CREDD_ADDR",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub(crate) addr: String,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// File holding the admin key (default ./credd-data/admin.key, the
    /// key a first start of credd with default settings writes).
    #[arg(long, env = "CREDD_ADMIN_KEY_FILE", global = true)]
    pub(crate) admin_key_file: Option<PathBuf>,
    /// PEM CA certificate to check credd's TLS certificate with (turns TLS on).
    #[arg(long, env = "CREDD_CA_FILE", global = true)]
    pub(crate) ca_file: Option<PathBuf>,
    /// PEM client certificate for mTLS (with --key-file).
    #[arg(long, env = "CREDD_CERT_FILE", global = true, requires = "key_file")]
    pub(crate) cert_file: Option<PathBuf>,
    /// PEM private key of --cert-file.
    #[arg(long, env = "CREDD_KEY_FILE", global = true, requires = "cert_file")]
    pub(crate) key_file: Option<PathBuf>,
    /// Name to expect in credd's certificate (default: the host of --addr).
    #[arg(long, env = "CREDD_TLS_DOMAIN", global = true)]
    pub(crate) tls_domain: Option<String>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    // The credential commands (create, get, list, ...), at the top level.
    #[command(flatten)]
    Credential(CredentialCommand),
    /// Manage accounts (needs accounts:read / accounts:write).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage an account's users and their passcodes.
    #[command(subcommand)]
    User(UserCommand),
    /// Log a user in or out.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Manage an account's public client ids (Klarna-style).
    #[command(subcommand)]
    ClientId(ClientIdCommand),
    /// Whitelist accounts as partners (needs partners:read / partners:write).
    #[command(subcommand)]
    Partner(PartnerCommand),
    /// Let a partner act for a client account (delegation grants).
    #[command(subcommand)]
    Grant(GrantCommand),
    /// A partner's request for a customer's consent, and its answer.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// Manage admin keys (needs admin:manage).
    #[command(subcommand)]
    AdminKey(AdminKeyCommand),
    /// Read the audit log, oldest first (needs audit:read).
    Audit(AuditArgs),
    /// Manage webhook endpoints and their deliveries (needs webhooks:read
    /// / webhooks:write).
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Write a consistent backup of the whole store (needs a global key
    /// with admin:manage); restore it with `credd restore`.
    Backup(BackupArgs),
    /// Every account and credential as JSON Lines (no secrets, no hashes),
    /// for audits and for leaving credd.
    Export(ExportArgs),
    /// Set, add to or take from a credential's remaining uses, change its
    /// refill, or lift the limit.
    Credits(CreditsArgs),
    /// Verify answers per day (valid, and refused by reason) of one
    /// credential or of every credential of an account.
    Usage(UsageArgs),
    /// Check a secret as a verifying service would. Reads the secret from
    /// stdin when none is given, so it stays out of shell history.
    Verify(VerifyArgs),
    /// Judge a request's HTTP authentication headers as the gateway in
    /// front of an API would, and print the HTTP answer to give.
    VerifyHttp(VerifyHttpArgs),
    /// Check a partner's developer key together with a customer key.
    VerifyPair(VerifyPairArgs),
    /// Bring existing keys into credd from a JSON Lines or CSV file (needs
    /// credentials:write). Exit status: 0 when every row was imported or
    /// was imported before, 2 when some rows failed and others were not,
    /// 1 when nothing was (no rows, or every row failed) or a call failed.
    Import(ImportArgs),
    /// Report leaked secrets (needs credentials:write).
    #[command(subcommand)]
    Leak(LeakCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum EnvArg {
    Live,
    Test,
}

pub(crate) fn env_pb(environment: EnvArg) -> pb::Environment {
    match environment {
        EnvArg::Live => pb::Environment::Live,
        EnvArg::Test => pb::Environment::Test,
    }
}
