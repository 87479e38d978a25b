//! A paired transport measurement (sections 1 and 1b): a baseline RPC and
//! Verify at one concurrency in alternating segments, and the one row shape
//! both sections report Verify with.

use serde_json::Value;

use crate::harness::report::{Row, ratio, round3};
use crate::harness::stats::Stats;

/// A baseline RPC and Verify, measured in alternating segments.
pub(super) struct Pair {
    pub(super) base: Stats,
    pub(super) verify: Stats,
    /// Verify's throughput over the baseline's.
    pub(super) thr: f64,
    /// Verify's p99 over the baseline's.
    pub(super) p99: f64,
}

impl Pair {
    pub(super) fn new((base, verify): (Stats, Stats)) -> Self {
        let thr = ratio(verify.throughput, base.throughput);
        let p99 = ratio(verify.p99_us, base.p99_us);
        Pair {
            base,
            verify,
            thr,
            p99,
        }
    }

    /// Process CPU microseconds per call that Verify costs over the baseline.
    pub(super) fn cpu_delta_us(&self) -> f64 {
        self.verify.cpu_us_per_op - self.base.cpu_us_per_op
    }

    /// Whether Verify keeps at least `min_thr` of the baseline's throughput
    /// and a p99 within `max_p99` of its p99, without errors.
    pub(super) fn passes(&self, min_thr: f64, max_p99: f64) -> bool {
        self.thr >= min_thr && self.p99 <= max_p99 && self.verify.errors == 0
    }

    /// Verify's row: its rate and latencies, its ratios to the baseline and
    /// `cpu` (what follows "cpu/call "); its JSON is the object `fields`
    /// followed by the two ratios.
    pub(super) fn row(
        &self,
        section: &'static str,
        scenario: String,
        cpu: String,
        goal: String,
        pass: Option<bool>,
        fields: Value,
    ) -> Row {
        let mut json = fields;
        json["throughput_ratio"] = round3(self.thr);
        json["p99_ratio"] = round3(self.p99);
        Row::of(
            section,
            scenario,
            &self.verify,
            format!("thr {:.2}x, p99 {:.2}x, cpu/call {cpu}", self.thr, self.p99),
            goal,
            pass,
            json,
        )
    }
}
