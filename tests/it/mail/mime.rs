//! A small MIME reader for the notices the tests receive: headers, and the
//! decoded text and HTML parts; and the checks every notice message must pass.

use super::*;

/// A parsed message.
#[derive(Debug)]
pub(super) struct Mail {
    /// As transmitted or written.
    raw: String,
    /// Unfolded headers, names lowercased.
    headers: Vec<(String, String)>,
    /// Decoded text/plain alternative.
    text: Option<String>,
    /// Decoded text/html alternative.
    html: Option<String>,
    /// Envelope recipients (SMTP) or empty (files).
    envelope_to: Vec<String>,
    /// Envelope sender (SMTP) or empty (files).
    envelope_from: String,
}

impl Mail {
    fn from_received(received: &Received) -> Mail {
        Mail {
            envelope_to: received.to.clone(),
            envelope_from: received.from.clone(),
            ..Mail::parse(&received.data)
        }
    }

    pub(super) fn parse(raw: &str) -> Mail {
        let normalized = raw.replace("\r\n", "\n");
        let (head, body) = split_head(&normalized);
        let headers = unfold(head);
        let mut mail = Mail {
            raw: raw.to_string(),
            headers,
            text: None,
            html: None,
            envelope_to: Vec::new(),
            envelope_from: String::new(),
        };
        let content_type = mail.header("content-type").unwrap_or_default().to_string();
        let encoding = mail
            .header("content-transfer-encoding")
            .unwrap_or_default()
            .to_string();
        if let Some(boundary) = param(&content_type, "boundary") {
            for part in parts(body, &boundary) {
                let (part_head, part_body) = split_head(part);
                let part_headers = unfold(part_head);
                let get = |name: &str| {
                    part_headers
                        .iter()
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.to_ascii_lowercase())
                        .unwrap_or_default()
                };
                let decoded = decode(part_body, &get("content-transfer-encoding"));
                let part_type = get("content-type");
                if part_type.starts_with("text/plain") {
                    mail.text = Some(decoded);
                } else if part_type.starts_with("text/html") {
                    mail.html = Some(decoded);
                }
            }
        } else if content_type.to_ascii_lowercase().starts_with("text/plain") {
            mail.text = Some(decode(body, &encoding.to_ascii_lowercase()));
        }
        mail
    }

    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub(super) fn subject(&self) -> &str {
        self.header("subject").unwrap_or_default()
    }

    pub(super) fn text(&self) -> &str {
        self.text.as_deref().unwrap_or_default()
    }

    pub(super) fn html(&self) -> &str {
        self.html.as_deref().unwrap_or_default()
    }

    /// The raw message and both decoded alternatives.
    fn all_forms(&self) -> [&str; 3] {
        [&self.raw, self.text(), self.html()]
    }

    /// Whether any form of the message contains `needle`.
    pub(super) fn mentions(&self, needle: &str) -> bool {
        self.all_forms().iter().any(|f| f.contains(needle))
    }
}

fn split_head(message: &str) -> (&str, &str) {
    let message = message.trim_start_matches('\n');
    message.split_once("\n\n").unwrap_or((message, ""))
}

fn unfold(head: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    for header in &mut headers {
        header.1 = header.1.trim().to_string();
    }
    headers
}

fn param(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    body.split(delimiter.as_str())
        .skip(1)
        .take_while(|p| !p.starts_with("--"))
        .collect()
}

fn decode(body: &str, encoding: &str) -> String {
    match encoding.trim() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("valid base64 body");
            String::from_utf8(bytes).expect("utf-8 body")
        }
        "quoted-printable" => quoted_printable(body),
        _ => body.to_string(),
    }
}

fn quoted_printable(body: &str) -> String {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            if bytes.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(byte) = hex {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 body")
}

/// The messages to `recipient`, parsed.
pub(super) fn mails_to(server: &SmtpServer, recipient: &str) -> Vec<Mail> {
    server
        .messages_to(recipient)
        .iter()
        .map(Mail::from_received)
        .collect()
}

pub(super) fn count_subject(mails: &[Mail], subject: &str) -> usize {
    mails.iter().filter(|m| m.subject() == subject).count()
}

pub(super) fn has_subjects(server: &SmtpServer, recipient: &str, subjects: &[&str]) -> bool {
    let mails = mails_to(server, recipient);
    subjects.iter().all(|s| count_subject(&mails, s) > 0)
}

/// Asserts what every notice message must be: from credd, to `recipient`,
/// a Message-ID, both alternatives, and none of `secrets` anywhere.
pub(super) fn assert_well_formed(mail: &Mail, recipient: &str, secrets: &[&str]) {
    let subject = mail.subject();
    assert!(subject.starts_with("[credd] "), "subject {subject:?}");
    if !mail.envelope_to.is_empty() {
        assert_eq!(mail.envelope_to, vec![recipient.to_string()], "{subject}");
        assert_eq!(mail.envelope_from, "credd@localhost", "{subject}");
    }
    let to = mail.header("to").unwrap_or_default();
    assert!(to.contains(recipient), "{subject}: To {to:?}");
    let from = mail.header("from").unwrap_or_default();
    assert!(from.contains("credd@localhost"), "{subject}: From {from:?}");
    let message_id = mail.header("message-id").unwrap_or_default();
    assert!(
        message_id.starts_with('<') && message_id.ends_with("@localhost>") && message_id.len() > 20,
        "{subject}: Message-ID {message_id:?}"
    );
    let content_type = mail.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("multipart/alternative"),
        "{subject}: Content-Type {content_type:?}"
    );
    assert!(!mail.text().is_empty(), "{subject}: no text/plain part");
    assert!(
        mail.html().contains("<html") && mail.html().contains("<table"),
        "{subject}: no text/html part: {:?}",
        mail.html()
    );
    for secret in secrets {
        assert!(!secret.is_empty());
        for form in mail.all_forms() {
            assert!(!form.contains(secret), "{subject}: the secret was mailed");
        }
    }
}

/// Asserts that `needle` is in both the text and the HTML alternative.
pub(super) fn assert_both(mail: &Mail, needle: &str) {
    assert!(
        mail.text().contains(needle),
        "{}: text lacks {needle:?}:\n{}",
        mail.subject(),
        mail.text()
    );
    assert!(
        mail.html().contains(needle),
        "{}: HTML lacks {needle:?}:\n{}",
        mail.subject(),
        mail.html()
    );
}

pub(super) fn only(mails: &[Mail], subject: &str) -> usize {
    let n = count_subject(mails, subject);
    assert_eq!(
        n,
        1,
        "expected one {subject:?}, got {n}; subjects: {:?}",
        mails.iter().map(Mail::subject).collect::<Vec<_>>()
    );
    mails
        .iter()
        .position(|m| m.subject() == subject)
        .expect("present")
}
