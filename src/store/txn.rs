//! One transaction over several trees, whatever the backend: the body of
//! every multi-tree write is written once, against [`TxTree`], and
//! [`Store::transact`] runs it where the backend commits.
//!
//! - `Sled`: the body runs inside a sled transaction over the named trees
//!   (sled retries it on a conflict between threads).
//! - `Etcd` (feature `etcd`): the body runs against this node's replica,
//!   its reads remembered and its writes buffered; the writes then commit
//!   as one etcd `Txn` guarded by a compare on every key the body read, so
//!   a key changed by another node since makes the `Txn` fail and the body
//!   run again once the replica has caught up (see `etcd::txn`).
//!
//! A body must therefore be a pure function of what it reads: it may run
//! more than once, and its side effects are only its writes.
//!
//! [`Store::transact`]: super::Store::transact

use sled::IVec;
use sled::Transactional as _;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

use super::backend::Backend;
use super::hold::WriteHold;
use super::{Error, Store};

/// What a body returns: its value, or why it gave up
/// (`ConflictableTransactionError::Abort`).
pub(super) type TxResult<T, A> = Result<T, ConflictableTransactionError<A>>;

/// One tree inside a transaction: reads see the transaction's own writes.
pub(super) trait TxTree {
    /// The value at `key`.
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, UnabortableTransactionError>;
    /// Writes `value` at `key`.
    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), UnabortableTransactionError>;
    /// Removes `key` (nothing if absent).
    fn remove(&self, key: &[u8]) -> Result<(), UnabortableTransactionError>;
    /// A key for a new row of an append-only tree (the audit log), unique
    /// across every writer of the store.
    fn generate_id(&self) -> Result<u64, UnabortableTransactionError>;
}

impl TxTree for TransactionalTree {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, UnabortableTransactionError> {
        TransactionalTree::get(self, key)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), UnabortableTransactionError> {
        TransactionalTree::insert(self, key, value).map(drop)
    }

    fn remove(&self, key: &[u8]) -> Result<(), UnabortableTransactionError> {
        TransactionalTree::remove(self, key).map(drop)
    }

    fn generate_id(&self) -> Result<u64, UnabortableTransactionError> {
        TransactionalTree::generate_id(self).map_err(UnabortableTransactionError::Storage)
    }
}

/// A sled transaction's view of one tree that notes the keys it writes in
/// the change log of a backup under way (see `hold`).
struct Noted<'a> {
    tree: &'a TransactionalTree,
    name: IVec,
    hold: &'a WriteHold,
}

impl TxTree for Noted<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<IVec>, UnabortableTransactionError> {
        self.tree.get(key)
    }

    fn insert(&self, key: &[u8], value: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.hold.note(&self.name, key);
        self.tree.insert(key, value).map(drop)
    }

    fn remove(&self, key: &[u8]) -> Result<(), UnabortableTransactionError> {
        self.hold.note(&self.name, key);
        self.tree.remove(key).map(drop)
    }

    fn generate_id(&self) -> Result<u64, UnabortableTransactionError> {
        TxTree::generate_id(self.tree)
    }
}

impl Store {
    /// Runs `body` over `trees` as one transaction where this store's
    /// writes commit. `Ok(Err(abort))`: the body gave up and nothing was
    /// written. A body that writes audit rows also writes, in the same
    /// transaction, the webhook event each announces (see
    /// `webhooks::Announcing`).
    ///
    /// # Errors
    /// sled errors (noted by the fault watch), and for a cluster backend
    /// [`Error::Cluster`] when the commit's outcome is unknown.
    pub(super) fn transact<const N: usize, T, A>(
        &self,
        trees: [&sled::Tree; N],
        body: impl Fn(&[&dyn TxTree; N]) -> TxResult<T, A>,
    ) -> Result<Result<T, A>, Error> {
        let audit_name = self.audit.name();
        let audit_at = trees.iter().position(|t| t.name() == audit_name);
        let credentials_name = self.credentials.name();
        let credentials_at = trees.iter().position(|t| t.name() == credentials_name);
        let mut all: Vec<&sled::Tree> = trees.to_vec();
        if audit_at.is_some() {
            all.push(self.webhooks.events());
        }
        let run = |views: &[&dyn TxTree]| -> TxResult<T, A> {
            let Some(at) = audit_at else {
                return body(&std::array::from_fn(|i| views[i]));
            };
            let remembering = credentials_at.map(|c| super::webhooks::Remembering::new(views[c]));
            let announcing =
                super::webhooks::Announcing::new(views[at], views[N], remembering.as_ref());
            body(&std::array::from_fn(|i| {
                if i == at {
                    &announcing as &dyn TxTree
                } else if Some(i) == credentials_at {
                    remembering.as_ref().map_or(views[i], |r| r as &dyn TxTree)
                } else {
                    views[i]
                }
            }))
        };
        match &self.backend {
            Backend::Sled => self.transact_sled(&all, run),
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => cluster.transact(&all, run).map_err(|e| self.noted(e)),
        }
    }

    /// [`Store::transact`] on sled: one sled transaction over `trees`,
    /// holding the backup's write hold shared and noting every key written.
    fn transact_sled<T, A>(
        &self,
        trees: &[&sled::Tree],
        body: impl Fn(&[&dyn TxTree]) -> TxResult<T, A>,
    ) -> Result<Result<T, A>, Error> {
        let _hold = self.hold.shared();
        let owned: Vec<sled::Tree> = trees.iter().map(|t| (*t).clone()).collect();
        let result = owned[..].transaction(|t| {
            let noted: Vec<Noted<'_>> = t
                .iter()
                .zip(&owned)
                .map(|(tree, o)| Noted {
                    tree,
                    name: o.name(),
                    hold: &self.hold,
                })
                .collect();
            let views: Vec<&dyn TxTree> = noted.iter().map(|n| n as &dyn TxTree).collect();
            body(&views)
        });
        match result {
            Ok(value) => Ok(Ok(value)),
            Err(TransactionError::Abort(abort)) => Ok(Err(abort)),
            Err(TransactionError::Storage(e)) => Err(self.noted(Error::Sled(e))),
        }
    }
}
