//! Section 9, metering overhead: `Engine::verify` of keys that carry
//! credits (spent on every call, never running out) against keys that do
//! not, on the same engine (the small store's), in alternating segments.
//! Both kinds are made the same way (through the engine, in the same
//! accounts), so that the credits are their only difference; both are
//! counted per day: counting is always on, so the baseline includes it.

use credd::engine::{Actor, NewCredential, NewCredits};
use serde_json::json;

use crate::Ctx;
use crate::harness::report::{Row, ratio, round3};
use crate::small::SmallStore;
use crate::verify::compare_direct_verify;

const SECTION: &str = "9 metering overhead";
/// Metered keys created (through the engine, so their records are real),
/// and as many plain ones: 25 of each in each of 40 accounts (under the
/// default quota of 100).
const METERED: usize = 1000;
/// Accounts the keys of both kinds are spread over.
const ACCOUNTS: usize = 40;

/// 9: plain keys vs metered keys on the small store's engine.
pub(crate) fn metering(ctx: &mut Ctx, small: &SmallStore) {
    eprintln!("[bench] metering: {METERED} keys with credits vs plain keys");
    let engine = &small.opened.engine;
    let (plain, metered): (Vec<String>, Vec<String>) = ctx.client_rt.block_on(async {
        let mut keys = (Vec::with_capacity(METERED), Vec::with_capacity(METERED));
        for i in 0..METERED {
            for (metered, into) in [(false, &mut keys.0), (true, &mut keys.1)] {
                let (_, secret) = engine
                    .create(&Actor::unrestricted("bench"), key(i, metered))
                    .await
                    .expect("create a key");
                into.push(secret.expose().to_string());
            }
        }
        keys
    });
    let (base, with) = compare_direct_verify(&ctx.s, (engine, &plain), (engine, &metered));
    let r = ratio(with.throughput, base.throughput);
    let pass = r >= 0.9 && with.errors == 0;
    ctx.report.info(
        SECTION,
        "Engine::verify direct, 1 thread, plain keys",
        &base,
    );
    ctx.report.push(Row::of(
        SECTION,
        "Engine::verify direct, 1 thread, keys with credits".to_string(),
        &with,
        format!(
            "thr {r:.2}x, cpu/call {:+.1} µs",
            with.cpu_us_per_op - base.cpu_us_per_op
        ),
        ">= 0.9x".to_string(),
        Some(pass),
        json!({"plain": base.json(), "metered": with.json(), "throughput_ratio": round3(r)}),
    ));
    if !pass {
        ctx.report.findings.push(format!(
            "metering: Verify of keys with credits ran at {r:.2}x of plain keys (goal >= 0.9x); errors {}",
            with.errors
        ));
    }
}

/// The `i`th key of its kind: with credits that never run out, or none.
fn key(i: usize, metered: bool) -> NewCredential {
    NewCredential {
        credits: metered.then_some(NewCredits {
            remaining: 1_000_000_000_000,
            refill: None,
        }),
        ..crate::api_key(
            format!("bench-metering-{}", i % ACCOUNTS),
            format!("metering {i} {metered}"),
        )
    }
}
