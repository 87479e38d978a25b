//! credd behind a real nginx (`auth_request`) running
//! `examples/nginx/credd.conf` against `/v1/check`: every case of
//! [`super::cases`] (the rate limit through the config's 403-to-429
//! mapping), then credd killed with SIGKILL and nginx refusing (500).

use super::cases::{Proxied, every_case, killed};
use super::fixture::{Fixture, HTTP_ON};
use super::harness::nginx::Nginx;
use super::harness::tools;
use super::harness::upstream::Upstream;
use crate::support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_end_to_end() {
    let Some(bin) = tools::nginx() else { return };
    let dir = support::temp_dir();
    let mut daemon = support::start(dir.path(), HTTP_ON);
    let fixture = Fixture::create(&daemon).await;
    let upstream = Upstream::start().await;
    let http = daemon.http_addr.expect("http listener");
    let nginx = Nginx::start(&bin, http.port(), upstream.port()).await;
    let log = || nginx.error_log();
    let proxied = Proxied {
        proxy: nginx.addr(),
        upstream: &upstream,
        fixture: &fixture,
        log: &log,
        own_duplicate_status: Some(400),
    };
    every_case(&proxied, &daemon).await;
    support::assert_no_secret_in_files(dir.path(), &fixture.secrets);

    killed(&proxied, &mut daemon, 500).await;
}
