//! `credctl client-id ...` (an account's public client ids), `partner ...`,
//! `grant ...` and `consent ...` (partners acting for other accounts), and
//! the gateway's checks `verify-http` and `verify-pair`. Keys and passcodes
//! are read from stdin (or a file), so they stay out of shell history and
//! `ps`; only `verify-http --authorization` takes its value as an argument,
//! for quick tests with throwaway keys.

use std::path::PathBuf;

use clap::{ArgGroup, Subcommand};
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use credd::api::pb;
use credd::api::pb::client_id_admin_client::ClientIdAdminClient;
use credd::api::pb::credential_verifier_client::CredentialVerifierClient;
use credd::api::pb::partner_admin_client::PartnerAdminClient;

use super::{Bearer, EnvArg, all_pages, duration_arg, env_pb, read_stdin_lines, status_error};
use crate::output::{
    Output, Record, credential_json, enum_name, short_name, time, verification_json,
};

#[cfg(test)]
mod tests;

#[derive(Debug, Subcommand)]
pub(crate) enum ClientIdCommand {
    /// Create a client id (public, not a secret); `credctl create
    /// --client-id` binds API keys to it.
    Create {
        /// Owning account id.
        #[arg(long)]
        account: String,
        /// live or test.
        #[arg(long = "env", value_enum, default_value = "live")]
        environment: EnvArg,
        /// Short name.
        #[arg(long, default_value = "")]
        name: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show a client id.
    Get {
        /// Client id.
        id: String,
    },
    /// List an account's client ids.
    List {
        /// Account id.
        #[arg(long)]
        account: String,
    },
    /// Revoke for good: keys bound to it verify DISABLED (CLIENT_REVOKED).
    Revoke {
        /// Client id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PartnerCommand {
    /// Whitelist an account as a partner (needs a global key).
    Register {
        /// The partner's account id.
        account: String,
        /// Shown to customers in the consent dialog.
        #[arg(long, default_value = "")]
        display_name: String,
        /// Consent redirects must start with one of these (repeat for
        /// several; none: any https URL).
        #[arg(long = "redirect-prefix")]
        redirect_prefixes: Vec<String>,
    },
    /// Show a partner.
    Get {
        /// The partner's account id.
        account: String,
    },
    /// List the partners.
    List,
    /// Change a partner.
    Update {
        /// The partner's account id.
        account: String,
        /// New display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Replace the redirect prefixes (repeat for several).
        #[arg(long = "redirect-prefix")]
        redirect_prefixes: Vec<String>,
        /// Remove every redirect prefix (any https URL is allowed).
        #[arg(long, conflicts_with = "redirect_prefixes")]
        clear_redirect_prefixes: bool,
    },
    /// Un-whitelist a partner; revokes its grants and their customer keys.
    Remove {
        /// The partner's account id.
        account: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GrantCommand {
    /// Let a registered partner act for a client account (needs a global key).
    Create {
        /// The partner's account id.
        #[arg(long)]
        partner: String,
        /// The account it may act for.
        #[arg(long)]
        client: String,
        /// What it may do for the client (repeat for several; none: whatever
        /// its key may).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime such as 90d (default: no expiry).
        #[arg(long)]
        lifetime: Option<String>,
    },
    /// Show a grant.
    Get {
        /// Grant id.
        id: String,
    },
    /// List live grants, by partner and/or client.
    List {
        /// Only this partner's.
        #[arg(long, default_value = "")]
        partner: String,
        /// Only those for this client account.
        #[arg(long, default_value = "")]
        client: String,
        /// Also revoked and expired grants.
        #[arg(long)]
        all: bool,
    },
    /// Revoke at once, with the grant's customer key.
    Revoke {
        /// Grant id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ConsentCommand {
    /// As the partner: ask a customer to let it act for the customer; prints
    /// the path of the dialog to show the customer.
    Request {
        /// The partner's account id.
        #[arg(long)]
        partner: String,
        /// The customer's account id.
        #[arg(long)]
        customer: String,
        /// Where the customer is sent back; on approval credd appends
        /// customerkey=<key> (an empty customerkey= in it is filled in).
        #[arg(long)]
        redirect_url: String,
        /// Scopes the grant will carry (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime of the grant and the customer key, such as 365d
        /// (default: the key gets the server's policy, the grant no expiry).
        #[arg(long)]
        lifetime: Option<String>,
        /// Environment of the customer key: live or test.
        #[arg(long = "env", value_enum, default_value = "live")]
        environment: EnvArg,
    },
    /// Show a consent request.
    Get {
        /// Consent request id.
        id: String,
    },
    /// As the customer: approve. Creates the grant and the customer key,
    /// printed once, and the redirect URL that carries it.
    Approve {
        /// Consent request id.
        id: String,
    },
    /// As the customer: deny; prints the redirect URL with error=access_denied.
    Deny {
        /// Consent request id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// The authentication headers a gateway received; absent ones are empty.
/// `Debug` shows whether an Authorization value was given, never the value.
#[derive(clap::Args)]
pub(crate) struct VerifyHttpArgs {
    /// The Authorization header, e.g. "Basic TEFHRVJNQU46..." (it carries a
    /// key: prefer --authorization-stdin).
    #[arg(long, conflicts_with = "authorization_stdin")]
    authorization: Option<String>,
    /// Read the Authorization value from stdin (its first line).
    #[arg(long)]
    authorization_stdin: bool,
    /// X-Product-Id (present: product-level authentication).
    #[arg(long, default_value = "")]
    product_id: String,
    /// X-Client-Id (the client a product acts for).
    #[arg(long, default_value = "")]
    client_id: String,
    /// X-CleverTap-Account-Id.
    #[arg(long, default_value = "")]
    clevertap_account_id: String,
    /// Read X-CleverTap-Passcode from stdin (the line after the
    /// Authorization value with --authorization-stdin).
    #[arg(long)]
    clevertap_passcode_stdin: bool,
    /// CleverTap's connect call (`?partner=<name>`): the partner's account id.
    #[arg(long, default_value = "")]
    partner: String,
    /// A required scope (repeat for several).
    #[arg(long = "scope")]
    scopes: Vec<String>,
}

impl std::fmt::Debug for VerifyHttpArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyHttpArgs")
            .field("authorization", &self.authorization.is_some())
            .field("authorization_stdin", &self.authorization_stdin)
            .field("product_id", &self.product_id)
            .field("client_id", &self.client_id)
            .field("clevertap_account_id", &self.clevertap_account_id)
            .field("clevertap_passcode_stdin", &self.clevertap_passcode_stdin)
            .field("partner", &self.partner)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// Where the two keys come from; never the command line.
#[derive(Debug, clap::Args)]
#[command(group(
    ArgGroup::new("developer_key")
        .required(true)
        .args(["developer_key_stdin", "developer_key_file"])
))]
pub(crate) struct VerifyPairArgs {
    /// Read the developer key and then the customer key from stdin, one a line.
    #[arg(long)]
    developer_key_stdin: bool,
    /// File holding the developer key; stdin then holds only the customer key.
    #[arg(long)]
    developer_key_file: Option<PathBuf>,
    /// A required scope (repeat for several).
    #[arg(long = "scope")]
    scopes: Vec<String>,
}

impl Record for pb::ClientId {
    const PLURAL: &'static str = "client_ids";
    const HEADER: &'static [&'static str] = &["ID", "ACCOUNT", "ENV", "NAME", "STATUS", "CREATED"];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "account_id": self.account_id,
            "environment": enum_name(self.environment, pb::Environment::as_str_name),
            "name": self.name,
            "description": self.description,
            "status": enum_name(self.status, pb::ClientIdStatus::as_str_name),
            "status_reason": self.status_reason,
            "created_at": time(self.created_at.as_ref()),
            "revoked_at": time(self.revoked_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.account_id.clone(),
            short_name(self.environment, pb::Environment::as_str_name),
            self.name.clone(),
            short_name(self.status, pb::ClientIdStatus::as_str_name),
            time(self.created_at.as_ref()),
        ]
    }
}

impl Record for pb::Partner {
    const PLURAL: &'static str = "partners";
    const HEADER: &'static [&'static str] = &["ACCOUNT", "NAME", "REDIRECT PREFIXES", "CREATED"];

    fn to_json(&self) -> Value {
        json!({
            "account_id": self.account_id,
            "display_name": self.display_name,
            "redirect_prefixes": self.redirect_prefixes,
            "created_at": time(self.created_at.as_ref()),
            "updated_at": time(self.updated_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.account_id.clone(),
            self.display_name.clone(),
            self.redirect_prefixes.join(", "),
            time(self.created_at.as_ref()),
        ]
    }
}

impl Record for pb::Grant {
    const PLURAL: &'static str = "grants";
    const HEADER: &'static [&'static str] = &[
        "ID", "PARTNER", "CLIENT", "SCOPES", "STATUS", "ORIGIN", "EXPIRES",
    ];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "partner_account_id": self.partner_account_id,
            "client_account_id": self.client_account_id,
            "scopes": self.scopes,
            "status": enum_name(self.status, pb::GrantStatus::as_str_name),
            "origin": enum_name(self.origin, pb::GrantOrigin::as_str_name),
            "consent_id": self.consent_id,
            "customer_key_id": self.customer_key_id,
            "created_at": time(self.created_at.as_ref()),
            "expires_at": time(self.expires_at.as_ref()),
            "revoked_at": time(self.revoked_at.as_ref()),
            "status_reason": self.status_reason,
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.partner_account_id.clone(),
            self.client_account_id.clone(),
            self.scopes.join(", "),
            short_name(self.status, pb::GrantStatus::as_str_name),
            short_name(self.origin, pb::GrantOrigin::as_str_name),
            self.expires_at
                .as_ref()
                .map_or_else(|| "never".to_string(), |t| time(Some(t))),
        ]
    }
}

