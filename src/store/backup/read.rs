//! Reading a backup: checking all of it (`inspect_backup`), and loading it
//! into an empty database (`restore_backup`). Nothing is loaded from a file
//! that fails a check.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::super::Error;
use super::super::meta::SCHEMA_VERSION;
use super::{BACKUP_FORMAT, BODY_AT, BackupHeader, END, MAGIC, TOMBSTONE};
use crate::secret::hex;

/// Rows loaded per sled batch.
const BATCH_ROWS: usize = 10_000;

/// What a restore loaded.
#[derive(Debug, Clone)]
pub struct RestoreReport {
    /// The backup's header.
    pub header: BackupHeader,
    /// The first audit `seq` new events get.
    pub next_audit_seq: u64,
    /// Login sessions the backup held, all ended (see `end_sessions`).
    pub sessions_ended: u64,
}

fn refused(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Backup(format!(
        "{} is not a usable credd backup: {why}",
        path.display()
    ))
}

/// Opens `path` and reads its header.
fn open(path: &Path) -> Result<(BufReader<File>, BackupHeader), Error> {
    let mut file = File::open(path)
        .map_err(|e| Error::Backup(format!("cannot open {}: {e}", path.display())))?;
    let mut head = [0u8; 12];
    file.read_exact(&mut head)
        .map_err(|_| refused(path, "it is shorter than a header"))?;
    if &head[..8] != MAGIC {
        return Err(refused(
            path,
            "no credd backup header (an interrupted backup, or another kind of file)",
        ));
    }
    let len = u32::from_be_bytes([head[8], head[9], head[10], head[11]]) as u64;
    if 12 + len > BODY_AT {
        return Err(refused(path, "its header length is out of range"));
    }
    let mut json = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.read_exact(&mut json)
        .map_err(|_| refused(path, "its header is cut short"))?;
    let header: BackupHeader = serde_json::from_slice(&json)
        .map_err(|e| refused(path, format!("its header is damaged: {e}")))?;
    if header.format > BACKUP_FORMAT {
        return Err(refused(
            path,
            format!(
                "file format {} is newer than this credd's {BACKUP_FORMAT}",
                header.format
            ),
        ));
    }
    if header.schema_version > SCHEMA_VERSION {
        return Err(refused(
            path,
            format!(
                "schema version {} is newer than this credd's {SCHEMA_VERSION}",
                header.schema_version
            ),
        ));
    }
    let mut reader = BufReader::with_capacity(1 << 20, file);
    std::io::copy(
        &mut (&mut reader).take(BODY_AT - 12 - len),
        &mut std::io::sink(),
    )
    .map_err(|e| Error::Backup(e.to_string()))?;
    Ok((reader, header))
}

/// One row of the body: its tree's index, key and value (None: a
/// tombstone, the key is gone).
type Row = (usize, Vec<u8>, Option<Vec<u8>>);

/// The body's rows, hashed and counted as they are read.
struct Rows<'a> {
    reader: BufReader<File>,
    path: &'a Path,
    hasher: Sha256,
    bytes: u64,
    ended: bool,
}

