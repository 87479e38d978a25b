//! `credctl account ...`: accounts, their quotas, rate limits, contacts and
//! suspension, over the AccountAdmin service.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::account_admin_client::AccountAdminClient;

use crate::args::AccountCommand;
use crate::connect::Authed;
use crate::output::{Output, Record, enum_name, short_name, time};
use crate::rpc::{all_pages, status_error};

type Client = AccountAdminClient<Authed>;

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
            "rate_limits": crate::rate_limits::rules_json(&self.rate_limits),
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
    authed: Authed,
    command: AccountCommand,
    out: &Output,
) -> Result<(), String> {
    let mut client = Client::new(authed);
    let account = match command {
        AccountCommand::Create {
            id,
            name,
            contacts,
            max_live,
            rate,
            burst,
            rate_limits,
        } => {
            client
                .create_account(pb::CreateAccountRequest {
                    id,
                    display_name: name,
                    contact_emails: contacts,
                    max_live_credentials: max_live.unwrap_or(0),
                    rate_limit: rate_limit(rate, burst),
                    rate_limits,
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
            rate_limits,
            clear_rate_limits,
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
                    rate_limits: (clear_rate_limits || !rate_limits.is_empty())
                        .then_some(pb::RateLimitRules { rules: rate_limits }),
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
