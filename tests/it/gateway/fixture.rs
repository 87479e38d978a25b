//! What every gateway test (ext_authz `Check` and `/v1/check` called
//! directly, and both through a real Envoy or nginx) sets up in a real
//! daemon: a plain key of `acme`, the older secret of a rotating key (in
//! its window), a product key of the seed's MYPRODUCT with a grant for
//! LAGERMAN, a key of an account limited to one request per second, a
//! passcode, and a key to revoke. Every secret is kept, so tests can grep
//! answers, logs and files for them.

#![allow(dead_code)]

use credd::api::pb;
use prost_types::Duration;

use crate::http_auth::{
    LAGERMAN, MYPRODUCT, create_accounts, create_grant, create_limited_account, register_partner,
};
use crate::support::{self, Daemon};

/// Config of a daemon with the HTTP listener on.
pub const HTTP_ON: &str = "[http]\nlisten = \"127.0.0.1:0\"\n";

/// The keys of a gateway test.
pub struct Fixture {
    /// A good key of `acme` (scopes orders:read orders:write).
    pub key: String,
    /// Its credential id.
    pub key_id: String,
    /// The older secret of a key rotated with a one-hour window.
    pub rotating_old: String,
    /// MYPRODUCT's key, with a grant to act for LAGERMAN.
    pub product_key: String,
    /// A key of `bursty`, limited to one request per second.
    pub limited_key: String,
    /// A passcode of `acme`.
    pub passcode: String,
    /// A key of `acme` the test may revoke.
    pub doomed_key: String,
    /// Its credential id.
    pub doomed_id: String,
    /// Every secret above.
    pub secrets: Vec<String>,
}

impl Fixture {
    /// Creates everything through the daemon's admin API.
    pub async fn create(daemon: &Daemon) -> Fixture {
        let mut admin = daemon.admin().await;
        create_accounts(daemon, &[LAGERMAN]).await;
        let (cred, key) = support::create(&mut admin, support::api_key("acme", "orders")).await;
        let (rotating, rotating_old) =
            support::create(&mut admin, support::api_key("acme", "rot")).await;
        let rotated = admin
            .rotate_credential(pb::RotateCredentialRequest {
                id: rotating.id.clone(),
                window: Some(Duration {
                    seconds: 3600,
                    nanos: 0,
                }),
            })
            .await
            .expect("rotate")
            .into_inner();
        let (_, product_key) =
            support::create(&mut admin, support::api_key(MYPRODUCT, "product")).await;
        let mut partners = daemon.partners().await;
        register_partner(&mut partners, MYPRODUCT, &[]).await;
        create_grant(&mut partners, MYPRODUCT, LAGERMAN, &["orders:read"]).await;
        let limited_key = limited_key(daemon, &mut admin).await;
        let (_, passcode) = support::create(&mut admin, support::passcode("acme", "pc")).await;
        let (doomed, doomed_key) =
            support::create(&mut admin, support::api_key("acme", "doomed")).await;
        let secrets = vec![
            key.clone(),
            rotating_old.clone(),
            rotated.secret.clone(),
            product_key.clone(),
            limited_key.clone(),
            passcode.clone(),
            doomed_key.clone(),
        ];
        Fixture {
            key,
            key_id: cred.id,
            rotating_old,
            product_key,
            limited_key,
            passcode,
            doomed_key,
            doomed_id: doomed.id,
            secrets,
        }
    }

    /// Revokes the doomed key through the admin API.
    pub async fn revoke_doomed(&self, daemon: &Daemon) {
        daemon
            .admin()
            .await
            .revoke_credential(pb::RevokeCredentialRequest {
                id: self.doomed_id.clone(),
                reason: "leaked".to_string(),
            })
            .await
            .expect("revoke");
    }
}

async fn limited_key(daemon: &Daemon, admin: &mut support::Admin) -> String {
    create_limited_account(daemon, "bursty", 1).await;
    support::create(admin, support::api_key("bursty", "limited"))
        .await
        .1
}
