//! Daily usage as a server-rendered SVG bar chart: one bar per day, valid
//! answers and refusals stacked, no script.

use chrono::NaiveDate;
use maud::{Markup, html};

use crate::engine::UsageDay;
use crate::lifecycle::UsageBucket;

const WIDTH: u32 = 600;
const HEIGHT: u32 = 120;

/// The chart of `days` (those with counts) over the `span` days ending at
/// `last`.
pub(super) fn usage(days: &[UsageDay], last: NaiveDate, span: u32) -> Markup {
    let first = last - chrono::Duration::days(i64::from(span) - 1);
    let totals: Vec<(u64, u64)> = (0..span)
        .map(|i| {
            let date = first + chrono::Duration::days(i64::from(i));
            days.iter().find(|d| d.date == date).map_or((0, 0), |d| {
                let valid = d.counts.get(UsageBucket::Valid);
                let all: u64 = d.counts.0.iter().sum();
                (valid, all - valid)
            })
        })
        .collect();
    let peak = totals.iter().map(|(v, r)| v + r).max().unwrap_or(0).max(1);
    let bar = WIDTH / span.max(1);
    let scale = |n: u64| (n * u64::from(HEIGHT - 20) / peak) as u32;
    let label = format!(
        "Daily usage from {first} to {last}: {} valid, {} refused",
        totals.iter().map(|t| t.0).sum::<u64>(),
        totals.iter().map(|t| t.1).sum::<u64>()
    );
    html! {
        svg #usage-chart xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img" aria-label=(label) {
            title { (label) }
            @for (i, (valid, refused)) in totals.iter().enumerate() {
                @let x = i as u32 * bar;
                @let hv = scale(*valid);
                @let hr = scale(*refused);
                @if hv > 0 {
                    rect.valid x=(x) y=(HEIGHT - 10 - hv) width=(bar.saturating_sub(2).max(1)) height=(hv) {
                        title { (first + chrono::Duration::days(i as i64)) ": " (valid) " valid" }
                    }
                }
                @if hr > 0 {
                    rect.refused x=(x) y=(HEIGHT - 10 - hv - hr) width=(bar.saturating_sub(2).max(1)) height=(hr) {
                        title { (first + chrono::Duration::days(i as i64)) ": " (refused) " refused" }
                    }
                }
            }
            text x="0" y=(HEIGHT) font-size="10" { (first) }
            text x=(WIDTH - 60) y=(HEIGHT) font-size="10" { (last) }
            line x1="0" y1=(HEIGHT - 10) x2=(WIDTH) y2=(HEIGHT - 10) stroke="#b0b8c4" {}
            @if totals.iter().all(|(v, r)| v + r == 0) {
                text x="0" y="10" font-size="10" { "no Verify answers in these days" }
            } @else {
                text x="0" y="10" font-size="10" { "peak " (peak) "/day" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::UsageCounts;

    #[test]
    fn bars_scale_to_the_peak_and_empty_days_draw_none() {
        let last = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let mut counts = UsageCounts::default();
        for _ in 0..10 {
            counts.count(UsageBucket::Valid);
        }
        counts.count(UsageBucket::Revoked);
        let days = [UsageDay { date: last, counts }];
        let svg = usage(&days, last, 30).into_string();
        assert!(svg.contains("10 valid, 1 refused"), "{svg}");
        assert_eq!(svg.matches("<rect class=\"valid\"").count(), 1);
        assert_eq!(svg.matches("<rect class=\"refused\"").count(), 1);
        assert!(svg.contains("peak 11/day"));
        let empty = usage(&[], last, 30).into_string();
        assert!(!empty.contains("<rect"));
        assert!(empty.contains("2026-11-05"), "the first day of 30");
    }
}
