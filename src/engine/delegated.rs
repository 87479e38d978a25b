//! Verification for gateways in front of partner-style APIs: the HTTP
//! authorization rules (Basic client-level and product-level, CleverTap's
//! header pair, a key alone) applied to the headers a gateway received, and a partner's
//! developer key checked together with a customer key. Both end in the same
//! credential checks as Verify.

use chrono::{DateTime, Utc};
use tracing::debug;

use super::{
    Engine, Error, Verification, VerifiedCredential, VerifyQuery, validate, verify::check_presented,
};
use crate::lifecycle::http_auth::{self, AuthAttempt, AuthMode, HttpHeaders, Refusal};
use crate::lifecycle::rate_limits::LimitRequest;
use crate::lifecycle::scope_expr::ScopeExpr;
use crate::lifecycle::{ClientIdStatus, Kind, VerifyOutcome};
use crate::secret;

/// The answer to give an HTTP request.
#[derive(Debug, Clone, Default)]
pub struct HttpVerdict {
    /// The mode the headers selected, once they selected one.
    pub mode: Option<AuthMode>,
    /// Why the request is refused; None: serve it.
    pub refusal: Option<Refusal>,
    /// 200 or the refusal's status.
    pub http_status: u16,
    /// What was wrong, for the HTTP body; never a key.
    pub reason: String,
    /// The ClientId, ProductId or CleverTap account id as presented.
    pub principal_id: String,
    /// The account owning the key.
    pub principal_account_id: String,
    /// The account the request acts for.
    pub acting_for_account_id: String,
    /// Product mode: `X-Product-Id`.
    pub product_id: String,
    /// Product mode: `X-Client-Id`.
    pub client_id: String,
    /// Product mode: the grant that allows it.
    pub grant_id: String,
    /// The Verify answer for the key, once one was looked at.
    pub verification: Option<Verification>,
}

impl HttpVerdict {
    fn refused(mode: Option<AuthMode>, refusal: Refusal, connect: bool, reason: String) -> Self {
        HttpVerdict {
            mode,
            refusal: Some(refusal),
            http_status: refusal.http_status(connect),
            reason,
            ..Default::default()
        }
    }
}

/// The answer to a developer key + customer key pair.
#[derive(Debug, Clone)]
pub struct PairVerdict {
    /// VALID, or why not.
    pub outcome: VerifyOutcome,
    /// The developer key's account.
    pub partner_account_id: String,
    /// The customer key's account.
    pub customer_account_id: String,
    /// The grant behind the customer key.
    pub grant_id: String,
    /// The developer key's credential id.
    pub developer_key_id: String,
    /// The customer key's credential id.
    pub customer_key_id: String,
    /// The grant's scopes.
    pub grant_scopes: Vec<String>,
    /// When the pair stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// What the key's scopes must allow: every scope of the list, and the
/// expression when there is one.
#[derive(Clone, Copy)]
struct Need<'a> {
    scopes: &'a [String],
    query: Option<&'a ScopeExpr>,
    /// Named rate limits the route applies (gateways only).
    limits: &'a [LimitRequest],
}

impl<'a> Need<'a> {
    /// The Verify question for `secret` with these scopes.
    fn query(self, secret: &'a str) -> VerifyQuery<'a> {
        VerifyQuery {
            secret,
            required_scopes: self.scopes,
            scope_query: self.query,
            rate_limits: self.limits,
            ..VerifyQuery::default()
        }
    }
}

/// How an id from a header names an account: by client id or directly.
enum Named<'a> {
    Client(&'a str),
    Account(&'a str),
    Neither,
}

fn named(id: &str) -> Named<'_> {
    if secret::is_client_id_shaped(id) {
        Named::Client(id)
    } else if validate::account_id("id", id).is_ok() {
        Named::Account(id)
    } else {
        Named::Neither
    }
}

/// The Verify question for `key` presented with `id` (a client id or an
/// account id), or the refusal when `id` can be neither.
fn presented_with<'a>(
    id: &'a str,
    key: &'a str,
    need: Need<'a>,
    mode: Option<AuthMode>,
    what: &str,
) -> Result<VerifyQuery<'a>, Box<HttpVerdict>> {
    let mut query = need.query(key);
    match named(id) {
        Named::Client(c) => query.client_id = Some(c),
        Named::Account(a) => query.account_id = Some(a),
        Named::Neither => {
            return Err(Box::new(HttpVerdict::refused(
                mode,
                Refusal::InvalidCredentials,
                false,
                format!("the {what} is incorrect"),
            )));
        }
    }
    Ok(query)
}

