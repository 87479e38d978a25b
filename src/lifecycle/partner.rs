//! Partners and delegation as the rules see them: public client ids,
//! whitelisted partner accounts, delegation grants and consent requests, and
//! the pure rules about them: when a grant is live, what state a consent
//! request is in at a given time, which redirect URLs a consent may send the
//! customer back to, and how the answer is appended to one.

use chrono::{DateTime, Duration, Utc};

use super::Environment;
use super::scope_expr::{self, ScopeExpr};

/// Whether a client id still identifies its account's integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientIdStatus {
    /// In use.
    Active,
    /// Revoked; API keys bound to it verify DISABLED. Final.
    Revoked,
}

/// A public client id (Klarna-style): names one integration of an account.
/// Not a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientIdRecord {
    /// `<prefix>_<live|test>_client_<body><checksum>`.
    pub id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// Live or test, visible in the id.
    pub environment: Environment,
    /// Short human name.
    pub name: String,
    /// What the integration is.
    pub description: String,
    /// Active or revoked.
    pub status: ClientIdStatus,
    /// Why it was revoked.
    pub status_reason: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An account whitelisted to act for other accounts (a product, a partner).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRecord {
    /// The partner's account.
    pub account_id: String,
    /// Shown to customers in the consent dialog.
    pub display_name: String,
    /// Consent redirects must start with one of these (normalised URLs);
    /// empty allows any acceptable URL.
    pub redirect_prefixes: Vec<String>,
    /// The mTLS client identities (certificate subject or SAN, as the
    /// proxy reports them) the partner's keys must arrive with through a
    /// gateway; empty: no such requirement.
    pub mtls_identities: Vec<String>,
    /// When it was whitelisted.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl PartnerRecord {
    /// Whether a request that came with the client identity `principal`
    /// (None: the transport cannot tell) may use the partner's keys.
    pub fn accepts_principal(&self, principal: Option<&str>) -> bool {
        self.mtls_identities.is_empty()
            || principal.is_some_and(|p| self.mtls_identities.iter().any(|i| i == p))
    }
}

/// A grant's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantStatus {
    /// The partner may act for the client.
    Active,
    /// Past its `expires_at` (never stored: computed from the time).
    Expired,
    /// Revoked. Final.
    Revoked,
}

/// How a grant came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrantOrigin {
    /// An administrator whitelisted the pair.
    Admin,
    /// The customer approved the partner's consent request.
    Consent,
}

/// Permission for a partner account to act for a client account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// `grant_` and a ULID.
    pub id: String,
    /// Who acts.
    pub partner_account_id: String,
    /// For whom.
    pub client_account_id: String,
    /// What the partner may do for the client; empty: whatever its key may.
    pub scopes: Vec<String>,
    /// Stored state: `Active` or `Revoked`; see [`GrantRecord::status_at`].
    pub status: GrantStatus,
    /// Admin or consent.
    pub origin: GrantOrigin,
    /// The consent request it answers, for consent grants.
    pub consent_id: Option<String>,
    /// The customer key issued with it, for consent grants.
    pub customer_key_id: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops; None: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why it was revoked.
    pub status_reason: String,
}

impl GrantRecord {
    /// The state at `now`: a stored `Active` past `expires_at` is `Expired`.
    pub fn status_at(&self, now: DateTime<Utc>) -> GrantStatus {
        match self.status {
            GrantStatus::Active if self.expires_at.is_some_and(|t| now >= t) => {
                GrantStatus::Expired
            }
            status => status,
        }
    }

    /// Whether the partner may act for the client at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.status_at(now) == GrantStatus::Active
    }

    /// Whether the grant allows every one of `required` and satisfies
    /// `query` when there is one (an empty scope list narrows nothing).
    pub fn allows_scopes(&self, required: &[String], query: Option<&ScopeExpr>) -> bool {
        self.scopes.is_empty() || scope_expr::satisfied(required, query, &self.scopes)
    }
}

/// A consent request's state at a given time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsentStatus {
    /// Waiting for the customer.
    Pending,
    /// The customer approved; a grant and a customer key exist.
    Approved,
    /// The customer said no.
    Denied,
    /// Unanswered until `expires_at`.
    Expired,
}

