//! `credd migrate`: copies a store between sled and etcd, in either
//! direction, with the daemon stopped. Everything a cluster shares is
//! copied: every replicated tree (credentials and their indexes, deadlines,
//! the outbox and the notices sent, the audit log, accounts, users,
//! sessions, partners, last uses) and the pepper's fingerprint. Then the
//! keys of every tree are counted on both sides, and any difference is an
//! error. A target that holds data is refused unless `force` is given (then
//! it is emptied first).
//!
//! Node-local data is not copied: daily usage counts and flushed credit
//! balances (see README, "Run a cluster").
//!
//! sled's audit ids come from its id generator, etcd's from the revision
//! (see `Cluster::audit_id`); going to sled, audit rows are renumbered
//! 0, 1, 2, ... in log order and the generator is moved past them, so new
//! rows follow the copied ones.

use std::collections::BTreeMap;

use etcd_client::{Client, GetOptions, Txn, TxnOp};

use super::super::Error;
use super::super::meta::{META_PEPPER, META_SCHEMA, SCHEMA_VERSION};
use super::{EtcdOptions, REPLICATED, cluster_key, connect};

/// Puts per `Txn` (etcd allows 128 operations).
const OPS_PER_TXN: usize = 128;
/// Bytes per `Txn` (etcd refuses requests over 1.5 MiB).
const BYTES_PER_TXN: usize = 1 << 20;

/// Keys per tree on each side after a migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationReport {
    /// Tree name -> keys copied (source count, equal to the target's).
    pub trees: BTreeMap<&'static str, usize>,
}

impl MigrationReport {
    /// Keys copied in all.
    pub fn total(&self) -> usize {
        self.trees.values().sum()
    }
}

/// Copies the sled store in `db_dir` to etcd under `options.prefix`.
///
/// # Errors
/// [`Error::Cluster`] when etcd refuses or the target holds data (without
/// `force`), or when the counts differ afterwards; sled errors.
pub async fn sled_to_etcd(
    db_dir: &std::path::Path,
    options: &EtcdOptions,
    force: bool,
) -> Result<MigrationReport, Error> {
    let db = open_sled(db_dir)?;
    let client = connect(options).await?;
    let prefix = options.prefix.as_bytes().to_vec();
    let mut kv = client.kv_client();
    let existing = count_prefix(&client, &prefix).await?;
    if existing > 0 && !force {
        return Err(Error::Cluster(format!(
            "etcd already holds {existing} keys under {:?}; refusing to mix stores (--force empties it first)",
            options.prefix
        )));
    }
    if existing > 0 {
        kv.delete(
            prefix.clone(),
            Some(etcd_client::DeleteOptions::new().with_prefix()),
        )
        .await
        .map_err(etcd)?;
    }
    let meta = db.open_tree("meta")?;
    let fingerprint = meta
        .get(META_PEPPER)?
        .ok_or(Error::Corrupt("the sled store has no pepper fingerprint"))?;
    let mut batch = Batch::default();
    batch.push(
        cluster_key(&prefix, "pepper_fingerprint"),
        fingerprint.to_vec(),
    );
    let mut report = MigrationReport::default();
    for name in REPLICATED {
        let tree = db.open_tree(name)?;
        let mut n = 0;
        for item in tree.iter() {
            let (key, value) = item?;
            batch.push(tree_key(&prefix, name, &key), value.to_vec());
            if batch.full() {
                batch.send(&client).await?;
            }
            n += 1;
        }
        report.trees.insert(name, n);
    }
    batch.send(&client).await?;
    let copied = count_trees(&client, &prefix).await?;
    compare(&report, &copied)?;
    Ok(report)
}

