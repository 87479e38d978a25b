//! Writing a backup while the store serves (see the module doc of
//! `backup`): the trees under the write hold, the node-local ones after it,
//! the header last. On a cluster node: the replica at one applied revision,
//! without the keys that tie it to its node.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::super::backend::Backend;
use super::super::hold::Resets;
use super::super::meta::{META_PEPPER, SCHEMA_VERSION};
use super::super::{Error, Store};
use super::{
    BACKUP_FORMAT, BODY_AT, BackupHeader, END, JournalMark, MAGIC, OUTSIDE_HOLD, TOMBSTONE,
    TreeCount,
};
use crate::secret::hex;

/// The body as it is written: rows, their count per tree, the checksum.
struct Body {
    out: BufWriter<File>,
    hasher: Sha256,
    bytes: u64,
    trees: Vec<TreeCount>,
}

impl Body {
    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    /// Copies every row of `tree` as the next tree of the body, but the
    /// keys in `skip`.
    fn tree(&mut self, name: &str, tree: &sled::Tree, skip: &[&[u8]]) -> Result<(), Error> {
        let index = self.trees.len();
        if index >= usize::from(END) {
            return Err(Error::Corrupt("too many trees"));
        }
        self.trees.push(TreeCount {
            name: name.to_string(),
            rows: 0,
        });
        for item in tree {
            let (key, value) = item?;
            if !skip.contains(&key.as_ref()) {
                self.row(index, &key, Some(&value))?;
            }
        }
        Ok(())
    }

    /// One row of tree `index`: `key` and its value, or a tombstone (the key
    /// is gone) for None.
    fn row(&mut self, index: usize, key: &[u8], value: Option<&[u8]>) -> Result<(), Error> {
        let tag = u8::try_from(index).map_err(|_| Error::Corrupt("too many trees"))?;
        self.put(&[tag]).map_err(io)?;
        self.put(&len32(key)?).map_err(io)?;
        self.put(key).map_err(io)?;
        match value {
            Some(value) => {
                self.put(&len32(value)?).map_err(io)?;
                self.put(value).map_err(io)?;
            }
            None => self.put(&TOMBSTONE.to_be_bytes()).map_err(io)?,
        }
        self.trees[index].rows += 1;
        Ok(())
    }
}

/// What the copy of one moment reports.
struct Moment {
    /// How long transactions were held (at the start and for the second
    /// copy).
    held: std::time::Duration,
    /// The journal's path and length at that moment.
    journal: Option<(PathBuf, u64)>,
    /// Rows copied again.
    overrides: u64,
    /// On a cluster node: the etcd revision the replica had applied.
    etcd_revision: Option<i64>,
    /// The whole-tree rewrites when the copy began.
    resets: Resets,
}

/// Stops the change log when the copy ends, however it ends.
struct Recording<'a>(Option<&'a super::super::hold::WriteHold>);

impl Recording<'_> {
    fn stop(&mut self) -> std::collections::BTreeSet<super::super::hold::Changed> {
        self.0
            .take()
            .map(|hold| hold.stop_recording())
            .unwrap_or_default()
    }
}

impl Drop for Recording<'_> {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn len32(bytes: &[u8]) -> Result<[u8; 4], Error> {
    u32::try_from(bytes.len())
        .map(u32::to_be_bytes)
        .map_err(|_| Error::Corrupt("a value over 4 GiB"))
}

fn io(e: std::io::Error) -> Error {
    Error::Backup(e.to_string())
}

/// `OUT.partial`, where the file is written before it is renamed.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".partial");
    PathBuf::from(name)
}

