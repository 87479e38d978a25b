//! Delivery of the outbox (and, in `webhooks`, of webhook events). The sweep writes notices into the `outbox` tree;
//! the [`Mailer`] groups them per recipient and notice kind into digests,
//! hands each to the transport, and settles a notice (outbox -> notices_sent,
//! one transaction) only once every recipient's message was accepted or
//! permanently refused. Transient failures back off per recipient with
//! jitter; a notice older than `max_notice_age` is dropped with an error and
//! an audit entry. A crash between acceptance and settling can send a message
//! twice; nothing else can lose one or send it twice.

mod template;
mod transport;
pub mod webhooks;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};
use sha2::{Digest, Sha256};
use tracing::{error, info, warn};

use crate::config::EmailConfig;
use crate::engine::{Engine, Error};
use crate::lifecycle::{NoticeKind, Span};
use crate::store::{AuditEntry, NoticeKey, OutboxNotice};

pub use template::{Rendered, both_dates, render};
pub use transport::{SendFailure, Transport, TransportError};

/// Notices read from the outbox per delivery round.
const DELIVERY_BATCH: usize = 1000;

/// What one delivery round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Messages accepted by the transport.
    pub messages_sent: usize,
    /// Messages that failed and will be retried.
    pub transient_failures: usize,
    /// Messages refused for good (5xx).
    pub permanent_failures: usize,
    /// Notices settled (left the outbox).
    pub notices_settled: usize,
    /// Notices dropped for age.
    pub notices_expired: usize,
    /// Notices still waiting.
    pub notices_pending: usize,
}

/// Per-recipient retry schedule.
struct Retry {
    /// Not before this instant.
    next_at: Instant,
    /// Delays to come (exponential with jitter).
    delays: ExponentialBackoff,
}

/// In-memory progress between rounds. Lost at restart, which can only cause
/// a message to be sent again, never to be lost.
#[derive(Default)]
struct DeliveryState {
    /// Recipients already served for each notice still in the outbox.
    served: HashMap<NoticeKey, HashSet<String>>,
    /// Recipients in back-off.
    retries: HashMap<String, Retry>,
}

/// What one delivery round has decided so far.
#[derive(Default)]
struct Round {
    /// Notices to take out of the outbox.
    settle: Vec<NoticeKey>,
    /// Audit entries to write with them.
    audits: Vec<AuditEntry>,
    report: DeliveryReport,
}

/// One digest: the notices of one kind for one recipient.
struct Group<'a> {
    recipient: &'a str,
    kind: NoticeKind,
    notices: Vec<&'a OutboxNotice>,
    keys: Vec<&'a NoticeKey>,
}

impl DeliveryState {
    /// Schedules `recipient`'s next attempt after a transient failure
    /// (exponential, 1 s to 15 minutes, with jitter) and returns the delay.
    fn back_off(&mut self, recipient: &str) -> std::time::Duration {
        let retry = self
            .retries
            .entry(recipient.to_string())
            .or_insert_with(|| Retry {
                next_at: Instant::now(),
                delays: ExponentialBuilder::default()
                    .with_min_delay(std::time::Duration::from_secs(1))
                    .with_max_delay(std::time::Duration::from_secs(15 * 60))
                    .with_jitter()
                    .without_max_times()
                    .build(),
            });
        let delay = retry
            .delays
            .next()
            .unwrap_or(std::time::Duration::from_secs(60));
        retry.next_at = Instant::now() + delay;
        delay
    }
}

/// Delivers the outbox through one transport.
pub struct Mailer {
    engine: Arc<Engine>,
    transport: Transport,
    /// Sender.
    from: Mailbox,
    /// Contacts for notices whose credential names none.
    admin_to: Vec<String>,
    /// Older undelivered notices are dropped.
    max_notice_age: chrono::Duration,
    /// Shown in "expire within ..." subjects.
    warning: Span,
    /// The console's public address (`[console] public_url`): notices link
    /// to credentials' pages there.
    console_url: Option<String>,
    /// One round at a time.
    state: tokio::sync::Mutex<DeliveryState>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// Builds a mailer from `[email]`.
    ///
    /// # Errors
    /// [`TransportError`] for an unusable transport; the sender was
    /// validated with the configuration.
    pub fn new(
        engine: Arc<Engine>,
        email: &EmailConfig,
        transport: Transport,
    ) -> Result<Self, TransportError> {
        let from = email
            .from
            .parse::<Mailbox>()
            .map_err(|e| TransportError::Smtp {
                host: email.smtp_host.clone(),
                message: format!("email.from: {e}"),
            })?;
        let warning = engine.policy().expiry_warning_before;
        Ok(Self {
            engine,
            transport,
            from,
            admin_to: email.admin_to.clone(),
            max_notice_age: email.max_notice_age,
            warning,
            console_url: None,
            state: tokio::sync::Mutex::new(DeliveryState::default()),
        })
    }

