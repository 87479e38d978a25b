//! `GET /console/accounts`: the accounts a page at a time (a key confined
//! to one account, or an account's user, sees only its own), each linking
//! to its credentials.

use axum::extract::{RawQuery, State};
use axum::response::Response;
use maud::html;

use super::form::{Fields, link};
use super::page::{self, when};
use super::{Console, Signed};
use crate::lifecycle::AccountRecord;

const PAGE_SIZE: i64 = 100;

pub(super) async fn page(
    State(console): State<Console>,
    RawQuery(query): RawQuery,
    signed: Signed,
) -> Response {
    let fields = Fields::parse(query.as_deref());
    let engine = &console.engine;
    let (accounts, next): (Vec<AccountRecord>, Option<String>) = match signed.actor.account() {
        Some(own) => match engine.get_account(&signed.actor, own) {
            Ok(account) => (vec![account], None),
            Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
        },
        None => match engine.list_accounts(&signed.actor, PAGE_SIZE, fields.get("page")) {
            Ok(found) => (found.accounts, found.next_page_token),
            Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
        },
    };
    let next = next.map(|token| link("/console/accounts", [("page", token.as_str())]));
    let body = html! {
        table #accounts {
            thead { tr { th { "Account" } th { "Name" } th { "Status" } th { "Contacts" } th { "Created" } } }
            tbody {
                @for a in &accounts {
                    @let credentials = link("/console/credentials", [("account", a.id.as_str())]);
                    tr data-id=(a.id) {
                        td { a href=(credentials) { (a.id) } }
                        td { (a.display_name) }
                        td.status { (format!("{:?}", a.status).to_uppercase())
                            @if !a.status_reason.is_empty() { ": " (a.status_reason) } }
                        td { (a.contact_emails.join(", ")) }
                        td { (when(a.created_at)) }
                    }
                }
                @if accounts.is_empty() { tr { td colspan="5" { "No accounts." } } }
            }
        }
        @if let Some(next) = next { p { a #next-page href=(next) { "Next page" } } }
    };
    signed.page("accounts", "Accounts", body)
}
