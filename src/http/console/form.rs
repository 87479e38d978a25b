//! Query strings and posted forms as name/value pairs (URL-encoded), and
//! the CSRF check every posted form passes before anything is done.

use axum::http::StatusCode;
use axum::response::Response;

use super::Signed;
use super::page;
use super::session::token_matches;

/// The pairs of a query string or a form body; a name given twice keeps
/// its last value.
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses `text` (`a=1&b=x%20y`).
    pub(super) fn parse(text: Option<&str>) -> Self {
        Fields(
            url::form_urlencoded::parse(text.unwrap_or_default().as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// Parses a posted body.
    pub(super) fn body(bytes: &[u8]) -> Self {
        Fields(
            url::form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The value of `name`, trimmed, unless absent or empty.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.get_exact(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The value of `name` as sent (a password keeps its spaces), unless
    /// absent or empty.
    pub(super) fn get_exact(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// `path` with a query of `pairs` (URL-encoded), e.g. a filter kept on the
/// link to the next page.
pub(super) fn link<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(pairs);
    format!("{path}?{}", query.finish())
}

impl Fields {
    /// The set ones of `names`, with the `page` token to go on from.
    pub(super) fn next_page<'a>(
        &'a self,
        names: &[&'a str],
        token: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        let mut pairs: Vec<(&str, &str)> = names
            .iter()
            .filter_map(|name| self.get(name).map(|v| (*name, v)))
            .collect();
        pairs.push(("page", token));
        pairs
    }
}

/// `Err` with a 403 page unless the form carries the session's CSRF token.
pub(super) fn check_csrf(signed: &Signed, fields: &Fields) -> Result<(), Box<Response>> {
    if token_matches(fields.get("csrf"), &signed.csrf) {
        return Ok(());
    }
    tracing::warn!(actor = %signed.actor.id, "console form refused: CSRF token missing or wrong");
    Err(Box::new(page::error(
        StatusCode::FORBIDDEN,
        "the form's CSRF token is missing or wrong; reload the page and try again",
        Some(&signed.chrome()),
    )))
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn fields_decode_and_keep_the_last_value() {
        let f = Fields::parse(Some("a=1&b=x%20y&a=2&c=&d=+"));
        assert_eq!(f.get("a"), Some("2"));
        assert_eq!(f.get("b"), Some("x y"));
        assert_eq!(f.get("c"), None);
        assert_eq!(f.get("d"), None);
        assert_eq!(Fields::parse(None).get("a"), None);
        let next = f.next_page(&["b", "c", "z"], "t/1");
        assert_eq!(super::link("/p", next), "/p?b=x+y&page=t%2F1");
    }
}
