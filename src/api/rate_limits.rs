//! Named rate limits on the wire: `RateLimitRule` in and out, the limits a
//! `VerifyRequest` names (an unset cost is 1), and `RateLimitState` out.
//! Bounds are the engine's (`lifecycle::rate_limits`); only shapes that
//! cannot be represented are refused here.

use tonic::Status;

use super::{convert, pb};
use crate::lifecycle::{LimitRequest, LimitState, RateLimitRule};

/// The rules as given; `field` names the list (`rate_limits`).
pub(crate) fn rules_from_pb(
    field: &str,
    rules: &[pb::RateLimitRule],
) -> Result<Vec<RateLimitRule>, Status> {
    rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let at = format!("{field}[{i}].duration");
            let duration = rule
                .duration
                .as_ref()
                .ok_or_else(|| Status::invalid_argument(format!("{at} is required")))?;
            Ok(RateLimitRule {
                name: rule.name.clone(),
                limit: rule.limit,
                // A negative duration becomes zero, which the bounds refuse.
                duration: convert::from_duration(&at, duration)?
                    .to_std()
                    .unwrap_or_default(),
            })
        })
        .collect()
}

/// The rules as shown.
pub(crate) fn rules_to_pb(rules: Vec<RateLimitRule>) -> Vec<pb::RateLimitRule> {
    rules
        .into_iter()
        .map(|rule| pb::RateLimitRule {
            name: rule.name,
            limit: rule.limit,
            duration: Some(duration(rule.duration)),
        })
        .collect()
}

/// The limits a Verify names; an unset cost is 1.
pub(crate) fn requests_from_pb(requests: &[pb::RateLimitRequest]) -> Vec<LimitRequest> {
    requests
        .iter()
        .map(|r| LimitRequest {
            name: r.name.clone(),
            cost: r.cost.unwrap_or(1),
        })
        .collect()
}

/// The applied limits' states.
pub(crate) fn states_to_pb(states: &[LimitState]) -> Vec<pb::RateLimitState> {
    states
        .iter()
        .map(|s| pb::RateLimitState {
            name: s.name.clone(),
            limit: s.limit,
            remaining: s.remaining,
            reset: Some(duration(s.reset)),
        })
        .collect()
}

fn duration(d: std::time::Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}
