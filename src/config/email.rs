//! `[email]`: how notices are delivered (file or SMTP), the sender, the
//! admin contacts and the outbox timing.

use std::path::PathBuf;
use std::time::Duration as StdDuration;

use serde::Deserialize;

use super::ConfigError;
use super::check::{Check, non_empty_path};

/// How notices are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailTransport {
    /// `.eml` files under `<data_dir>/mail/`.
    File,
    /// An SMTP server.
    Smtp,
}

/// TLS on the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text (loopback relays only).
    None,
    /// Required STARTTLS.
    Starttls,
    /// Implicit TLS.
    Tls,
}

/// `[email]`, validated.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// Delivery method.
    pub transport: MailTransport,
    /// Sender address.
    pub from: String,
    /// Contacts for credentials that name none.
    pub admin_to: Vec<String>,
    /// SMTP server host.
    pub smtp_host: String,
    /// SMTP server port.
    pub smtp_port: u16,
    /// TLS mode.
    pub smtp_tls: SmtpTls,
    /// SMTP user; empty means no AUTH.
    pub smtp_username: String,
    /// File holding the SMTP password.
    pub smtp_password_file: Option<PathBuf>,
    /// How long one SMTP exchange may take.
    pub smtp_timeout: StdDuration,
    /// How often the outbox is delivered (and after every sweep).
    pub delivery_interval: StdDuration,
    /// A notice still undelivered after this long is dropped with an error.
    pub max_notice_age: chrono::Duration,
}

/// `[email]`: defaults file transport, sender `credd <credd@localhost>`, no
/// admin contacts, SMTP on `localhost:587` with STARTTLS and no AUTH, a 30s
/// SMTP timeout, delivery every 10s, notices dropped after 7d (README.md,
/// "Configuration").
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmailFile {
    transport: Option<String>,
    from: Option<String>,
    admin_to: Option<Vec<String>>,
    smtp_host: Option<String>,
    smtp_port: Option<i64>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password_file: Option<String>,
    smtp_timeout: Option<String>,
    delivery_interval: Option<String>,
    max_notice_age: Option<String>,
}

/// Validates `[email]`.
pub(super) fn validate(e: EmailFile, check: &Check) -> Result<EmailConfig, ConfigError> {
    let transport = check.one_of(
        "email.transport",
        e.transport.as_deref().unwrap_or("file"),
        &[("file", MailTransport::File), ("smtp", MailTransport::Smtp)],
    )?;
    let from = e
        .from
        .unwrap_or_else(|| "credd <credd@localhost>".to_string());
    if from.parse::<lettre::message::Mailbox>().is_err() {
        return Err(check.invalid(
            "email.from",
            format!("{from:?} is not a mailbox such as \"credd <credd@example.com>\""),
        ));
    }
    let admin_to = e.admin_to.unwrap_or_default();
    if let Some(bad) = admin_to
        .iter()
        .find(|a| a.parse::<lettre::Address>().is_err())
    {
        return Err(check.invalid(
            "email.admin_to",
            format!("{bad:?} is not a valid e-mail address"),
        ));
    }
    let smtp_port = e.smtp_port.unwrap_or(587);
    let smtp_port = u16::try_from(smtp_port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| {
            check.invalid(
                "email.smtp_port",
                format!("{smtp_port} is not a port number"),
            )
        })?;
    let smtp_tls = check.one_of(
        "email.smtp_tls",
        e.smtp_tls.as_deref().unwrap_or("starttls"),
        &[
            ("none", SmtpTls::None),
            ("starttls", SmtpTls::Starttls),
            ("tls", SmtpTls::Tls),
        ],
    )?;
    Ok(EmailConfig {
        transport,
        from,
        admin_to,
        smtp_host: e.smtp_host.unwrap_or_else(|| "localhost".to_string()),
        smtp_port,
        smtp_tls,
        smtp_username: e.smtp_username.unwrap_or_default(),
        smtp_password_file: non_empty_path(e.smtp_password_file),
        smtp_timeout: check.fixed("email.smtp_timeout", e.smtp_timeout, "30s")?,
        delivery_interval: check.fixed("email.delivery_interval", e.delivery_interval, "10s")?,
        max_notice_age: check.fixed_chrono("email.max_notice_age", e.max_notice_age, "7d")?,
    })
}
