//! Leaked-key reports: a secret found published (GitHub's secret scanning,
//! a scanner, a person) is looked up like a support lookup finds it (shape,
//! checksum, HMAC, the secret index; imported keys of other formats and by
//! legacy hash too, passcodes without their account) and handled by the
//! configured [`LeakAction`] in one transaction with its `credential.leaked`
//! audit event (the url and source in its detail, never the secret) and its
//! outbox notice, flushed before the call returns, so the next Verify
//! refuses it. Needs `credentials:write` on the credential's account; an
//! account-scoped key that names another account's secret is answered as
//! if nothing matched, so a report never tells one account about another's
//! keys.

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use super::access::{Access, Actor, Scope};
use super::verify::check_presented;
use super::{Engine, Error, MAX_ATTEMPTS, audit_entry};
use crate::lifecycle::{self, CredentialRecord, Kind, LeakAction, LeakChange, NoticeKind};
use crate::secret;
use crate::store::{Commit, OutboxNotice};

/// The audit action of a leak report that matched a credential.
pub const LEAKED_ACTION: &str = "credential.leaked";
/// Longest `source` kept in the audit detail, in bytes.
const MAX_SOURCE: usize = 64;
/// Longest `url` kept in the audit detail, in bytes.
const MAX_URL: usize = 2048;

/// One leaked secret and where it was found. Deliberately not `Debug`: it
/// holds the secret.
pub struct LeakReport<'a> {
    /// The secret as found.
    pub secret: &'a str,
    /// Where it was found, as the reporter names it (GitHub: `content`,
    /// `commit`, `issue_comment`, ...).
    pub source: &'a str,
    /// The public URL where it was found (may be empty).
    pub url: &'a str,
}

/// What a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakOutcome {
    /// No credential (that the caller may see) has this secret.
    NotFound,
    /// Revoked now.
    Revoked,
    /// Disabled now.
    Disabled,
    /// Recorded and announced; the state was left as it was.
    Flagged,
    /// Already revoked (or disabled, or expired, for `disable`): nothing
    /// changed, the report is in the audit log.
    Unchanged,
}

impl LeakOutcome {
    /// Whether the secret was a credential's: GitHub's `true_positive`.
    pub fn true_positive(self) -> bool {
        self != LeakOutcome::NotFound
    }
}

/// The answer to one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeakResult {
    /// What was done.
    pub outcome: LeakOutcome,
    /// The credential, when one matched; empty otherwise.
    pub credential_id: String,
    /// Its account; empty otherwise.
    pub account_id: String,
}

impl LeakResult {
    fn not_found() -> Self {
        LeakResult {
            outcome: LeakOutcome::NotFound,
            credential_id: String::new(),
            account_id: String::new(),
        }
    }
}

impl Engine {
    /// Handles one leaked secret with `action`.
    ///
    /// # Errors
    /// `PermissionDenied` without `credentials:write` (checked before any
    /// lookup) or, for an admin key, without key management;
    /// `InvalidArgument` for an empty or over-long secret; `Contention`;
    /// a storage failure.
    pub async fn report_leak(
        &self,
        actor: &Actor,
        report: &LeakReport<'_>,
        action: LeakAction,
    ) -> Result<LeakResult, Error> {
        let own = actor.account();
        if !actor.holds(Scope::CredentialsWrite) {
            let denied = actor.allows(Scope::CredentialsWrite, own);
            self.authorize(actor, LEAKED_ACTION, "", own.unwrap_or_default(), denied)?;
        }
        check_presented("secret", report.secret)?;
        let source = clean(report.source, report.secret, MAX_SOURCE);
        let url = clean(report.url, report.secret, MAX_URL);
        for _ in 0..MAX_ATTEMPTS {
            let Some((current, hint)) = self.find_leaked(report.secret)? else {
                info!(actor = %actor.id, source = %source, "leak report matched no credential");
                return Ok(LeakResult::not_found());
            };
            if own.is_some_and(|own| own != current.account_id) {
                // Recorded as refused for the credential's own account,
                // answered as a miss to the caller.
                let denied = actor.allows(Scope::CredentialsWrite, Some(&current.account_id));
                let _ = self.authorize(
                    actor,
                    LEAKED_ACTION,
                    &current.id,
                    &current.account_id,
                    denied,
                );
                return Ok(LeakResult::not_found());
            }
            self.authorize_on(actor, LEAKED_ACTION, &current, Access::Write)?;
            let now = self.clock.now();
            let change = lifecycle::leak_change(&current, action, now);
            let outcome = match &change {
                LeakChange::Update(new) if new.status == lifecycle::Status::Revoked => {
                    LeakOutcome::Revoked
                }
                LeakChange::Update(_) => LeakOutcome::Disabled,
                LeakChange::Flag => LeakOutcome::Flagged,
                LeakChange::Unchanged(_) => LeakOutcome::Unchanged,
            };
            let did = match &change {
                LeakChange::Unchanged(why) => format!("unchanged ({why})"),
                _ => format!("{outcome:?}").to_lowercase(),
            };
            let detail = format!("{did}; source: {source}; url: {url}");
            let audit = audit_entry(
                actor,
                now,
                LEAKED_ACTION,
                &current.id,
                &current.account_id,
                detail,
            );
            let notice = self.leak_notice(&current, hint, now);
            match change {
                LeakChange::Update(new) => {
                    let mut new = *new;
                    new.updated_at = now;
                    new.scheduled = lifecycle::next_deadlines(&new, &self.policy);
                    let commit = self.store.commit_transition(
                        Some(&current),
                        Some(&new),
                        std::slice::from_ref(&audit),
                        std::slice::from_ref(&notice),
                    )?;
                    if commit == Commit::Conflict {
                        continue;
                    }
                }
                LeakChange::Flag => {
                    self.store.offer_notice(&notice, &audit)?;
                }
                LeakChange::Unchanged(_) => self.store.append_audit(&audit)?,
            }
            self.store.flush().await?;
            warn!(
                credential_id = %current.id,
                account_id = %current.account_id,
                outcome = ?outcome,
                action = action.name(),
                source = %source,
                url = %url,
                actor = %actor.id,
                request_id = %actor.request_id,
                "leaked credential reported"
            );
            return Ok(LeakResult {
                outcome,
                credential_id: current.id,
                account_id: current.account_id,
            });
        }
        Err(Error::Contention {
            id: "a leaked credential".to_string(),
        })
    }

