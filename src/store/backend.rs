//! The storage seam: where a write commits before credd acknowledges it.
//!
//! A node's data always lives in the local sled trees the [`Store`] holds,
//! and every read (Verify first of all, but also scans, the sweep's due
//! deadlines and the outbox) is served from them. What a backend decides is
//! where a *write* commits: with [`Backend::Sled`], sled is the only copy and
//! a write is one sled transaction on those trees, durable at the next
//! group-commit flush. A clustered backend (issue 21: etcd) keeps the same
//! trees as the node's replica, fed by its watch, and commits each write as
//! one etcd transaction instead: the record, its indexes, its deadlines,
//! its outbox rows and its audit events together.
//!
//! Why an enum the store holds, not a trait the engine programs against:
//! - The engine, api, daemon, benches and tests hold one concrete `Store`
//!   (cloned into every task). A trait would make it generic or boxed
//!   everywhere outside `store/`, and put a type parameter or a virtual call
//!   on Verify's path, for the half of the store (the reads) that does not
//!   change with the backend.
//! - Each write method already encodes its change (a `CredentialWrite`, the
//!   audit rows, the notice rows, the expected bytes it compares against)
//!   before it commits, and only then matches on the backend. A second
//!   variant reuses those bytes in its own arm (compares on the expected
//!   values, puts and deletes under its key prefix), and the compiler lists
//!   every write that still lacks that arm.
//! - Opening stays one constructor per backend ([`Store::open`] for sled),
//!   so callers choose a backend where they read the config, not at every
//!   call.
//!
//! The write entry points, each a `match` on the backend: `commit_transition`
//! (and `commit` through it), `remove_deadline`, `write_last_used`,
//! `forget_last_used`, `add_usage`, `remove_usage_before`,
//! `write_credits`, `forget_credits`, `offer_notice`,
//! `settle_notices`, `append_audit`, `meta_put`, `commit_account`,
//! `commit_user`, `insert_session`, `remove_session` (and `expire_session`
//! through it), `reschedule_session`, `touch_session`, `remove_session_deadline`,
//! `load_sessions`,
//! `commit_partners`, the stale-key removal in `due_consents`, and `flush`.
//! The store's tests run against every variant in `BACKENDS` (see
//! `tests/mod.rs`).
//!
//! [`Store`]: super::Store
//! [`Store::open`]: super::Store::open

/// Where the store's writes commit. The local sled trees are read by every
/// variant; only writes differ.
#[derive(Debug, Clone)]
pub(super) enum Backend {
    /// sled is the only copy: each write is one sled transaction on the
    /// local trees, durable at the next flush (see `group_commit`).
    Sled,
    /// etcd holds the truth; the local trees are this node's replica, fed
    /// by its watch (see `etcd`). Node-local trees (`last_used`, `usage`,
    /// `credits`, `meta`) are written as with `Sled`.
    #[cfg(feature = "etcd")]
    Etcd(std::sync::Arc<super::etcd::Cluster>),
}
