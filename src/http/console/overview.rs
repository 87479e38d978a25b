//! `GET /console/`: credentials by status, what expires and what turns
//! inactive in the next 30 days (each a link), the outbox, and the webhook
//! endpoints that are failing. The counts come from the engine's overview,
//! computed at most every few seconds, never per request.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::page::{self, credential_link, kind_name, status_name, when};
use super::{Console, Signed};
use crate::engine::{OVERVIEW_HORIZON_DAYS, Scope, Upcoming};
use crate::lifecycle::Status;

pub(super) async fn page(State(console): State<Console>, signed: Signed) -> Response {
    let overview = match console.engine.overview(&signed.actor) {
        Ok(overview) => overview,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let failing = failing_webhooks(&console, &signed);
    let body = html! {
        @if let Some(flash) = signed.take_flash() { p #flash { (flash) } }
        p.muted { "As of " (when(overview.computed_at)) }
        h2 { "Credentials by status" }
        table #counts {
            thead { tr { th { "Status" } th { "Credentials" } } }
            tbody {
                @for (i, status) in [Status::Active, Status::Disabled, Status::Expired, Status::Revoked].into_iter().enumerate() {
                    tr data-status=(status_name(status)) {
                        td { a href={ "/console/credentials?status=" (status_name(status).to_lowercase()) } { (status_name(status)) } }
                        td.count { (overview.counts[i]) }
                    }
                }
            }
        }
        h2 { "Expiring in the next " (OVERVIEW_HORIZON_DAYS) " days (" (overview.expiring_total) ")" }
        (upcoming("expiring", &overview.expiring, "Expires"))
        h2 { "Turning inactive in the next " (OVERVIEW_HORIZON_DAYS) " days (" (overview.turning_inactive_total) ")" }
        (upcoming("inactive", &overview.turning_inactive, "Disabled unless used by"))
        h2 { "Notices" }
        p { "Queued: " span #notices-queued { (overview.notices_queued) } }
        p { "Queued over an hour ago (delivery failing): " span #notices-failed { (overview.notices_delayed) } }
        h2 { "Webhook endpoints failing" }
        (failing)
    };
    signed.page("overview", "Overview", body)
}

fn upcoming(id: &str, items: &[Upcoming], when_label: &str) -> Markup {
    html! {
        table id=(id) {
            thead { tr { th { "Credential" } th { "Account" } th { "Name" } th { "Kind" } th { (when_label) } } }
            tbody {
                @for item in items {
                    tr data-id=(item.id) {
                        td { (credential_link(&item.id)) }
                        td { (item.account_id) }
                        td { (item.name) }
                        td { (kind_name(item.kind)) }
                        td { (when(item.at)) }
                    }
                }
                @if items.is_empty() { tr { td colspan="5" { "None." } } }
            }
        }
    }
}

/// Disabled endpoints, for a caller that may read webhooks.
fn failing_webhooks(console: &Console, signed: &Signed) -> Markup {
    if !signed.actor.holds(Scope::WebhooksRead) {
        return html! { p.muted { "Needs the webhooks:read scope." } };
    }
    let endpoints = match console.engine.list_webhooks(&signed.actor, None) {
        Ok(endpoints) => endpoints,
        Err(e) => return html! { p.error { (e.to_string()) } },
    };
    let failing: Vec<_> = endpoints.iter().filter(|e| !e.enabled).collect();
    html! {
        table #webhooks-failing {
            thead { tr { th { "Endpoint" } th { "URL" } th { "Why" } } }
            tbody {
                @for e in &failing {
                    tr data-id=(e.id) {
                        td { a href={ "/console/webhooks/" (e.id) } { (e.id) } }
                        td { (e.url) }
                        td { (e.disabled_reason) }
                    }
                }
                @if failing.is_empty() { tr { td colspan="3" { "None." } } }
            }
        }
    }
}
