//! The shipped proxy configs are valid for the real proxies (`envoy --mode
//! validate`, `nginx -t`), and the Envoy baseline without ext_authz (what the
//! bench compares against) proxies straight to the upstream.

use super::harness::client::Request;
use super::harness::upstream::Upstream;
use super::harness::{envoy, free_port, nginx, tools};

#[test]
fn envoy_example_validates_with_and_without_ext_authz() {
    let Some(bin) = tools::envoy() else { return };
    for authz in [true, false] {
        let yaml = envoy::config(50051, 8080, authz);
        assert_eq!(yaml.contains("envoy.filters.http.ext_authz\n"), authz);
        if let Err(complaint) = envoy::validate(&bin, &yaml) {
            panic!("examples/envoy/envoy.yaml (ext_authz: {authz}) is invalid:\n{complaint}");
        }
    }
}

#[test]
fn nginx_example_passes_nginx_t() {
    let Some(bin) = tools::nginx() else { return };
    let conf = nginx::server_config(free_port(), 8081, 8080);
    if let Err(complaint) = nginx::validate(&bin, &conf) {
        panic!("examples/nginx/credd.conf is invalid:\n{complaint}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn envoy_without_auth_proxies_straight_to_the_upstream() {
    let Some(bin) = tools::envoy() else { return };
    let upstream = Upstream::start().await;
    let envoy = envoy::Envoy::start_without_auth(&bin, upstream.port()).await;

    let answer = Request::get("/orders/7")
        .header("x-test", [0xff, b'a'])
        .send(envoy.addr())
        .await;
    assert_eq!(answer.status, 200, "{}\n{}", answer.text(), envoy.log());
    assert_eq!(answer.json()["path"], "/orders/7");
    let seen = upstream.last().expect("the request reached the upstream");
    assert_eq!(seen.path, "/orders/7");
    assert_eq!(seen.headers.all("x-test"), vec![&[0xff, b'a'][..]]);
}