fn reason_for(outcome: &VerifyOutcome, what: &str) -> String {
    match outcome {
        VerifyOutcome::Valid { .. } => String::new(),
        VerifyOutcome::NotFound | VerifyOutcome::AccountMismatch => {
            format!("{what} is missing or incorrect")
        }
        VerifyOutcome::Expired => format!("{what} has expired"),
        VerifyOutcome::Disabled(_) => format!("{what} is disabled"),
        VerifyOutcome::Revoked => format!("{what} has been revoked"),
        VerifyOutcome::InsufficientScope => format!("{what} lacks a required scope"),
        VerifyOutcome::RateLimited { .. } => "too many requests for this account".to_string(),
        VerifyOutcome::UsageExceeded => format!("{what} has no uses left"),
        VerifyOutcome::NotDelegated => {
            "the product has no live grant to act for this client".to_string()
        }
        VerifyOutcome::PartnerNotWhitelisted => {
            "the product is not a whitelisted partner".to_string()
        }
    }
}

impl Engine {
    /// Applies the HTTP authentication rules to a request's headers. A
    /// refusal is an answer, not an error.
    ///
    /// # Errors
    /// `InvalidArgument` for malformed `required_scopes` (the gateway's own
    /// input), or a storage failure.
    pub fn verify_http(
        &self,
        headers: &HttpHeaders<'_>,
        required_scopes: &[String],
    ) -> Result<HttpVerdict, Error> {
        self.verify_http_with(headers, required_scopes, None, &[])
    }

    /// [`Engine::verify_http`] with a scope expression the key must satisfy
    /// as well (parsed by [`validate::scope_query`] first) and named rate
    /// limits to apply (a gateway's route).
    ///
    /// # Errors
    /// As [`Engine::verify_http`].
    pub fn verify_http_with(
        &self,
        headers: &HttpHeaders<'_>,
        required_scopes: &[String],
        scope_query: Option<&ScopeExpr>,
        rate_limits: &[LimitRequest],
    ) -> Result<HttpVerdict, Error> {
        validate::scopes("required_scopes", required_scopes)?;
        let need = Need {
            scopes: required_scopes,
            query: scope_query,
            limits: rate_limits,
        };
        let connect = !headers.clevertap_partner.is_empty();
        let attempt = match http_auth::parse(headers) {
            Ok(attempt) => attempt,
            Err(r) => {
                let connect = connect && r.mode == Some(AuthMode::CleverTap);
                debug!(refusal = ?r.refusal, "verify http: headers refused");
                return Ok(HttpVerdict::refused(r.mode, r.refusal, connect, r.reason));
            }
        };
        let verdict = match &attempt {
            AuthAttempt::Client { id, key } => self.http_client(id, key, need)?,
            AuthAttempt::Key { key, id } => self.http_key(key, *id, need)?,
            AuthAttempt::Product {
                product_id,
                key,
                client_id,
            } => self.http_product(product_id, key, client_id, need)?,
            AuthAttempt::CleverTap {
                account_id,
                passcode,
                partner,
            } => self.http_clevertap(account_id, passcode, *partner, connect, need)?,
        };
        debug!(mode = ?verdict.mode, refusal = ?verdict.refusal, status = verdict.http_status, "verify http");
        Ok(verdict)
    }

    /// Client level: `X-Client-Id` and `X-Api-Key`.
    fn http_client(&self, id: &str, key: &str, need: Need<'_>) -> Result<HttpVerdict, Error> {
        let mode = Some(AuthMode::Client);
        let query = match presented_with(id, key, need, mode, "ClientId or ApiKey") {
            Ok(query) => query,
            Err(refused) => return Ok(*refused),
        };
        let mut verdict = self.judge(mode, &query, false, "the ClientId or ApiKey")?;
        id.clone_into(&mut verdict.principal_id);
        Ok(verdict)
    }

    /// A key alone (`Authorization: Bearer` or the API-key header), with
    /// `X-Client-Id` naming its client or account when sent.
    fn http_key(&self, key: &str, id: Option<&str>, need: Need<'_>) -> Result<HttpVerdict, Error> {
        let mode = Some(AuthMode::Key);
        let Some(id) = id else {
            return self.judge(mode, &need.query(key), false, "the key");
        };
        let query = match presented_with(id, key, need, mode, "X-Client-Id or key") {
            Ok(query) => query,
            Err(refused) => return Ok(*refused),
        };
        let mut verdict = self.judge(mode, &query, false, "the X-Client-Id or key")?;
        id.clone_into(&mut verdict.principal_id);
        Ok(verdict)
    }

