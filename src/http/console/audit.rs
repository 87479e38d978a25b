//! `GET /console/audit`: the audit log, newest first, filtered by account,
//! credential, actor and action, a page at a time going back in time.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::{Markup, html};

use super::form::{Fields, link};
use super::page::{self, credential_link, when};
use super::{Console, Signed};
use crate::engine::{AuditQuery, Engine};
use crate::store::{AuditEvent, AuditFilter};

const PAGE_SIZE: i64 = 100;
/// The filter fields, kept on the link to the next page.
const FILTERS: [&str; 4] = ["account", "credential", "actor", "action"];

pub(super) async fn page(
    State(console): State<Console>,
    RawQuery(query): RawQuery,
    signed: Signed,
) -> Response {
    let fields = Fields::parse(query.as_deref());
    let value = |name| fields.get(name).map(str::to_string);
    let query = AuditQuery {
        filter: AuditFilter {
            account_id: value("account").or(signed.actor.account().map(str::to_string)),
            credential_id: value("credential"),
            actor: value("actor"),
            action: value("action"),
            ..AuditFilter::default()
        },
        page_size: PAGE_SIZE,
        page_token: value("page"),
    };
    let found = match console.engine.list_audit_newest(&signed.actor, &query) {
        Ok(found) => found,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let token = found.next_after.map(Engine::audit_before_token);
    let next = token
        .as_deref()
        .map(|token| link("/console/audit", fields.next_page(&FILTERS, token)));
    let shown = |name| fields.get(name).unwrap_or_default().to_string();
    let body = html! {
        form #filter method="get" action="/console/audit" {
            label { "Account " input type="text" name="account" value=(shown("account")); }
            label { "Credential " input type="text" name="credential" value=(shown("credential")); }
            label { "Actor " input type="text" name="actor" value=(shown("actor")); }
            label { "Action " input type="text" name="action" placeholder="credential.revoke" value=(shown("action")); }
            button #filter-submit type="submit" { "Filter" }
        }
        (table("audit", &found.events))
        @if let Some(next) = next { p { a #next-page href=(next) { "Older events" } } }
    };
    signed.page("audit", "Audit log", body)
}

/// What an event is about: a credential's id links to its page; another
/// id (a grant's, say) is shown as it is.
fn subject(id: &str) -> Markup {
    if id.starts_with("cred_") {
        credential_link(id)
    } else {
        html! { (id) }
    }
}

/// Audit events as a table with element id `id`.
pub(super) fn table(id: &str, events: &[AuditEvent]) -> Markup {
    html! {
        table id=(id) {
            thead { tr { th { "#" } th { "When" } th { "Action" } th { "Actor" } th { "Credential" } th { "Account" } th { "Outcome" } th { "Detail" } } }
            tbody {
                @for e in events {
                    tr data-seq=(e.seq) {
                        td { (e.seq) }
                        td.when { (when(e.at)) }
                        td.action { (e.action) }
                        td.actor { (e.actor) }
                        td.credential { (subject(&e.credential_id)) }
                        td { (e.account_id) }
                        td.outcome { (e.outcome) }
                        td.detail { (e.detail) }
                    }
                }
                @if events.is_empty() { tr { td colspan="8" { "No events." } } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: u64, subject: &str) -> AuditEvent {
        AuditEvent {
            seq,
            at: chrono::DateTime::UNIX_EPOCH,
            actor: "cred_admin".to_string(),
            action: "grant.create".to_string(),
            credential_id: subject.to_string(),
            account_id: "acme".to_string(),
            outcome: "ok".to_string(),
            detail: "<b>not markup</b>".to_string(),
            request_id: String::new(),
        }
    }

    /// A credential's id links to its page; a grant's id does not, and
    /// details are escaped.
    #[test]
    fn only_credential_ids_link_to_a_credential_page() {
        let events = [
            event(2, "cred_01M91QF9224101TA06QH5D8KF1"),
            event(1, "grant_01M91QF92AWFKPPC2SRTS877B5"),
            event(0, ""),
        ];
        let html = table("audit", &events).into_string();
        assert!(html.contains("href=\"/console/credentials/cred_01M91QF9224101TA06QH5D8KF1\""));
        assert!(html.contains("grant_01M91QF92AWFKPPC2SRTS877B5"));
        assert!(!html.contains("/console/credentials/grant_"), "{html}");
        assert!(!html.contains("/console/credentials/\""), "{html}");
        assert!(html.contains("&lt;b&gt;not markup&lt;/b&gt;"));
    }
}
