//! `[http]` and `[gateway]`: where proxies ask credd (the HTTP forward-auth
//! listener; ext_authz on a port of its own), which headers carry the
//! credential, and what a refusal may tell.

use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;

/// `[http]` and `[gateway]`, validated. Header names are lowercase.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    /// `[http] listen`: the forward-auth listener (`/v1/check`); off when unset.
    pub http_listen: Option<SocketAddr>,
    /// `[gateway] ext_authz_listen`: Envoy's `Check` on a port of its own,
    /// besides the main gRPC port; off when unset.
    pub ext_authz_listen: Option<SocketAddr>,
    /// The API-key header (`x-api-key`).
    pub api_key_header: String,
    /// The header naming the client or account a key belongs to, or the
    /// client a product key acts for (`x-client-id`).
    pub client_id_header: String,
    /// Product-level authentication's product id (`x-product-id`).
    pub product_id_header: String,
    /// The account id of an account-id + passcode pair (`x-clevertap-account-id`).
    pub account_id_header: String,
    /// The passcode of that pair (`x-clevertap-passcode`).
    pub passcode_header: String,
    /// The scopes a route needs, set by the proxy on `/v1/check`
    /// (`x-credd-required-scopes`); the `scopes` query parameter works too.
    pub scopes_header: String,
    /// Remove the credential headers before the upstream (ext_authz).
    pub strip_credentials: bool,
    /// Tell unknown, expired, disabled and revoked keys apart in refusals.
    pub reveal_reason: bool,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            http_listen: None,
            ext_authz_listen: None,
            api_key_header: "x-api-key".to_string(),
            client_id_header: "x-client-id".to_string(),
            product_id_header: "x-product-id".to_string(),
            account_id_header: "x-clevertap-account-id".to_string(),
            passcode_header: "x-clevertap-passcode".to_string(),
            scopes_header: "x-credd-required-scopes".to_string(),
            strip_credentials: true,
            reveal_reason: false,
        }
    }
}

/// `[http]`: off unless `listen` is set (e.g. `127.0.0.1:8081`). TLS, when
/// `[tls]` is set, is the gRPC port's.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HttpFile {
    listen: Option<String>,
}

/// `[gateway]`: every key optional; defaults in [`GatewayConfig::default`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewayFile {
    ext_authz_listen: Option<String>,
    api_key_header: Option<String>,
    client_id_header: Option<String>,
    product_id_header: Option<String>,
    account_id_header: Option<String>,
    passcode_header: Option<String>,
    scopes_header: Option<String>,
    strip_credentials: Option<bool>,
    reveal_reason: Option<bool>,
}

/// Validates `[http]` and `[gateway]`: addresses (`/v1/check` answers
/// anyone, so a network address needs `open_on_network`), and header names
/// that are valid HTTP names.
pub(super) fn validate(
    http: HttpFile,
    file: GatewayFile,
    open_on_network: bool,
    check: &Check,
) -> Result<GatewayConfig, ConfigError> {
    let d = GatewayConfig::default();
    let http_listen = check.listen("http.listen", http.listen)?;
    if let Some(addr) = http_listen.filter(|a| !a.ip().is_loopback() && !open_on_network) {
        return Err(check.invalid(
            "http.listen",
            format!(
                "/v1/check lets anyone who reaches {addr} test keys; listen on a loopback address (beside the proxy), or set auth.allow_open_verifier_on_network = true"
            ),
        ));
    }
    let header = |key: &str, value: Option<String>, default: String| match value {
        None => Ok(default),
        Some(name) => header_name(check, key, &name),
    };
    Ok(GatewayConfig {
        http_listen,
        ext_authz_listen: check.listen("gateway.ext_authz_listen", file.ext_authz_listen)?,
        api_key_header: header(
            "gateway.api_key_header",
            file.api_key_header,
            d.api_key_header,
        )?,
        client_id_header: header(
            "gateway.client_id_header",
            file.client_id_header,
            d.client_id_header,
        )?,
        product_id_header: header(
            "gateway.product_id_header",
            file.product_id_header,
            d.product_id_header,
        )?,
        account_id_header: header(
            "gateway.account_id_header",
            file.account_id_header,
            d.account_id_header,
        )?,
        passcode_header: header(
            "gateway.passcode_header",
            file.passcode_header,
            d.passcode_header,
        )?,
        scopes_header: header("gateway.scopes_header", file.scopes_header, d.scopes_header)?,
        strip_credentials: file.strip_credentials.unwrap_or(d.strip_credentials),
        reveal_reason: file.reveal_reason.unwrap_or(d.reveal_reason),
    })
}

/// A header name: a token of letters, digits and `-`, lowercased.
fn header_name(check: &Check, key: &str, name: &str) -> Result<String, ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !ok {
        return Err(check.invalid(
            key,
            format!("{name:?} is not a header name (letters, digits and '-', at most 64)"),
        ));
    }
    Ok(name.to_ascii_lowercase())
}