    /// The record one of whose secret versions is `presented` (any status,
    /// any kind but sessions, passcodes without their account), with that
    /// version's hint; None for anything else.
    fn find_leaked(&self, presented: &str) -> Result<Option<(CredentialRecord, String)>, Error> {
        let shape = secret::parse(presented).ok();
        let legacy = self.store.has_legacy();
        if shape.is_none() && !legacy && !self.store.has_foreign_secrets() {
            debug!(why = "malformed", "leak report");
            return Ok(None);
        }
        if shape.is_some_and(|s| s.kind == Kind::Session) {
            // Login sessions are not credentials; they have no record here.
            return Ok(None);
        }
        let hash = self.pepper.hash(presented);
        let found = match self.store.lookup_secret_view(&hash.0)? {
            Some((id, version_no, _)) => self.store.get(&id)?.and_then(|record| {
                let hint = record
                    .versions
                    .iter()
                    .find(|v| v.version == version_no && hash.ct_eq(&v.hash))?
                    .hint
                    .clone();
                Some((record, hint))
            }),
            None if legacy => self.legacy_record(presented)?.map(|(record, at, _)| {
                let hint = record.versions[at].hint.clone();
                (record, hint)
            }),
            None => None,
        };
        Ok(found)
    }

    /// The e-mail notice of a leak: to the credential's and its account's
    /// contacts (the mailer falls back to the admin contacts).
    fn leak_notice(
        &self,
        record: &CredentialRecord,
        hint: String,
        now: DateTime<Utc>,
    ) -> OutboxNotice {
        let mut recipients = record.notify_emails.clone();
        let contacts = self
            .accounts
            .get(&record.account_id)
            .map(|a| a.record.contact_emails.clone())
            .unwrap_or_default();
        for contact in contacts {
            if !recipients.iter().any(|r| r.eq_ignore_ascii_case(&contact)) {
                recipients.push(contact);
            }
        }
        OutboxNotice {
            kind: NoticeKind::Leaked,
            deadline: now,
            credential_id: record.id.clone(),
            account_id: record.account_id.clone(),
            name: record.name.clone(),
            credential_kind: record.kind,
            environment: record.environment,
            secret_hint: hint,
            expires_at: record.expires_at,
            delete_at: None,
            recipients,
            queued_at: now,
        }
    }
}

/// `text` fit for the audit detail: the secret itself taken out (a reporter
/// could have put it anywhere), control characters dropped, at most `max`
/// bytes (cut on a character boundary).
fn clean(text: &str, secret: &str, max: usize) -> String {
    let text = if secret.is_empty() {
        text.to_string()
    } else {
        text.replace(secret, "[secret]")
    };
    let mut out = String::with_capacity(text.len().min(max));
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::clean;

    /// The secret never reaches the audit detail, and length is bounded.
    #[test]
    fn details_never_carry_the_secret() {
        let secret = "credd_live_api_0123456789abcdefghijklmnABCDEF";
        let url = format!("https://example.com/x?k={secret}\n");
        assert_eq!(
            clean(&url, secret, 2048),
            "https://example.com/x?k=[secret]"
        );
        assert_eq!(clean("ééé", secret, 5), "éé");
    }
}
