//! Credits on the wire: `Credits`/`Refill` to and from the engine's types,
//! and UpdateCredits' request as a `CreditsUpdate`.

use tonic::Status;

use super::pb;
use crate::engine::{CreditsUpdate, NewCredits};
use crate::lifecycle::CreditsConfig;
use crate::lifecycle::credits::{CreditChange, CreditState, Refill, RefillInterval};

/// A refill from the wire; `field` names it in errors.
pub(super) fn refill_from_pb(field: &str, refill: &pb::Refill) -> Result<Refill, Status> {
    let interval = match pb::RefillInterval::try_from(refill.interval) {
        Ok(pb::RefillInterval::Daily) => {
            if refill.day != 0 {
                return Err(Status::invalid_argument(format!(
                    "{field}.day applies to monthly refills only"
                )));
            }
            RefillInterval::Daily
        }
        Ok(pb::RefillInterval::Monthly) => RefillInterval::Monthly { day: refill.day },
        _ => {
            return Err(Status::invalid_argument(format!(
                "{field}.interval must be REFILL_INTERVAL_DAILY or REFILL_INTERVAL_MONTHLY"
            )));
        }
    };
    Ok(Refill {
        interval,
        amount: refill.amount,
    })
}

/// Credits asked for at creation.
pub(super) fn new_credits(credits: Option<pb::Credits>) -> Result<Option<NewCredits>, Status> {
    credits
        .map(|c| {
            Ok(NewCredits {
                remaining: c.remaining,
                refill: c
                    .refill
                    .as_ref()
                    .map(|r| refill_from_pb("credits.refill", r))
                    .transpose()?,
            })
        })
        .transpose()
}

/// UpdateCredits' request as the engine's update.
pub(super) fn update_from_pb(request: &pb::UpdateCreditsRequest) -> Result<CreditsUpdate, Status> {
    use pb::update_credits_request::Change;
    let change = match request.change {
        Some(Change::Unlimited(true)) => {
            if request.refill.is_some() || request.clear_refill {
                return Err(Status::invalid_argument(
                    "unlimited drops the refill; give no refill or clear_refill with it",
                ));
            }
            return Ok(CreditsUpdate::Unlimited);
        }
        Some(Change::Unlimited(false)) | None => None,
        Some(Change::Set(n)) => Some(CreditChange::Set(n)),
        Some(Change::Increment(n)) => Some(CreditChange::Increment(n)),
        Some(Change::Decrement(n)) => Some(CreditChange::Decrement(n)),
    };
    let refill = match (&request.refill, request.clear_refill) {
        (Some(_), true) => {
            return Err(Status::invalid_argument(
                "give refill or clear_refill, not both",
            ));
        }
        (Some(r), false) => Some(Some(refill_from_pb("refill", r)?)),
        (None, true) => Some(None),
        (None, false) => None,
    };
    Ok(CreditsUpdate::Change { change, refill })
}

fn refill_to_pb(refill: &Refill) -> pb::Refill {
    let (interval, day) = match refill.interval {
        RefillInterval::Daily => (pb::RefillInterval::Daily, 0),
        RefillInterval::Monthly { day } => (pb::RefillInterval::Monthly, day),
    };
    pb::Refill {
        interval: interval.into(),
        amount: refill.amount,
        day,
    }
}

/// A credential's credits as shown.
pub(super) fn credits_to_pb(
    config: Option<&CreditsConfig>,
    shown: Option<CreditState>,
) -> Option<pb::Credits> {
    let config = config?;
    Some(pb::Credits {
        remaining: shown.map_or(config.state.remaining, |s| s.remaining),
        refill: config.refill.as_ref().map(refill_to_pb),
    })
}
