//! `GET /console/credentials/{id}`: one credential's details, its history
//! from the audit log, last use, rotation state, usage per day as a chart,
//! and links to the actions the signed-in caller may take on it.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};

use super::page::{self, kind_name, status_name, when, when_or_never};
use super::{Console, Signed, actions::Action, chart};
use crate::engine::{CredentialView, HISTORY_SCANNED, Scope, UsageQuery};

/// Days the usage chart covers.
const CHART_DAYS: u32 = 30;
/// Audit events the history shows.
const HISTORY_EVENTS: usize = 200;

pub(super) async fn page(
    State(console): State<Console>,
    Path(id): Path<String>,
    signed: Signed,
) -> Response {
    let view = match console.engine.get(&signed.actor, &id) {
        Ok(view) => view,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let history = history(&console, &signed, &id);
    let usage = usage(&console, &signed, &id).await;
    let title = format!("{} ({})", view.record.name, view.record.id);
    let body = html! {
        @if let Some(flash) = signed.take_flash() { p #flash { (flash) } }
        (details(&view))
        (actions(&signed, &view))
        h2 { "Usage, last " (CHART_DAYS) " days" }
        (usage)
        h2 { "History" }
        (history)
    };
    signed.page("credential", &title, body)
}

fn details(view: &CredentialView) -> Markup {
    let r = &view.record;
    let rotation = match view.rotation_retires_at {
        Some(at) => format!("open: the older secret works until {}", when(at)),
        None => "none".to_string(),
    };
    let hints: Vec<&str> = r.versions.iter().map(|v| v.hint.as_str()).collect();
    html! {
        dl #details {
            dt { "Status" } dd #status { (status_name(view.status)) }
            @if !r.status_reason.is_empty() { dt { "Reason" } dd #reason { (r.status_reason) } }
            dt { "Account" } dd #account { (r.account_id) }
            dt { "Name" } dd #name { (r.name) }
            dt { "Kind" } dd #kind { (kind_name(r.kind)) }
            dt { "Scopes" } dd #scopes { (r.scopes.join(" ")) }
            dt { "Secret" } dd #hint { (hints.join(", ")) }
            dt { "Created" } dd #created-at { (when(r.created_at)) }
            dt { "Expires" } dd #expires-at {
                (when(r.expires_at))
                @if view.expiry.expiring_soon { " " strong.warn { "expiring soon" } }
            }
            dt { "Last used" } dd #last-used { (when_or_never(view.last_used_at)) }
            dt { "Rotation" } dd #rotation { (rotation) }
        }
    }
}

/// The actions that mean something for this credential now, when the
/// caller may write credentials.
fn actions(signed: &Signed, view: &CredentialView) -> Markup {
    if !signed.actor.holds(Scope::CredentialsWrite) {
        return html! {};
    }
    let id = &view.record.id;
    let offered: Vec<Action> = Action::ALL
        .into_iter()
        .filter(|a| a.offered(view))
        .collect();
    html! {
        ul #actions {
            @for action in offered {
                li { a id={ "action-" (action.name()) } href={ "/console/credentials/" (id) "/confirm/" (action.name()) } { (action.label()) } }
            }
        }
    }
}

/// The credential's latest [`HISTORY_EVENTS`] audit events, newest first,
/// read back from the end of the log.
fn history(console: &Console, signed: &Signed, id: &str) -> Markup {
    if !signed.actor.holds(Scope::AuditRead) {
        return html! { p.muted { "Needs the audit:read scope." } };
    }
    let found = match console
        .engine
        .credential_history(&signed.actor, id, HISTORY_EVENTS)
    {
        Ok(found) => found,
        Err(e) => return html! { p.error { (e.to_string()) } },
    };
    html! {
        (super::audit::table("history", &found.events))
        @if found.next_after.is_some() {
            p.muted #history-more {
                "Its latest " (HISTORY_EVENTS) " events among the newest " (HISTORY_SCANNED)
                " of the log; all of them: "
                a href=(super::form::link("/console/audit", [("credential", id)])) { "the audit log" } "."
            }
        }
    }
}

async fn usage(console: &Console, signed: &Signed, id: &str) -> Markup {
    let today = console.engine.now().date_naive();
    let query = UsageQuery {
        credential_id: Some(id.to_string()),
        account_id: None,
        from: Some(today - chrono::Duration::days(i64::from(CHART_DAYS) - 1)),
        to: Some(today),
    };
    match console.engine.usage_report(&signed.actor, &query).await {
        Ok(days) => chart::usage(&days, today, CHART_DAYS),
        Err(e) => html! { p.error { (e.to_string()) } },
    }
}
