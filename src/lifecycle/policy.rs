//! Policy durations and the policy itself. A [`Span`] is either a fixed length
//! or a number of calendar months, because "unused for 2 months" means the
//! same day two months later, not 60 days.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Months, Utc};

/// A policy duration: fixed (`30s`, `15m`, `12h`, `7d`, `2w`) or calendar
/// months (`2 months`).
///
/// Adding months follows chrono: the day of month is kept where it exists
/// and clamped to the month's last day where it does not, so 31 January plus
/// one month is 28 (or 29) February, and 31 March minus one month is
/// 28 (or 29) February.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// A fixed number of seconds (and finer), independent of the calendar.
    Fixed(Duration),
    /// Calendar months.
    Months(u32),
}

impl Span {
    /// `t` plus this span; saturates at the largest representable time.
    pub fn after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Span::Fixed(d) => t.checked_add_signed(*d).unwrap_or(DateTime::<Utc>::MAX_UTC),
            Span::Months(m) => t
                .checked_add_months(Months::new(*m))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
        }
    }

    /// `t` minus this span; saturates at the smallest representable time.
    pub fn before(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Span::Fixed(d) => t.checked_sub_signed(*d).unwrap_or(DateTime::<Utc>::MIN_UTC),
            Span::Months(m) => t
                .checked_sub_months(Months::new(*m))
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }

    /// Whether the span is longer than nothing.
    pub fn is_positive(&self) -> bool {
        match self {
            Span::Fixed(d) => *d > Duration::zero(),
            Span::Months(m) => *m > 0,
        }
    }
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason} (write e.g. 30s, 15m, 12h, 7d, 2w or 2 months)")]
pub struct SpanParseError {
    /// The text that was refused.
    input: String,
    /// What was wrong with it.
    reason: &'static str,
}

impl FromStr for Span {
    type Err = SpanParseError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let err = |reason| SpanParseError {
            input: input.to_string(),
            reason,
        };
        let trimmed = input.trim();
        let digits_end = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len());
        if digits_end == 0 {
            return Err(err("it must start with a number"));
        }
        let amount: i64 = trimmed[..digits_end]
            .parse()
            .map_err(|_| err("the number is too large"))?;
        let unit = trimmed[digits_end..].trim();
        let seconds_per = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hour" | "hours" => 3_600,
            "d" | "day" | "days" => 86_400,
            "w" | "week" | "weeks" => 604_800,
            "month" | "months" | "mo" => {
                let months = u32::try_from(amount).map_err(|_| err("the number is too large"))?;
                return Ok(Span::Months(months));
            }
            "" => return Err(err("it needs a unit")),
            _ => return Err(err("unknown unit")),
        };
        let seconds = amount
            .checked_mul(seconds_per)
            .filter(|s| *s <= 1_000 * 365 * 86_400)
            .ok_or_else(|| err("the number is too large"))?;
        Ok(Span::Fixed(Duration::seconds(seconds)))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Months(1) => write!(f, "1 month"),
            Span::Months(m) => write!(f, "{m} months"),
            Span::Fixed(d) => {
                let s = d.num_seconds();
                if s != 0 && s % 86_400 == 0 {
                    write!(f, "{}d", s / 86_400)
                } else if s != 0 && s % 3_600 == 0 {
                    write!(f, "{}h", s / 3_600)
                } else if s != 0 && s % 60 == 0 {
                    write!(f, "{}m", s / 60)
                } else {
                    write!(f, "{s}s")
                }
            }
        }
    }
}

/// The rules every credential is held to. Built from `[policy]` in the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Lifetime of a credential created without one.
    pub default_lifetime: Span,
    /// Longest lifetime a credential may be given (CleverTap's "infinite" is ten years).
    pub max_lifetime: Span,
    /// Unused this long: DISABLED with reason INACTIVITY.
    pub inactivity_disable_after: Span,
    /// Unused this long: deleted, from any state but ACTIVE.
    pub inactivity_delete_after: Span,
    /// How long before `expires_at` the "expiring soon" notice is due.
    pub expiry_warning_before: Span,
    /// Rotation window when the caller gives none.
    pub rotation_default_window: Span,
    /// Longest rotation window a caller may ask for.
    pub rotation_max_window: Span,
    /// Live (ACTIVE or DISABLED) credentials an account may hold, unless
    /// the account overrides it.
    pub max_credentials_per_account: u32,
    /// Creating a credential for an unknown account creates the account;
    /// off: it is NOT_FOUND.
    pub auto_create_accounts: bool,
}

impl Policy {
    /// The built-in defaults (README: "Configuration").
    pub fn standard() -> Self {
        Self {
            default_lifetime: Span::Fixed(Duration::days(365)),
            max_lifetime: Span::Fixed(Duration::days(3650)),
            inactivity_disable_after: Span::Months(2),
            inactivity_delete_after: Span::Months(10),
            expiry_warning_before: Span::Fixed(Duration::days(30)),
            rotation_default_window: Span::Fixed(Duration::days(7)),
            rotation_max_window: Span::Fixed(Duration::days(30)),
            max_credentials_per_account: 100,
            auto_create_accounts: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Every unit the config reference documents parses to the right length.
    #[test]
    fn parses_documented_units() {
        let cases = [
            ("30s", Span::Fixed(Duration::seconds(30))),
            ("15m", Span::Fixed(Duration::minutes(15))),
            ("12h", Span::Fixed(Duration::hours(12))),
            ("7d", Span::Fixed(Duration::days(7))),
            ("2w", Span::Fixed(Duration::days(14))),
            ("2 months", Span::Months(2)),
            ("1month", Span::Months(1)),
            (" 3 seconds ", Span::Fixed(Duration::seconds(3))),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<Span>(), Ok(want), "{text}");
        }
    }

    /// Malformed durations are refused with a message naming the input.
    #[test]
    fn refuses_malformed() {
        for text in [
            "",
            "s",
            "10",
            "10 parsecs",
            "-5s",
            "99999999999999999999d",
            "1.5h",
        ] {
            let err = text.parse::<Span>().err();
            assert!(err.is_some(), "{text:?} should be refused");
            let msg = err.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.contains(&format!("{text:?}")), "{msg}");
        }
    }

    /// Calendar months clamp to the end of a shorter month.
    #[test]
    fn months_clamp_to_month_end() {
        let one = Span::Months(1);
        assert_eq!(
            one.after(at("2026-01-31T10:00:00Z")),
            at("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            one.after(at("2028-01-31T10:00:00Z")),
            at("2028-02-29T10:00:00Z")
        );
        assert_eq!(
            Span::Months(2).after(at("2026-12-31T00:00:00Z")),
            at("2027-02-28T00:00:00Z")
        );
        assert_eq!(
            Span::Months(10).after(at("2026-03-15T08:30:00Z")),
            at("2027-01-15T08:30:00Z")
        );
        assert_eq!(
            one.before(at("2026-03-31T10:00:00Z")),
            at("2026-02-28T10:00:00Z")
        );
    }

    /// Display round-trips through parsing.
    #[test]
    fn display_round_trips() {
        for text in ["30s", "15m", "12h", "7d", "2 months", "1 month", "90s"] {
            let span: Span = text.parse().unwrap_or(Span::Months(0));
            assert_eq!(span.to_string().parse::<Span>(), Ok(span), "{text}");
        }
    }
}
