//! `credctl audit`: read the audit log, oldest first, over the AuditLog
//! service.

use chrono::{DateTime, Utc};

use credd::api::pb;
use credd::api::pb::audit_log_client::AuditLogClient;

use crate::args::{AuditArgs, outcome_pb};
use crate::connect::Authed;
use crate::output::Output;
use crate::rpc::status_error;

/// One page of events (the first that has any), or with `--all` every page.
pub(crate) async fn run(authed: Authed, args: AuditArgs, out: &Output) -> Result<(), String> {
    let mut client = AuditLogClient::new(authed);
    let timestamp = |t: DateTime<Utc>| prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    };
    let mut request = pb::ListAuditEventsRequest {
        credential_id: args.credential,
        account_id: args.account,
        actor: args.actor,
        action: args.action,
        since: args.since.map(timestamp),
        until: args.until.map(timestamp),
        outcome: outcome_pb(args.outcome).into(),
        page_size: args.page_size,
        page_token: args.page_token,
    };
    let mut events = Vec::new();
    loop {
        let response = client
            .list_audit_events(request.clone())
            .await
            .map_err(status_error)?
            .into_inner();
        events.extend(response.events);
        request.page_token = response.next_page_token;
        if request.page_token.is_empty() || (!args.all && !events.is_empty()) {
            break;
        }
    }
    out.audit(&events, &request.page_token);
    Ok(())
}