    /// Product level: a product's key acting for the client `X-Client-Id`
    /// names (an account id or an active client id).
    fn http_product(
        &self,
        product_id: &str,
        key: &str,
        client_id: &str,
        need: Need<'_>,
    ) -> Result<HttpVerdict, Error> {
        let mode = Some(AuthMode::Product);
        let client_account = match named(client_id) {
            Named::Account(a) => Some(a.to_string()),
            Named::Client(c) => self
                .store
                .get_client_id(c)?
                .filter(|r| r.status == ClientIdStatus::Active)
                .map(|r| r.account_id),
            Named::Neither => None,
        };
        let Some(client_account) = client_account else {
            return Ok(HttpVerdict::refused(
                mode,
                Refusal::NotDelegated,
                false,
                "X-Client-Id names no client the product may act for".to_string(),
            ));
        };
        let mut query =
            match presented_with(product_id, key, need, mode, "ProductId or ProductApiKey") {
                Ok(query) => query,
                Err(refused) => return Ok(*refused),
            };
        query.on_behalf_of = Some(&client_account);
        let mut verdict = self.judge(mode, &query, false, "the ProductId or ProductApiKey")?;
        product_id.clone_into(&mut verdict.principal_id);
        product_id.clone_into(&mut verdict.product_id);
        verdict.client_id = (*client_id).to_string();
        Ok(verdict)
    }

    /// CleverTap: account id and passcode, optionally through a whitelisted
    /// partner (the connect call).
    fn http_clevertap(
        &self,
        account_id: &str,
        passcode: &str,
        partner: Option<&str>,
        connect: bool,
        need: Need<'_>,
    ) -> Result<HttpVerdict, Error> {
        let mode = Some(AuthMode::CleverTap);
        if let Some(partner) = partner {
            if !self.partners.is_partner(partner) {
                let shown: String = partner.chars().take(128).collect();
                return Ok(HttpVerdict::refused(
                    mode,
                    Refusal::PartnerNotWhitelisted,
                    true,
                    format!("Partner not whitelisted: {shown}"),
                ));
            }
        }
        if let Some(missing) = http_auth::clevertap_incomplete(account_id, passcode) {
            return Ok(HttpVerdict::refused(
                mode,
                Refusal::MalformedCredentials,
                connect,
                missing.to_string(),
            ));
        }
        // The pair takes account and user passcodes, not API keys or
        // session tokens.
        let is_passcode = secret::peek_shape(passcode).is_ok_and(|s| s.kind == Kind::Passcode);
        if !is_passcode || validate::account_id("id", account_id).is_err() {
            return Ok(HttpVerdict::refused(
                mode,
                Refusal::InvalidCredentials,
                connect,
                "Invalid Credentials".to_string(),
            ));
        }
        let query = VerifyQuery {
            account_id: Some(account_id),
            ..need.query(passcode)
        };
        let mut verdict = self.judge(mode, &query, connect, "the Account ID or Passcode")?;
        verdict.principal_id = (*account_id).to_string();
        Ok(verdict)
    }

    /// Runs Verify for an HTTP attempt and turns the answer into a verdict.
    fn judge(
        &self,
        mode: Option<AuthMode>,
        query: &VerifyQuery<'_>,
        connect: bool,
        what: &str,
    ) -> Result<HttpVerdict, Error> {
        let verification = match self.verify_query(query) {
            Ok(v) => v,
            // A key that is empty, too long or a passcode without its
            // account is incorrect credentials to an HTTP client.
            Err(Error::InvalidArgument(_)) => {
                return Ok(HttpVerdict::refused(
                    mode,
                    Refusal::InvalidCredentials,
                    connect,
                    format!("{what} is missing or incorrect"),
                ));
            }
            Err(e) => return Err(e),
        };
        let refusal = Refusal::for_outcome(&verification.outcome);
        let mut verdict = HttpVerdict {
            mode,
            refusal,
            http_status: refusal.map_or(200, |r| r.http_status(connect)),
            reason: reason_for(&verification.outcome, what),
            ..Default::default()
        };
        if let Some(credential) = &verification.credential {
            verdict
                .principal_account_id
                .clone_from(&credential.account_id);
            verdict
                .acting_for_account_id
                .clone_from(&credential.account_id);
        }
        if let Some(acting) = &verification.acting_for {
            verdict.acting_for_account_id.clone_from(&acting.account_id);
            verdict.grant_id = acting.grant_id.clone().unwrap_or_default();
        }
        if refusal.is_some() {
            verdict.acting_for_account_id.clear();
        }
        verdict.verification = Some(verification);
        Ok(verdict)
    }

