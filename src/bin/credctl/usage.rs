//! `credctl usage`: Verify answers per day of a credential or an account,
//! over `CredentialAdmin.GetUsage`, as a table or (`--json`) `{"days": [...]}`.

use serde_json::{Value, json};

use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;

use crate::args::UsageArgs;
use crate::connect::Authed;
use crate::output::{Output, Record};
use crate::rpc::status_error;

impl Record for pb::UsageDay {
    const PLURAL: &'static str = "days";
    const HEADER: &'static [&'static str] = &[
        "DATE",
        "VALID",
        "EXPIRED",
        "REVOKED",
        "DISABLED",
        "RATE LIMITED",
        "NO SCOPE",
        "NO CREDITS",
        "OTHER",
    ];

    fn to_json(&self) -> Value {
        json!({
            "date": self.date,
            "valid": self.valid,
            "expired": self.expired,
            "revoked": self.revoked,
            "disabled": self.disabled,
            "rate_limited": self.rate_limited,
            "insufficient_scope": self.insufficient_scope,
            "usage_exceeded": self.usage_exceeded,
            "other_refused": self.other_refused,
        })
    }

    fn row(&self) -> Vec<String> {
        [
            self.valid,
            self.expired,
            self.revoked,
            self.disabled,
            self.rate_limited,
            self.insufficient_scope,
            self.usage_exceeded,
            self.other_refused,
        ]
        .iter()
        .fold(vec![self.date.clone()], |mut row, n| {
            row.push(n.to_string());
            row
        })
    }
}

pub(crate) async fn run(authed: Authed, args: UsageArgs, out: &Output) -> Result<(), String> {
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let days = CredentialAdminClient::new(authed)
        .get_usage(pb::GetUsageRequest {
            credential_id: args.credential,
            account_id: args.account,
            from: day(args.from),
            to: day(args.to),
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .days;
    if out.json {
        // Always the list, even of one day, so scripts read one shape.
        let days: Vec<Value> = days.iter().map(Record::to_json).collect();
        println!("{}", json!({ "days": days }));
        return Ok(());
    }
    out.records(&days);
    Ok(())
}
