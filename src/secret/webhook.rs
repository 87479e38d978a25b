//! Webhook signing secrets (Standard Webhooks 1.0). A secret is never
//! stored: it is `HMAC-SHA256(pepper, "credd webhook secret v1" || salt)`,
//! where the salt (16 random bytes) is kept with the endpoint. The database
//! alone cannot sign; the daemon derives the secret again for each
//! delivery, and shows it once as `whsec_` + base64 of its 32 bytes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::Pepper;

/// Random bytes per signing-secret salt.
pub const SALT_LEN: usize = 16;

/// A signing secret in memory. Prints as `whsec_..`; zeroed on drop.
pub struct SigningSecret(Zeroizing<[u8; 32]>);

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret(whsec_..)")
    }
}

impl SigningSecret {
    /// The secret of the endpoint version with `salt`.
    pub fn derive(pepper: &Pepper, salt: &[u8]) -> Self {
        let mut mac = pepper.keyed.clone();
        mac.update(b"credd webhook secret v1\0");
        mac.update(salt);
        SigningSecret(Zeroizing::new(mac.finalize().into_bytes().into()))
    }

    /// `whsec_` + base64: what the receiver configures (shown once).
    pub fn reveal(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("whsec_{}", STANDARD.encode(&self.0[..])))
    }

    /// `v1,` + base64 `HMAC-SHA256(secret, "{id}.{timestamp}.{body}")`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.0[..]) {
            Ok(mac) => mac,
            Err(_) => super::unreachable_hmac(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// A new random salt.
///
/// # Errors
/// The OS random source failed.
pub fn new_salt() -> Result<[u8; SALT_LEN], getrandom::Error> {
    let mut salt = [0u8; SALT_LEN];
    getrandom::fill(&mut salt)?;
    Ok(salt)
}

/// The `webhook-signature` header: one signature per live secret,
/// space-separated (two during a rotation's overlap).
pub fn signature_header(
    secrets: &[SigningSecret],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|s| s.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_secrets_differ_by_salt_and_pepper_and_never_print() {
        let pepper = Pepper::from_bytes([7; 32]);
        let a = SigningSecret::derive(&pepper, &[1; 16]);
        let b = SigningSecret::derive(&pepper, &[2; 16]);
        let c = SigningSecret::derive(&Pepper::from_bytes([8; 32]), &[1; 16]);
        assert_ne!(a.reveal(), b.reveal());
        assert_ne!(a.reveal(), c.reveal());
        assert_eq!(
            a.reveal(),
            SigningSecret::derive(&pepper, &[1; 16]).reveal()
        );
        assert!(a.reveal().starts_with("whsec_"));
        assert!(!format!("{a:?}").contains(&a.reveal()[6..]));
    }

    #[test]
    fn signatures_verify_with_the_standard_webhooks_crate() {
        let pepper = Pepper::from_bytes([7; 32]);
        let secret = SigningSecret::derive(&pepper, &[3; 16]);
        let oracle = standardwebhooks::Webhook::new(&secret.reveal()).unwrap();
        let body = br#"{"type":"credential.revoked"}"#;
        let ours = secret.sign("msg_1", 1_614_265_330, body);
        assert_eq!(ours, oracle.sign("msg_1", 1_614_265_330, body).unwrap());
        let old = SigningSecret::derive(&pepper, &[4; 16]);
        let both = signature_header(&[secret, old], "msg_1", 1_614_265_330, body);
        assert_eq!(both.split(' ').count(), 2);
        assert!(both.starts_with(&ours));
    }
}
