//! `GET /console/partners`: partners and delegation grants, read-only.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::page::{self, when, when_or_never};
use super::{Console, ROWS, Signed};
use crate::engine::GrantQuery;

/// `GET /console/partners`: partners and grants, read-only.
pub(super) async fn page(State(console): State<Console>, signed: Signed) -> Response {
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
    signed.page("partners", "Partners and grants", body)
}