impl Store {
    /// Writes a consistent backup of this store to `out` (replacing it),
    /// stamped `created_at`; returns its header. Transactions wait while the
    /// trees are read; reads go on.
    ///
    /// On a cluster node the copy is the node's replica at one applied
    /// revision (see the module doc).
    ///
    /// # Errors
    /// [`Error::Backup`] for file errors; [`Error::Cluster`] (UNAVAILABLE
    /// over gRPC: try again) when a cluster node's replica was read in full
    /// during the copy; sled errors.
    pub fn backup(&self, out: &Path, created_at: DateTime<Utc>) -> Result<BackupHeader, Error> {
        // One at a time (the RPC and the schedule): they share the change log.
        let _one = self.hold.one_backup();
        let partial = partial_path(out);
        let written = self.backup_via(&partial, out, created_at);
        if written.is_err() {
            // A failed backup leaves no half file behind (restore would
            // refuse it, but it would fill the backup directory).
            let _ = std::fs::remove_file(&partial);
        }
        written
    }

    /// [`Store::backup`] through `partial`, renamed to `out` once whole.
    fn backup_via(
        &self,
        partial: &Path,
        out: &Path,
        created_at: DateTime<Utc>,
    ) -> Result<BackupHeader, Error> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(partial)
            .map_err(|e| Error::Backup(format!("cannot create {}: {e}", partial.display())))?;
        let mut body = Body {
            out: BufWriter::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
            trees: Vec::new(),
        };
        body.out.seek(SeekFrom::Start(BODY_AT)).map_err(io)?;
        let names = self.backup_tree_names();
        let Moment {
            held,
            journal,
            overrides,
            etcd_revision,
            resets,
        } = self.copy_one_moment(&mut body, &names)?;
        for name in names.iter().filter(|n| OUTSIDE_HOLD.contains(&n.as_str())) {
            body.tree(name, &self.db.open_tree(name)?, &[])?;
        }
        // A cluster replicates some of those trees: no full read meanwhile.
        refuse_reset(resets, self.hold.resets())?;
        body.put(&[END]).map_err(io)?;
        let fingerprint = self
            .meta
            .get(META_PEPPER)?
            .ok_or(Error::Corrupt("no pepper fingerprint"))?;
        let header = BackupHeader {
            format: BACKUP_FORMAT,
            schema_version: SCHEMA_VERSION,
            credd_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: created_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            pepper_fingerprint: hex(&fingerprint),
            body_bytes: body.bytes,
            sha256: hex(&body.hasher.finalize_reset()),
            trees: std::mem::take(&mut body.trees),
            journal: journal.map(|(path, position)| JournalMark {
                path: path.display().to_string(),
                position,
            }),
            write_hold_ms: u64::try_from(held.as_millis()).unwrap_or(u64::MAX),
            overrides,
            etcd_revision,
        };
        finish(body.out, &header)?;
        std::fs::rename(partial, out).map_err(|e| {
            Error::Backup(format!(
                "cannot rename {} to {}: {e}",
                partial.display(),
                out.display()
            ))
        })?;
        sync_parent(out)?;
        tracing::info!(
            path = %out.display(),
            rows = header.total_rows(),
            bytes = header.body_bytes,
            write_hold_ms = header.write_hold_ms,
            "backup written"
        );
        Ok(header)
    }

    /// Copies the trees transactions write (all but `OUTSIDE_HOLD`) while
    /// they go on, recording the keys they write, then, with transactions
    /// held, copies those keys again as they are now (a tombstone for one
    /// that is gone): the body then holds the store as it was at that
    /// moment. Returns how long transactions were held, the journal's
    /// position at that moment, and the rows copied again.
    fn copy_one_moment(&self, body: &mut Body, names: &[String]) -> Result<Moment, Error> {
        let started = Instant::now();
        self.hold.start_recording();
        let mut recording = Recording(Some(&self.hold));
        let resets = self.hold.resets();
        let start_pause = started.elapsed();
        refuse_reset(resets, resets)?;
        let skip = self.node_meta_keys();
        for name in names.iter().filter(|n| !OUTSIDE_HOLD.contains(&n.as_str())) {
            let skip = if name == "meta" { skip } else { &[] };
            body.tree(name, &self.db.open_tree(name)?, skip)?;
        }
        let started = Instant::now();
        let _hold = self.hold.exclusive();
        let changed = recording.stop();
        let mut overrides = 0u64;
        for (tree, key) in &changed {
            let Some(index) = body
                .trees
                .iter()
                .position(|t| t.name.as_bytes() == tree.as_slice())
            else {
                continue;
            };
            if tree == b"meta" && skip.contains(&key.as_slice()) {
                continue;
            }
            let value = self.db.open_tree(tree)?.get(key)?;
            body.row(index, key, value.as_deref())?;
            overrides += 1;
        }
        // Before the revision is read (a full read removes it): a full read
        // begun at any point of the copy shows here.
        refuse_reset(resets, self.hold.resets())?;
        let etcd_revision = self.applied_revision()?;
        let journal = self.journal.position();
        Ok(Moment {
            held: start_pause + started.elapsed(),
            journal,
            overrides,
            etcd_revision,
            resets,
        })
    }

    /// The `meta` keys a backup leaves out: on a cluster node, the ones
    /// that tie the directory to its cluster and node.
    fn node_meta_keys(&self) -> &'static [&'static [u8]] {
        match &self.backend {
            Backend::Sled => &[],
            #[cfg(feature = "etcd")]
            Backend::Etcd(_) => super::super::etcd::META_ETCD_KEYS,
        }
    }

    /// On a cluster node, the etcd revision its replica has applied (as
    /// recorded with the trees, which the write hold keeps still).
    fn applied_revision(&self) -> Result<Option<i64>, Error> {
        match &self.backend {
            Backend::Sled => Ok(None),
            #[cfg(feature = "etcd")]
            Backend::Etcd(cluster) => cluster
                .recorded_revision()?
                .ok_or(Error::Corrupt("a replica without its etcd revision"))
                .map(Some),
        }
    }

    /// Every tree a backup copies, sorted (sled's default tree holds nothing
    /// of credd's).
    fn backup_tree_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .db
            .tree_names()
            .iter()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .filter(|n| n != "__sled__default")
            .collect();
        names.sort();
        names
    }
}

