//! `credctl leak report`: a leaked secret (read from stdin) reported over
//! LeakAdmin; prints what was done. A secret that matched nothing the key
//! may act on prints NOT_FOUND and exits 0: the report was taken.

use serde_json::json;

use credd::api::pb;
use credd::api::pb::leak_admin_client::LeakAdminClient;

use crate::args::LeakCommand;
use crate::connect::Authed;
use crate::input::read_stdin;
use crate::output::{Output, short_name};
use crate::rpc::status_error;

pub(crate) async fn run(authed: Authed, command: LeakCommand, out: &Output) -> Result<(), String> {
    let LeakCommand::Report(args) = command;
    let secret = read_stdin("secret")?.trim().to_string();
    let response = LeakAdminClient::new(authed)
        .report_leaked_credential(pb::ReportLeakedCredentialRequest {
            secret,
            source: args.source,
            url: args.url,
        })
        .await
        .map_err(status_error)?
        .into_inner();
    out.object(json!({
        "outcome": short_name(response.outcome, pb::LeakOutcome::as_str_name),
        "credential_id": response.credential_id,
        "account_id": response.account_id,
    }));
    Ok(())
}
