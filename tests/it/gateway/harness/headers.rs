//! A header list as it went over the wire: every field in arrival order,
//! names as received, values as raw bytes (so non-UTF-8 values survive), a
//! repeated name once per field.

/// Header fields in arrival order.
#[derive(Clone, Debug, Default)]
pub struct Headers(pub Vec<(String, Vec<u8>)>);

impl Headers {
    /// Every value of `name` (case-insensitive), in order.
    pub fn all(&self, name: &str) -> Vec<&[u8]> {
        self.0
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
            .collect()
    }

    /// The first value of `name`, as text (lossy).
    pub fn get(&self, name: &str) -> Option<String> {
        let value = self.all(name).into_iter().next()?;
        Some(String::from_utf8_lossy(value).into_owned())
    }

    /// Whether any field named `name` is present.
    pub fn has(&self, name: &str) -> bool {
        !self.all(name).is_empty()
    }

    /// The names present, lower case, each once, in first-seen order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for (name, _) in &self.0 {
            let name = name.to_ascii_lowercase();
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }
}

impl<'a> FromIterator<(&'a http::HeaderName, &'a http::HeaderValue)> for Headers {
    fn from_iter<I: IntoIterator<Item = (&'a http::HeaderName, &'a http::HeaderValue)>>(
        fields: I,
    ) -> Self {
        let fields = fields.into_iter();
        Headers(
            fields
                .map(|(name, value)| (name.as_str().to_string(), value.as_bytes().to_vec()))
                .collect(),
        )
    }
}
