//! credd behind a real Envoy running `examples/envoy/envoy.yaml`: every
//! case of [`super::cases`], then credd killed with SIGKILL and Envoy
//! refusing (503, the example's `status_on_error`).

use super::cases::{Proxied, every_case, killed};
use super::fixture::Fixture;
use super::harness::envoy::Envoy;
use super::harness::tools;
use super::harness::upstream::Upstream;
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_ext_authz_end_to_end() {
    let Some(bin) = tools::envoy() else { return };
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), "");
    let fixture = Fixture::create(&daemon).await;
    let upstream = Upstream::start().await;
    let envoy = Envoy::start(&bin, daemon.addr.port(), upstream.port()).await;
    let log = || envoy.log();
    let proxied = Proxied {
        proxy: envoy.addr(),
        upstream: &upstream,
        fixture: &fixture,
        log: &log,
        own_duplicate_status: None,
    };
    every_case(&proxied, &daemon).await;
    support::assert_no_secret_in_files(dir.path(), &fixture.secrets);

    killed(&proxied, &mut daemon, 503).await;
}