impl Rows<'_> {
    fn take(&mut self, n: usize) -> Result<Vec<u8>, Error> {
        let mut buf = vec![0u8; n];
        self.reader
            .read_exact(&mut buf)
            .map_err(|_| refused(self.path, "the file is cut short (truncated)"))?;
        self.hasher.update(&buf);
        self.bytes += n as u64;
        Ok(buf)
    }

    fn len(&mut self) -> Result<usize, Error> {
        let raw = self.take(4)?;
        Ok(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize)
    }

    /// The next row (tree index, key, value), None after the end marker.
    fn next_row(&mut self, n_trees: usize) -> Result<Option<Row>, Error> {
        let tree = self.take(1)?[0];
        if tree == END {
            self.ended = true;
            return Ok(None);
        }
        let tree = usize::from(tree);
        if tree >= n_trees {
            return Err(refused(
                self.path,
                "a row names a tree the header does not (damaged)",
            ));
        }
        let klen = self.len()?;
        let key = self.take(klen)?;
        let vlen = self.len()?;
        if vlen == TOMBSTONE as usize {
            return Ok(Some((tree, key, None)));
        }
        let value = self.take(vlen)?;
        Ok(Some((tree, key, Some(value))))
    }

    /// After the end marker: nothing may follow, and the length and
    /// checksum must be the header's.
    fn check_end(mut self, header: &BackupHeader) -> Result<(), Error> {
        let mut rest = [0u8; 1];
        if self
            .reader
            .read(&mut rest)
            .map_err(|e| Error::Backup(e.to_string()))?
            != 0
        {
            return Err(refused(
                self.path,
                "bytes follow the end of the body (damaged)",
            ));
        }
        if self.bytes != header.body_bytes {
            return Err(refused(
                self.path,
                "its body's length differs from the header's",
            ));
        }
        if hex(&self.hasher.finalize_reset()) != header.sha256 {
            return Err(refused(
                self.path,
                "its checksum does not match (the file was changed or damaged)",
            ));
        }
        Ok(())
    }
}

fn rows<'a>(path: &'a Path) -> Result<(Rows<'a>, BackupHeader), Error> {
    let (reader, header) = open(path)?;
    let rows = Rows {
        reader,
        path,
        hasher: Sha256::new(),
        bytes: 0,
        ended: false,
    };
    Ok((rows, header))
}

/// Checks all of the backup at `path`: header, length, checksum and the
/// rows of each tree, and that it was made with the pepper whose
/// fingerprint is `pepper_fingerprint`. Returns its header.
///
/// # Errors
/// [`Error::Backup`] saying what is wrong; [`Error::PepperMismatch`].
pub fn inspect_backup(path: &Path, pepper_fingerprint: [u8; 32]) -> Result<BackupHeader, Error> {
    let (_, header) = open(path)?;
    if header.pepper_fingerprint != hex(&pepper_fingerprint) {
        return Err(Error::Backup(format!(
            "{} was made with another pepper (fingerprint {}…): restore with the pepper file of the store it was taken from",
            path.display(),
            &header.pepper_fingerprint[..header.pepper_fingerprint.len().min(12)]
        )));
    }
    check_backup_file(path)
}

/// [`inspect_backup`] without the pepper: whether the file is whole (what
/// `credctl backup` checks before it keeps a file).
///
/// # Errors
/// [`Error::Backup`] saying what is wrong.
pub fn check_backup_file(path: &Path) -> Result<BackupHeader, Error> {
    let (mut rows, header) = rows(path)?;
    let mut counts = vec![0u64; header.trees.len()];
    while let Some((tree, _, _)) = rows.next_row(header.trees.len())? {
        counts[tree] += 1;
    }
    debug_assert!(rows.ended);
    rows.check_end(&header)?;
    for (tree, n) in header.trees.iter().zip(&counts) {
        if tree.rows != *n {
            return Err(refused(
                path,
                format!(
                    "tree {} has {n} rows where the header says {}",
                    tree.name, tree.rows
                ),
            ));
        }
    }
    Ok(header)
}

