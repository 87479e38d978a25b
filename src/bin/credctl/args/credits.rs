//! The flags of `credctl credits` (and the refill spec `create` shares).

use clap::ArgGroup;

use credd::api::pb;

/// Change a credential's remaining uses and refill.
#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("change").args(["set", "increment", "decrement", "unlimited"])))]
#[command(group(ArgGroup::new("refills").args(["refill", "clear_refill"])))]
pub(crate) struct CreditsArgs {
    /// Credential id.
    pub(crate) id: String,
    /// Set the uses left to exactly this.
    #[arg(long)]
    pub(crate) set: Option<u64>,
    /// Add this many uses.
    #[arg(long)]
    pub(crate) increment: Option<u64>,
    /// Take this many uses away (not below zero).
    #[arg(long)]
    pub(crate) decrement: Option<u64>,
    /// No limit any more (drops the refill).
    #[arg(long)]
    pub(crate) unlimited: bool,
    /// Refill: daily:AMOUNT or monthly:DAY:AMOUNT (00:00 UTC).
    #[arg(long, value_parser = parse_refill)]
    pub(crate) refill: Option<pb::Refill>,
    /// Remove the refill.
    #[arg(long)]
    pub(crate) clear_refill: bool,
}

/// `daily:AMOUNT` or `monthly:DAY:AMOUNT`.
pub(crate) fn parse_refill(text: &str) -> Result<pb::Refill, String> {
    let number = |s: &str, what: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{what} {s:?} is not a whole number"))
    };
    match text.split(':').collect::<Vec<_>>().as_slice() {
        ["daily", amount] => Ok(pb::Refill {
            interval: pb::RefillInterval::Daily.into(),
            amount: number(amount, "amount")?,
            day: 0,
        }),
        ["monthly", day, amount] => Ok(pb::Refill {
            interval: pb::RefillInterval::Monthly.into(),
            amount: number(amount, "amount")?,
            day: u32::try_from(number(day, "day")?).map_err(|_| "day is too large".to_string())?,
        }),
        _ => Err(format!(
            "{text:?} is not a refill; use daily:AMOUNT or monthly:DAY:AMOUNT"
        )),
    }
}
