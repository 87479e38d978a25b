//! `credctl account ...`: accounts, their quotas, rate limits, contacts and
//! suspension.

use clap::Subcommand;
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;

use super::{Bearer, all_pages, status_error};
use crate::output::{Output, Record, enum_name, short_name, time};

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

impl Record for pb::Account {
    const PLURAL: &'static str = "accounts";
    const HEADER: &'static [&'static str] =
        &["ID", "NAME", "STATUS", "MAX LIVE", "RATE", "CONTACTS"];

    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "display_name": self.display_name,
            "contact_emails": self.contact_emails,
            "max_live_credentials": self.max_live_credentials,
            "rate_limit": self.rate_limit.as_ref().map(|r| json!({
                "requests_per_second": r.requests_per_second,
                "burst": r.burst,
            })),
            "status": enum_name(self.status, pb::AccountStatus::as_str_name),
            "status_reason": self.status_reason,
            "created_at": time(self.created_at.as_ref()),
            "updated_at": time(self.updated_at.as_ref()),
        })
    }

    fn row(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.display_name.clone(),
            short_name(self.status, pb::AccountStatus::as_str_name),
            if self.max_live_credentials == 0 {
                "policy".to_string()
            } else {
                self.max_live_credentials.to_string()
            },
            self.rate_limit.as_ref().map_or_else(
                || "-".to_string(),
                |r| format!("{}/s burst {}", r.requests_per_second, r.burst),
            ),
            self.contact_emails.join(", "),
        ]
    }
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
            out.records(&accounts);
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
    out.records(account.as_slice());
    Ok(())
}
