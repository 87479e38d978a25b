//! `credctl account ...`: accounts, their quotas, rate limits, contacts and
//! suspension.

use clap::Subcommand;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;

use super::{Bearer, all_pages, status_error};
use crate::output::{Output, time};

#[derive(Debug, Subcommand)]
pub(crate) enum AccountCommand {
    /// Create an account.
    Create {
        /// Account id (the account_id its credentials carry).
        id: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        /// A contact who receives every notice of the account (repeat).
        #[arg(long = "contact")]
        contacts: Vec<String>,
        /// Live credentials allowed (default: the server's policy).
        #[arg(long)]
        max_live: Option<u32>,
        /// Verify requests per second for the whole account.
        #[arg(long)]
        rate: Option<u32>,
        /// Requests allowed at once (default: --rate).
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
    },
    /// Show an account.
    Get {
        /// Account id.
        id: String,
    },
    /// List accounts.
    List,
    /// Change an account.
    Update {
        /// Account id.
        id: String,
        /// New display name.
        #[arg(long)]
        name: Option<String>,
        /// Replace the contacts (repeat).
        #[arg(long = "contact")]
        contacts: Vec<String>,
        /// Remove every contact.
        #[arg(long, conflicts_with = "contacts")]
        clear_contacts: bool,
        /// New quota (0: the server's policy).
        #[arg(long)]
        max_live: Option<u32>,
        /// New rate limit, requests per second.
        #[arg(long)]
        rate: Option<u32>,
        /// Requests allowed at once (default: --rate).
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// Remove the rate limit.
        #[arg(long, conflicts_with = "rate")]
        no_rate_limit: bool,
    },
    /// Suspend: every credential of the account verifies as DISABLED.
    Suspend {
        /// Account id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Resume a suspended account.
    Resume {
        /// Account id.
        id: String,
    },
}

type Client = AccountAdminClient<InterceptedService<Channel, Bearer>>;

fn rate_limit(rate: Option<u32>, burst: Option<u32>) -> Option<pb::RateLimit> {
    rate.map(|requests_per_second| pb::RateLimit {
        requests_per_second,
        burst: burst.unwrap_or(0),
    })
}

fn account_json(a: &pb::Account) -> Value {
    json!({
        "id": a.id,
        "display_name": a.display_name,
        "contact_emails": a.contact_emails,
        "max_live_credentials": a.max_live_credentials,
        "rate_limit": a.rate_limit.as_ref().map(|r| json!({
            "requests_per_second": r.requests_per_second,
            "burst": r.burst,
        })),
        "status": pb::AccountStatus::try_from(a.status)
            .map(|s| s.as_str_name())
            .unwrap_or("UNKNOWN"),
        "status_reason": a.status_reason,
        "created_at": time(a.created_at.as_ref()),
        "updated_at": time(a.updated_at.as_ref()),
    })
}

fn print(out: &Output, accounts: &[pb::Account]) {
    if out.json {
        let items: Vec<Value> = accounts.iter().map(account_json).collect();
        match items.as_slice() {
            [one] => println!("{one}"),
            _ => println!("{}", json!({ "accounts": items })),
        }
        return;
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header(vec!["ID", "NAME", "STATUS", "MAX LIVE", "RATE", "CONTACTS"]);
    for a in accounts {
        let value = account_json(a);
        table.add_row(vec![
            a.id.clone(),
            a.display_name.clone(),
            value["status"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches("ACCOUNT_STATUS_")
                .to_string(),
            if a.max_live_credentials == 0 {
                "policy".to_string()
            } else {
                a.max_live_credentials.to_string()
            },
            a.rate_limit.as_ref().map_or_else(
                || "-".to_string(),
                |r| format!("{}/s burst {}", r.requests_per_second, r.burst),
            ),
            a.contact_emails.join(", "),
        ]);
    }
    println!("{table}");
}

pub(crate) async fn run(
    mut client: Client,
    command: AccountCommand,
    out: &Output,
) -> Result<(), String> {
    let account = match command {
        AccountCommand::Create {
            id,
            name,
            contacts,
            max_live,
            rate,
            burst,
        } => {
            client
                .create_account(pb::CreateAccountRequest {
                    id,
                    display_name: name,
                    contact_emails: contacts,
                    max_live_credentials: max_live.unwrap_or(0),
                    rate_limit: rate_limit(rate, burst),
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .account
        }
        AccountCommand::Get { id } => {
            client
                .get_account(pb::GetAccountRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .account
        }
        AccountCommand::List => {
            let accounts = all_pages(|page_token| {
                let mut client = client.clone();
                async move {
                    let page = client
                        .list_accounts(pb::ListAccountsRequest {
                            page_size: 1000,
                            page_token,
                        })
                        .await?
                        .into_inner();
                    Ok((page.accounts, page.next_page_token))
                }
            })
            .await?;
            print(out, &accounts);
            return Ok(());
        }
        AccountCommand::Update {
            id,
            name,
            contacts,
            clear_contacts,
            max_live,
            rate,
            burst,
            no_rate_limit,
        } => {
            client
                .update_account(pb::UpdateAccountRequest {
                    id,
                    display_name: name,
                    contact_emails: (clear_contacts || !contacts.is_empty())
                        .then_some(pb::StringList { values: contacts }),
                    max_live_credentials: max_live,
                    rate_limit: rate_limit(rate, burst),
                    clear_rate_limit: no_rate_limit,
                })
                .await
                .map_err(status_error)?
                .into_inner()
                .account
        }
        AccountCommand::Suspend { id, reason } => {
            client
                .suspend_account(pb::SuspendAccountRequest { id, reason })
                .await
                .map_err(status_error)?
                .into_inner()
                .account
        }
        AccountCommand::Resume { id } => {
            client
                .resume_account(pb::ResumeAccountRequest { id })
                .await
                .map_err(status_error)?
                .into_inner()
                .account
        }
    };
    print(out, account.as_slice());
    Ok(())
}