impl Record for pb::ConsentRequest {
    const PLURAL: &'static str = "consents";
    const HEADER: &'static [&'static str] = &[
        "ID", "PARTNER", "CUSTOMER", "STATUS", "SCOPES", "EXPIRES", "GRANT",
    ];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "partner_account_id": self.partner_account_id,
            "partner_display_name": self.partner_display_name,
            "customer_account_id": self.customer_account_id,
            "redirect_url": self.redirect_url,
            "scopes": self.scopes,
            "lifetime_s": self.lifetime.as_ref().map(|d| d.seconds),
            "status": enum_name(self.status, pb::ConsentStatus::as_str_name),
            "created_at": time(self.created_at.as_ref()),
            "expires_at": time(self.expires_at.as_ref()),
            "answered_at": time(self.answered_at.as_ref()),
            "grant_id": self.grant_id,
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.partner_account_id.clone(),
            self.customer_account_id.clone(),
            short_name(self.status, pb::ConsentStatus::as_str_name),
            self.scopes.join(", "),
            time(self.expires_at.as_ref()),
            self.grant_id.clone(),
        ]
    }
}

/// A record and a few fields of the answer around it: merged into its JSON
/// object, or printed as `key: value` lines under its table.
fn print_with<R: Record>(out: &Output, record: Option<R>, extra: &[(&str, &str)]) {
    if out.json {
        let mut value = record.as_ref().map_or_else(|| json!({}), R::to_json);
        for (key, text) in extra {
            value[*key] = Value::String((*text).to_string());
        }
        println!("{value}");
        return;
    }
    out.records(record.as_slice());
    for (key, text) in extra {
        println!("{key}: {text}");
    }
}

