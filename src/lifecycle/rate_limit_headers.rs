//! Named rate limits at the gateways: how a route names the limits to
//! apply (`name` or `name:cost`, comma-separated, in Envoy's
//! `context_extensions` key `credd_rate_limits`, or `/v1/check`'s
//! `rate_limits` parameter and `x-credd-rate-limits` header), and the
//! `RateLimit-*` response headers of an allowed request, which describe
//! the tightest applied limit (the one with the fewest units left).

use super::rate_limits::{LimitRequest, LimitState, tightest};

/// Envoy's route-level `context_extensions` key naming the limits.
pub const RATE_LIMITS_EXTENSION: &str = "credd_rate_limits";

/// The `/v1/check` query parameter naming the limits.
pub const RATE_LIMITS_PARAM: &str = "rate_limits";

/// The `/v1/check` request header naming the limits.
pub const RATE_LIMITS_HEADER: &str = "x-credd-rate-limits";

/// The limits a route names: `name` (cost 1) or `name:cost`, separated by
/// commas or spaces. `source` names where the text came from in errors.
///
/// # Errors
/// An empty name or a cost that is not a whole number.
pub fn parse(source: &str, text: &str) -> Result<Vec<LimitRequest>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (name, cost) = match part.split_once(':') {
                Some((name, cost)) => {
                    let cost = cost.parse::<u32>().map_err(|_| {
                        format!(
                            "{source}: the cost of {name:?} must be a whole number, not {cost:?}"
                        )
                    })?;
                    (name, cost)
                }
                None => (part, 1),
            };
            if name.is_empty() {
                return Err(format!("{source}: a limit has no name in {text:?}"));
            }
            Ok(LimitRequest {
                name: name.to_string(),
                cost,
            })
        })
        .collect()
}

/// The `RateLimit-*` headers for the tightest of `states` (none when no
/// named limit applied): `RateLimit-Limit`, `RateLimit-Remaining` and
/// `RateLimit-Reset` (whole seconds until the window ends, rounded up).
pub fn headers(states: &[LimitState]) -> Vec<(&'static str, String)> {
    let Some(state) = tightest(states) else {
        return Vec::new();
    };
    let reset = state.reset.as_secs() + u64::from(state.reset.subsec_nanos() > 0);
    vec![
        ("ratelimit-limit", state.limit.to_string()),
        ("ratelimit-remaining", state.remaining.to_string()),
        ("ratelimit-reset", reset.to_string()),
    ]
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn state(name: &str, limit: u32, remaining: u32, reset_ms: u64) -> LimitState {
        LimitState {
            name: name.to_string(),
            limit,
            remaining,
            reset: Duration::from_millis(reset_ms),
        }
    }

    /// Names with and without costs, commas or spaces; bad costs and empty
    /// names refused with their source.
    #[test]
    fn parses_route_specs() {
        let parsed = parse("rate_limits", "api, burst:5 daily").unwrap();
        let pairs: Vec<(&str, u32)> = parsed.iter().map(|r| (r.name.as_str(), r.cost)).collect();
        assert_eq!(pairs, [("api", 1), ("burst", 5), ("daily", 1)]);
        assert!(parse("x", "").unwrap().is_empty());
        assert!(
            parse("credd_rate_limits", "api:x")
                .unwrap_err()
                .contains("credd_rate_limits")
        );
        assert!(parse("x", ":3").unwrap_err().contains("no name"));
    }

    /// The tightest state's headers, the reset rounded up; nothing without
    /// states.
    #[test]
    fn headers_of_the_tightest_limit() {
        let states = [state("api", 100, 40, 1500), state("burst", 10, 2, 200)];
        assert_eq!(
            headers(&states),
            vec![
                ("ratelimit-limit", "10".to_string()),
                ("ratelimit-remaining", "2".to_string()),
                ("ratelimit-reset", "1".to_string()),
            ]
        );
        assert!(headers(&[]).is_empty());
    }
}
