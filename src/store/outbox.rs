//! The `outbox` and `notices_sent` trees: notices queued with the change
//! that caused them, offered once per (credential, kind, deadline), and
//! settled (moved to `notices_sent`) once delivered.

use super::audit::append_audit_rows;
use super::codec;
use super::{AuditEntry, Error, Store};
use crate::lifecycle::{Environment, Kind, NoticeKind};
use chrono::{DateTime, Utc};

/// A notice waiting in the `outbox` tree. Holds what a mail needs, so it
/// can be written even after the credential is deleted; never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxNotice {
    /// Which message.
    pub kind: NoticeKind,
    /// The deadline it is about; with the credential id and kind, its identity.
    pub deadline: DateTime<Utc>,
    /// The credential.
    pub credential_id: String,
    /// Its account.
    pub account_id: String,
    /// Its name.
    pub name: String,
    /// API key or passcode.
    pub credential_kind: Kind,
    /// Live or test.
    pub environment: Environment,
    /// Prefix and last four characters of the current secret.
    pub secret_hint: String,
    /// Its expiry.
    pub expires_at: DateTime<Utc>,
    /// For inactivity-disabled notices: when it will be deleted.
    pub delete_at: Option<DateTime<Utc>>,
    /// The credential's `notify_emails` when queued (may be empty: the mail
    /// layer then falls back to the admin contacts).
    pub recipients: Vec<String>,
    /// When it was queued.
    pub queued_at: DateTime<Utc>,
}

/// Identity of an outbox notice: (credential, notice kind, deadline).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoticeKey(Vec<u8>);

impl NoticeKey {
    /// The key of a notice.
    pub fn of(notice: &OutboxNotice) -> Self {
        NoticeKey(codec::notice_key(
            &notice.credential_id,
            notice.kind,
            notice.deadline,
        ))
    }

    /// Stable bytes, e.g. for a Message-ID.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl Store {
    /// Every notice waiting in the outbox, in key order.
    ///
    /// # Errors
    /// sled errors and undecodable notices.
    pub fn outbox(&self) -> Result<Vec<OutboxNotice>, Error> {
        Ok(self
            .pending_notices(usize::MAX)?
            .into_iter()
            .map(|(_, n)| n)
            .collect())
    }

    /// Up to `limit` notices waiting in the outbox, with their keys.
    ///
    /// # Errors
    /// sled errors and undecodable notices.
    pub fn pending_notices(&self, limit: usize) -> Result<Vec<(NoticeKey, OutboxNotice)>, Error> {
        self.outbox
            .iter()
            .take(limit)
            .map(|item| {
                let (key, value) = item?;
                Ok((NoticeKey(key.to_vec()), codec::decode_notice(&value)?))
            })
            .collect()
    }

    /// Number of notices waiting in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Moves delivered (or otherwise settled) notices from the outbox to
    /// `notices_sent`, with `audits`, in one transaction, and flushes.
    ///
    /// # Errors
    /// sled errors.
    pub async fn settle_notices(
        &self,
        keys: &[NoticeKey],
        at: DateTime<Utc>,
        audits: &[AuditEntry],
    ) -> Result<(), Error> {
        let stamp = codec::time_key(at);
        let audit_rows: Vec<Vec<u8>> = audits.iter().map(codec::encode_audit).collect();
        let trees = [&self.outbox, &self.notices_sent, &self.audit];
        self.transact(trees, |[outbox, sent, audit_tree]| {
            for key in keys {
                outbox.remove(&key.0)?;
                sent.insert(&key.0, &stamp)?;
            }
            append_audit_rows::<()>(*audit_tree, &audit_rows)
        })?
        .map_err(|()| Error::Corrupt("aborted notice transaction"))?;
        self.flush().await
    }

    /// Queues `notice`, with `audit`, unless a notice with its key is
    /// already queued or was settled. Returns whether it was queued.
    ///
    /// Not durable until [`Store::flush`].
    ///
    /// # Errors
    /// sled errors.
    pub fn offer_notice(&self, notice: &OutboxNotice, audit: &AuditEntry) -> Result<bool, Error> {
        let key = codec::notice_key(&notice.credential_id, notice.kind, notice.deadline);
        let value = codec::encode_notice(notice);
        let row = codec::encode_audit(audit);
        let trees = [&self.outbox, &self.notices_sent, &self.audit];
        let queued = self
            .transact(trees, |[outbox, sent, audit_tree]| {
                if outbox.get(&key)?.is_some() || sent.get(&key)?.is_some() {
                    return Ok(false);
                }
                outbox.insert(&key, &value)?;
                append_audit_rows::<()>(*audit_tree, std::slice::from_ref(&row))?;
                Ok(true)
            })?
            .map_err(|()| Error::Corrupt("aborted notice transaction"))?;
        Ok(queued)
    }

    /// Whether a notice was settled (tests).
    ///
    /// # Errors
    /// sled errors.
    pub fn notice_settled(&self, key: &NoticeKey) -> Result<bool, Error> {
        Ok(self.notices_sent.contains_key(key.0.as_slice())?)
    }
}
