//! The read-only pages: the notices waiting in the e-mail outbox, webhook
//! endpoints and their deliveries, partners and delegation grants.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Duration;
use maud::html;

use super::page::{self, credential_link, when, when_or_never};
use super::{Console, Signed};
use crate::engine::GrantQuery;

/// Rows a read-only page shows.
const ROWS: usize = 200;

/// `GET /console/notices`.
pub(super) async fn notices(State(console): State<Console>, signed: Signed) -> Response {
    let notices = match console.engine.queued_notices(&signed.actor, ROWS) {
        Ok(n) => n,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let hour_ago = console.engine.now() - Duration::hours(1);
    let body = html! {
        p { "Notices waiting to be e-mailed; a delivered notice leaves this list." }
        table #notices {
            thead { tr { th { "Queued" } th { "Kind" } th { "Credential" } th { "Account" } th { "Recipients" } th { "State" } } }
            tbody {
                @for n in &notices {
                    tr {
                        td { (when(n.queued_at)) }
                        td.kind { (format!("{:?}", n.kind)) }
                        td { @if n.kind.is_credential() { (credential_link(&n.credential_id)) } @else { (n.credential_id) } }
                        td { (n.account_id) }
                        td { (n.recipients.len().max(1)) }
                        td.state { @if n.queued_at < hour_ago { "delayed: delivery failing" } @else { "queued" } }
                    }
                }
                @if notices.is_empty() { tr { td colspan="6" { "The outbox is empty." } } }
            }
        }
    };
    page::document(
        StatusCode::OK,
        "notices",
        "Notices",
        Some(&signed.chrome()),
        body,
    )
}

/// `GET /console/webhooks`.
pub(super) async fn webhooks(State(console): State<Console>, signed: Signed) -> Response {
    let endpoints = match console.engine.list_webhooks(&signed.actor, None) {
        Ok(e) => e,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let body = html! {
        table #webhooks {
            thead { tr { th { "Endpoint" } th { "Account" } th { "URL" } th { "Events" } th { "State" } } }
            tbody {
                @for e in &endpoints {
                    tr data-id=(e.id) {
                        td { a href={ "/console/webhooks/" (e.id) } { (e.id) } }
                        td { (e.account_id.as_deref().unwrap_or("all")) }
                        td { (e.url) }
                        td { (e.event_types.join(" ")) }
                        td.state { @if e.enabled { "enabled" } @else { "disabled: " (e.disabled_reason) } }
                    }
                }
                @if endpoints.is_empty() { tr { td colspan="5" { "No endpoints." } } }
            }
        }
    };
    page::document(
        StatusCode::OK,
        "webhooks",
        "Webhooks",
        Some(&signed.chrome()),
        body,
    )
}

/// `GET /console/webhooks/{id}`: the endpoint's latest deliveries.
pub(super) async fn deliveries(
    State(console): State<Console>,
    Path(id): Path<String>,
    signed: Signed,
) -> Response {
    let found = match console
        .engine
        .list_webhook_deliveries(&signed.actor, &id, None, ROWS)
    {
        Ok(d) => d,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let body = html! {
        table #deliveries {
            thead { tr { th { "#" } th { "Event" } th { "Type" } th { "Created" } th { "State" } th { "Attempts" } th { "Last answer" } th { "Next attempt" } } }
            tbody {
                @for d in &found {
                    @let last = d.attempts.last();
                    tr data-seq=(d.seq) {
                        td { (d.seq) }
                        td { (d.event_id) }
                        td { (d.event_type) }
                        td { (when(d.created_at)) }
                        td.state { (format!("{:?}", d.state).to_lowercase()) }
                        td { (d.attempts.len()) }
                        td { @if let Some(a) = last {
                            @if let Some(status) = a.status { (status) } @else { (a.error) }
                            " (" (a.latency_ms) " ms)"
                        } }
                        td { (when_or_never(d.next_at)) }
                    }
                }
                @if found.is_empty() { tr { td colspan="8" { "No deliveries." } } }
            }
        }
    };
    let title = format!("Deliveries of {id}");
    page::document(
        StatusCode::OK,
        "deliveries",
        &title,
        Some(&signed.chrome()),
        body,
    )
}

/// `GET /console/partners`: partners and grants, read-only.
pub(super) async fn partners(State(console): State<Console>, signed: Signed) -> Response {
    let engine = &console.engine;
    let partners = match engine.list_partners(&signed.actor, ROWS as i64, None) {
        Ok((p, _)) => p,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let query = GrantQuery {
        include_ended: true,
        page_size: ROWS as i64,
        ..GrantQuery::default()
    };
    let grants = match engine.list_grants(&signed.actor, &query) {
        Ok((g, _)) => g,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let body = html! {
        h2 { "Partners" }
        table #partners {
            thead { tr { th { "Account" } th { "Name" } th { "Redirect prefixes" } th { "mTLS identities" } th { "Since" } } }
            tbody {
                @for p in &partners {
                    tr {
                        td { (p.account_id) }
                        td { (p.display_name) }
                        td { (p.redirect_prefixes.join(" ")) }
                        td { (p.mtls_identities.join(" ")) }
                        td { (when(p.created_at)) }
                    }
                }
                @if partners.is_empty() { tr { td colspan="5" { "No partners." } } }
            }
        }
        h2 { "Grants" }
        table #grants {
            thead { tr { th { "Grant" } th { "Partner" } th { "Client" } th { "Scopes" } th { "Status" } th { "Expires" } } }
            tbody {
                @for g in &grants {
                    tr data-id=(g.id) {
                        td { (g.id) }
                        td { (g.partner_account_id) }
                        td { (g.client_account_id) }
                        td { (g.scopes.join(" ")) }
                        td { (format!("{:?}", g.status)) }
                        td { (when_or_never(g.expires_at)) }
                    }
                }
                @if grants.is_empty() { tr { td colspan="6" { "No grants." } } }
            }
        }
    };
    page::document(
        StatusCode::OK,
        "partners",
        "Partners and grants",
        Some(&signed.chrome()),
        body,
    )
}
