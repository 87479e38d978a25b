//! Reading the audit log: filters, pages, and who may read what. Events are
//! written by the use cases themselves, in the transaction of the change
//! they record; this module only reads them back.

use super::{Actor, Engine, Error, Scope, validate};
use crate::offload;
use crate::store::{AuditFilter, AuditPage};

/// Most events read from the log to fill one page; a sparse filter over a
/// long log returns a short page with a token rather than reading it all.
const MAX_SCANNED_PER_PAGE: usize = 50_000;
/// Most events read back from the end of the log for one credential's
/// history.
pub const HISTORY_SCANNED: usize = 500_000;
/// Most events one credential's history holds.
const MAX_HISTORY: usize = 1000;

/// Filters and paging for [`Engine::list_audit`]. Unset filters match all.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Which events.
    pub filter: AuditFilter,
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
    validate::decode_page_token(token, "audit:")?
        .parse()
        .map_err(|_| validate::bad_page_token())
}

fn parse_before_token(token: &str) -> Result<u64, Error> {
    validate::decode_page_token(token, "audit-before:")?
        .parse()
        .map_err(|_| validate::bad_page_token())
}

impl Engine {
    /// Audit events in the order they were written, filtered and paged.
    /// A key confined to one account sees only that account's events.
    ///
    /// # Errors
    /// `PermissionDenied` without `audit:read` (or for another account),
    /// `InvalidArgument` for bad filters, sizes or tokens, storage failures.
    pub fn list_audit(&self, actor: &Actor, query: &AuditQuery) -> Result<AuditPage, Error> {
        let filter = self.audit_filter(actor, &query.filter)?;
        let page_size = validate::page_size(query.page_size)?;
        let after = query.page_token.as_deref().map(parse_token).transpose()?;
        Ok(self
            .store
            .audit_page(&filter, after, page_size, MAX_SCANNED_PER_PAGE)?)
    }

    /// The same events newest first (the console's audit page): each page
    /// goes on to older events, with a token of its own kind.
    ///
    /// # Errors
    /// As [`Engine::list_audit`].
    pub fn list_audit_newest(&self, actor: &Actor, query: &AuditQuery) -> Result<AuditPage, Error> {
        let filter = self.audit_filter(actor, &query.filter)?;
        let page_size = validate::page_size(query.page_size)?;
        let before = query
            .page_token
            .as_deref()
            .map(parse_before_token)
            .transpose()?;
        Ok(offload::blocking(|| {
            self.store
                .audit_latest(&filter, before, page_size, MAX_SCANNED_PER_PAGE)
        })?)
    }

    /// `filter` checked, confined to the actor's account, and the actor
    /// authorised to read it.
    fn audit_filter(&self, actor: &Actor, filter: &AuditFilter) -> Result<AuditFilter, Error> {
        let mut filter = filter.clone();
        if let Some(account_id) = &filter.account_id {
            validate::account_id("account_id", account_id)?;
        }
        if let Some(id) = &filter.credential_id {
            validate::credential_id(id)?;
        }
        if filter.since.zip(filter.until).is_some_and(|(s, u)| s >= u) {
            return Err(Error::InvalidArgument(
                "since must be earlier than until".to_string(),
            ));
        }
        // A key confined to an account reads that account's events.
        filter.account_id = filter
            .account_id
            .or_else(|| actor.account().map(str::to_string));
        let account = filter.account_id.clone();
        self.authorize(
            actor,
            "audit.list",
            "",
            account.as_deref().unwrap_or_default(),
            actor.allows(Scope::AuditRead, account.as_deref()),
        )?;
        Ok(filter)
    }

    /// The latest `limit` (at most 1000) events of one credential, newest
    /// first, from the newest [`HISTORY_SCANNED`] events of the log and
    /// none older than the credential (`next_after` set: it has older
    /// events, or older events were not read). A key confined to
    /// one account sees only that account's events.
    ///
    /// # Errors
    /// `PermissionDenied` without `audit:read`, `InvalidArgument` for a
    /// malformed id, storage failures.
    pub fn credential_history(
        &self,
        actor: &Actor,
        credential_id: &str,
        limit: usize,
    ) -> Result<AuditPage, Error> {
        validate::credential_id(credential_id)?;
        let account = actor.account().map(str::to_string);
        self.authorize(
            actor,
            "audit.list",
            credential_id,
            account.as_deref().unwrap_or_default(),
            actor.allows(Scope::AuditRead, account.as_deref()),
        )?;
        let limit = limit.clamp(1, MAX_HISTORY);
        Ok(offload::blocking(|| {
            // The log before the credential was made holds nothing of it
            // (an hour's margin for a node whose clock is behind).
            // (A `created_at` made by a node whose clock was ahead is taken
            // as now; one far back does not overflow.)
            let now = self.clock.now();
            let since = self.store.get(credential_id)?.and_then(|r| {
                r.created_at
                    .min(now)
                    .checked_sub_signed(chrono::Duration::hours(1))
            });
            let filter = AuditFilter {
                credential_id: Some(credential_id.to_string()),
                account_id: account,
                since,
                ..AuditFilter::default()
            };
            self.store
                .audit_latest(&filter, None, limit, HISTORY_SCANNED)
        })?)
    }

    /// The opaque token for continuing after `after`.
    pub fn audit_page_token(after: u64) -> String {
        token(after)
    }

    /// The opaque token for continuing (newest first) before `before`.
    pub fn audit_before_token(before: u64) -> String {
        validate::page_token(&format!("audit-before:{before}"))
    }
}
