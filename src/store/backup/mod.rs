//! Online backup and offline restore of a sled store: one file holding one
//! moment of every tree.
//!
//! **The file.** Bytes 0..8 are the magic `CREDDBK1`, 8..12 the header's
//! length (big-endian), then the header (JSON, [`BackupHeader`]) padded with
//! zeros to [`BODY_AT`]; the body follows: rows `[tree: u8][key length:
//! u32][key][value length: u32][value]` tree by tree, then the rows copied
//! again at the end (a value length of [`TOMBSTONE`] and no value: the key
//! is gone), closed by [`END`]. A later row of a key replaces an earlier one.
//! The header names the trees (a row's tree is its index in that list) with
//! their row counts, the body's length and SHA-256, the schema version, the
//! pepper's fingerprint (never the pepper), the time, and the revocation
//! journal's position. Keys hold HMACs and ids, values records: no
//! plaintext secret is in the store, so none is in a backup.
//!
//! **Consistency** (`write`, over `hold`): the trees transactions write
//! are copied while the store serves, with every key a transaction writes
//! meanwhile noted; then, with transactions held for that moment only, the
//! noted keys are copied again as they are then (a tombstone for a key
//! that is gone). Restored in file order, the rows give the store at that
//! moment: no record without its index entries. Reads are never held: Verify
//! goes on; transactions wait only at the start and for the second copy.
//! Node-local single-tree batches (usage counts, last uses, credit
//! balances) are copied after: each is atomic on its own and no index
//! refers to them. Memory stays bounded: rows stream to the file (the noted
//! keys are kept in memory, as many as the copy's writes).
//!
//! **On a cluster node** the trees are the node's replica, whose only
//! writer is the apply of etcd's watch: it takes the write hold and notes
//! its keys as transactions do, so the body is the replica at one applied
//! revision (in the header). The replica's own bookkeeping in `meta` (the
//! revision, the prefix, the node id) is left out: the file restores to a
//! plain sled store, which `credd migrate` can carry back to etcd. A full
//! read of the replica during the copy fails the backup.
//!
//! **Crash safety:** the file is written as `OUT.partial`, its header last
//! (the magic is the header's first bytes), synced, then renamed to `OUT`;
//! a file cut short has no magic, or a body that does not match the
//! header's length and checksum, and restore refuses it.
//!
//! **Restore** (`read`): the whole file is checked first (magic, header,
//! length, checksum, the rows per tree, the pepper), then loaded into an
//! empty directory; sled's id generator (the audit log's `seq`) is moved
//! past the highest restored id, so new audit events follow the restored
//! ones instead of overwriting them. A cluster node's audit ids carry etcd
//! revisions, so its events are numbered again in their order instead, as
//! `credd migrate` does.

mod read;
mod write;

pub use read::{RestoreReport, check_backup_file, inspect_backup, restore_backup};

use serde::{Deserialize, Serialize};

/// The file's first bytes.
pub(crate) const MAGIC: &[u8; 8] = b"CREDDBK1";
/// How many leading bytes of a backup file are its magic: a receiver that
/// writes them last never leaves a cut file that looks like a backup.
pub const BACKUP_MAGIC_LEN: usize = MAGIC.len();
/// Where the body starts: the header fits before it.
pub(crate) const BODY_AT: u64 = 16 * 1024;
/// The body's last byte.
pub(crate) const END: u8 = 0xff;
/// A value length that says the key is gone (a row copied again at the
/// end of a backup for a key deleted during it).
pub(crate) const TOMBSTONE: u32 = u32::MAX;
/// This build's file format.
pub const BACKUP_FORMAT: u32 = 1;

/// Trees copied after the write hold is let go (see the module doc).
pub(crate) const OUTSIDE_HOLD: &[&str] = &["usage", "last_used", "credits"];

/// A tree and its rows in a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeCount {
    /// The tree.
    pub name: String,
    /// Rows copied.
    pub rows: u64,
}

/// Where the revocation journal stood when the backup was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalMark {
    /// The journal's path then.
    pub path: String,
    /// Lines in it then: a restore re-applies the lines from here on.
    pub position: u64,
}

/// What a backup file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupHeader {
    /// File format ([`BACKUP_FORMAT`]).
    pub format: u32,
    /// The store's schema version.
    pub schema_version: u32,
    /// The credd that wrote it.
    pub credd_version: String,
    /// When the trees were copied (RFC 3339, UTC).
    pub created_at: String,
    /// SHA-256 fingerprint of the pepper the store was made with, hex.
    pub pepper_fingerprint: String,
    /// Trees in body order, with their rows.
    pub trees: Vec<TreeCount>,
    /// Body bytes.
    pub body_bytes: u64,
    /// SHA-256 of the body, hex.
    pub sha256: String,
    /// The revocation journal's position, when one was kept.
    pub journal: Option<JournalMark>,
    /// How long writes were held, in milliseconds.
    pub write_hold_ms: u64,
    /// Rows copied again at the end (keys written during the copy; their
    /// values then, or tombstones), after the first copy of every tree.
    #[serde(default)]
    pub overrides: u64,
    /// Taken on a cluster node: the etcd revision its replica had applied
    /// at the backup's moment (a restore re-applies journal lines of later
    /// revisions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd_revision: Option<i64>,
}

impl BackupHeader {
    /// Rows in all trees.
    pub fn total_rows(&self) -> u64 {
        self.trees.iter().map(|t| t.rows).sum()
    }

    /// Rows of the tree `name`.
    pub fn rows_of(&self, name: &str) -> u64 {
        self.trees
            .iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.rows)
    }
}
