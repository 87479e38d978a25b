//! The words of a notice: subject, plain text and HTML for a digest of one
//! notice kind to one recipient. Shows names, ids, accounts, environments,
//! secret hints and dates, and the `credctl` command that fixes things; never
//! a secret or its hash. Everything user-supplied is escaped in HTML.

use chrono::{DateTime, Utc};
use html_escape::encode_text;

use crate::lifecycle::{Environment, Kind, NoticeKind, Span};
use crate::store::OutboxNotice;

/// A rendered message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// text/plain alternative.
    pub text: String,
    /// text/html alternative.
    pub html: String,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `2026-12-21T10:00:00Z (Monday, 21 December 2026)`.
pub fn both_dates(t: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        t.format("%Y-%m-%dT%H:%M:%SZ"),
        t.format("%A, %-d %B %Y, %H:%M UTC")
    )
}

fn subject(kind: NoticeKind, n: usize, warning: &Span) -> String {
    let credentials = plural(n, "credential", "credentials");
    let grants = plural(n, "delegation grant", "delegation grants");
    match kind {
        NoticeKind::GrantExpiringSoon => format!(
            "[credd] {grants} {} within {warning}",
            if n == 1 { "expires" } else { "expire" }
        ),
        NoticeKind::GrantExpired => format!(
            "[credd] {grants} {} expired",
            if n == 1 { "has" } else { "have" }
        ),
        NoticeKind::ExpiringSoon => format!(
            "[credd] {credentials} {} within {warning}",
            if n == 1 { "expires" } else { "expire" }
        ),
        NoticeKind::Expired => format!(
            "[credd] {credentials} {} expired",
            if n == 1 { "has" } else { "have" }
        ),
        NoticeKind::DisabledInactivity => format!("[credd] {credentials} disabled for inactivity"),
        NoticeKind::DeletedInactivity => format!("[credd] {credentials} deleted for inactivity"),
        NoticeKind::Leaked => format!(
            "[credd] {credentials} reported as leaked; replace {}",
            if n == 1 { "it" } else { "them" }
        ),
        NoticeKind::WebhookDisabled => format!(
            "[credd] {} disabled",
            plural(n, "webhook endpoint", "webhook endpoints")
        ),
    }
}

fn intro(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::ExpiringSoon => {
            "The credentials below expire soon. Rotate them, or extend their expiry, before the date shown, or the services using them will be refused."
        }
        NoticeKind::Expired => {
            "The credentials below have expired and are refused. Issue replacements and update the services that used them."
        }
        NoticeKind::DisabledInactivity => {
            "The credentials below have not been used for a long time and were disabled. Reactivate them if they are still needed; otherwise they will be deleted on the date shown."
        }
        NoticeKind::DeletedInactivity => {
            "The credentials below were unused for a long time and have been deleted. Nothing else needs to be done; issue new ones if they are needed again."
        }
        NoticeKind::GrantExpiringSoon => {
            "The delegation grants below expire soon. After the date shown the partner can no longer act for the account; grant it again, or ask the customer for consent again, if it should continue."
        }
        NoticeKind::GrantExpired => {
            "The delegation grants below have expired: the partner can no longer act for the account."
        }
        NoticeKind::Leaked => {
            "The credentials below were found published (reported by a secret scanner or an administrator) and must be treated as compromised. Each was revoked, disabled or flagged as this server is configured to do; its status says which. Issue replacements, update the services that used them, and look up where each was found in the audit log."
        }
        NoticeKind::WebhookDisabled => {
            "The webhook endpoints below were disabled: each answered 410 Gone, or every delivery attempt over about three days failed. No events are sent to them now. Fix the receiver, enable the endpoint again, and redeliver the events it missed (listed by its deliveries)."
        }
    }
}

fn action(notice: &OutboxNotice) -> String {
    let id = &notice.credential_id;
    match notice.kind {
        NoticeKind::ExpiringSoon => {
            format!("credctl rotate {id}   (or: credctl update {id} --expires-at <date>)")
        }
        NoticeKind::Expired => format!(
            "credctl create --account {} --kind {} --env {} --name <name>",
            notice.account_id,
            kind_word(notice.credential_kind),
            env_word(notice.environment)
        ),
        NoticeKind::DisabledInactivity => format!("credctl reactivate {id}"),
        NoticeKind::DeletedInactivity => "none".to_string(),
        NoticeKind::Leaked => format!(
            "credctl audit --credential {id} --action credential.leaked   (where it was found), then: credctl create --account {} --kind {} --env {} --name <name>",
            notice.account_id,
            kind_word(notice.credential_kind),
            env_word(notice.environment)
        ),
        NoticeKind::GrantExpiringSoon | NoticeKind::GrantExpired => {
            format!(
                "credctl grant get {id}   (then: credctl grant create, or a new consent request)"
            )
        }
        NoticeKind::WebhookDisabled => format!(
            "credctl webhook deliveries {id}, fix the receiver, credctl webhook update {id} --enable, then credctl webhook redeliver {id} <seq>"
        ),
    }
}

fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::ApiKey => "api",
        Kind::Passcode => "passcode",
        Kind::AdminKey => "admin key",
        Kind::Session => "session",
        Kind::CustomerKey => "customer key",
    }
}

fn env_word(environment: Environment) -> &'static str {
    match environment {
        Environment::Live => "live",
        Environment::Test => "test",
    }
}

/// The environment column: grants have none.
fn env_column(notice: &OutboxNotice) -> &'static str {
    if !notice.kind.is_credential() {
        "-"
    } else {
        env_word(notice.environment)
    }
}

fn date_label(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::ExpiringSoon | NoticeKind::GrantExpiringSoon => "Expires",
        NoticeKind::Expired | NoticeKind::GrantExpired => "Expired",
        NoticeKind::DisabledInactivity => "Deleted on",
        NoticeKind::DeletedInactivity => "Deleted",
        NoticeKind::Leaked => "Reported",
        NoticeKind::WebhookDisabled => "Disabled",
    }
}

fn date_of(notice: &OutboxNotice) -> DateTime<Utc> {
    match notice.kind {
        NoticeKind::ExpiringSoon
        | NoticeKind::Expired
        | NoticeKind::GrantExpiringSoon
        | NoticeKind::GrantExpired => notice.expires_at,
        NoticeKind::DisabledInactivity => notice.delete_at.unwrap_or(notice.deadline),
        NoticeKind::DeletedInactivity | NoticeKind::Leaked | NoticeKind::WebhookDisabled => {
            notice.deadline
        }
    }
}

/// The console page of a credential notice's credential, when the console
/// has a public address (`[console] public_url`).
fn page_of(notice: &OutboxNotice, console: Option<&str>) -> Option<String> {
    let console = console?;
    notice
        .kind
        .is_credential()
        .then(|| format!("{console}/console/credentials/{}", notice.credential_id))
}

