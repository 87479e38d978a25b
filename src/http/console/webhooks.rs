//! `GET /console/webhooks` and `/console/webhooks/{id}`: webhook endpoints
//! and their deliveries, read-only.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;

use super::page::{self, when, when_or_never};
use super::{Console, ROWS, Signed};

/// `GET /console/webhooks`.
pub(super) async fn page(State(console): State<Console>, signed: Signed) -> Response {
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
    signed.page("webhooks", "Webhooks", body)
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
    signed.page("deliveries", &title, body)
}
