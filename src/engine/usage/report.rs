//! GetUsage: a credential's or an account's Verify counts per UTC day, the
//! stored rows plus what is still in memory; and the retention sweep that
//! drops days older than `[schedule] usage_retention_days`.

use chrono::{Duration, NaiveDate};
use tracing::info;

use super::super::access::Access;
use super::super::{Actor, Engine, Error, Scope, offload, validate};
use crate::lifecycle::{UsageCounts, date_number, day_date, day_number, first_kept_day};
use crate::store::UsageSubject;

/// The longest range one report covers, in days.
pub const MAX_REPORT_DAYS: i64 = 1000;

/// Rows removed per retention batch.
const RETENTION_BATCH: usize = 4096;

/// What to report on: one credential or one account, from and to (UTC
/// dates, inclusive; `to` defaults to today, `from` to 29 days before `to`).
#[derive(Debug, Clone, Default)]
pub struct UsageQuery {
    /// A credential id.
    pub credential_id: Option<String>,
    /// An account id (instead of a credential id).
    pub account_id: Option<String>,
    /// First day.
    pub from: Option<NaiveDate>,
    /// Last day.
    pub to: Option<NaiveDate>,
}

/// One day with any count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDay {
    /// The UTC date.
    pub date: NaiveDate,
    /// Its counts.
    pub counts: UsageCounts,
}

impl Engine {
    /// The days from `from` to `to` on which the credential or account had
    /// Verify answers, oldest first, with their counts.
    ///
    /// # Errors
    /// `InvalidArgument` for a missing or double subject or a bad range,
    /// `NotFound` for an unknown credential, `PermissionDenied`, or a
    /// storage failure.
    pub async fn usage_report(
        &self,
        actor: &Actor,
        query: &UsageQuery,
    ) -> Result<Vec<UsageDay>, Error> {
        let (from, to) = self.report_range(query)?;
        let (account, subject) = self.report_subject(actor, query)?;
        offload::blocking(|| {
            let _flushing = self.usage.flushing();
            let store_subject = if account {
                UsageSubject::Account(&subject)
            } else {
                UsageSubject::Credential(&subject)
            };
            let mut days = self.store.usage_rows(store_subject, from, to)?;
            for (day, counts) in self.usage.unwritten(account, &subject) {
                if !(from..=to).contains(&day) {
                    continue;
                }
                match days.iter_mut().find(|(d, _)| *d == day) {
                    Some((_, mine)) => mine.add(&counts),
                    None => days.push((day, counts)),
                }
            }
            days.sort_by_key(|(day, _)| *day);
            Ok(days
                .into_iter()
                .filter(|(_, counts)| !counts.is_empty())
                .map(|(day, counts)| UsageDay {
                    date: day_date(day),
                    counts,
                })
                .collect())
        })
    }

    /// The report's days as day numbers, checked.
    fn report_range(&self, query: &UsageQuery) -> Result<(i32, i32), Error> {
        let today = self.clock.now().date_naive();
        let to = query.to.unwrap_or(today);
        let from = query.from.unwrap_or(to - Duration::days(29));
        if from > to {
            return Err(Error::InvalidArgument(format!(
                "from ({from}) is after to ({to})"
            )));
        }
        if (to - from).num_days() >= MAX_REPORT_DAYS {
            return Err(Error::InvalidArgument(format!(
                "from {from} to {to} spans more than {MAX_REPORT_DAYS} days; ask for a shorter range"
            )));
        }
        Ok((date_number(from), date_number(to)))
    }

    /// Whose usage (account or not, id), after the actor is checked.
    fn report_subject(&self, actor: &Actor, query: &UsageQuery) -> Result<(bool, String), Error> {
        match (&query.credential_id, &query.account_id) {
            (Some(id), None) => {
                validate::credential_id(id)?;
                if !actor.holds(Scope::CredentialsRead) {
                    return self.deny_unscoped(actor, "usage.get", id, Scope::CredentialsRead);
                }
                let record = self
                    .store
                    .get(id)?
                    .ok_or_else(|| Error::NotFound { id: id.clone() })?;
                self.authorize_on(actor, "usage.get", &record, Access::Read)?;
                Ok((false, id.clone()))
            }
            (None, Some(account)) => {
                validate::account_id("account_id", account)?;
                let decision = actor.allows(Scope::CredentialsRead, Some(account));
                self.authorize(actor, "usage.get", "", account, decision)?;
                Ok((true, account.clone()))
            }
            (Some(_), Some(_)) => Err(Error::InvalidArgument(
                "give credential_id or account_id, not both".to_string(),
            )),
            (None, None) => Err(Error::InvalidArgument(
                "credential_id or account_id is required".to_string(),
            )),
        }
    }

    /// Removes usage rows older than the retention (part of the sweep).
    /// Returns how many.
    ///
    /// # Errors
    /// A storage failure.
    pub(crate) async fn sweep_usage(&self) -> Result<usize, Error> {
        let first_kept = first_kept_day(day_number(self.clock.now()), self.usage_retention_days);
        let mut n_removed = 0;
        loop {
            let n =
                offload::blocking(|| self.store.remove_usage_before(first_kept, RETENTION_BATCH))?;
            n_removed += n;
            if n < RETENTION_BATCH {
                break;
            }
            tokio::task::yield_now().await;
        }
        if n_removed > 0 {
            self.store.flush().await?;
            info!(n_removed, first_kept = %day_date(first_kept), "usage rows past retention removed");
        }
        Ok(n_removed)
    }
}