/// Renders a digest of `notices` (all of `kind`) for one recipient; with
/// `console` (the console's public address) each credential links to its
/// page there.
pub fn render(
    kind: NoticeKind,
    notices: &[&OutboxNotice],
    warning: &Span,
    console: Option<&str>,
) -> Rendered {
    let subject = subject(kind, notices.len(), warning);
    let mut text = format!("{}\n\n", intro(kind));
    let mut rows = String::new();
    for notice in notices {
        let page = page_of(notice, console);
        let id_cell = match &page {
            Some(url) => format!(
                "<a href=\"{}\"><code>{}</code></a>",
                html_escape::encode_double_quoted_attribute(url),
                encode_text(&notice.credential_id)
            ),
            None => format!("<code>{}</code>", encode_text(&notice.credential_id)),
        };
        text.push_str(&format!(
            "- {name}\n  id:          {id}\n{page}  account:     {account}\n  environment: {env}\n  key:         {hint}\n  {label:<12} {date}\n  what to do:  {action}\n\n",
            page = page.as_ref().map(|url| format!("  console:     {url}\n")).unwrap_or_default(),
            name = notice.name,
            id = notice.credential_id,
            account = notice.account_id,
            env = env_column(notice),
            hint = notice.secret_hint,
            label = format!("{}:", date_label(kind).to_lowercase()),
            date = both_dates(date_of(notice)),
            action = action(notice),
        ));
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td></tr>\n",
            encode_text(&notice.name),
            id_cell,
            encode_text(&notice.account_id),
            env_column(notice),
            encode_text(&notice.secret_hint),
            encode_text(&both_dates(date_of(notice))),
            encode_text(&action(notice)),
        ));
    }
    text.push_str("-- \ncredd, the credential lifecycle manager\n");
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\n<p>{intro}</p>\n<table border=\"1\" cellpadding=\"4\" cellspacing=\"0\">\n<tr><th>Name</th><th>Id</th><th>Account</th><th>Environment</th><th>Key</th><th>{label}</th><th>What to do</th></tr>\n{rows}</table>\n<p style=\"color:#666\">credd, the credential lifecycle manager</p>\n</body></html>\n",
        title = encode_text(&subject),
        intro = encode_text(intro(kind)),
        label = date_label(kind),
    );
    Rendered {
        subject,
        text,
        html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(name: &str, kind: NoticeKind) -> OutboxNotice {
        let t = DateTime::from_timestamp(1_798_000_000, 0).unwrap_or_default();
        OutboxNotice {
            kind,
            deadline: t,
            credential_id: "cred_01ABCDEFGHJKMNPQRSTVWXYZ00".into(),
            account_id: "acme".into(),
            name: name.into(),
            credential_kind: Kind::ApiKey,
            environment: Environment::Live,
            secret_hint: "credd_live_api_...Ab12".into(),
            expires_at: t,
            delete_at: Some(t),
            recipients: vec!["ops@example.com".into()],
            queued_at: t,
        }
    }

    /// The subject counts credentials and names the warning period.
    #[test]
    fn subjects() {
        let warning: Span = "30d".parse().unwrap_or(Span::Months(1));
        let a = notice("a", NoticeKind::ExpiringSoon);
        let b = notice("b", NoticeKind::ExpiringSoon);
        let c = notice("c", NoticeKind::ExpiringSoon);
        let three = render(NoticeKind::ExpiringSoon, &[&a, &b, &c], &warning, None);
        assert_eq!(three.subject, "[credd] 3 credentials expire within 30d");
        let one = render(NoticeKind::Expired, &[&a], &warning, None);
        assert_eq!(one.subject, "[credd] 1 credential has expired");
    }

    /// User-supplied names are escaped in HTML and shown as-is in text, and
    /// every row carries id, account, hint, both date forms and the command.
    #[test]
    fn bodies_escape_and_carry_the_facts() {
        let warning: Span = "30d".parse().unwrap_or(Span::Months(1));
        let n = notice("<script>x</script>", NoticeKind::DisabledInactivity);
        let r = render(NoticeKind::DisabledInactivity, &[&n], &warning, None);
        assert!(r.html.contains("&lt;script&gt;"));
        assert!(!r.html.contains("<script>"));
        assert!(r.text.contains("<script>x</script>"));
        for body in [&r.text, &r.html] {
            assert!(body.contains("cred_01ABCDEFGHJKMNPQRSTVWXYZ00"));
            assert!(body.contains("acme"));
            assert!(body.contains("credd_live_api_...Ab12"));
            assert!(body.contains("2026-12-23T"));
            assert!(body.contains("December 2026"));
            assert!(body.contains("credctl reactivate cred_01ABCDEFGHJKMNPQRSTVWXYZ00"));
        }
    }

    /// Grant notices speak of grants and point at the grant commands.
    #[test]
    fn grant_notices() {
        let warning: Span = "30d".parse().unwrap_or(Span::Months(1));
        let mut n = notice("MYPRODUCT acts for LAGERMAN", NoticeKind::GrantExpiringSoon);
        n.credential_id = "grant_01ABCDEFGHJKMNPQRSTVWXYZ00".into();
        let r = render(NoticeKind::GrantExpiringSoon, &[&n], &warning, None);
        assert_eq!(r.subject, "[credd] 1 delegation grant expires within 30d");
        assert!(
            r.text
                .contains("credctl grant get grant_01ABCDEFGHJKMNPQRSTVWXYZ00")
        );
        assert!(r.text.contains("MYPRODUCT acts for LAGERMAN"));
        let expired = render(NoticeKind::GrantExpired, &[&n, &n], &warning, None);
        assert_eq!(expired.subject, "[credd] 2 delegation grants have expired");
    }

    /// A leak notice says so, gives the report's time and points at the
    /// audit log (where the url and source are) and at a replacement.
    #[test]
    fn leak_notices() {
        let warning: Span = "30d".parse().unwrap_or(Span::Months(1));
        let n = notice("billing", NoticeKind::Leaked);
        let r = render(NoticeKind::Leaked, &[&n], &warning, None);
        assert_eq!(
            r.subject,
            "[credd] 1 credential reported as leaked; replace it"
        );
        for body in [&r.text, &r.html] {
            assert!(body.contains("compromised"));
            assert!(body.contains("2026-12-23T"));
            assert!(body.contains("credential.leaked"));
            assert!(body.contains("credctl create --account acme --kind api --env live"));
        }
        assert!(r.text.contains("reported:"));
    }

    /// With the console's public address, each credential links to its
    /// page (text and HTML); grants do not, having no page.
    #[test]
    fn console_links() {
        let warning: Span = "30d".parse().unwrap_or(Span::Months(1));
        let n = notice("billing", NoticeKind::ExpiringSoon);
        let url = "https://credd.example.com/console/credentials/cred_01ABCDEFGHJKMNPQRSTVWXYZ00";
        let r = render(
            NoticeKind::ExpiringSoon,
            &[&n],
            &warning,
            Some("https://credd.example.com"),
        );
        assert!(r.text.contains(&format!("console:     {url}")));
        assert!(r.html.contains(&format!("<a href=\"{url}\">")));
        let plain = render(NoticeKind::ExpiringSoon, &[&n], &warning, None);
        assert!(!plain.text.contains("console:") && !plain.html.contains("<a "));
        let mut g = notice("grant", NoticeKind::GrantExpired);
        g.credential_id = "grant_01ABCDEFGHJKMNPQRSTVWXYZ00".into();
        let r = render(NoticeKind::GrantExpired, &[&g], &warning, Some("https://x"));
        assert!(!r.text.contains("console:"));
    }
}
