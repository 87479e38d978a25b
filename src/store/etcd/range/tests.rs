//! The full read against a real etcd (the test process's shared one, under
//! a prefix of its own): every key under the prefix once, across split
//! trees, pages cut by the message limit, keys at page boundaries, empty
//! trees and the gaps between trees, at one revision. And, ignored (it
//! writes a million keys to an etcd of its own), the measurement of the
//! read against the one before it (`old.rs`): run it with
//! `CREDD_TEST_ETCD=/usr/bin/etcd cargo test --release --features etcd --lib
//! store::etcd::range::tests::measure -- --ignored --nocapture`
//! (`CREDD_RANGE_KEYS=100000,300000` by default).

use std::collections::BTreeMap;
use std::time::Instant;

use etcd_client::{Client, Txn, TxnOp};

use super::*;
use crate::store::tests::etcd_cluster;

/// A runtime like the cluster's own.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Writes every pair, 128 puts a `Txn`, 16 `Txn`s at once.
async fn put_all(client: &Client, pairs: Vec<(Vec<u8>, Vec<u8>)>) {
    let mut batches = pairs.chunks(128).map(<[_]>::to_vec).collect::<Vec<_>>();
    let mut running = tokio::task::JoinSet::new();
    while !batches.is_empty() || !running.is_empty() {
        while running.len() < 16 {
            let Some(batch) = batches.pop() else { break };
            let mut kv = client.kv_client();
            running.spawn(async move {
                let ops: Vec<TxnOp> = batch
                    .into_iter()
                    .map(|(k, v)| TxnOp::put(k, v, None))
                    .collect();
                kv.txn(Txn::new().and_then(ops)).await.unwrap();
            });
        }
        if let Some(done) = running.join_next().await {
            done.unwrap();
        }
    }
}

/// A key-order-preserving text of `n` in `width` Crockford base-32 digits.
fn base32(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[usize::try_from(n % 32).unwrap()];
        n /= 32;
    }
    String::from_utf8(out).unwrap()
}

/// 32 bytes from `seed`, spread over the whole byte range (xorshift).
fn hash_bytes(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_be_bytes()[0]
        })
        .collect()
}

/// Reads everything under `prefix` into a map, checking no key comes twice.
async fn read_all(
    kv: &KvClient,
    prefix: &[u8],
    limits: (usize, i64),
) -> (i64, BTreeMap<Vec<u8>, Vec<u8>>) {
    let mut seen = BTreeMap::new();
    let revision = read_prefix_within(kv, prefix, limits, |kvs| {
        for kv in kvs {
            let old = seen.insert(kv.key().to_vec(), kv.value().to_vec());
            assert!(
                old.is_none(),
                "read twice: {:?}",
                String::from_utf8_lossy(kv.key())
            );
        }
        Ok(())
    })
    .await
    .unwrap();
    (revision, seen)
}

/// The midpoint lies between its ends in key order.
#[test]
fn midpoint_lies_between() {
    let cases: [(&[u8], &[u8]); 5] = [
        (b"/credd/audit/\0", b"/credd0"),
        (b"a", b"c"),
        (b"abc\xff", b"abd"),
        (b"/p/secret_index/\x10\0", b"/p/secret_index/\x90"),
        (b"x", b"x\0\x01"),
    ];
    for (a, b) in cases {
        let m = midpoint(a, b);
        assert!(a <= m.as_slice() && m.as_slice() <= b, "{a:?} {m:?} {b:?}");
    }
    assert_eq!(midpoint(b"a", b"c"), b"b");
}

/// The ranges of the prefix, and the parts of a split, run end to end.
#[test]
fn ranges_cover_the_prefix_end_to_end() {
    let end_to_end = |ranges: &[(Vec<u8>, Vec<u8>)], start: &[u8], end: &[u8]| {
        assert_eq!(ranges.first().unwrap().0, start);
        assert_eq!(ranges.last().unwrap().1, end);
        for pair in ranges.windows(2) {
            assert!(pair[0].0 < pair[0].1, "{pair:?}");
            assert_eq!(pair[0].1, pair[1].0);
        }
    };
    let ranges = cover(b"/credd/", REPLICATED);
    end_to_end(&ranges, b"/credd/", b"/credd0");
    assert!(ranges.contains(&(
        b"/credd/credentials/".to_vec(),
        b"/credd/credentials0".to_vec()
    )));
    let parts = split(b"/p/credentials/", b"/p/credentials0");
    assert_eq!(parts.len(), 257);
    end_to_end(&parts, b"/p/credentials/", b"/p/credentials0");
    let parts = split(b"/p/a", b"/p/z");
    assert_eq!(parts.len(), 2);
    end_to_end(&parts, b"/p/a", b"/p/z");
    assert_eq!(split(b"x", b"x\0").len(), 1);
}

