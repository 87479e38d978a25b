//! What can go wrong in the store: one error type for every backend, with
//! the sled failures the only backend today reports.

use super::SCHEMA_VERSION;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// sled itself failed (I/O, corruption it detected).
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    /// A flush to disk failed; nothing written since the last good flush is
    /// known to be durable.
    #[error("flush to disk failed: {0}")]
    Flush(String),
    /// Another process holds the database.
    #[error("data directory {0} is in use by another credd process (sled holds an exclusive lock)")]
    Locked(String),
    /// A value could not be decoded.
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
    /// The data was written by a newer credd.
    #[error(
        "the database has schema version {found}, this credd understands up to {SCHEMA_VERSION}; run a newer credd"
    )]
    NewerSchema {
        /// Version on disk.
        found: u32,
    },
    /// The pepper file is not the one the database was created with.
    #[error(
        "the pepper file does not match this database (its fingerprint differs); every stored key hash was made with another pepper: restore the original pepper file or point pepper_file at it"
    )]
    PepperMismatch,
    /// The cluster's store (etcd) did not answer, or this node's copy of it
    /// is behind: the outcome of a write is unknown, and nothing may be
    /// answered from the copy until it catches up.
    #[error("cluster store unavailable: {0}")]
    Cluster(String),
    /// A backup could not be written, or a backup file is not usable.
    #[error("{0}")]
    Backup(String),
    /// Two secrets hashed alike (astronomically unlikely): the change is refused.
    #[error("secret hash collision")]
    DuplicateSecret,
}
