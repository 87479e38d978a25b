//! The small store (`CREDD_BENCH_SMALL`): filled and served once, then
//! shared by the transport rows and the small side of the flat rows.

use std::sync::Arc;

use crate::Ctx;
use crate::fill::{FillPlan, Opened, open_filled};
use crate::harness::report::count_label;
use crate::serve::{Served, serve, verifier_router};

/// The small store: open and served from the transport rows to the flat rows,
/// so the two store sizes can be measured in alternating segments.
pub(crate) struct SmallStore {
    pub(crate) opened: Opened,
    pub(crate) keys: Arc<Vec<String>>,
    pub(crate) server: Served,
    pub(crate) label: String,
}

pub(crate) fn small_store(ctx: &mut Ctx) -> SmallStore {
    eprintln!(
        "[bench] filling the small store ({} credentials)",
        ctx.s.small
    );
    let (opened, filled) = open_filled(
        ctx,
        &ctx.work.path().join("small"),
        ctx.s.cache_mb,
        &FillPlan::plain(ctx.s.small, ctx.s.sample),
    );
    eprintln!(
        "[bench]   {} credentials in {:.1} s",
        filled.records, filled.secs
    );
    let server = serve(&ctx.server_rt, verifier_router(&opened.engine));
    SmallStore {
        opened,
        keys: Arc::new(filled.sample),
        server,
        label: count_label(filled.records),
    }
}