/// Loads the backup at `path` (checked first, as [`inspect_backup`]) into a
/// new database at `db_dir`, which must not exist or be empty, and moves
/// the audit id generator past every restored id. `progress` hears the
/// rows loaded so far, every batch.
///
/// # Errors
/// As [`inspect_backup`]; [`Error::Backup`] for a directory that holds
/// files; sled errors.
pub fn restore_backup(
    path: &Path,
    db_dir: &Path,
    pepper_fingerprint: [u8; 32],
    progress: &dyn Fn(u64),
) -> Result<RestoreReport, Error> {
    let header = inspect_backup(path, pepper_fingerprint)?;
    if std::fs::read_dir(db_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(Error::Backup(format!(
            "{} is not empty: a restore writes only into an empty directory",
            db_dir.display()
        )));
    }
    // No background flusher (this flushes itself at the end): with one,
    // the database could still be held for a moment after it is dropped,
    // and opening the restored store at once would find it locked.
    let db = sled::Config::new()
        .path(db_dir)
        .flush_every_ms(None)
        .open()?;
    let trees = header
        .trees
        .iter()
        .map(|t| db.open_tree(&t.name))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut rows, _) = rows(path)?;
    let mut batches: Vec<(sled::Batch, usize)> = trees.iter().map(|_| Default::default()).collect();
    let mut max_audit: Option<u64> = None;
    let audit = header.trees.iter().position(|t| t.name == "audit");
    let mut loaded = 0u64;
    while let Some((tree, key, value)) = rows.next_row(trees.len())? {
        if Some(tree) == audit {
            max_audit = max_audit.max(Some(super::super::audit::audit_seq(&key)?));
        }
        let (batch, n) = &mut batches[tree];
        match value {
            Some(value) => batch.insert(key, value),
            None => batch.remove(key),
        }
        *n += 1;
        loaded += 1;
        if *n == BATCH_ROWS {
            trees[tree].apply_batch(std::mem::take(batch))?;
            *n = 0;
            progress(loaded);
        }
    }
    rows.check_end(&header)?;
    for (tree, (batch, _)) in trees.iter().zip(batches) {
        tree.apply_batch(batch)?;
    }
    progress(loaded);
    let next_audit_seq = match (header.etcd_revision, audit) {
        // A cluster node's audit keys carry etcd revisions (far past any
        // sled id): numbered again in their order, as a migration does.
        (Some(_), Some(at)) => renumber_audit(&db, &trees[at])?,
        _ => max_audit.map_or(0, |m| m + 1),
    };
    let mut next = db.generate_id()?;
    while next < next_audit_seq {
        next = db.generate_id()?;
    }
    // Rows copied again replace earlier ones, so only a backup without them
    // has exactly its rows in each tree.
    for (tree, count) in trees.iter().zip(&header.trees) {
        if header.overrides == 0 && tree.len() as u64 != count.rows {
            return Err(Error::Backup(format!(
                "tree {} holds {} rows after the restore where the backup has {}",
                count.name,
                tree.len(),
                count.rows
            )));
        }
    }
    let sessions_ended = end_sessions(&db)?;
    db.flush()?;
    Ok(RestoreReport {
        header,
        next_audit_seq: next.max(next_audit_seq),
        sessions_ended,
    })
}

/// Ends every restored login session: a logout after the backup is not in
/// it, and no session may come back to life (users log in again).
fn end_sessions(db: &sled::Db) -> Result<u64, Error> {
    let sessions = db.open_tree("sessions")?;
    let ended = sessions.len() as u64;
    sessions.clear()?;
    db.open_tree("session_deadlines")?.clear()?;
    Ok(ended)
}

/// Gives the events of `audit` the ids sled's generator hands out next, in
/// their order (through a scratch tree, in batches: memory stays bounded);
/// returns the first id after them.
fn renumber_audit(db: &sled::Db, audit: &sled::Tree) -> Result<u64, Error> {
    const SCRATCH: &str = "audit_renumbering";
    let scratch = db.open_tree(SCRATCH)?;
    copy_in_batches(audit.iter(), &scratch, |_| {
        Ok(db.generate_id()?.to_be_bytes().to_vec())
    })?;
    audit.clear()?;
    copy_in_batches(scratch.iter(), audit, |key| Ok(key.to_vec()))?;
    db.drop_tree(SCRATCH)?;
    Ok(db.generate_id()?)
}

/// Inserts every row of `rows` into `into` under the key `key` gives it.
fn copy_in_batches(
    rows: sled::Iter,
    into: &sled::Tree,
    mut key: impl FnMut(&[u8]) -> sled::Result<Vec<u8>>,
) -> Result<(), Error> {
    let mut batch = sled::Batch::default();
    let mut n = 0usize;
    for row in rows {
        let (old, value) = row?;
        batch.insert(key(&old)?, value);
        n += 1;
        if n == BATCH_ROWS {
            into.apply_batch(std::mem::take(&mut batch))?;
            n = 0;
        }
    }
    into.apply_batch(batch)?;
    Ok(())
}
