//! Reading the audit log: filters, pages, and who may read what. Events are
//! written by the use cases themselves, in the transaction of the change
//! they record; this module only reads them back.

use chrono::{DateTime, Utc};

use super::{Actor, Engine, Error, Scope, validate};
use crate::store::{AuditFilter, AuditPage};

/// Most events read from the log to fill one page; a sparse filter over a
/// long log returns a short page with a token rather than reading it all.
const MAX_SCANNED_PER_PAGE: usize = 50_000;

/// Filters and paging for [`Engine::list_audit`]. Unset filters match all.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Exact credential id.
    pub credential_id: Option<String>,
    /// Exact account id.
    pub account_id: Option<String>,
    /// Exact actor (`system` or an admin key id).
    pub actor: Option<String>,
    /// Exact action, e.g. `credential.revoke`.
    pub action: Option<String>,
    /// At or after.
    pub since: Option<DateTime<Utc>>,
    /// Before.
    pub until: Option<DateTime<Utc>>,
    /// `ok` or `denied`.
    pub outcome: Option<&'static str>,
    /// Page size as sent (0 means 100).
    pub page_size: i64,
    /// Token of the previous page.
    pub page_token: Option<String>,
}

/// A page token for the audit log: the position after which to continue.
fn token(after: u64) -> String {
    validate::page_token(&format!("audit:{after}"))
}

fn parse_token(token: &str) -> Result<u64, Error> {
    use base64::Engine as _;
    let bad = || Error::InvalidArgument("page_token is not a token this server issued".into());
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    text.strip_prefix("v1:audit:")
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)
}

impl Engine {
    /// Audit events in the order they were written, filtered and paged.
    /// A key confined to one account sees only that account's events.
    ///
    /// # Errors
    /// `PermissionDenied` without `audit:read` (or for another account),
    /// `InvalidArgument` for bad filters, sizes or tokens, storage failures.
    pub fn list_audit(&self, actor: &Actor, query: &AuditQuery) -> Result<AuditPage, Error> {
        if let Some(account_id) = &query.account_id {
            validate::account_id("account_id", account_id)?;
        }
        if let Some(id) = &query.credential_id {
            validate::credential_id(id)?;
        }
        if query.since.zip(query.until).is_some_and(|(s, u)| s >= u) {
            return Err(Error::InvalidArgument(
                "since must be earlier than until".to_string(),
            ));
        }
        let account = query
            .account_id
            .clone()
            .or_else(|| actor.account().map(str::to_string));
        self.authorize(
            actor,
            "audit.list",
            "",
            account.as_deref().unwrap_or_default(),
            actor.allows(Scope::AuditRead, account.as_deref()),
        )?;
        let page_size = validate::page_size(query.page_size)?;
        let after = query.page_token.as_deref().map(parse_token).transpose()?;
        let filter = AuditFilter {
            credential_id: query.credential_id.clone(),
            account_id: account,
            actor: query.actor.clone().filter(|a| !a.is_empty()),
            action: query.action.clone().filter(|a| !a.is_empty()),
            since: query.since,
            until: query.until,
            outcome: query.outcome.map(str::to_string),
        };
        Ok(self
            .store
            .audit_page(&filter, after, page_size, MAX_SCANNED_PER_PAGE)?)
    }

    /// The opaque token for continuing after `after`.
    pub fn audit_page_token(after: u64) -> String {
        token(after)
    }
}
