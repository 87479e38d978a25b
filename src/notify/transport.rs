//! The lettre transports: `.eml` files under the data directory (default),
//! or SMTP (tokio, rustls; no OpenSSL) with `none`, `starttls` or `tls`,
//! optional AUTH with a password read from a private file, a timeout, and a
//! pooled connection built once.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use zeroize::Zeroizing;

use crate::config::{EmailConfig, MailTransport, SmtpTls};

/// Why the transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The mail directory could not be created.
    #[error("cannot create mail directory {path}: {source}")]
    MailDir {
        /// The directory.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The password file could not be read.
    #[error("cannot read email.smtp_password_file {path}: {source}")]
    PasswordFile {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The password file is readable by others.
    #[error(
        "email.smtp_password_file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    PasswordPermissions {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// lettre refused the SMTP settings.
    #[error("smtp transport for {host}: {message}")]
    Smtp {
        /// The relay.
        host: String,
        /// lettre's explanation.
        message: String,
    },
}

/// Why one message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    /// The server answered 5xx: retrying will not help.
    pub permanent: bool,
    /// What went wrong (no message content).
    pub detail: String,
}

/// Where messages go.
#[derive(Clone)]
pub enum Transport {
    /// One `.eml` file per message.
    File(AsyncFileTransport<Tokio1Executor>),
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::File(_) => f.write_str("Transport::File"),
            Transport::Smtp(_) => f.write_str("Transport::Smtp"),
        }
    }
}

impl Transport {
    /// Builds the configured transport.
    ///
    /// # Errors
    /// [`TransportError`] for an unusable mail directory, password file or
    /// SMTP setting.
    pub fn from_config(email: &EmailConfig, mail_dir: &Path) -> Result<Self, TransportError> {
        match email.transport {
            MailTransport::File => {
                std::fs::create_dir_all(mail_dir).map_err(|source| TransportError::MailDir {
                    path: mail_dir.to_path_buf(),
                    source,
                })?;
                Ok(Transport::File(AsyncFileTransport::<Tokio1Executor>::new(
                    mail_dir,
                )))
            }
            MailTransport::Smtp => {
                let smtp_error = |e: lettre::transport::smtp::Error| TransportError::Smtp {
                    host: email.smtp_host.clone(),
                    message: e.to_string(),
                };
                let builder = match email.smtp_tls {
                    SmtpTls::None => {
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&email.smtp_host)
                    }
                    SmtpTls::Starttls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&email.smtp_host)
                            .map_err(smtp_error)?
                    }
                    SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&email.smtp_host)
                        .map_err(smtp_error)?,
                };
                let mut builder = builder
                    .port(email.smtp_port)
                    .timeout(Some(email.smtp_timeout));
                if !email.smtp_username.is_empty() {
                    let password = match &email.smtp_password_file {
                        Some(path) => read_password(path)?,
                        None => Zeroizing::new(String::new()),
                    };
                    builder = builder.credentials(Credentials::new(
                        email.smtp_username.clone(),
                        password.to_string(),
                    ));
                }
                Ok(Transport::Smtp(builder.build()))
            }
        }
    }

    /// Hands one message to the transport.
    ///
    /// # Errors
    /// [`SendFailure`], permanent for a 5xx answer.
    pub async fn send(&self, message: Message) -> Result<(), SendFailure> {
        match self {
            Transport::File(file) => {
                file.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendFailure {
                        permanent: false,
                        detail: e.to_string(),
                    })
            }
            Transport::Smtp(smtp) => {
                smtp.send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| SendFailure {
                        permanent: e.is_permanent(),
                        detail: e.to_string(),
                    })
            }
        }
    }
}

/// Reads the SMTP password, refusing a file others can read.
fn read_password(path: &Path) -> Result<Zeroizing<String>, TransportError> {
    let io = |source| TransportError::PasswordFile {
        path: path.to_path_buf(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(io)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(TransportError::PasswordPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
    Ok(Zeroizing::new(
        text.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    /// A group-readable password file is refused with the fix in the message;
    /// a private one is read without its trailing newline.
    #[test]
    fn password_file_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smtp.pass");
        std::fs::write(&path, "hunter2\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_password(&path)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(!err.contains("hunter2"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_password(&path).unwrap().as_str(), "hunter2");
    }
}