/// A partner's request to act for a customer, waiting for the customer's
/// answer (KlickTipp's developer key + customer key flow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRecord {
    /// `consent_` and a ULID.
    pub id: String,
    /// Who asks.
    pub partner_account_id: String,
    /// Who is asked.
    pub customer_account_id: String,
    /// Where the customer is sent back, normalised.
    pub redirect_url: String,
    /// Scopes the grant will carry.
    pub scopes: Vec<String>,
    /// Lifetime of the customer key and the grant; None: the policy's
    /// default lifetime for the key and no expiry for the grant.
    pub lifetime: Option<Duration>,
    /// Environment of the customer key.
    pub environment: Environment,
    /// Stored state; see [`ConsentRecord::status_at`].
    pub status: ConsentStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// A pending request ends at this time.
    pub expires_at: DateTime<Utc>,
    /// When it was approved, denied or recorded as expired.
    pub answered_at: Option<DateTime<Utc>>,
    /// The grant an approval created.
    pub grant_id: Option<String>,
    /// Why it was denied.
    pub status_reason: String,
}

impl ConsentRecord {
    /// The state at `now`: a stored `Pending` past `expires_at` is `Expired`.
    pub fn status_at(&self, now: DateTime<Utc>) -> ConsentStatus {
        match self.status {
            ConsentStatus::Pending if now >= self.expires_at => ConsentStatus::Expired,
            status => status,
        }
    }
}

/// Longest redirect URL accepted.
pub const MAX_REDIRECT_URL: usize = 2048;

