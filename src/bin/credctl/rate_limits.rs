//! Named rate limits on the command line: `--rate-limit NAME=LIMIT/DURATION`
//! (e.g. `api=100/1m`) for credentials and accounts, `--limit NAME[:COST]`
//! for `verify`, and how rules and states print.

use serde_json::{Value, json};

use credd::api::pb;
use credd::lifecycle::Span;

/// `NAME=LIMIT/DURATION`, e.g. `api=100/1m`; the server checks the bounds.
pub(crate) fn parse_rule(text: &str) -> Result<pb::RateLimitRule, String> {
    let usage = || format!("{text:?}: expected NAME=LIMIT/DURATION, e.g. api=100/1m");
    let (name, rest) = text.split_once('=').ok_or_else(usage)?;
    let (limit, duration) = rest.split_once('/').ok_or_else(usage)?;
    let limit = limit.trim().parse::<u32>().map_err(|_| usage())?;
    let seconds = match duration.parse::<Span>() {
        Ok(Span::Fixed(d)) => d.num_seconds(),
        Ok(Span::Months(_)) => return Err(format!("{text:?}: give the window in s, m, h or d")),
        Err(e) => return Err(e.to_string()),
    };
    Ok(pb::RateLimitRule {
        name: name.trim().to_string(),
        limit,
        duration: Some(prost_types::Duration { seconds, nanos: 0 }),
    })
}

/// `NAME` or `NAME:COST`.
pub(crate) fn parse_request(text: &str) -> Result<pb::RateLimitRequest, String> {
    let (name, cost) = match text.split_once(':') {
        // A name may hold ':' itself; only a numeric tail is a cost.
        Some((name, cost)) if cost.chars().all(|c| c.is_ascii_digit()) && !cost.is_empty() => {
            let cost = cost
                .parse::<u32>()
                .map_err(|_| format!("{text:?}: the cost is too large"))?;
            (name, Some(cost))
        }
        _ => (text, None),
    };
    Ok(pb::RateLimitRequest {
        name: name.to_string(),
        cost,
    })
}

/// Rules as JSON: name, limit and the window in seconds.
pub(crate) fn rules_json(rules: &[pb::RateLimitRule]) -> Value {
    rules
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "limit": r.limit,
                "duration_s": r.duration.as_ref().map(|d| d.seconds),
            })
        })
        .collect()
}

/// Rules as table text: `api=100/60s, ...`.
pub(crate) fn rules_text(rules: &[pb::RateLimitRule]) -> String {
    rules
        .iter()
        .map(|r| {
            let seconds = r.duration.as_ref().map_or(0, |d| d.seconds);
            format!("{}={}/{seconds}s", r.name, r.limit)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applied limits' states as JSON.
pub(crate) fn states_json(states: &[pb::RateLimitState]) -> Value {
    states
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "limit": s.limit,
                "remaining": s.remaining,
                "reset_s": s.reset.as_ref().map(|d| d.seconds),
            })
        })
        .collect()
}

/// Applied limits' states as table text: `api 97/100 (reset 42s)`.
pub(crate) fn states_text(states: &[pb::RateLimitState]) -> String {
    states
        .iter()
        .map(|s| {
            let reset = s.reset.as_ref().map_or(0, |d| d.seconds);
            format!("{} {}/{} (reset {reset}s)", s.name, s.remaining, s.limit)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::{parse_request, parse_rule};

    #[test]
    fn rules_and_requests_parse() {
        let rule = parse_rule("api=100/1m").unwrap();
        assert_eq!((rule.name.as_str(), rule.limit), ("api", 100));
        assert_eq!(rule.duration.unwrap().seconds, 60);
        assert!(parse_rule("api=100").is_err());
        assert!(parse_rule("api/1m").is_err());
        assert!(parse_rule("api=x/1m").is_err());
        assert!(parse_rule("api=1/2months").is_err());
        let request = parse_request("api:5").unwrap();
        assert_eq!((request.name.as_str(), request.cost), ("api", Some(5)));
        let request = parse_request("v1:read").unwrap();
        assert_eq!((request.name.as_str(), request.cost), ("v1:read", None));
        assert_eq!(parse_request("api").unwrap().cost, None);
    }
}
