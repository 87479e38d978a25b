//! Admin-plane security against the real binary: every admin RPC without a
//! key, with a wrong, malformed or revoked key, with a key lacking the scope
//! and with a key confined to another account; the bootstrap key file; the
//! verifier's token mode; and the per-peer throttle on failed attempts.
//!
//! The tests are split by topic (every RPC, refusals, keys, the verifier);
//! this file holds the config and the admin-key helper they share.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use credd::api::pb;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{self, Admin, AdminKeys, Audit, Daemon};

mod every_rpc;
mod keys;
mod refusals;
mod verifier;

/// A generous throttle, so the refusal tests below are not cut short by it.
const CONFIG: &str = r#"
[auth]
failed_auth_burst = 100000
"#;

async fn admin_key(keys: &mut AdminKeys, account: &str, scopes: &[&str]) -> (String, String) {
    let response = keys
        .create_admin_key(pb::CreateAdminKeyRequest {
            account_id: account.to_string(),
            name: format!("key for {}", scopes.join(" ")),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .await
        .expect("create admin key")
        .into_inner();
    let key = response.admin_key.expect("admin key");
    assert_eq!(key.kind, pb::Kind::AdminKey as i32);
    assert!(response.secret.contains("_admin_"), "admin key format");
    (key.id, response.secret)
}