    /// Links notices to the console at `url` (`[console] public_url`).
    #[must_use]
    pub fn with_console_url(mut self, url: Option<String>) -> Self {
        self.console_url = url;
        self
    }

    fn recipients<'a>(&'a self, notice: &'a OutboxNotice) -> &'a [String] {
        if notice.recipients.is_empty() {
            &self.admin_to
        } else {
            &notice.recipients
        }
    }

    /// One delivery round over the outbox. The outbox is read while holding
    /// `sweep_gate`, the lock a sweep holds while it runs, so one sweep's
    /// notices are never split across two digests.
    ///
    /// # Errors
    /// A storage failure; transport failures are retried, not returned.
    pub async fn deliver(
        &self,
        sweep_gate: &tokio::sync::Mutex<()>,
    ) -> Result<DeliveryReport, Error> {
        if !*self.engine.store().leading().borrow() {
            // In a cluster, the leader mails; this node only queues.
            return Ok(DeliveryReport::default());
        }
        let mut state = self.state.lock().await;
        let pending = {
            let _no_sweep_running = sweep_gate.lock().await;
            self.engine.pending_notices(DELIVERY_BATCH)?
        };
        let mut round = Round::default();
        let groups = self.group(&pending, &state, &mut round);
        if !groups.is_empty() {
            // A leader paused past its lease must not mail what its
            // successor mails: prove the lease first (a no-op with sled).
            self.engine
                .store()
                .confirm_leadership()
                .map_err(Error::Storage)?;
        }
        for ((recipient, kind), indexes) in groups {
            let group = Group {
                recipient: &recipient,
                kind,
                notices: indexes.iter().map(|i| &pending[*i].1).collect(),
                keys: indexes.iter().map(|i| &pending[*i].0).collect(),
            };
            self.send_group(&mut state, &group, &mut round).await;
        }
        self.settle_served(&mut state, &pending, &mut round);
        // Audit entries (refusals, drops) are written even when no notice
        // settles this round: a refused recipient is not tried again.
        if !round.settle.is_empty() || !round.audits.is_empty() {
            self.engine
                .settle_notices(&round.settle, &round.audits)
                .await?;
        }
        Ok(round.report)
    }

    /// Sorts the pending notices: those queued longer than `max_notice_age`
    /// are dropped (and audited), those without a recipient settle, and the
    /// rest are grouped per recipient and kind, leaving out recipients
    /// already served. Returns the groups as indexes into `pending`.
    fn group(
        &self,
        pending: &[(NoticeKey, OutboxNotice)],
        state: &DeliveryState,
        round: &mut Round,
    ) -> BTreeMap<(String, NoticeKind), Vec<usize>> {
        let now = self.engine.now();
        let mut groups: BTreeMap<(String, NoticeKind), Vec<usize>> = BTreeMap::new();
        for (idx, (key, notice)) in pending.iter().enumerate() {
            if now - notice.queued_at > self.max_notice_age {
                error!(
                    credential_id = %notice.credential_id,
                    notice = ?notice.kind,
                    queued_at = %notice.queued_at,
                    "notice undelivered for longer than email.max_notice_age; dropping it"
                );
                round.audits.push(self.audit(
                    notice,
                    "notice.dropped",
                    "undelivered past max_notice_age".to_string(),
                ));
                round.settle.push(key.clone());
                round.report.notices_expired += 1;
                continue;
            }
            let recipients = self.recipients(notice);
            if recipients.is_empty() {
                info!(
                    credential_id = %notice.credential_id,
                    notice = ?notice.kind,
                    "notice has no recipient (no notify_emails, empty email.admin_to); recorded as handled"
                );
                round.settle.push(key.clone());
                continue;
            }
            let served = state.served.get(key);
            for recipient in recipients {
                if !served.is_some_and(|s| s.contains(recipient)) {
                    groups
                        .entry((recipient.clone(), notice.kind))
                        .or_default()
                        .push(idx);
                }
            }
        }
        groups
    }

