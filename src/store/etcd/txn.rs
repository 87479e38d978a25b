//! A write on the etcd backend: the body runs against this node's replica
//! through [`EtcdTree`] views that remember what it read and buffer what
//! it writes; the writes then commit as one etcd `Txn` whose compares say
//! "every key read still holds what the body saw" (its value, or that it
//! is absent). If another node changed one of them, the `Txn` fails, the
//! replica catches up to that revision and the body runs again.
//!
//! etcd refuses a `Txn` of more than 128 compares or operations (its
//! default `--max-txn-ops`); credd's largest writes (a consent approval, a
//! sweep transition) stay far below.

use std::cell::RefCell;
use std::collections::BTreeMap;

use etcd_client::{Compare, CompareOp, Txn, TxnOp, TxnOpResponse};
use sled::IVec;
use sled::transaction::{ConflictableTransactionError, UnabortableTransactionError};

use super::super::Error;
use super::super::txn::{TxResult, TxTree};
use super::Cluster;
use super::leader::Fence;

/// How often a body may meet a concurrent change before the write gives up.
const MAX_ATTEMPTS: usize = 64;

/// One tree of a write in progress.
struct EtcdTree<'c> {
    cluster: &'c Cluster,
    name: String,
    local: sled::Tree,
    /// First value seen for each key read before the body wrote it.
    reads: RefCell<BTreeMap<Vec<u8>, Option<IVec>>>,
    /// Buffered writes: Some(value) or None (removal).
    writes: RefCell<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl TxTree for EtcdTree<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, UnabortableTransactionError> {
        if let Some(written) = self.writes.borrow().get(key) {
            return Ok(written.as_deref().map(IVec::from));
        }
        if let Some(seen) = self.reads.borrow().get(key) {
            return Ok(seen.clone());
        }
        let value = self
            .local
            .get(key)
            .map_err(UnabortableTransactionError::Storage)?;
        self.reads.borrow_mut().insert(key.to_vec(), value.clone());
        Ok(value)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.writes
            .borrow_mut()
            .insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&self, key: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.writes.borrow_mut().insert(key.to_vec(), None);
        Ok(())
    }

    fn generate_id(&self) -> Result<u64, UnabortableTransactionError> {
        Ok(self.cluster.audit_id())
    }
}

impl Cluster {
    /// Runs `body` over `trees` and commits its writes as one etcd `Txn`
    /// (see the module doc). Returns once this node's replica has applied
    /// the write. `Ok(Err(abort))`: the body gave up; nothing was written.
    ///
    /// # Errors
    /// [`Error::Cluster`] when etcd does not answer (the write may or may
    /// not have happened) or the body kept meeting concurrent changes;
    /// sled errors reading the replica.
    pub(in crate::store) fn transact<T, A>(
        &self,
        trees: &[&sled::Tree],
        body: impl Fn(&[&dyn TxTree]) -> TxResult<T, A>,
    ) -> Result<Result<T, A>, Error> {
        for _ in 0..MAX_ATTEMPTS {
            let views: Vec<EtcdTree<'_>> = trees.iter().map(|t| self.view(t)).collect();
            let dyn_views: Vec<&dyn TxTree> = views.iter().map(|v| v as &dyn TxTree).collect();
            let value = match body(&dyn_views) {
                Ok(value) => value,
                Err(ConflictableTransactionError::Abort(abort)) => return Ok(Err(abort)),
                Err(ConflictableTransactionError::Storage(e)) => return Err(Error::Sled(e)),
                Err(_) => continue,
            };
            let (compares, ops) = self.txn_parts(&views);
            if ops.is_empty() {
                return Ok(Ok(value));
            }
            let fence = self.leadership.fence();
            let (succeeded, revision, fence_held) = self.commit(compares, ops, fence.as_ref())?;
            if succeeded {
                self.wait_applied(revision)?;
                return Ok(Ok(value));
            }
            if !fence_held {
                self.leadership
                    .lost("a write was refused by the leader fence");
                return Err(Error::Cluster(
                    "this node's leadership ended (its lease expired): the write was refused"
                        .into(),
                ));
            }
            // A key it read changed: catch up with the cluster, run again.
            tracing::debug!(
                revision,
                "etcd write met a concurrent change; running it again"
            );
            self.catch_up()?;
        }
        Err(Error::Cluster(format!(
            "a write met a concurrent change {MAX_ATTEMPTS} times in a row"
        )))
    }

    fn view(&self, tree: &sled::Tree) -> EtcdTree<'_> {
        EtcdTree {
            cluster: self,
            name: String::from_utf8_lossy(&tree.name()).into_owned(),
            local: tree.clone(),
            reads: RefCell::default(),
            writes: RefCell::default(),
        }
    }

    /// The compares (every key read, and every new audit key absent) and
    /// the operations of a body's run.
    fn txn_parts(&self, views: &[EtcdTree<'_>]) -> (Vec<Compare>, Vec<TxnOp>) {
        let mut compares = Vec::new();
        let mut ops = Vec::new();
        for view in views {
            for (key, seen) in view.reads.borrow().iter() {
                let key = self.tree_key(&view.name, key);
                compares.push(match seen {
                    Some(value) => Compare::value(key, CompareOp::Equal, value.to_vec()),
                    None => Compare::version(key, CompareOp::Equal, 0),
                });
            }
            for (key, write) in view.writes.borrow().iter() {
                let etcd_key = self.tree_key(&view.name, key);
                // A new audit row never overwrites another node's.
                if view.name == "audit" && write.is_some() {
                    compares.push(Compare::version(etcd_key.clone(), CompareOp::Equal, 0));
                }
                ops.push(match write {
                    Some(value) => TxnOp::put(etcd_key, value.clone(), None),
                    None => TxnOp::delete(etcd_key, None),
                });
            }
        }
        (compares, ops)
    }

    /// Sends one `Txn`, fenced when this node leads (its leader key must
    /// still have the create revision it was elected with). Returns whether
    /// it succeeded, the revision it saw, and whether the fence (if any)
    /// still held.
    pub(super) fn commit(
        &self,
        mut compares: Vec<Compare>,
        ops: Vec<TxnOp>,
        fence: Option<&Fence>,
    ) -> Result<(bool, i64, bool), Error> {
        let mut txn_else = Vec::new();
        if let Some(fence) = fence {
            compares.push(Compare::create_revision(
                fence.key.clone(),
                CompareOp::Equal,
                fence.create_revision,
            ));
            txn_else.push(TxnOp::get(fence.key.clone(), None));
        }
        let expected = fence.map(|f| f.create_revision);
        let txn = Txn::new().when(compares).and_then(ops).or_else(txn_else);
        let mut kv = self.client.kv_client();
        let timeout = self.options.request_timeout;
        self.block(async move {
            let answer = match tokio::time::timeout(timeout, kv.txn(txn)).await {
                Ok(Ok(answer)) => answer,
                Ok(Err(e)) => return Err(Error::Cluster(format!("etcd write failed: {e}"))),
                Err(_) => return Err(Error::Cluster("etcd did not answer a write in time".into())),
            };
            let revision = answer.header().map_or(0, |h| h.revision());
            let fence_held = answer.succeeded()
                || expected.is_none_or(|rev| {
                    answer.op_responses().into_iter().any(|op| match op {
                        TxnOpResponse::Get(get) => get
                            .kvs()
                            .first()
                            .is_some_and(|kv| kv.create_revision() == rev),
                        _ => false,
                    })
                });
            Ok((answer.succeeded(), revision, fence_held))
        })
    }
}
