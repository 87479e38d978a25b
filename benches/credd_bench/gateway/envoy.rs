//! 6c: requests through Envoy (the shipped `examples/envoy/envoy.yaml`)
//! with the ext_authz filter asking the bench's credd, against the same
//! config with the filter cut out, both to one echo upstream; 64 callers,
//! each on its own HTTP/1.1 connection to Envoy, in alternating segments.
//! Reported, not judged: Envoy's own hop dominates, and the ratio tells
//! users what credd costs them. Envoy and the upstream are the integration
//! tests' harness; without Envoy the rows say so.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;

use super::{CONCURRENCY, SECTION};
use crate::Ctx;
use crate::harness::report::{Row, ratio, round3};

#[path = "../../../tests/it/gateway/harness/mod.rs"]
#[allow(unused_imports)]
mod proxies;

use proxies::envoy::Envoy;
use proxies::upstream::Upstream;

/// 6c, when Envoy is installed.
pub(super) fn through_envoy(ctx: &mut Ctx, credd: SocketAddr, keys: &Arc<Vec<String>>) {
    let Some(bin) = proxies::tools::envoy() else {
        ctx.report.findings.push(
            "6c skipped: Envoy not found (run bash .ci/test once, or set CREDD_TEST_ENVOY)"
                .to_string(),
        );
        return;
    };
    eprintln!("[bench] through Envoy: ext_authz to credd vs no auth filter");
    let s = &ctx.s;
    let ((plain, _), (authz, _)) = ctx.client_rt.block_on(async {
        let upstream = Upstream::start().await;
        let with = Envoy::start(&bin, credd.port(), upstream.port()).await;
        let without = Envoy::start_without_auth(&bin, upstream.port()).await;
        let plain = super::http::connections(without.addr()).await;
        let authz = super::http::connections(with.addr()).await;
        let plain = super::http::op(plain, "/", Some(keys.clone()));
        let authz = super::http::op(authz, "/", Some(keys.clone()));
        crate::harness::load::alternate_probed(s, CONCURRENCY, plain, authz, &|| 0.0).await
    });
    let thr = ratio(authz.throughput, plain.throughput);
    let p99 = ratio(authz.p99_us, plain.p99_us);
    ctx.report.info(
        SECTION,
        "Envoy, no auth filter, to the echo upstream, c=64".to_string(),
        &plain,
    );
    ctx.report.push(Row::of(
        SECTION,
        "Envoy + ext_authz -> credd, to the echo upstream, c=64".to_string(),
        &authz,
        format!("thr {thr:.2}x, p99 {p99:.2}x"),
        "reported".to_string(),
        None,
        json!({
            "no_auth": plain.json(),
            "ext_authz": authz.json(),
            "throughput_ratio": round3(thr),
            "p99_ratio": round3(p99),
        }),
    ));
}
