//! `[http]` and `[gateway]`: where proxies ask credd (the HTTP forward-auth
//! listener; ext_authz on a port of its own), which headers carry the
//! credential, and what a refusal may tell.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Deserialize;

use super::ConfigError;
use super::check::Check;
use crate::lifecycle::gateway;

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
    /// `[gateway] metadata_headers`: top-level metadata keys and the
    /// `x-credd-*` header (lowercase) each is forwarded in, ordered by key.
    pub metadata_headers: Vec<(String, String)>,
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
            metadata_headers: Vec::new(),
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
    metadata_headers: Option<BTreeMap<String, String>>,
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
    let scopes_header = header("gateway.scopes_header", file.scopes_header, d.scopes_header)?;
    let metadata_headers = metadata_headers(
        check,
        file.metadata_headers.unwrap_or_default(),
        &scopes_header,
    )?;
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
        scopes_header,
        strip_credentials: file.strip_credentials.unwrap_or(d.strip_credentials),
        reveal_reason: file.reveal_reason.unwrap_or(d.reveal_reason),
        metadata_headers,
    })
}

/// `metadata_headers`: each top-level metadata key (non-empty, at most 256
/// bytes) to a header name that starts with `x-credd-` (so the client's own
/// is stripped like credd's other headers), is none of credd's own names
/// (nor the scopes header), and is no other key's. Names are lowercased.
fn metadata_headers(
    check: &Check,
    map: BTreeMap<String, String>,
    scopes_header: &str,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut mapped: Vec<(String, String)> = Vec::with_capacity(map.len());
    for (key, name) in map {
        let dotted = format!("gateway.metadata_headers.{key}");
        if key.is_empty() || key.len() > 256 {
            return Err(check.invalid(
                "gateway.metadata_headers",
                format!("{key:?} is not a metadata key (1 to 256 bytes)"),
            ));
        }
        let name = header_name(check, &dotted, &name)?;
        let taken = gateway::UPSTREAM_HEADERS
            .iter()
            .chain(&[gateway::CODE, gateway::MESSAGE, scopes_header])
            .any(|own| *own == name);
        let problem = if !name.starts_with(gateway::UPSTREAM_PREFIX)
            || name == gateway::UPSTREAM_PREFIX
        {
            Some(format!(
                "{name:?} must start with {:?} (clients' own {}* headers are removed, so the upstream can trust it)",
                gateway::UPSTREAM_PREFIX,
                gateway::UPSTREAM_PREFIX
            ))
        } else if taken {
            Some(format!("{name:?} is a header credd itself sets or reads"))
        } else {
            mapped
                .iter()
                .find(|(_, other)| *other == name)
                .map(|(other, _)| {
                    format!("{name:?} is already the header of metadata key {other:?}")
                })
        };
        if let Some(problem) = problem {
            return Err(check.invalid(&dotted, problem));
        }
        mapped.push((key, name));
    }
    Ok(mapped)
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
