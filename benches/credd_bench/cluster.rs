//! Section 10 (built with `--features etcd`): cluster mode on a real
//! 3-member etcd (Debian's etcd-server) on loopback, two credd nodes and a
//! single-node sled daemon, all real processes, measured in one run:
//!
//! - 10a Verify on a cluster node against Verify on the sled daemon, 64
//!   streams over 4 connections, alternating segments (goal >= 0.9x);
//! - 10b revocation propagation: from RevokeCredential's answer on node A
//!   to node B answering REVOKED, over 500 revocations (goal p99 <= 1 s);
//! - 10c acknowledged creates per second with 64 callers through node A
//!   against the sled daemon;
//! - 10d restart of a node holding `CREDD_BENCH_CLUSTER_KEYS` credentials
//!   (default 20,000) in its replica: resuming from the revision it
//!   recorded against a full read from etcd (a fresh data directory), time
//!   to READY.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::daemon::{Daemon, start_daemon, write_config};
use crate::harness::load::alternate;
use crate::harness::report::{Row, ratio, round3};
use crate::harness::stats::Stats;
use crate::serve::connect;
use crate::transport::daemon::{create_keys_through, round_robin_verify_op, start_with_keys};
use crate::writes::create::grpc_create;
use crate::{Ctx, fill};

#[path = "../../tests/common/etcd_cluster.rs"]
mod etcd_cluster;

const SECTION: &str = "10 cluster on etcd";
/// Revocations timed in 10b.
const REVOCATIONS: usize = 500;

/// Where a node of the bench cluster lives.
struct Node {
    work: PathBuf,
    config: PathBuf,
    data: PathBuf,
}

impl Node {
    fn new(root: &Path, name: &str, tables: &str) -> Node {
        let work = root.join(name);
        std::fs::create_dir_all(&work).expect("node dir");
        let (config, data) = (work.join("credd.toml"), work.join("data"));
        write_config(&config, &data, tables);
        Node { work, config, data }
    }

    fn start(&self) -> Daemon {
        start_daemon(&self.work, &self.config, &self.work.join("credd.log"))
    }

    fn admin_key(&self) -> String {
        std::fs::read_to_string(self.data.join("admin.key"))
            .expect("admin key")
            .trim()
            .to_string()
    }
}

/// Section 10.
pub(crate) fn cluster(ctx: &mut Ctx) {
    let Some(binary) = etcd_cluster::require_etcd("bench section 10 (cluster)") else {
        ctx.report
            .findings
            .push("section 10 skipped: etcd not found".into());
        return;
    };
    eprintln!("[bench] cluster on a 3-member etcd");
    let etcd = etcd_cluster::EtcdCluster::start(&binary, 3);
    let root = ctx.work.path().join("cluster");
    let tables = node_tables(&root, &etcd);
    let (node_a, node_b) = (
        Node::new(&root, "a", &tables),
        Node::new(&root, "b", &tables),
    );
    let a = node_a.start();
    let b = node_b.start();
    let key = node_a.admin_key();
    let keys = Arc::new(
        ctx.client_rt
            .block_on(create_keys_through(a.addr, &key, 1_000)),
    );
    let (sled, sled_keys) = start_with_keys(ctx, "cluster-sled", "");

    verify_on_a_node(ctx, &b, &keys, &sled, &sled_keys);
    propagation(ctx, &a, &b, &key, &keys);
    creates(ctx, &a, &key, &sled, &root);
    sled.terminate();
    b.terminate();
    restart(ctx, &node_a, a, &root, &tables, &etcd);
}

/// The tables of a node config: the shared pepper, no quota in the way,
/// and the cluster.
fn node_tables(root: &Path, etcd: &etcd_cluster::EtcdCluster) -> String {
    let endpoints = etcd.endpoints_toml();
    format!(
        "pepper_file = \"{}\"\n[policy]\nmax_credentials_per_account = 100000\n\
         [store]\nbackend = \"etcd\"\nendpoints = [{endpoints}]\nprefix = \"/bench/\"\n",
        root.join("pepper").display()
    )
}

/// 10a: Verify on node B against Verify on the sled daemon.
fn verify_on_a_node(
    ctx: &mut Ctx,
    node: &Daemon,
    keys: &Arc<Vec<String>>,
    sled: &Daemon,
    sled_keys: &Arc<Vec<String>>,
) {
    let (base, clustered) = ctx.client_rt.block_on(async {
        let sled_op = round_robin_verify_op(connect(sled.addr, 4).await, sled_keys.clone());
        let node_op = round_robin_verify_op(connect(node.addr, 4).await, keys.clone());
        alternate(&ctx.s, 64, sled_op, node_op).await
    });
    let thr = ratio(clustered.throughput, base.throughput);
    ctx.report
        .info(SECTION, "sled daemon Verify, c=64, 4 conn", &base);
    ctx.report.push(Row::of(
        SECTION,
        "cluster node Verify (3-member etcd), c=64, 4 conn".into(),
        &clustered,
        format!("{thr:.2}x sled"),
        "thr >= 0.9x".into(),
        Some(thr >= 0.9 && clustered.errors == 0),
        json!({ "sled": base.json(), "cluster": clustered.json(), "throughput_ratio": round3(thr) }),
    ));
}

