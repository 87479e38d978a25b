//! The HTTP client deliveries use: rustls with the webpki roots, no proxy,
//! no redirects, the attempt's timeout, and the SSRF guard at connect
//! time: every address a host name resolves to is checked (all must be
//! allowed, so a name that also resolves to a private address is refused
//! whole), and an address written in the URL is checked before the
//! request, since it is never resolved.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::config::WebhooksConfig;

/// Resolves with the system resolver, then refuses forbidden addresses.
struct GuardedResolver {
    rules: Arc<WebhooksConfig>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rules = self.rules.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !rules.may_reach(a.ip())) {
                return Err(format!(
                    "{host} resolves to {}, a forbidden address (see [webhooks] allowed_networks)",
                    bad.ip()
                )
                .into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The delivery client.
///
/// # Errors
/// The TLS configuration or the client could not be built.
pub(super) fn build(rules: Arc<WebhooksConfig>) -> Result<reqwest::Client, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("webhook TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(rules.timeout)
        .connect_timeout(rules.timeout)
        .user_agent(concat!("credd/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .dns_resolver(Arc::new(GuardedResolver { rules }))
        .build()
        .map_err(|e| format!("webhook client: {e}"))
}

/// Refuses a URL whose host is an address the guard forbids (addresses in
/// a URL are not resolved, so the resolver never sees them).
pub(super) fn check_literal_host(url: &reqwest::Url, rules: &WebhooksConfig) -> Result<(), String> {
    let ip: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(ip.into()),
        Some(url::Host::Ipv6(ip)) => Some(ip.into()),
        _ => None,
    };
    match ip {
        Some(ip) if !rules.may_reach(ip) => Err(format!(
            "{ip} is a forbidden address (see [webhooks] allowed_networks)"
        )),
        _ => Ok(()),
    }
}
