//! `GET /console/credentials`: search and filter (account, kind, status,
//! expiring within, inactive for) through the engine's List, a page at a
//! time. A malformed filter answers 400 naming the field.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Duration;
use maud::html;

use super::form::{Fields, link};
use super::page::{self, credential_link, kind_name, status_name, when, when_or_never};
use super::{Console, Signed};
use crate::engine::ListQuery;
use crate::lifecycle::{Kind, Span, Status};

/// Credentials a page shows.
const PAGE_SIZE: i64 = 50;
/// The filter fields, kept on the link to the next page.
const FILTERS: [&str; 5] = [
    "account",
    "kind",
    "status",
    "expiring_within",
    "inactive_for",
];

pub(super) async fn page(
    State(console): State<Console>,
    RawQuery(query): RawQuery,
    signed: Signed,
) -> Response {
    let fields = Fields::parse(query.as_deref());
    let list = match filter(&fields) {
        Ok(list) => list,
        Err(message) => {
            return page::error(StatusCode::BAD_REQUEST, &message, Some(&signed.chrome()));
        }
    };
    let found = match console.engine.list(&signed.actor, &list) {
        Ok(found) => found,
        Err(e) => return page::engine_error(&e, Some(&signed.chrome())),
    };
    let value = |name| fields.get(name).unwrap_or_default().to_string();
    let next = found
        .next_page_token
        .as_deref()
        .map(|token| link("/console/credentials", fields.next_page(&FILTERS, token)));
    let body = html! {
        @if let Some(flash) = signed.take_flash() { p #flash { (flash) } }
        form #filter method="get" action="/console/credentials" {
            label { "Account " input type="text" name="account" value=(value("account")); }
            label { "Kind "
                select name="kind" {
                    option value="" { "any" }
                    @for kind in ["api_key", "passcode", "customer_key"] {
                        option value=(kind) selected[value("kind") == kind] { (kind) }
                    }
                }
            }
            label { "Status "
                select name="status" {
                    option value="" { "any" }
                    @for status in ["active", "disabled", "expired", "revoked"] {
                        option value=(status) selected[value("status") == status] { (status) }
                    }
                }
            }
            label { "Expiring within " input type="text" name="expiring_within" placeholder="30d" value=(value("expiring_within")); }
            label { "Inactive for " input type="text" name="inactive_for" placeholder="60d" value=(value("inactive_for")); }
            button #filter-submit type="submit" { "Filter" }
        }
        table #credentials {
            thead { tr { th { "Credential" } th { "Account" } th { "Name" } th { "Kind" } th { "Status" } th { "Expires" } th { "Last used" } } }
            tbody {
                @for view in &found.credentials {
                    tr data-id=(view.record.id) data-status=(status_name(view.status)) {
                        td { (credential_link(&view.record.id)) }
                        td { (view.record.account_id) }
                        td { (view.record.name) }
                        td { (kind_name(view.record.kind)) }
                        td { (status_name(view.status)) }
                        td { (when(view.record.expires_at)) }
                        td { (when_or_never(view.last_used_at)) }
                    }
                }
                @if found.credentials.is_empty() { tr { td colspan="7" { "No credential matches." } } }
            }
        }
        @if let Some(next) = next { p { a #next-page href=(next) { "Next page" } } }
    };
    signed.page("credentials", "Credentials", body)
}

/// The List query the filter fields ask for.
fn filter(fields: &Fields) -> Result<ListQuery, String> {
    let kind = match fields.get("kind") {
        None => None,
        Some("api_key") => Some(Kind::ApiKey),
        Some("passcode") => Some(Kind::Passcode),
        Some("customer_key") => Some(Kind::CustomerKey),
        Some(other) => {
            return Err(format!(
                "kind {other:?} is not api_key, passcode or customer_key"
            ));
        }
    };
    let status = match fields.get("status") {
        None => None,
        Some("active") => Some(Status::Active),
        Some("disabled") => Some(Status::Disabled),
        Some("expired") => Some(Status::Expired),
        Some("revoked") => Some(Status::Revoked),
        Some(other) => {
            return Err(format!(
                "status {other:?} is not active, disabled, expired or revoked"
            ));
        }
    };
    Ok(ListQuery {
        account_id: fields.get("account").map(str::to_string),
        status,
        kind,
        environment: None,
        expiring_within: span(fields, "expiring_within")?,
        inactive_for: span(fields, "inactive_for")?,
        page_size: PAGE_SIZE,
        page_token: fields.get("page").map(str::to_string),
    })
}

/// A span filter such as `30d` or `12h` (no months).
fn span(fields: &Fields, name: &str) -> Result<Option<Duration>, String> {
    let Some(text) = fields.get(name) else {
        return Ok(None);
    };
    match text.parse::<Span>() {
        Ok(Span::Fixed(d)) if d > Duration::zero() => Ok(Some(d)),
        Ok(_) => Err(format!(
            "{name} must be a positive span such as 30d or 12h (not months)"
        )),
        Err(e) => Err(format!("{name}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_or_name_the_bad_field() {
        let q = filter(&Fields::parse(Some(
            "account=acme&kind=passcode&status=active&expiring_within=30d",
        )))
        .unwrap();
        assert_eq!(q.account_id.as_deref(), Some("acme"));
        assert_eq!(q.kind, Some(Kind::Passcode));
        assert_eq!(q.status, Some(Status::Active));
        assert_eq!(q.expiring_within, Some(Duration::days(30)));
        for (bad, named) in [
            ("kind=admin_key", "kind"),
            ("status=gone", "status"),
            ("expiring_within=banana", "expiring_within"),
            ("inactive_for=2mo", "inactive_for"),
        ] {
            let e = filter(&Fields::parse(Some(bad))).err().unwrap();
            assert!(e.contains(named), "{bad}: {e}");
        }
    }
}