/// 10b: revoke on A, time until B answers REVOKED.
fn propagation(ctx: &mut Ctx, a: &Daemon, b: &Daemon, key: &str, keys: &Arc<Vec<String>>) {
    use credd::api::pb;
    let n = REVOCATIONS.min(keys.len());
    let mut lat_ms: Vec<f64> = ctx.client_rt.block_on(async {
        let mut admin =
            crate::writes::create::admin_client(connect(a.addr, 1).await.remove(0), key);
        let mut lookup =
            crate::writes::create::admin_client(connect(a.addr, 1).await.remove(0), key);
        let mut verifier = pb::credential_verifier_client::CredentialVerifierClient::new(
            connect(b.addr, 1).await.remove(0),
        );
        let mut lat = Vec::with_capacity(n);
        for secret in keys.iter().take(n) {
            let found = lookup
                .lookup_credential_by_secret(pb::LookupCredentialBySecretRequest {
                    secret: secret.clone(),
                    ..Default::default()
                })
                .await
                .expect("lookup")
                .into_inner();
            let id = found.credential.expect("credential").id;
            admin
                .revoke_credential(pb::RevokeCredentialRequest {
                    id,
                    reason: "bench".into(),
                })
                .await
                .expect("revoke");
            let acked = Instant::now();
            loop {
                let answer = verifier
                    .verify(pb::VerifyRequest {
                        secret: secret.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("verify on B");
                if answer.into_inner().result() == pb::VerifyResult::Revoked {
                    break;
                }
                assert!(
                    acked.elapsed() < Duration::from_secs(10),
                    "revocation never reached B"
                );
            }
            lat.push(acked.elapsed().as_secs_f64() * 1e3);
        }
        lat
    });
    lat_ms.sort_by(f64::total_cmp);
    let pct =
        |q: f64| lat_ms[((q * lat_ms.len() as f64).ceil() as usize).clamp(1, lat_ms.len()) - 1];
    let (p50, p99, max) = (pct(0.5), pct(0.99), lat_ms[lat_ms.len() - 1]);
    ctx.report.push(Row::of(
        SECTION,
        format!("revocation on A refused on B, {n} revocations"),
        &Stats::default(),
        format!("p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms"),
        "p99 <= 1 s".into(),
        Some(p99 <= 1_000.0),
        json!({ "revocations": n, "p50_ms": round3(p50), "p99_ms": round3(p99), "max_ms": round3(max) }),
    ));
}

/// 10c: acknowledged creates per second, 64 callers, etcd vs sled.
fn creates(ctx: &mut Ctx, a: &Daemon, key: &str, sled: &Daemon, root: &Path) {
    let sled_key = std::fs::read_to_string(
        root.parent()
            .expect("work")
            .join("cluster-sled/data/admin.key"),
    )
    .expect("sled admin key")
    .trim()
    .to_string();
    let on_sled = grpc_create(&ctx.client_rt, &ctx.s, &sled_key, sled.addr, 64, "csled");
    let on_etcd = grpc_create(&ctx.client_rt, &ctx.s, key, a.addr, 64, "cetcd");
    let r = ratio(on_etcd.throughput, on_sled.throughput);
    ctx.report
        .info(SECTION, "creates on the sled daemon, 64 callers", &on_sled);
    ctx.report.push(Row::of(
        SECTION,
        "creates through node A (3-member etcd), 64 callers".into(),
        &on_etcd,
        format!("{r:.2}x sled"),
        "reported".into(),
        None,
        json!({ "sled": on_sled.json(), "etcd": on_etcd.json(), "ratio": round3(r) }),
    ));
}

/// 10d: fills the cluster through an in-process node, then times node A's
/// restart from its replica and a new node's full read.
fn restart(
    ctx: &mut Ctx,
    node: &Node,
    a: Daemon,
    root: &Path,
    tables: &str,
    etcd: &etcd_cluster::EtcdCluster,
) {
    let n: usize = std::env::var("CREDD_BENCH_CLUSTER_KEYS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(20_000);
    a.terminate();
    let before = etcd.db_size(0).unwrap_or(0);
    let filled = fill_cluster(ctx, root, tables, n);
    let per_credential = etcd.db_size(0).unwrap_or(0).saturating_sub(before) as f64 / n as f64;
    eprintln!(
        "[bench]   {n} credentials into etcd in {filled:.1} s; etcd's database grew {per_credential:.0} bytes per credential"
    );
    // Once to catch up with the fill through its watch, then the restart
    // measured: it resumes from the revision it recorded.
    node.start().terminate();
    let resumed = node.start();
    let resume_secs = resumed.ready_secs;
    resumed.terminate();
    let fresh = Node::new(root, "fresh", tables);
    let read = fresh.start();
    let full_secs = read.ready_secs;
    read.terminate();
    ctx.report.push(Row::of(
        SECTION,
        format!("node restart with {n} credentials in the cluster"),
        &Stats::default(),
        format!(
            "resume {resume_secs:.2} s, full read {full_secs:.2} s ({:.2}x); etcd {per_credential:.0} B/credential",
            ratio(full_secs, resume_secs)
        ),
        "reported".into(),
        None,
        json!({ "credentials": n, "resume_secs": round3(resume_secs), "full_read_secs": round3(full_secs), "fill_secs": round3(filled), "etcd_bytes_per_credential": round3(per_credential) }),
    ));
}

/// Commits `n` credentials through an in-process cluster node from 32
/// threads; the seconds it took.
fn fill_cluster(ctx: &Ctx, root: &Path, tables: &str, n: usize) -> f64 {
    let filler = Node::new(root, "filler", tables);
    let opened = fill::open_with_config(&filler.config, ctx.s.cache_mb);
    let started = Instant::now();
    let created = ctx.base - chrono::Duration::days(1);
    std::thread::scope(|scope| {
        for t in 0..32 {
            let opened = &opened;
            scope.spawn(move || {
                for i in (t..n).step_by(32) {
                    let (record, _) = fill::build_record(
                        opened,
                        format!("fill-{:05}", i / 1000),
                        format!("fill {i}"),
                        created,
                    );
                    fill::commit(opened, &record);
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}
