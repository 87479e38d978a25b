//! `credctl credits`: set, add to or take from a credential's remaining
//! uses, change its refill, or lift the limit (CredentialAdmin.UpdateCredits).

use credd::api::pb;
use credd::api::pb::credential_admin_client::CredentialAdminClient;
use credd::api::pb::update_credits_request::Change;

use crate::args::CreditsArgs;
use crate::connect::Authed;
use crate::output::Output;
use crate::rpc::status_error;

pub(crate) async fn run(authed: Authed, args: CreditsArgs, out: &Output) -> Result<(), String> {
    let change = if args.unlimited {
        Some(Change::Unlimited(true))
    } else {
        args.set
            .map(Change::Set)
            .or(args.increment.map(Change::Increment))
            .or(args.decrement.map(Change::Decrement))
    };
    let credential = CredentialAdminClient::new(authed)
        .update_credits(pb::UpdateCreditsRequest {
            id: args.id,
            change,
            refill: args.refill,
            clear_refill: args.clear_refill,
        })
        .await
        .map_err(status_error)?
        .into_inner()
        .credential;
    out.credential(credential);
    Ok(())
}