/// The customer key ApproveConsent appended to the redirect URL as its last
/// non-empty `customerkey=` parameter. Keys are made of letters, digits and
/// `_`, which URL encoding leaves as they are.
fn customer_key_of(redirect_url: &str) -> Option<&str> {
    let (_, query) = redirect_url.split_once('?')?;
    query
        .split('&')
        .filter_map(|param| param.strip_prefix("customerkey="))
        .rfind(|key| !key.is_empty())
}

type ClientIds = ClientIdAdminClient<InterceptedService<Channel, Bearer>>;
type Partners = PartnerAdminClient<InterceptedService<Channel, Bearer>>;
type Verifier = CredentialVerifierClient<InterceptedService<Channel, Bearer>>;

pub(crate) async fn run_client_id(
    mut client: ClientIds,
    command: ClientIdCommand,
    out: &Output,
) -> Result<(), String> {
    let client_id = match command {
        ClientIdCommand::Create {
            account,
            environment,
            name,
            description,
        } => {
            client
                .create_client_id(pb::CreateClientIdRequest {
                    account_id: account,
                    environment: env_pb(environment).into(),
                    name,
                    description,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .client_id
        }
        ClientIdCommand::Get { id } => {
            client
                .get_client_id(pb::GetClientIdRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .client_id
        }
        ClientIdCommand::List { account } => {
            let client_ids = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListClientIdsRequest {
                    account_id: account.clone(),
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_client_ids(request).await?.into_inner();
                    Ok((page.client_ids, page.next_page_token))
                }
            })
            .await?;
            out.records(&client_ids);
            return Ok(());
        }
        ClientIdCommand::Revoke { id, reason } => {
            client
                .revoke_client_id(pb::RevokeClientIdRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .client_id
        }
    };
    out.records(client_id.as_slice());
    Ok(())
}

pub(crate) async fn run_partner(
    mut client: Partners,
    command: PartnerCommand,
    out: &Output,
) -> Result<(), String> {
    let partner = match command {
        PartnerCommand::Register {
            account,
            display_name,
            redirect_prefixes,
        } => {
            client
                .register_partner(pb::RegisterPartnerRequest {
                    account_id: account,
                    display_name,
                    redirect_prefixes,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .partner
        }
        PartnerCommand::Get { account } => {
            client
                .get_partner(pb::GetPartnerRequest {
                    account_id: account,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .partner
        }
        PartnerCommand::List => {
            let partners = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListPartnersRequest {
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_partners(request).await?.into_inner();
                    Ok((page.partners, page.next_page_token))
                }
            })
            .await?;
            out.records(&partners);
            return Ok(());
        }
        PartnerCommand::Update {
            account,
            display_name,
            redirect_prefixes,
            clear_redirect_prefixes,
        } => {
            client
                .update_partner(pb::UpdatePartnerRequest {
                    account_id: account,
                    display_name,
                    redirect_prefixes: (clear_redirect_prefixes || !redirect_prefixes.is_empty())
                        .then_some(pb::StringList {
                            values: redirect_prefixes,
                        }),
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .partner
        }
        PartnerCommand::Remove { account, reason } => {
            let revoked = client
                .remove_partner(pb::RemovePartnerRequest {
                    account_id: account.clone(),
                    reason,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .grants_revoked;
            if out.json {
                println!(
                    "{}",
                    json!({ "removed": account, "grants_revoked": revoked })
                );
            } else {
                println!("removed partner {account}; {revoked} grant(s) revoked");
            }
            return Ok(());
        }
    };
    out.records(partner.as_slice());
    Ok(())
}

pub(crate) async fn run_grant(
    mut client: Partners,
    command: GrantCommand,
    out: &Output,
) -> Result<(), String> {
    let grant = match command {
        GrantCommand::Create {
            partner,
            client: client_account,
            scopes,
            lifetime,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            client
                .create_grant(pb::CreateGrantRequest {
                    partner_account_id: partner,
                    client_account_id: client_account,
                    scopes,
                    lifetime,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .grant
        }
        GrantCommand::Get { id } => {
            client
                .get_grant(pb::GetGrantRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .grant
        }
        GrantCommand::List {
            partner,
            client: client_account,
            all,
        } => {
            let grants = all_pages(|page_token| {
                let mut client = client.clone();
                let request = pb::ListGrantsRequest {
                    partner_account_id: partner.clone(),
                    client_account_id: client_account.clone(),
                    include_ended: all,
                    page_size: 1000,
                    page_token,
                };
                async move {
                    let page = client.list_grants(request).await?.into_inner();
                    Ok((page.grants, page.next_page_token))
                }
            })
            .await?;
            out.records(&grants);
            return Ok(());
        }
        GrantCommand::Revoke { id, reason } => {
            client
                .revoke_grant(pb::RevokeGrantRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .grant
        }
    };
    out.records(grant.as_slice());
    Ok(())
}

pub(crate) async fn run_consent(
    mut client: Partners,
    command: ConsentCommand,
    out: &Output,
) -> Result<(), String> {
    match command {
        ConsentCommand::Request {
            partner,
            customer,
            redirect_url,
            scopes,
            lifetime,
            environment,
        } => {
            let lifetime = lifetime.map(|l| duration_arg("lifetime", &l)).transpose()?;
            let response = client
                .create_consent_request(pb::CreateConsentRequestRequest {
                    partner_account_id: partner,
                    customer_account_id: customer,
                    redirect_url,
                    scopes,
                    lifetime,
                    environment: env_pb(environment).into(),
                })
                .await
                .map_err(status_error)?
                .into_inner();
            print_with(
                out,
                response.consent,
                &[("approval_path", &response.approval_path)],
            );
        }
        ConsentCommand::Get { id } => {
            let consent = client
                .get_consent_request(pb::GetConsentRequestRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .consent;
            out.records(consent.as_slice());
        }
        ConsentCommand::Approve { id } => {
            let response = client
                .approve_consent(pb::ApproveConsentRequest { id })
                .await
                .map_err(status_error)?
                .into_inner();
            let key = customer_key_of(&response.redirect_url).unwrap_or_default();
            if out.json {
                let mut value = response
                    .consent
                    .as_ref()
                    .map_or_else(|| json!({}), Record::to_json);
                value["grant"] = response.grant.as_ref().map_or(Value::Null, Record::to_json);
                let mut customer_key = response
                    .customer_key
                    .as_ref()
                    .map_or_else(|| json!({}), credential_json);
                customer_key["secret"] = Value::String(key.to_string());
                value["customer_key"] = customer_key;
                value["redirect_url"] = Value::String(response.redirect_url);
                println!("{value}");
            } else {
                out.records(response.consent.as_slice());
                out.records(response.grant.as_slice());
                if key.is_empty() {
                    out.credential(response.customer_key);
                } else {
                    out.credential_with_secret(response.customer_key, key);
                }
                println!("redirect_url: {}", response.redirect_url);
            }
        }
        ConsentCommand::Deny { id, reason } => {
            let response = client
                .deny_consent(pb::DenyConsentRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner();
            print_with(
                out,
                response.consent,
                &[("redirect_url", &response.redirect_url)],
            );
        }
    }
    Ok(())
}

pub(crate) async fn verify_http(
    mut client: Verifier,
    args: VerifyHttpArgs,
    out: &Output,
) -> Result<(), String> {
    // Secrets from stdin, one a line: the Authorization value, then the passcode.
    let mut names = Vec::new();
    if args.authorization_stdin {
        names.push("the Authorization value");
    }
    if args.clevertap_passcode_stdin {
        names.push("the CleverTap passcode");
    }
    let mut lines = read_stdin_lines(&names)?.into_iter();
    let mut next_line = |wanted: bool| {
        if wanted {
            lines.next().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let authorization = match args.authorization {
        Some(authorization) => authorization,
        None => next_line(args.authorization_stdin),
    };
    let passcode = next_line(args.clevertap_passcode_stdin);
    let r = client
        .verify_http_authorization(pb::VerifyHttpAuthorizationRequest {
            authorization,
            x_product_id: args.product_id,
            x_client_id: args.client_id,
            x_clevertap_account_id: args.clevertap_account_id,
            x_clevertap_passcode: passcode,
            clevertap_partner: args.partner,
            required_scopes: args.scopes,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    let mut value = json!({
        "allowed": r.allowed,
        "mode": enum_name(r.mode, pb::AuthMode::as_str_name),
        "http_status": r.http_status,
        "refusal": enum_name(r.refusal, pb::HttpAuthRefusal::as_str_name),
        "reason": r.reason,
        "principal_id": r.principal_id,
        "principal_account_id": r.principal_account_id,
        "acting_for_account_id": r.acting_for_account_id,
        "product_id": r.product_id,
        "client_id": r.client_id,
        "grant_id": r.grant_id,
        "retry_after_s": r.retry_after.as_ref().map(|d| d.seconds),
        "verification": r.verification.as_ref().map(verification_json),
    });
    if !out.json {
        // One line for the inner Verify answer: its result and credential.
        value["verification"] = r.verification.as_ref().map_or(Value::Null, |v| {
            let result = short_name(v.result, pb::VerifyResult::as_str_name);
            Value::String(format!("{result} {}", v.credential_id).trim().to_string())
        });
    }
    out.object(value);
    Ok(())
}

pub(crate) async fn verify_pair(
    mut client: Verifier,
    args: VerifyPairArgs,
    out: &Output,
) -> Result<(), String> {
    let (developer_key, customer_key) = match &args.developer_key_file {
        Some(path) => {
            let developer_key = std::fs::read_to_string(path).map_err(|e| {
                format!("cannot read the developer key file {}: {e}", path.display())
            })?;
            let customer_key = read_stdin_lines(&["the customer key"])?
                .into_iter()
                .next()
                .unwrap_or_default();
            (developer_key.trim().to_string(), customer_key)
        }
        None => {
            let mut lines =
                read_stdin_lines(&["the developer key", "the customer key"])?.into_iter();
            let developer_key = lines.next().unwrap_or_default();
            (developer_key, lines.next().unwrap_or_default())
        }
    };
    let r = client
        .verify_partner_pair(pb::VerifyPartnerPairRequest {
            developer_key,
            customer_key,
            required_scopes: args.scopes,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    out.object(json!({
        "result": enum_name(r.result, pb::VerifyResult::as_str_name),
        "partner_account_id": r.partner_account_id,
        "customer_account_id": r.customer_account_id,
        "grant_id": r.grant_id,
        "developer_key_id": r.developer_key_id,
        "customer_key_id": r.customer_key_id,
        "grant_scopes": r.grant_scopes,
        "expires_at": time(r.expires_at.as_ref()),
        "disabled_reason": enum_name(r.disabled_reason, pb::DisabledReason::as_str_name),
        "retry_after_s": r.retry_after.as_ref().map(|d| d.seconds),
    }));
    Ok(())
}
