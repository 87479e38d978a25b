//! The end of a run: the table printed grouped by section, its notes and
//! missed goals, and the JSON file.

use chrono::Utc;
use comfy_table::{ContentArrangement, Table, presets};
use serde_json::{Value, json};

use super::report::{Row, round3};
use crate::Ctx;

/// Prints the table, notes and missed goals, and writes the JSON file.
pub(crate) fn print_and_write(ctx: &Ctx, wall: f64, load_start: &str, load_end: &str) {
    // Grouped by section (the run order differs); stable within a section.
    let mut sorted: Vec<&Row> = ctx.report.rows.iter().collect();
    sorted.sort_by_key(|row| row.section);
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "credd benchmark: {cores} cores, {:.0} s wall, loadavg at start {load_start} / end {load_end}",
        wall
    );
    println!("{}", table(&sorted));
    print_notes(ctx);
    let machine = json!({"cores": cores, "loadavg_start": load_start, "loadavg_end": load_end});
    write_json(ctx, &sorted, wall, machine);
}

/// The rows as a table.
fn table(sorted: &[&Row]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "section",
            "scenario",
            "throughput",
            "p50",
            "p99",
            "vs baseline",
            "goal",
            "result",
        ]);
    for row in sorted {
        table.add_row(vec![
            row.section.to_string(),
            row.scenario.clone(),
            row.throughput.clone(),
            row.p50.clone(),
            row.p99.clone(),
            row.versus.clone(),
            row.goal.clone(),
            match row.pass {
                Some(true) => "PASS".to_string(),
                Some(false) => "MISS".to_string(),
                None => "info".to_string(),
            },
        ]);
    }
    table
}

/// What the rows measured, and the goals missed.
fn print_notes(ctx: &Ctx) {
    println!("Notes:");
    println!(
        "- Closed loop: each caller sends its next request when the previous one is answered. Client and server share this machine's cores (separate 2-thread tokio runtimes, loopback TCP, servers built like the daemon's). Paired rows (no-op/Verify, small/large store) run in {} alternating segments totalling {} s each, after {} s of warm-up.",
        ctx.s.segments, ctx.s.secs, ctx.s.warmup
    );
    println!(
        "- 1: the no-op server implements credd's generated CredentialVerifier and returns a fixed VALID response of the same shape, with no lookup; Verify is the real VerifierService over an Engine on a sled store (cache_capacity_mb={}) with the default verify cache (200,000 entries).",
        ctx.s.cache_mb
    );
    println!(
        "- 2: Verify of random keys drawn from up to {} plaintexts kept at fill time, spread evenly over the store, each VALID with one required scope; 'direct' is Engine::verify in a loop on one thread (no transport), after one pass over every sampled key on both stores (the keys in use are then in the verify cache). Stores are filled with Store::commit (no audit rows).",
        ctx.s.sample
    );
    println!(
        "- 3: per round, one group of {} credentials falls due (inactivity disable) and Engine::sweep runs with a manual clock just past it; its time includes its per-batch flushes. The large store holds every round's group from the start.",
        ctx.s.due
    );
    println!(
        "- 4: CreateCredential over gRPC to the real AdminService; each answer comes after Store::flush (group commit), so every counted create is acknowledged durable. Serial: one caller, one flush per create. The probe rows time the pieces serially."
    );
    println!(
        "- 5: the large store is filled in-process (sled cache {} MiB while filling), closed, then the real credd binary ({}) is started on it with cache_capacity_mb={}. READY is its sd_notify datagram on a socket the bench listens on, timed from spawn; the OS page cache is warm (the store was just written). sled 0.34 writes its snapshot only when a database is opened and replays the log written since the last open, so the first start after the fill replays the whole fill, and the restarts after it replay little. RSS is VmRSS/VmHWM from /proc/<pid>/status of that process alone.",
        ctx.s.fill_cache_mb,
        env!("CARGO_BIN_EXE_credd"),
        ctx.s.daemon_cache_mb
    );
    if !ctx.report.findings.is_empty() {
        println!("Missed goals:");
        for finding in &ctx.report.findings {
            println!("- {finding}");
        }
    }
}

/// The JSON file (`CREDD_BENCH_JSON`): settings, rows, missed goals, extra.
fn write_json(ctx: &Ctx, sorted: &[&Row], wall: f64, machine: Value) {
    let rows: Vec<Value> = sorted
        .iter()
        .map(|row| {
            json!({
                "section": row.section,
                "scenario": row.scenario,
                "throughput": row.throughput,
                "p50": row.p50,
                "p99": row.p99,
                "vs_baseline": row.versus,
                "goal": row.goal,
                "pass": row.pass,
                "data": row.json,
            })
        })
        .collect();
    let out = json!({
        "generated_at": Utc::now().to_rfc3339(),
        "machine": machine,
        "wall_secs": round3(wall),
        "settings": {
            "large": ctx.s.large,
            "small": ctx.s.small,
            "huge": ctx.s.huge,
            "secs": ctx.s.secs,
            "warmup_secs": ctx.s.warmup,
            "due": ctx.s.due,
            "sweep_rounds": ctx.s.rounds,
            "cache_capacity_mb": ctx.s.cache_mb,
            "fill_cache_capacity_mb": ctx.s.fill_cache_mb,
            "diag_cache_capacity_mb": ctx.s.diag_cache_mb,
            "segments": ctx.s.segments,
            "sample": ctx.s.sample,
            "only": ctx.s.only,
        },
        "rows": rows,
        "missed": ctx.report.findings,
        "extra": ctx.extra,
    });
    if let Some(parent) = ctx.s.json.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    std::fs::write(
        &ctx.s.json,
        serde_json::to_string_pretty(&out).expect("json"),
    )
    .expect("write json");
    println!("JSON: {}", ctx.s.json.display());
}