/// Every key under the prefix is read once, with its value, at the
/// revision the read returns: a tree split (past the prefix its keys
/// share) because it has more keys than one list may hold, pages longer than the message limit, lists longer
/// than it, a tree of exactly three pages, a key equal to a tree's prefix,
/// the gaps between trees, an empty tree; keys just past the prefix are
/// not read, nor are writes made while the read goes on.
#[test]
fn reads_every_key_once_at_one_revision() {
    let Some(binary) = etcd_cluster::require_etcd("store::etcd::range::reads_every_key") else {
        return;
    };
    let endpoints = etcd_cluster::shared(&binary).endpoints();
    let prefix = format!("/credd-range-{}/", std::process::id()).into_bytes();
    let key = |tree: &str, rest: &[u8]| [&prefix[..], tree.as_bytes(), b"/", rest].concat();
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    // More than LIST keys sharing a long prefix, as credential ids do.
    for i in 0..25_000u64 {
        let id = format!("cred_01JX{}", base32(i * 7_919, 8));
        let len = usize::try_from(40 + i % 200).unwrap();
        pairs.push((key("credentials", id.as_bytes()), vec![b'v'; len]));
    }
    // Values of 8 KiB: a page of 1,000 is over 1 MiB many times.
    for i in 0..1_500u64 {
        let mut value = vec![b'a'; 8_192];
        value[..8].copy_from_slice(&i.to_be_bytes());
        pairs.push((key("audit", &i.to_be_bytes()), value));
    }
    // Exactly three pages of binary keys over the whole byte range.
    for i in 0..3_000u64 {
        pairs.push((
            key("secret_index", &hash_bytes(i)),
            i.to_be_bytes().to_vec(),
        ));
    }
    pairs.push((key("secret_index", &[0]), b"lowest".to_vec()));
    pairs.push((key("secret_index", &[0xff; 40]), b"highest".to_vec()));
    pairs.push((key("accounts", b""), b"the tree's own prefix".to_vec()));
    for gap in [&b"aaa"[..], b"cluster/tick", b"cluster/leader/7", b"zzz"] {
        pairs.push(([&prefix[..], gap].concat(), gap.to_vec()));
    }
    let expected: BTreeMap<Vec<u8>, Vec<u8>> = pairs.iter().cloned().collect();
    let outside = prefix_end(&prefix);
    pairs.push((outside.clone(), b"not under the prefix".to_vec()));

    let runtime = runtime();
    runtime.block_on(async {
        let client = Client::connect(&endpoints, None).await.unwrap();
        put_all(&client, pairs).await;
        let kv = client.kv_client();

        // With the cluster's limits; with lists of 5,000 keys at most (the
        // credentials split, past their shared `cred_01JX`); with answers
        // of 1 MiB at most (lists and pages cut smaller).
        for limits in [(MESSAGE, LIST), (MESSAGE, 5_000), (1 << 20, LIST)] {
            let (revision, seen) = read_all(&kv, &prefix, limits).await;
            assert!(revision > 0);
            assert_eq!(seen.len(), expected.len(), "limits {limits:?}");
            assert!(seen == expected, "limits {limits:?}: values differ");
        }

        // Writes while the read goes on (before its first page is taken)
        // are not seen: a new key, a removed one, a changed value, each in
        // a range the read has not reached yet.
        let removed = key("secret_index", &hash_bytes(5));
        let changed = [&prefix[..], b"zzz"].concat();
        let added = key("webhooks", b"new");
        let mut wrote_at = 0;
        let mut seen = BTreeMap::new();
        let revision = read_prefix_within(&kv, &prefix, (MESSAGE, 5_000), |kvs| {
            if wrote_at == 0 {
                let (endpoints, removed, changed, added) = (
                    endpoints.clone(),
                    removed.clone(),
                    changed.clone(),
                    added.clone(),
                );
                wrote_at = std::thread::spawn(move || {
                    runtime_current().block_on(async move {
                        let mut kv = Client::connect(&endpoints, None).await.unwrap().kv_client();
                        kv.delete(removed, None).await.unwrap();
                        kv.put(added, "new", None).await.unwrap();
                        let put = kv.put(changed, "changed", None).await.unwrap();
                        put.header().unwrap().revision()
                    })
                })
                .join()
                .unwrap();
            }
            seen.extend(
                kvs.iter()
                    .map(|kv| (kv.key().to_vec(), kv.value().to_vec())),
            );
            Ok(())
        })
        .await
        .unwrap();
        assert!(revision < wrote_at, "{revision} {wrote_at}");
        assert!(
            seen == expected,
            "the read saw writes made after its revision"
        );
        assert!(!seen.contains_key(&outside));
        let (_, now) = read_all(&kv, &prefix, (MESSAGE, LIST)).await;
        assert!(!now.contains_key(&removed) && now.contains_key(&added));
        assert_eq!(now[&changed], b"changed");
        kv.clone()
            .delete(
                prefix.clone(),
                Some(etcd_client::DeleteOptions::new().with_prefix()),
            )
            .await
            .unwrap();
    });
}

