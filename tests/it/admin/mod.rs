//! CredentialAdmin over real gRPC: each RPC's happy path and its documented error codes, quotas, health and reflection.
//!
//! The tests are split by topic (create, changes, quota, the service); this
//! file holds the helpers they share.

use std::time::Duration;

use credd::api::pb;
use tonic::Code;

use crate::support::{self, UNKNOWN_ID};

mod changes;
mod create;
mod quota;
mod service;

/// One day in seconds.
const DAY: i64 = 86_400;

fn lifetime(seconds: i64) -> Option<prost_types::Duration> {
    Some(prost_types::Duration { seconds, nanos: 0 })
}

async fn list_account(admin: &mut support::Admin, account: &str) -> pb::ListCredentialsResponse {
    admin
        .list_credentials(pb::ListCredentialsRequest {
            account_id: account.to_string(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
}
