//! Notices about grants: when a grant nears its end or ends, its partner's
//! and client's contacts are told, through the outbox like every notice.

use super::*;

impl Engine {
    /// Queues the "expires soon" and "expired" notices of expiring grants
    /// that fell due, once each (the outbox drops a notice it has seen), to
    /// the contacts of both accounts. The sweep calls this; its cost grows
    /// with the number of grants that have an expiry, which are few.
    ///
    /// # Errors
    /// A storage failure; what was queued stays queued.
    pub async fn queue_grant_notices(&self) -> Result<usize, Error> {
        let now = self.clock.now();
        let warning = self.policy.expiry_warning_before;
        let actor = Actor::system();
        let expiring: Vec<GrantRecord> = self
            .partners
            .read()
            .grants
            .values()
            .filter(|g| g.status == GrantStatus::Active)
            .filter(|g| g.expires_at.is_some_and(|t| now >= warning.before(t)))
            .cloned()
            .collect();
        let mut queued = 0;
        for grant in expiring {
            let Some(expires_at) = grant.expires_at else {
                continue;
            };
            let mut due = vec![(
                lifecycle::NoticeKind::GrantExpiringSoon,
                warning.before(expires_at),
                "lifecycle.grant_expiry_warning",
            )];
            if now >= expires_at {
                due.push((
                    lifecycle::NoticeKind::GrantExpired,
                    expires_at,
                    "lifecycle.grant_expire",
                ));
            }
            let recipients =
                self.contacts_of(&[&grant.client_account_id, &grant.partner_account_id]);
            for (kind, deadline, action) in due {
                let notice = store::OutboxNotice {
                    kind,
                    deadline,
                    credential_id: grant.id.clone(),
                    account_id: grant.client_account_id.clone(),
                    name: format!(
                        "{} acts for {}",
                        grant.partner_account_id, grant.client_account_id
                    ),
                    credential_kind: lifecycle::Kind::ApiKey,
                    environment: lifecycle::Environment::Live,
                    secret_hint: "-".to_string(),
                    expires_at,
                    delete_at: None,
                    recipients: recipients.clone(),
                    queued_at: now,
                };
                let audit = grant_audit(&actor, now, action, &grant, String::new());
                if self.store.offer_notice(&notice, &audit)? {
                    queued += 1;
                    info!(grant_id = %grant.id, partner = %grant.partner_account_id, client = %grant.client_account_id, notice = ?kind, "grant notice queued");
                }
            }
        }
        if queued > 0 {
            self.store.flush().await?;
        }
        Ok(queued)
    }

    /// The contact addresses of some accounts, each once.
    pub(in crate::engine) fn contacts_of(&self, accounts: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for account in accounts {
            let Some(state) = self.accounts.get(account) else {
                continue;
            };
            for contact in &state.record.contact_emails {
                if !out.iter().any(|c| c.eq_ignore_ascii_case(contact)) {
                    out.push(contact.clone());
                }
            }
        }
        out
    }
}