/// A runtime for a thread of its own.
fn runtime_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Times the full read of N keys shaped like credd's (5 trees: credential
/// ids, secret hashes, account index, deadlines, last-used) against the
/// read before it, on a single-member etcd of its own. Ignored: it writes
/// over a million keys; run it by hand (see the module's doc).
#[test]
#[ignore = "a measurement: writes up to millions of keys to an etcd of its own"]
fn measure() {
    let binary = etcd_cluster::etcd_binary().expect("etcd (set CREDD_TEST_ETCD)");
    let etcd = etcd_cluster::EtcdCluster::start(&binary, 1);
    let sizes: Vec<u64> = std::env::var("CREDD_RANGE_KEYS")
        .unwrap_or_else(|_| "100000,300000".into())
        .split(',')
        .map(|n| n.trim().parse().expect("CREDD_RANGE_KEYS: numbers"))
        .collect();
    let runtime = runtime();
    runtime.block_on(async {
        let client = Client::connect(&etcd.endpoints(), None).await.unwrap();
        for n in sizes {
            let prefix = format!("/measure-{n}/").into_bytes();
            let key = |tree: &str, rest: &[u8]| [&prefix[..], tree.as_bytes(), b"/", rest].concat();
            let mut pairs = Vec::new();
            for i in 0..n / 5 {
                let id = format!("cred_01JX{}", base32(hash_bytes(i).iter().fold(0, |a, b| a << 8 | u64::from(*b)), 13));
                pairs.push((key("credentials", id.as_bytes()), vec![b'r'; 500]));
                pairs.push((key("secret_index", &hash_bytes(i)), id.as_bytes().to_vec()));
                let by_account = format!("acct_{:04}\0{id}", i % 1_000);
                pairs.push((key("by_account", by_account.as_bytes()), Vec::new()));
                let mut deadline = (1_800_000_000_000u64 + i * 1_000).to_be_bytes().to_vec();
                deadline.extend_from_slice(id.as_bytes());
                pairs.push((key("deadlines", &deadline), Vec::new()));
                pairs.push((key("last_used", id.as_bytes()), vec![b'u'; 16]));
            }
            let written = Instant::now();
            let keys = pairs.len();
            put_all(&client, pairs).await;
            eprintln!("[measure] {keys} keys written in {:.1} s", written.elapsed().as_secs_f64());
            let mut kv = client.kv_client();
            let started = Instant::now();
            let mut read = 0;
            old::read_prefix(&mut kv, &prefix, |kvs| {
                read += kvs.len();
                Ok(())
            })
            .await
            .unwrap();
            let old_secs = started.elapsed().as_secs_f64();
            assert_eq!(read, keys);
            let started = Instant::now();
            let mut read = 0;
            read_prefix(&mut kv, &prefix, |kvs| {
                read += kvs.len();
                Ok(())
            })
            .await
            .unwrap();
            let new_secs = started.elapsed().as_secs_f64();
            assert_eq!(read, keys);
            eprintln!(
                "[measure] {keys} keys: limit-paged (before) {old_secs:.2} s, listed then paged (now) {new_secs:.2} s, {:.1}x",
                old_secs / new_secs
            );
        }
    });
}
