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

/// Audit events as a table with element id `id`.
pub(super) fn table(id: &str, events: &[AuditEvent]) -> Markup {
    html! {
        table id=(id) {
            thead { tr { th { "#" } th { "When" } th { "Action" } th { "Actor" } th { "Credential" } th { "Account" } th { "Outcome" } th { "Detail" } } }
            tbody {
                @for e in events {
                    tr data-seq=(e.seq) {
                        td { (e.seq) }
                        td { (when(e.at)) }
                        td.action { (e.action) }
                        td.actor { (e.actor) }
                        td.credential { @if !e.credential_id.is_empty() { (credential_link(&e.credential_id)) } }
                        td { (e.account_id) }
                        td.outcome { (e.outcome) }
                        td { (e.detail) }
                    }
                }
                @if events.is_empty() { tr { td colspan="8" { "No events." } } }
            }
        }
    }
}
