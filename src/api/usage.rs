//! GetUsage's conversions: the request's dates into the engine's query,
//! and a day's counts into `UsageDay`.

use chrono::NaiveDate;
use tonic::Status;

use super::pb;
use crate::engine::{UsageDay, UsageQuery};
use crate::lifecycle::UsageBucket;

/// A GetUsage request as the engine's query; dates must be `YYYY-MM-DD`.
pub(super) fn usage_query(request: pb::GetUsageRequest) -> Result<UsageQuery, Status> {
    let date = |field: &str, text: &str| -> Result<Option<NaiveDate>, Status> {
        if text.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                Status::invalid_argument(format!(
                    "{field} must be a date like 2026-12-04 (YYYY-MM-DD, UTC)"
                ))
            })
    };
    Ok(UsageQuery {
        from: date("from", &request.from)?,
        to: date("to", &request.to)?,
        credential_id: Some(request.credential_id).filter(|s| !s.is_empty()),
        account_id: Some(request.account_id).filter(|s| !s.is_empty()),
    })
}

pub(super) fn usage_day_to_pb(day: UsageDay) -> pb::UsageDay {
    let n = |bucket| day.counts.get(bucket);
    pb::UsageDay {
        date: day.date.format("%Y-%m-%d").to_string(),
        valid: n(UsageBucket::Valid),
        expired: n(UsageBucket::Expired),
        revoked: n(UsageBucket::Revoked),
        disabled: n(UsageBucket::Disabled),
        rate_limited: n(UsageBucket::RateLimited),
        insufficient_scope: n(UsageBucket::InsufficientScope),
        usage_exceeded: n(UsageBucket::UsageExceeded),
        other_refused: n(UsageBucket::OtherRefusal),
    }
}
