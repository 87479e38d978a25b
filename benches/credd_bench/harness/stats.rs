//! What a measurement yields: raw latencies of one or more segments and the
//! statistics (throughput, p50/p99/max, CPU per call) drawn from them.

use serde_json::{Value, json};

use super::report::round3;

/// One closed-loop measurement.
#[derive(Debug, Clone, Default)]
pub(crate) struct Stats {
    pub(crate) ops: u64,
    pub(crate) errors: u64,
    secs: f64,
    pub(crate) throughput: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    max_us: f64,
    /// Process CPU time (every thread: client, server, sled) per call,
    /// warm-up calls included.
    pub(crate) cpu_us_per_op: f64,
}

impl Stats {
    fn from_latencies(mut lat_ns: Vec<u64>, errors: u64, secs: f64) -> Self {
        lat_ns.sort_unstable();
        let pct = |q: f64| -> f64 {
            if lat_ns.is_empty() {
                return f64::NAN;
            }
            let rank = ((q * lat_ns.len() as f64).ceil() as usize).clamp(1, lat_ns.len());
            lat_ns[rank - 1] as f64 / 1_000.0
        };
        Stats {
            ops: lat_ns.len() as u64,
            errors,
            secs,
            throughput: lat_ns.len() as f64 / secs.max(1e-9),
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            max_us: lat_ns.last().map_or(f64::NAN, |v| *v as f64 / 1_000.0),
            cpu_us_per_op: f64::NAN,
        }
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "ops": self.ops,
            "errors": self.errors,
            "secs": round3(self.secs),
            "throughput_per_s": round3(self.throughput),
            "p50_us": round3(self.p50_us),
            "p99_us": round3(self.p99_us),
            "max_us": round3(self.max_us),
            "process_cpu_us_per_op": round3(self.cpu_us_per_op),
        })
    }
}

/// Raw latencies of one or more measured segments.
#[derive(Debug, Default)]
pub(crate) struct Raw {
    pub(crate) lat_ns: Vec<u64>,
    pub(crate) errors: u64,
    pub(crate) secs: f64,
    /// Calls made, warm-up included.
    pub(crate) all_ops: u64,
    /// Process CPU seconds over the same span, warm-up included.
    pub(crate) cpu_secs: f64,
}

impl Raw {
    pub(crate) fn add(&mut self, other: Raw) {
        self.lat_ns.extend(other.lat_ns);
        self.errors += other.errors;
        self.secs += other.secs;
        self.all_ops += other.all_ops;
        self.cpu_secs += other.cpu_secs;
    }

    pub(crate) fn stats(self) -> Stats {
        let cpu_us_per_op = self.cpu_secs * 1e6 / self.all_ops.max(1) as f64;
        let mut stats = Stats::from_latencies(self.lat_ns, self.errors, self.secs);
        stats.cpu_us_per_op = cpu_us_per_op;
        stats
    }
}
