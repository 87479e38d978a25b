//! The storage seam: where a write commits before credd acknowledges it.
//!
//! A node's data always lives in the local sled trees the [`Store`] holds,
//! and every read (Verify first of all, but also scans, the sweep's due
//! deadlines and the outbox) is served from them. What a backend decides is
//! where a *write* commits: with [`Backend::Sled`], sled is the only copy and
//! a write is one sled transaction on those trees, durable at the next
//! group-commit flush. With `Backend::Etcd` (feature `etcd`, see `etcd`)
//! the same trees are the node's replica, fed by its watch, and each write
//! commits as one etcd transaction instead: the record, its indexes, its
//! deadlines, its outbox rows and its audit events together.
//!
//! Why an enum the store holds, not a trait the engine programs against:
//! - The engine, api, daemon, benches and tests hold one concrete `Store`
//!   (cloned into every task). A trait would make it generic or boxed
//!   everywhere outside `store/`, and put a type parameter or a virtual call
//!   on Verify's path, for the half of the store (the reads) that does not
//!   change with the backend.
//! - Each multi-tree write is one body over `txn::TxTree` views, written
//!   once; [`Store::transact`] runs it where the backend commits (a sled
//!   transaction, or a `Txn` comparing what the body read).
//! - Opening stays one constructor per backend ([`Store::open`] for sled,
//!   `Store::open_etcd`), so callers choose a backend where they read the
//!   config, not at every call.
//!
//! The write entry points: through `transact`, `commit_transition` (and
//! `commit` through it), `forget_last_used`, `offer_notice`,
//! `settle_notices`, `commit_account`, `commit_user`, `insert_session`,
//! `remove_session` (and `expire_session` through it), `reschedule_session`,
//! `publish_usage`, the published rows `remove_usage_before` removes,
//! `claim_credits`, `return_credits`, `forget_credits`, `load_sessions`,
//! `commit_partners`; matching on the backend,
//! `remove_deadline`, `write_last_used` (with etcd, a use on a later day
//! only), `append_audit`, `touch_session`, `remove_session_deadline`, the
//! stale-key removal in `due_consents`. Node-local on every backend, written
//! directly: `add_usage`, `remove_usage_before` (its local rows),
//! `meta_put`, and `flush`; `write_credits` with sled only (a cluster's
//! credits change through claims). The store's tests run against
//! every backend of `tests::backends`.
//!
//! [`Store`]: super::Store
//! [`Store::open`]: super::Store::open
//! [`Store::transact`]: super::Store::transact

/// Where the store's writes commit. The local sled trees are read by every
/// variant; only writes differ.
#[derive(Debug, Clone)]
pub(super) enum Backend {
    /// sled is the only copy: each write is one sled transaction on the
    /// local trees, durable at the next flush (see `group_commit`).
    Sled,
    /// etcd holds the truth; the local trees are this node's replica, fed
    /// by its watch (see `etcd`). Node-local trees (`usage`,
    /// `meta`) are written as with `Sled`.
    #[cfg(feature = "etcd")]
    Etcd(std::sync::Arc<super::etcd::Cluster>),
}