/// Checks a consent redirect URL and returns it normalised: https, or http
/// to a loopback host only; no user name or password; no fragment; and,
/// when `prefixes` is not empty, starting with one of them.
///
/// # Errors
/// A message saying what is wrong (without repeating the URL's query).
pub fn check_redirect_url(field: &str, raw: &str, prefixes: &[String]) -> Result<String, String> {
    if raw.is_empty() {
        return Err(format!("{field} is required"));
    }
    if raw.len() > MAX_REDIRECT_URL {
        return Err(format!(
            "{field} is {} characters long, at most {MAX_REDIRECT_URL} are allowed",
            raw.len()
        ));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("{field} is not a URL: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(format!(
                "{field} must use https (plain http is allowed only for localhost)"
            ));
        }
        other => return Err(format!("{field} must use https, not {other}")),
    }
    if url.host().is_none() {
        return Err(format!("{field} has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{field} must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(format!("{field} must not have a #fragment"));
    }
    let normalised = url.to_string();
    if !prefixes.is_empty() && !prefixes.iter().any(|p| normalised.starts_with(p.as_str())) {
        return Err(format!(
            "{field} does not start with any of the partner's registered redirect prefixes ({})",
            prefixes.join(", ")
        ));
    }
    Ok(normalised)
}

/// The query parameter that carries the customer key back to the partner.
pub const CUSTOMER_KEY_PARAM: &str = "customerkey";

/// `url` with the query parameter `name=value` appended, URL-encoded. An
/// empty `name=` already in the query is replaced rather than repeated, and
/// an empty `customerkey=` placeholder (KlickTipp's `...?customerkey=`
/// convention) is dropped, so a denial does not carry an empty key.
pub fn redirect_with(url: &str, name: &str, value: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Stored URLs were checked when stored; keep the answer usable anyway.
        return url.to_string();
    };
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(k, v)| !(v.is_empty() && (k == name || k == CUSTOMER_KEY_PARAM)))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    parsed
        .query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(name, value);
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .expect("time")
    }

    fn grant(expires_at: Option<DateTime<Utc>>, scopes: &[&str]) -> GrantRecord {
        GrantRecord {
            id: "grant_1".into(),
            partner_account_id: "MYPRODUCT".into(),
            client_account_id: "LAGERMAN".into(),
            scopes: scopes.iter().map(|s| (*s).to_string()).collect(),
            status: GrantStatus::Active,
            origin: GrantOrigin::Admin,
            consent_id: None,
            customer_key_id: None,
            created_at: t(0),
            expires_at,
            revoked_at: None,
            status_reason: String::new(),
        }
    }

    /// A grant is live until its expiry (exclusive) and never once revoked.
    #[test]
    fn grant_liveness() {
        let g = grant(Some(t(100)), &[]);
        assert!(g.is_live(t(99)));
        assert_eq!(g.status_at(t(100)), GrantStatus::Expired);
        assert!(grant(None, &[]).is_live(t(1_000_000)));
        let revoked = GrantRecord {
            status: GrantStatus::Revoked,
            ..grant(None, &[])
        };
        assert_eq!(revoked.status_at(t(0)), GrantStatus::Revoked);
        assert!(!revoked.is_live(t(0)));
    }

    /// An empty scope list narrows nothing; otherwise every required scope
    /// must be listed.
    #[test]
    fn grant_scopes() {
        let wanted = ["orders:read".to_string()];
        assert!(grant(None, &[]).allows_scopes(&wanted, None));
        assert!(grant(None, &["orders:read", "x"]).allows_scopes(&wanted, None));
        assert!(!grant(None, &["orders:write"]).allows_scopes(&wanted, None));
        assert!(grant(None, &["orders:write"]).allows_scopes(&[], None));
        let query = scope_expr::parse("orders:read OR admin").unwrap();
        assert!(grant(None, &[]).allows_scopes(&[], Some(&query)));
        assert!(grant(None, &["admin"]).allows_scopes(&[], Some(&query)));
        assert!(!grant(None, &["orders:write"]).allows_scopes(&[], Some(&query)));
        assert!(!grant(None, &["admin"]).allows_scopes(&wanted, Some(&query)));
    }

    /// A pending consent expires at its deadline; answered ones keep their answer.
    #[test]
    fn consent_expiry() {
        let c = ConsentRecord {
            id: "consent_1".into(),
            partner_account_id: "p".into(),
            customer_account_id: "c".into(),
            redirect_url: "https://p.example/".into(),
            scopes: vec![],
            lifetime: None,
            environment: Environment::Live,
            status: ConsentStatus::Pending,
            created_at: t(0),
            expires_at: t(3600),
            answered_at: None,
            grant_id: None,
            status_reason: String::new(),
        };
        assert_eq!(c.status_at(t(3599)), ConsentStatus::Pending);
        assert_eq!(c.status_at(t(3600)), ConsentStatus::Expired);
        let approved = ConsentRecord {
            status: ConsentStatus::Approved,
            ..c
        };
        assert_eq!(approved.status_at(t(9999)), ConsentStatus::Approved);
    }

    /// https anywhere, http on loopback only; no credentials, no fragment,
    /// and registered prefixes are enforced on the normalised URL.
    #[test]
    fn redirect_urls() {
        let ok = |u: &str| check_redirect_url("redirect_url", u, &[]);
        assert!(ok("https://yourdomain.com/klicktipp-api?customerkey=").is_ok());
        assert!(ok("http://localhost:8080/cb").is_ok());
        assert!(ok("http://127.0.0.1/cb").is_ok());
        assert!(ok("http://[::1]/cb").is_ok());
        for bad in [
            "",
            "http://example.com/cb",
            "ftp://example.com/",
            "javascript:alert(1)",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
            "not a url",
        ] {
            let err = ok(bad).err().unwrap_or_default();
            assert!(err.contains("redirect_url"), "{bad:?}: {err}");
        }
        let prefixes = vec!["https://partner.example/".to_string()];
        assert!(check_redirect_url("r", "https://PARTNER.example/cb", &prefixes).is_ok());
        assert!(check_redirect_url("r", "https://partner.example.evil.com/", &prefixes).is_err());
        assert!(check_redirect_url("r", "https://other.example/", &prefixes).is_err());
        let long = format!("https://p.example/{}", "a".repeat(MAX_REDIRECT_URL));
        assert!(ok(&long).is_err());
    }

    /// The answer replaces an empty placeholder, or is appended with `&`/`?`.
    #[test]
    fn appending_the_answer() {
        assert_eq!(
            redirect_with(
                "https://yourdomain.com/klicktipp-api?customerkey=",
                "customerkey",
                "credd_live_cust_abc"
            ),
            "https://yourdomain.com/klicktipp-api?customerkey=credd_live_cust_abc"
        );
        assert_eq!(
            redirect_with("https://p.example/cb", "error", "access_denied"),
            "https://p.example/cb?error=access_denied"
        );
        assert_eq!(
            redirect_with(
                "https://p.example/cb?customerkey=",
                "error",
                "access_denied"
            ),
            "https://p.example/cb?error=access_denied"
        );
        assert_eq!(
            redirect_with("https://p.example/cb?state=a b", "customerkey", "k&1"),
            "https://p.example/cb?state=a+b&customerkey=k%261"
        );
    }
}
