//! `GET /console/notices`: the notices waiting in the e-mail outbox, read-only.

use axum::extract::State;
use axum::response::Response;
use chrono::Duration;
use maud::html;

use super::page::{self, credential_link, when};
use super::{Console, ROWS, Signed};

/// `GET /console/notices`.
pub(super) async fn page(State(console): State<Console>, signed: Signed) -> Response {
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
    signed.page("notices", "Notices", body)
}