/// Refuses a copy across a whole-tree rewrite (a cluster replica's full
/// read): one under way at its start, or begun since.
fn refuse_reset(start: Resets, now: Resets) -> Result<(), Error> {
    if start.under_way || now != start {
        return Err(Error::Cluster(
            "this node's replica is being read in full from etcd (after a compaction or a long disconnection), so its trees are not one moment; nothing was kept: try again once the node serves".into(),
        ));
    }
    Ok(())
}

/// Writes the header at the start (the magic last of all), then syncs.
fn finish(out: BufWriter<File>, header: &BackupHeader) -> Result<(), Error> {
    let mut file = out.into_inner().map_err(|e| io(e.into_error()))?;
    let json = serde_json::to_vec(header).map_err(|e| Error::Backup(e.to_string()))?;
    let len = u32::try_from(json.len()).map_err(|_| Error::Corrupt("header too long"))?;
    if 12 + json.len() as u64 > BODY_AT {
        return Err(Error::Backup(
            "the header does not fit before the body".into(),
        ));
    }
    file.seek(SeekFrom::Start(8)).map_err(io)?;
    file.write_all(&len.to_be_bytes()).map_err(io)?;
    file.write_all(&json).map_err(io)?;
    file.sync_data().map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    file.write_all(MAGIC).map_err(io)?;
    file.sync_all().map_err(io)
}

/// Syncs the directory holding `path`, so its rename is durable.
fn sync_parent(path: &Path) -> Result<(), Error> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::Backup(format!("cannot sync {}: {e}", parent.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy is refused when a replica's full read was under way at its
    /// start or began during it; two equal ends pass.
    #[test]
    fn a_copy_across_a_full_read_is_refused() {
        let idle = Resets {
            began: 3,
            under_way: false,
        };
        let reading = Resets {
            began: 3,
            under_way: true,
        };
        let later = Resets {
            began: 4,
            under_way: false,
        };
        assert!(refuse_reset(idle, idle).is_ok());
        assert!(refuse_reset(reading, reading).is_err());
        let e = refuse_reset(idle, later).unwrap_err();
        assert!(matches!(e, Error::Cluster(_)), "{e}");
        assert!(e.to_string().contains("try again"), "{e}");
        assert!(refuse_reset(idle, reading).is_err());
    }
}
