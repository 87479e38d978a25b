//! The report being built: its rows (printed live and in the table) and
//! missed goals, and how numbers are formatted in them.

use serde_json::{Value, json};

use super::stats::Stats;

/// A row of the printed table (and of the JSON).
pub(crate) struct Row {
    pub(crate) section: &'static str,
    pub(crate) scenario: String,
    pub(crate) throughput: String,
    pub(crate) p50: String,
    pub(crate) p99: String,
    pub(crate) versus: String,
    pub(crate) goal: String,
    /// None: informational, no goal.
    pub(crate) pass: Option<bool>,
    pub(crate) json: Value,
}

impl Row {
    /// A row of measurement `s`: its rate, p50 and p99.
    pub(crate) fn of(
        section: &'static str,
        scenario: String,
        s: &Stats,
        versus: String,
        goal: String,
        pass: Option<bool>,
        json: Value,
    ) -> Row {
        Row {
            section,
            scenario,
            throughput: rate(s.throughput),
            p50: micros(s.p50_us),
            p99: micros(s.p99_us),
            versus,
            goal,
            pass,
            json,
        }
    }
}

/// The rows so far, in run order, and the goals missed.
#[derive(Default)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    pub(crate) findings: Vec<String>,
}

impl Report {
    /// An informational row of `s`: a baseline, no goal.
    pub(crate) fn info(&mut self, section: &'static str, scenario: impl Into<String>, s: &Stats) {
        self.push(Row::of(
            section,
            scenario.into(),
            s,
            "baseline".to_string(),
            String::new(),
            None,
            s.json(),
        ));
    }

    /// Adds `row`, printing it at once (to stderr).
    pub(crate) fn push(&mut self, row: Row) {
        let mark = match row.pass {
            Some(true) => " PASS",
            Some(false) => " MISS",
            None => "",
        };
        eprintln!(
            "[bench] {:<28} {:<58} {:>12} p50 {:>9} p99 {:>9} {}{}",
            row.section, row.scenario, row.throughput, row.p50, row.p99, row.versus, mark
        );
        self.rows.push(row);
    }
}

pub(crate) fn round3(x: f64) -> Value {
    if x.is_finite() {
        json!((x * 1000.0).round() / 1000.0)
    } else {
        Value::Null
    }
}

pub(crate) fn rate(per_s: f64) -> String {
    if !per_s.is_finite() {
        return "-".to_string();
    }
    if per_s >= 10_000.0 {
        format!("{:.1}K/s", per_s / 1_000.0)
    } else {
        format!("{per_s:.0}/s")
    }
}

pub(crate) fn micros(us: f64) -> String {
    if !us.is_finite() {
        "-".to_string()
    } else if us >= 1_000_000.0 {
        format!("{:.2} s", us / 1_000_000.0)
    } else if us >= 1_000.0 {
        format!("{:.2} ms", us / 1_000.0)
    } else {
        format!("{us:.0} µs")
    }
}

pub(crate) fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    a / b
}

pub(crate) fn count_label(n: usize) -> String {
    if n >= 1_000_000 && n % 1_000_000 == 0 {
        format!("{}M", n / 1_000_000)
    } else if n >= 1_000 && n % 1_000 == 0 {
        format!("{}K", n / 1_000)
    } else {
        n.to_string()
    }
}