    /// A partner's developer key together with a customer key: VALID only
    /// when both are good and the customer key's grant is live and belongs
    /// to the developer key's (whitelisted) account.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty or over-long key or malformed scopes;
    /// a storage failure.
    pub fn verify_pair(
        &self,
        developer_key: &str,
        customer_key: &str,
        required_scopes: &[String],
    ) -> Result<PairVerdict, Error> {
        check_presented("developer_key", developer_key)?;
        check_presented("customer_key", customer_key)?;
        validate::scopes("required_scopes", required_scopes)?;
        let now = self.clock.now();
        let mut verdict = PairVerdict {
            outcome: VerifyOutcome::NotFound,
            partner_account_id: String::new(),
            customer_account_id: String::new(),
            grant_id: String::new(),
            developer_key_id: String::new(),
            customer_key_id: String::new(),
            grant_scopes: Vec::new(),
            expires_at: None,
        };
        let Some((developer, outcome)) =
            self.pair_half(developer_key, Kind::ApiKey, required_scopes, now)?
        else {
            return Ok(verdict);
        };
        verdict.partner_account_id.clone_from(&developer.account_id);
        verdict.developer_key_id.clone_from(&developer.id);
        verdict.expires_at = Some(developer.expires_at);
        if !matches!(outcome, VerifyOutcome::Valid { .. }) {
            verdict.outcome = outcome;
            return Ok(verdict);
        }
        if !self.partners.is_partner(&developer.account_id) {
            verdict.outcome = VerifyOutcome::PartnerNotWhitelisted;
            return Ok(verdict);
        }
        let Some((customer, outcome)) =
            self.pair_half(customer_key, Kind::CustomerKey, &[], now)?
        else {
            return Ok(verdict);
        };
        verdict.customer_account_id.clone_from(&customer.account_id);
        verdict.customer_key_id.clone_from(&customer.id);
        verdict.expires_at = verdict.expires_at.min(Some(customer.expires_at));
        if !matches!(outcome, VerifyOutcome::Valid { .. }) {
            verdict.outcome = outcome;
            return Ok(verdict);
        }
        let grant = customer
            .grant_id
            .as_deref()
            .and_then(|id| self.partners.grant(id))
            .filter(|g| {
                g.is_live(now)
                    && g.partner_account_id == developer.account_id
                    && g.client_account_id == customer.account_id
            });
        let Some(grant) = grant else {
            verdict.outcome = VerifyOutcome::NotDelegated;
            return Ok(verdict);
        };
        verdict.grant_id.clone_from(&grant.id);
        verdict.grant_scopes.clone_from(&grant.scopes);
        if let Some(t) = grant.expires_at {
            verdict.expires_at = verdict.expires_at.min(Some(t));
        }
        verdict.outcome = if grant.allows_scopes(required_scopes, None) {
            outcome
        } else {
            VerifyOutcome::InsufficientScope
        };
        debug!(result = ?verdict.outcome, grant_id = %grant.id, "verify pair");
        Ok(verdict)
    }

    /// One key of a pair, which must be of `kind`: None when it is unknown
    /// (or of another kind), else the credential and its answer.
    fn pair_half(
        &self,
        presented: &str,
        kind: Kind,
        required_scopes: &[String],
        now: DateTime<Utc>,
    ) -> Result<Option<(VerifiedCredential, VerifyOutcome)>, Error> {
        if secret::peek_shape(presented).map(|s| s.kind) != Ok(kind) {
            return Ok(None);
        }
        let query = VerifyQuery {
            secret: presented,
            required_scopes,
            ..VerifyQuery::default()
        };
        let (outcome, credential) = self.verify_credential(presented, &query, now)?;
        if let Some(credential) = &credential {
            self.count_verify(credential, &outcome, now);
        }
        Ok(credential.map(|c| (c, outcome)))
    }
}