/// Copies everything under `options.prefix` in etcd into a sled store in
/// `db_dir`.
///
/// # Errors
/// As [`sled_to_etcd`].
pub async fn etcd_to_sled(
    options: &EtcdOptions,
    db_dir: &std::path::Path,
    force: bool,
) -> Result<MigrationReport, Error> {
    let db = open_sled(db_dir)?;
    let client = connect(options).await?;
    let prefix = options.prefix.as_bytes().to_vec();
    let trees: Vec<sled::Tree> = REPLICATED
        .iter()
        .map(|name| db.open_tree(name))
        .collect::<Result<_, _>>()?;
    let existing: usize = trees.iter().map(sled::Tree::len).sum();
    if existing > 0 && !force {
        return Err(Error::Cluster(format!(
            "{} already holds {existing} keys; refusing to mix stores (--force empties it first)",
            db_dir.display()
        )));
    }
    for tree in &trees {
        tree.clear()?;
    }
    let meta = db.open_tree("meta")?;
    for key in [b"etcd_revision".as_slice(), b"etcd_prefix"] {
        meta.remove(key)?;
    }
    let mut report = MigrationReport::default();
    let mut audit_rows = Vec::new();
    let mut fingerprint = None;
    for_each_key(&client, &prefix, |key, value| {
        let Some(rest) = key.strip_prefix(prefix.as_slice()) else {
            return Ok(());
        };
        if rest == b"cluster/pepper_fingerprint" {
            fingerprint = Some(value.to_vec());
            return Ok(());
        }
        let Some(slash) = rest.iter().position(|b| *b == b'/') else {
            return Ok(());
        };
        let name = std::str::from_utf8(&rest[..slash]).unwrap_or_default();
        let Some(at) = REPLICATED.iter().position(|t| *t == name) else {
            return Ok(());
        };
        *report.trees.entry(REPLICATED[at]).or_default() += 1;
        if name == "audit" {
            audit_rows.push((rest[slash + 1..].to_vec(), value.to_vec()));
        } else {
            trees[at].insert(&rest[slash + 1..], value)?;
        }
        Ok(())
    })
    .await?;
    // Pages arrive in no set order: the log's order is its keys'.
    audit_rows.sort_unstable();
    let audit = db.open_tree("audit")?;
    for (_, row) in &audit_rows {
        let seq = db.generate_id()?;
        audit.insert(seq.to_be_bytes(), row.as_slice())?;
    }
    let fingerprint = fingerprint.ok_or(Error::Corrupt("the cluster has no pepper fingerprint"))?;
    meta.insert(META_PEPPER, fingerprint)?;
    meta.insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
    db.flush()?;
    let copied: BTreeMap<&'static str, usize> = REPLICATED
        .iter()
        .zip(&trees)
        .map(|(name, tree)| (*name, tree.len()))
        .collect();
    report.trees.retain(|_, n| *n > 0);
    compare(&report, &copied)?;
    Ok(report)
}

fn open_sled(db_dir: &std::path::Path) -> Result<sled::Db, Error> {
    sled::Config::new()
        .path(db_dir)
        .open()
        .map_err(|e| match e {
            sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => {
                Error::Locked(db_dir.display().to_string())
            }
            other => Error::Sled(other),
        })
}

/// Every tree the source counted has as many keys on the target (trees
/// absent from one side count zero).
fn compare(report: &MigrationReport, target: &BTreeMap<&'static str, usize>) -> Result<(), Error> {
    for name in REPLICATED {
        let source = report.trees.get(name).copied().unwrap_or(0);
        let copied = target.get(name).copied().unwrap_or(0);
        if source != copied {
            return Err(Error::Cluster(format!(
                "tree {name}: {source} keys in the source but {copied} in the target"
            )));
        }
    }
    Ok(())
}

/// Puts waiting to be sent as one `Txn`.
#[derive(Default)]
struct Batch {
    ops: Vec<TxnOp>,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.bytes += key.len() + value.len();
        self.ops.push(TxnOp::put(key, value, None));
    }

    fn full(&self) -> bool {
        self.ops.len() >= OPS_PER_TXN || self.bytes >= BYTES_PER_TXN
    }

    async fn send(&mut self, client: &Client) -> Result<(), Error> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let txn = Txn::new().and_then(std::mem::take(&mut self.ops));
        self.bytes = 0;
        client.kv_client().txn(txn).await.map_err(etcd)?;
        Ok(())
    }
}

fn tree_key(prefix: &[u8], tree: &str, key: &[u8]) -> Vec<u8> {
    let mut out = prefix.to_vec();
    out.extend_from_slice(tree.as_bytes());
    out.push(b'/');
    out.extend_from_slice(key);
    out
}

/// Keys under `prefix`.
async fn count_prefix(client: &Client, prefix: &[u8]) -> Result<usize, Error> {
    let options = GetOptions::new().with_prefix().with_count_only();
    let answer = client
        .kv_client()
        .get(prefix.to_vec(), Some(options))
        .await
        .map_err(etcd)?;
    Ok(usize::try_from(answer.count()).unwrap_or(usize::MAX))
}

/// Keys per replicated tree under `prefix`.
async fn count_trees(
    client: &Client,
    prefix: &[u8],
) -> Result<BTreeMap<&'static str, usize>, Error> {
    let mut counts = BTreeMap::new();
    for name in REPLICATED {
        let mut tree_prefix = prefix.to_vec();
        tree_prefix.extend_from_slice(name.as_bytes());
        tree_prefix.push(b'/');
        counts.insert(*name, count_prefix(client, &tree_prefix).await?);
    }
    Ok(counts)
}

/// Calls `each` with every key and value under `prefix` at one revision.
async fn for_each_key(
    client: &Client,
    prefix: &[u8],
    mut each: impl FnMut(&[u8], &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut kv = client.kv_client();
    super::range::read_prefix(&mut kv, prefix, |kvs| {
        kvs.iter()
            .try_for_each(|item| each(item.key(), item.value()))
    })
    .await
    .map(drop)
}

fn etcd(e: etcd_client::Error) -> Error {
    Error::Cluster(format!("etcd: {e}"))
}
