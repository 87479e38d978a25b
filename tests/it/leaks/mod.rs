//! Leaked-key reports through the real daemon: GitHub's signed reports on
//! the HTTP listener (`github.rs`: revoked before the answer, audited,
//! mailed, labelled; every refusal a JSON 4xx that changes nothing; the
//! endpoint off without keys and a bad keys file stopping the daemon) and
//! the LeakAdmin RPC (`admin_rpc.rs`: scope and account checks). The
//! shared parts: a P-256 key pair made here and configured as GitHub's
//! public key, signing, posting, and reading the audit log.

mod admin_rpc;
mod github;

use std::net::SocketAddr;
use std::path::Path;

use base64::Engine as _;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};

use crate::gateway::harness::client::{Request, Response};
use crate::support::{self, Daemon};
use credd::api::pb;

/// The route.
const PATH: &str = "/v1/leaks/github";
/// The identifier the test key is configured under.
const KEY_ID: &str = "test-key-1";

/// A signing key standing in for GitHub's.
struct Reporter {
    key: SigningKey,
}

impl Reporter {
    fn new() -> Self {
        Reporter {
            key: SigningKey::random(&mut rand_core::OsRng),
        }
    }

    /// GitHub's keys document with this key (and another, retired one).
    fn write_keys(&self, path: &Path) {
        let pem = |key: &SigningKey| {
            key.verifying_key()
                .to_public_key_pem(LineEnding::LF)
                .expect("pem")
        };
        let other = SigningKey::random(&mut rand_core::OsRng);
        let document = serde_json::json!({
            "public_keys": [
                { "key_identifier": "retired-key", "key": pem(&other), "is_current": false },
                { "key_identifier": KEY_ID, "key": pem(&self.key), "is_current": true },
            ]
        });
        std::fs::write(path, document.to_string()).expect("write keys");
    }

    /// Base64 of the DER signature of `body`.
    fn sign(&self, body: &[u8]) -> String {
        let signature: Signature = self.key.sign(body);
        base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes())
    }

    /// A signed POST of `body`.
    fn request(&self, body: &[u8]) -> Request {
        Request::new("POST", PATH)
            .header("content-type", "application/json")
            .header("Github-Public-Key-Identifier", KEY_ID)
            .header("Github-Public-Key-Signature", self.sign(body))
            .body(body)
    }
}

/// A report body: one match per token.
fn report_body(tokens: &[&str]) -> Vec<u8> {
    let matches: Vec<serde_json::Value> = tokens
        .iter()
        .map(|token| {
            serde_json::json!({
                "token": token,
                "type": "credd_api_key",
                "url": "https://github.com/octo/leaky/blob/0123abc/settings.py",
                "source": "content",
            })
        })
        .collect();
    serde_json::to_vec(&matches).expect("json")
}

/// Starts the daemon with the HTTP listener and `[leaks]` on `reporter`'s
/// key, plus `extra` configuration.
fn start(dir: &Path, reporter: &Reporter, extra: &str) -> Daemon {
    let keys = dir.join("github-keys.json");
    reporter.write_keys(&keys);
    support::start(
        dir,
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[leaks]\ngithub_public_keys = {:?}\n{extra}",
            keys.display().to_string()
        ),
    )
}

async fn post(daemon: &Daemon, request: &Request) -> Response {
    let http: SocketAddr = daemon.http_addr.expect("http listener");
    request.send(http).await
}

/// Every `credential.leaked` event, oldest first.
async fn leaked_events(daemon: &Daemon) -> Vec<pb::AuditEvent> {
    let key = daemon.admin_key();
    daemon
        .audit_as(Some(&key))
        .await
        .list_audit_events(pb::ListAuditEventsRequest {
            action: "credential.leaked".to_string(),
            page_size: 100,
            ..Default::default()
        })
        .await
        .expect("list audit")
        .into_inner()
        .events
}

/// Verify's answer for `secret`.
async fn verify_result(daemon: &Daemon, secret: &str) -> pb::VerifyResult {
    let mut verifier = daemon.verifier().await;
    let answer = support::verify(&mut verifier, secret, "", &[]).await;
    pb::VerifyResult::try_from(answer.result).expect("known result")
}
