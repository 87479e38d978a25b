//! The checks every section's validation shares: an error names its dotted
//! key and where the value came from, and durations, whole numbers and
//! paths are read the same way in every section.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration as StdDuration;

use crate::lifecycle::{Span, SpanParseError};

use super::ConfigError;

/// Turns a key into an error naming its origin, and reads values.
pub(super) struct Check<'a> {
    /// The file, the environment variable or the flag a dotted key came from.
    origin_of: &'a dyn Fn(&str) -> String,
}

impl<'a> Check<'a> {
    /// Checks that report origins through `origin_of`.
    pub(super) fn new(origin_of: &'a dyn Fn(&str) -> String) -> Self {
        Self { origin_of }
    }

    /// `key`'s value is refused for `message`.
    pub(super) fn invalid(&self, key: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_string(),
            origin: (self.origin_of)(key),
            message,
        }
    }

    /// A listen address, or `None` when unset or empty.
    pub(super) fn listen(
        &self,
        key: &str,
        value: Option<String>,
    ) -> Result<Option<SocketAddr>, ConfigError> {
        let Some(text) = value.filter(|l| !l.is_empty()) else {
            return Ok(None);
        };
        text.parse::<SocketAddr>().map(Some).map_err(|_| {
            self.invalid(
                key,
                format!("{text:?} is not an address such as 127.0.0.1:9464"),
            )
        })
    }

    /// A positive span (fixed or calendar months), or `default` when unset.
    pub(super) fn span(
        &self,
        key: &str,
        value: Option<String>,
        default: Span,
    ) -> Result<Span, ConfigError> {
        match value {
            None => Ok(default),
            Some(text) => {
                let span: Span = text
                    .parse()
                    .map_err(|e: SpanParseError| self.invalid(key, e.to_string()))?;
                if !span.is_positive() {
                    return Err(self.invalid(key, "must be longer than zero".to_string()));
                }
                Ok(span)
            }
        }
    }

    /// A positive fixed duration (no months), or `default` when unset.
    pub(super) fn fixed(
        &self,
        key: &str,
        value: Option<String>,
        default: &str,
    ) -> Result<StdDuration, ConfigError> {
        let text = value.unwrap_or_else(|| default.to_string());
        match text.parse::<Span>() {
            Ok(Span::Fixed(d)) if d > chrono::Duration::zero() => d
                .to_std()
                .map_err(|_| self.invalid(key, "out of range".to_string())),
            Ok(_) => Err(self.invalid(
                key,
                "must be a positive fixed duration such as 30s (not months)".to_string(),
            )),
            Err(e) => Err(self.invalid(key, e.to_string())),
        }
    }

    /// `d` as a chrono duration.
    pub(super) fn chrono_of(
        &self,
        key: &str,
        d: StdDuration,
    ) -> Result<chrono::Duration, ConfigError> {
        chrono::Duration::from_std(d).map_err(|_| self.invalid(key, "out of range".to_string()))
    }

    /// [`Check::fixed`], as a chrono duration.
    pub(super) fn fixed_chrono(
        &self,
        key: &str,
        value: Option<String>,
        default: &str,
    ) -> Result<chrono::Duration, ConfigError> {
        self.chrono_of(key, self.fixed(key, value, default)?)
    }

    /// The value of the choice named `text`; an unknown name is refused with
    /// the names allowed.
    pub(super) fn one_of<T: Copy>(
        &self,
        key: &str,
        text: &str,
        choices: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        if let Some((_, value)) = choices.iter().find(|(name, _)| *name == text) {
            return Ok(*value);
        }
        let names: Vec<String> = choices
            .iter()
            .map(|(name, _)| format!("{name:?}"))
            .collect();
        let allowed = match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        };
        Err(self.invalid(key, format!("{text:?} is not {allowed}")))
    }

    /// A whole number in `range`, or `default` when unset.
    pub(super) fn whole<T: TryFrom<i64>>(
        &self,
        key: &str,
        value: Option<i64>,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<T, ConfigError> {
        let n = value.unwrap_or(default);
        if range.contains(&n) {
            T::try_from(n).map_err(|_| self.invalid(key, format!("{n} is out of range")))
        } else {
            Err(self.invalid(
                key,
                format!("{n} must be between {} and {}", range.start(), range.end()),
            ))
        }
    }
}

/// A path, or `None` when unset or empty.
pub(super) fn non_empty_path(value: Option<String>) -> Option<PathBuf> {
    value.filter(|p| !p.is_empty()).map(PathBuf::from)
}