    /// Sends one digest unless its recipient is backing off. Delivered, its
    /// notices count as served for the recipient; refused for good, each is
    /// audited (and served: a refused recipient is not tried again); a
    /// transient failure schedules the recipient's next attempt.
    async fn send_group(&self, state: &mut DeliveryState, group: &Group<'_>, round: &mut Round) {
        let recipient = group.recipient;
        let kind = group.kind;
        if state
            .retries
            .get(recipient)
            .is_some_and(|r| r.next_at > Instant::now())
        {
            return;
        }
        let outcome = match self.message(recipient, kind, &group.notices, &group.keys) {
            Ok(message) => self.transport.send(message).await,
            Err(detail) => Err(SendFailure {
                permanent: true,
                detail,
            }),
        };
        match outcome {
            Ok(()) => {
                info!(recipient = %recipient, notice = ?kind, n_credentials = group.notices.len(), "notice delivered");
                state.retries.remove(recipient);
                round.report.messages_sent += 1;
            }
            Err(failure) if failure.permanent => {
                error!(recipient = %recipient, notice = ?kind, detail = %failure.detail, "notice refused permanently; not retrying for this recipient");
                for notice in &group.notices {
                    round.audits.push(self.audit(
                        notice,
                        "notice.rejected",
                        format!("recipient {recipient}: {}", failure.detail),
                    ));
                }
                round.report.permanent_failures += 1;
            }
            Err(failure) => {
                let delay = state.back_off(recipient);
                warn!(recipient = %recipient, notice = ?kind, detail = %failure.detail, retry_in = ?delay, "notice delivery failed; will retry");
                round.report.transient_failures += 1;
                return;
            }
        }
        for key in &group.keys {
            state
                .served
                .entry((*key).clone())
                .or_default()
                .insert(recipient.to_string());
        }
    }

    /// Settles every pending notice whose recipients have all been served,
    /// and counts what settles and what stays.
    fn settle_served(
        &self,
        state: &mut DeliveryState,
        pending: &[(NoticeKey, OutboxNotice)],
        round: &mut Round,
    ) {
        for (key, notice) in pending {
            let recipients = self.recipients(notice);
            let served = state.served.get(key);
            if !recipients.is_empty()
                && recipients
                    .iter()
                    .all(|r| served.is_some_and(|s| s.contains(r)))
            {
                round.settle.push(key.clone());
            }
        }
        for key in &round.settle {
            state.served.remove(key);
        }
        round.report.notices_settled = round.settle.len();
        round.report.notices_pending = pending.len().saturating_sub(round.settle.len());
    }

    fn audit(&self, notice: &OutboxNotice, action: &'static str, detail: String) -> AuditEntry {
        AuditEntry {
            at: self.engine.now(),
            actor: "system".to_string(),
            action,
            credential_id: notice.credential_id.clone(),
            account_id: notice.account_id.clone(),
            detail,
            outcome: "ok",
            request_id: String::new(),
        }
    }

    fn message(
        &self,
        recipient: &str,
        kind: NoticeKind,
        notices: &[&OutboxNotice],
        keys: &[&NoticeKey],
    ) -> Result<Message, String> {
        let to = recipient
            .parse::<Mailbox>()
            .map_err(|e| format!("recipient {recipient:?} is not a valid address: {e}"))?;
        let rendered = render(kind, notices, &self.warning, self.console_url.as_deref());
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(self.message_id(recipient, keys)))
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| format!("cannot build message: {e}"))
    }

    /// Same recipient and same notices: same Message-ID, so a retried
    /// delivery is recognisable as such.
    fn message_id(&self, recipient: &str, keys: &[&NoticeKey]) -> String {
        let mut hasher = Sha256::new();
        hasher.update(recipient.as_bytes());
        for key in keys {
            hasher.update([0u8]);
            hasher.update(key.as_bytes());
        }
        let digest = hasher.finalize();
        let hex = crate::secret::hex(&digest[..16]);
        format!("<{hex}@{}>", self.from.email.domain())
    }
}
