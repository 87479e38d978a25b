//! Partners and delegation in the engine, one file per topic (client ids,
//! delegation and the HTTP rules, consent, grant notices, access rules,
//! listings), and the fixtures they share: Basic headers, grant and consent
//! requests, client ids and bound keys.

use super::*;
use crate::engine::{GrantQuery, NewClientId, NewConsent, NewGrant};
use crate::lifecycle::http_auth::{AuthMode, HttpHeaders, Refusal};
use crate::lifecycle::{ConsentStatus, GrantStatus};

mod access;
mod client_ids;
mod consents;
mod delegation;
mod listings;
mod notices;

fn basic(id: &str, key: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{key}"))
    )
}

fn grant(partner: &str, client: &str, scopes: &[&str]) -> NewGrant {
    NewGrant {
        partner_account_id: partner.to_string(),
        client_account_id: client.to_string(),
        scopes: strings(scopes),
        lifetime: None,
    }
}

fn consent(partner: &str, customer: &str, url: &str) -> NewConsent {
    NewConsent {
        partner_account_id: partner.to_string(),
        customer_account_id: customer.to_string(),
        redirect_url: url.to_string(),
        scopes: strings(&["orders:read"]),
        lifetime: None,
        environment: Environment::Live,
    }
}

impl Harness {
    async fn client_id(&self, account: &str) -> String {
        self.engine
            .create_client_id(
                &admin(),
                NewClientId {
                    account_id: account.to_string(),
                    environment: Environment::Live,
                    name: "shop".to_string(),
                    description: String::new(),
                },
            )
            .await
            .unwrap()
            .id
    }

    async fn bound_key(&self, account: &str, client: &str) -> Secret {
        let mut request = new_cred(account, Kind::ApiKey);
        request.client_id = Some(client.to_string());
        self.engine.create(&admin(), request).await.unwrap().1
    }

    fn verify_as(
        &self,
        secret: &Secret,
        client_id: Option<&str>,
        on_behalf_of: Option<&str>,
        scopes: &[String],
    ) -> Verification {
        self.engine
            .verify_query(&VerifyQuery {
                secret: secret.expose(),
                client_id,
                on_behalf_of,
                required_scopes: scopes,
                ..VerifyQuery::default()
            })
            .unwrap()
    }
}

/// Every file under `dir`, with its bytes.
fn walk(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).unwrap().flatten() {
                stack.push(entry.path());
            }
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}
