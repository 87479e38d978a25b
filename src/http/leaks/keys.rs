//! GitHub's secret-scanning public keys and the signature check of a
//! report. The keys come from a file the operator saved from
//! `https://api.github.com/meta/public_keys/secret_scanning` as it is
//! (`{"public_keys":[{"key_identifier","key","is_current"}]}`, each key a
//! PEM P-256 public key): the daemon fetches nothing. A report is signed
//! with ECDSA P-256 over SHA-256 of the raw body; the signature is base64
//! of its DER form.

use std::path::Path;

use base64::Engine as _;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use serde::Deserialize;

/// The document GitHub serves; fields credd does not use are ignored.
#[derive(Deserialize)]
struct KeysDocument {
    public_keys: Vec<KeyEntry>,
}

#[derive(Deserialize)]
struct KeyEntry {
    key_identifier: String,
    key: String,
}

/// The keys reports may be signed with, by identifier.
#[derive(Debug, Clone)]
pub struct GithubKeys {
    /// Every key of the file, retired ones too (GitHub signs with the
    /// current one; an older one still verifies what it signed).
    keys: Vec<(String, VerifyingKey)>,
}

/// Why a report's signature is refused. Carries nothing of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureRefusal {
    /// The key identifier is none of the configured keys'.
    UnknownKey,
    /// The signature is not base64 of a DER ECDSA signature.
    Undecodable,
    /// The signature does not verify the body with that key.
    Mismatch,
}

impl GithubKeys {
    /// Reads and checks the keys file.
    ///
    /// # Errors
    /// A message naming the file and what is wrong with it: unreadable, not
    /// GitHub's JSON, no keys, a key that is not a P-256 PEM public key, or
    /// an identifier given twice.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read GitHub's public keys {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("GitHub's public keys {}: {e}", path.display()))
    }

    /// Parses GitHub's keys document.
    ///
    /// # Errors
    /// What is wrong with it, as [`GithubKeys::load`].
    pub fn parse(text: &str) -> Result<Self, String> {
        let document: KeysDocument = serde_json::from_str(text).map_err(|e| {
            format!("not the JSON of meta/public_keys/secret_scanning ({e}); save that document as it is")
        })?;
        if document.public_keys.is_empty() {
            return Err("public_keys is empty".to_string());
        }
        let mut keys: Vec<(String, VerifyingKey)> = Vec::new();
        for entry in document.public_keys {
            if entry.key_identifier.is_empty() {
                return Err("a key has an empty key_identifier".to_string());
            }
            if keys.iter().any(|(id, _)| *id == entry.key_identifier) {
                return Err(format!(
                    "key_identifier {} appears twice",
                    entry.key_identifier
                ));
            }
            let key = VerifyingKey::from_public_key_pem(entry.key.trim()).map_err(|e| {
                format!(
                    "key {} is not a PEM P-256 public key: {e}",
                    entry.key_identifier
                )
            })?;
            keys.push((entry.key_identifier, key));
        }
        Ok(GithubKeys { keys })
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `signature` (base64 DER) over `body` with the key `key_id`.
    ///
    /// # Errors
    /// [`SignatureRefusal`] saying which check failed.
    pub fn verify(
        &self,
        key_id: &str,
        signature: &str,
        body: &[u8],
    ) -> Result<(), SignatureRefusal> {
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| id == key_id)
            .ok_or(SignatureRefusal::UnknownKey)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(signature.trim())
            .map_err(|_| SignatureRefusal::Undecodable)?;
        let signature = Signature::from_der(&der).map_err(|_| SignatureRefusal::Undecodable)?;
        key.verify(body, &signature)
            .map_err(|_| SignatureRefusal::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's documented test key and the signature of its sample
    /// payload (docs.github.com, "Secret scanning partner program").
    const GITHUB_TEST_KEY: &str = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP\nHzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==\n-----END PUBLIC KEY-----\n";
    const GITHUB_KEY_ID: &str = "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d";
    const GITHUB_SIGNATURE: &str = "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY=";
    const GITHUB_PAYLOAD: &str =
        r#"[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]"#;

    fn document() -> String {
        serde_json::json!({
            "public_keys": [{
                "key_identifier": GITHUB_KEY_ID,
                "key": GITHUB_TEST_KEY,
                "is_current": true,
            }]
        })
        .to_string()
    }

    /// GitHub's own sample verifies; a changed byte, another key id or a
    /// mangled signature does not.
    #[test]
    fn githubs_sample_verifies_and_nothing_else_does() {
        let keys = GithubKeys::parse(&document()).unwrap();
        assert_eq!(keys.len(), 1);
        let body = GITHUB_PAYLOAD.as_bytes();
        assert_eq!(keys.verify(GITHUB_KEY_ID, GITHUB_SIGNATURE, body), Ok(()));
        let changed = GITHUB_PAYLOAD.replace("some_token", "some_tokem");
        assert_eq!(
            keys.verify(GITHUB_KEY_ID, GITHUB_SIGNATURE, changed.as_bytes()),
            Err(SignatureRefusal::Mismatch)
        );
        assert_eq!(
            keys.verify("abc", GITHUB_SIGNATURE, body),
            Err(SignatureRefusal::UnknownKey)
        );
        assert_eq!(
            keys.verify(GITHUB_KEY_ID, "not base64!", body),
            Err(SignatureRefusal::Undecodable)
        );
        assert_eq!(
            keys.verify(GITHUB_KEY_ID, "AAAA", body),
            Err(SignatureRefusal::Undecodable)
        );
    }

    /// A file that is not GitHub's document, has no keys, or a key that is
    /// not PEM is refused with a message saying so.
    #[test]
    fn unusable_files_are_refused() {
        let cases = [
            ("[]", "not the JSON"),
            (r#"{"public_keys":[]}"#, "empty"),
            (
                r#"{"public_keys":[{"key_identifier":"k","key":"nope"}]}"#,
                "not a PEM P-256 public key",
            ),
        ];
        for (text, expected) in cases {
            let error = GithubKeys::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let twice = format!(
            r#"{{"public_keys":[{{"key_identifier":"k","key":{k}}},{{"key_identifier":"k","key":{k}}}]}}"#,
            k = serde_json::to_string(GITHUB_TEST_KEY).unwrap()
        );
        assert!(GithubKeys::parse(&twice).unwrap_err().contains("twice"));
    }
}
