//! The revocation journal: an append-only file, kept outside the data
//! directory (`[backup] journal`), of every change that takes access away
//! from a credential: revoked, disabled, deleted, or a secret version
//! retired (a completed rotation); and from what credentials hang on: an
//! account suspended, a user disabled or deleted. A restore re-applies the lines written
//! after the backup was taken (the backup's header names the journal's
//! length then), so a key revoked after the backup stays refused.
//!
//! One JSON object per line: `{"n": position, "id": credential,
//! "event": "revoked" | "disabled" | "deleted" | "retired", "versions": [..]}`,
//! or `{"n", "event": "account_suspended", "account"}`, `{"n", "event":
//! "user_disabled" | "user_deleted", "account", "user"}`.
//!
//! On a cluster node the lines come from the replica: every change that
//! takes access away, made on any node, is journaled as the node applies
//! it from etcd's watch, with the etcd revision that made it (`"revision"`),
//! before the revision counts as applied (so before a write made through
//! this node is acknowledged). A restore of a cluster backup re-applies the
//! lines past the backup's revision, from this node's journal or any other
//! node's. A full read of the replica cannot tell what changed, so it
//! leaves a `"gap"` line at the revision it read, and a journal opened
//! empty on a node that resumes its replica begins with a `"start"` line at
//! that revision: a restore needs a mark at or before the backup's
//! revision and refuses a journal with a gap after it.
//! A line is appended right after its transaction commits and synced by the
//! group commit before sled's flush, so every change acknowledged to a caller
//! (acknowledged after the flush) is in the journal. A crash can leave a
//! line for a change sled lost, or a torn last line; opening the journal
//! drops a torn line, and re-applying a change that is already there
//! changes nothing.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::lifecycle::{
    AccountRecord, AccountStatus, CredentialRecord, Status, UserRecord, UserStatus,
};

/// What a journal line says happened to a credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalEvent {
    /// Revoked.
    Revoked,
    /// Disabled (by an administrator or for inactivity).
    Disabled,
    /// Deleted.
    Deleted,
    /// These secret versions stopped verifying (a rotation completed).
    Retired,
    /// A cluster node's replica was read in full at `revision`: changes
    /// between its previous revision and that one are not journaled.
    Gap,
    /// The account `account` was suspended.
    AccountSuspended,
    /// The user `user` of `account` was disabled.
    UserDisabled,
    /// The user `user` of `account` was deleted.
    UserDeleted,
    /// A cluster node's journal begins at `revision` (opened empty while
    /// its replica resumed from that revision): every later change is in.
    Start,
}

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// Position: the line's number, from 0.
    pub n: u64,
    /// The credential (empty for the events about accounts and users).
    #[serde(default)]
    pub id: String,
    /// What happened.
    pub event: JournalEvent,
    /// For `Retired`: the versions retired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<u32>,
    /// On a cluster node: the etcd revision of the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<i64>,
    /// For the events about accounts and users: the account.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account: String,
    /// For the events about users: the user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user: String,
}

impl JournalEntry {
    /// A line about no credential, at position 0 until appended.
    pub(super) fn about(event: JournalEvent, account: &str, user: &str) -> Self {
        JournalEntry {
            n: 0,
            id: String::new(),
            event,
            versions: Vec::new(),
            revision: None,
            account: account.to_string(),
            user: user.to_string(),
        }
    }
}

/// The journal line for an account changed from `old` to `new`, when it
/// was suspended.
pub(super) fn account_restrictions(
    old: Option<&AccountRecord>,
    new: Option<&AccountRecord>,
) -> Vec<JournalEntry> {
    match (old.map(|a| a.status), new) {
        (Some(AccountStatus::Suspended), _) | (_, None) => Vec::new(),
        (_, Some(new)) if new.status == AccountStatus::Suspended => {
            vec![JournalEntry::about(
                JournalEvent::AccountSuspended,
                &new.id,
                "",
            )]
        }
        _ => Vec::new(),
    }
}

/// The journal line for a user changed from `old` to `new` (None:
/// deleted), when it was disabled or deleted.
pub(super) fn user_restrictions(
    old: Option<&UserRecord>,
    new: Option<&UserRecord>,
) -> Vec<JournalEntry> {
    let Some(old) = old else {
        return Vec::new();
    };
    let line = |event| vec![JournalEntry::about(event, &old.account_id, &old.username)];
    match new {
        None => line(JournalEvent::UserDeleted),
        Some(new) if new.status == UserStatus::Disabled && old.status != UserStatus::Disabled => {
            line(JournalEvent::UserDisabled)
        }
        Some(_) => Vec::new(),
    }
}

/// The changes between `old` and `new` (None: deleted) that take access
/// away, as journal lines (positions filled in when appended).
pub(super) fn restrictions(
    old: Option<&CredentialRecord>,
    new: Option<&CredentialRecord>,
) -> Vec<JournalEntry> {
    let Some(old) = old else {
        return Vec::new();
    };
    let entry = |event, versions| JournalEntry {
        id: old.id.clone(),
        versions,
        ..JournalEntry::about(event, "", "")
    };
    let Some(new) = new else {
        return vec![entry(JournalEvent::Deleted, Vec::new())];
    };
    let mut lines = Vec::new();
    let closed = |s: Status| matches!(s, Status::Revoked | Status::Disabled);
    if closed(new.status) && new.status != old.status {
        let event = match new.status {
            Status::Revoked => JournalEvent::Revoked,
            _ => JournalEvent::Disabled,
        };
        lines.push(entry(event, Vec::new()));
    }
    let retired: Vec<u32> = old
        .versions
        .iter()
        .map(|v| v.version)
        .filter(|v| !new.versions.iter().any(|n| n.version == *v))
        .collect();
    if !retired.is_empty() {
        lines.push(entry(JournalEvent::Retired, retired));
    }
    lines
}

/// The journal file while the store is open (nothing when unconfigured).
#[derive(Debug, Default)]
pub(crate) struct Journal(Mutex<Option<Open>>);

#[derive(Debug)]
struct Open {
    file: File,
    path: PathBuf,
    /// Lines in the file: the next line's position.
    len: u64,
    /// Lines appended since the last sync.
    unsynced: bool,
}

impl Journal {
    /// Opens (or creates, mode 0600) the journal at `path`, dropping a torn
    /// last line.
    pub(crate) fn open(&self, path: &Path) -> std::io::Result<()> {
        let (len, keep) = complete_lines(path)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        if file.metadata()?.len() != keep {
            file.set_len(keep)?;
            file.sync_all()?;
        }
        let mut file = file;
        file.seek(std::io::SeekFrom::End(0))?;
        // Absolute, so a backup's header names it from anywhere.
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        *self.lock() = Some(Open {
            file,
            path,
            len,
            unsynced: false,
        });
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Open>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether a journal is kept.
    #[cfg(feature = "etcd")]
    pub(crate) fn is_open(&self) -> bool {
        self.lock().is_some()
    }

    /// Whether a journal is kept and holds no line yet.
    #[cfg(feature = "etcd")]
    pub(crate) fn is_empty(&self) -> bool {
        self.lock().as_ref().is_some_and(|open| open.len == 0)
    }

    /// Appends `entries` (their positions assigned here). Not durable until
    /// [`Journal::sync`].
    pub(crate) fn append(&self, entries: Vec<JournalEntry>) -> std::io::Result<()> {
        let mut guard = self.lock();
        let Some(open) = guard.as_mut() else {
            return Ok(());
        };
        let mut text = String::new();
        for mut entry in entries {
            entry.n = open.len;
            open.len += 1;
            text.push_str(&serde_json::to_string(&entry).map_err(std::io::Error::other)?);
            text.push('\n');
        }
        open.file.write_all(text.as_bytes())?;
        open.unsynced = true;
        Ok(())
    }

    /// Makes every appended line durable (run by each group commit flush).
    pub(crate) fn sync(&self) -> std::io::Result<()> {
        let mut guard = self.lock();
        match guard.as_mut() {
            Some(open) if open.unsynced => {
                open.file.sync_data()?;
                open.unsynced = false;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The journal's path and length now (a backup's header records them).
    pub(crate) fn position(&self) -> Option<(PathBuf, u64)> {
        self.lock().as_ref().map(|o| (o.path.clone(), o.len))
    }
}

/// Complete lines in the file at `path` and the bytes they take (0, 0 when
/// it does not exist).
fn complete_lines(path: &Path) -> std::io::Result<(u64, u64)> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, 0)),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::new(file);
    let (mut lines, mut bytes) = (0u64, 0u64);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok((lines, bytes));
        }
        lines += 1;
        bytes += n as u64;
    }
}

/// Reads the journal at `path` from position `after` on.
///
/// # Errors
/// I/O errors, and a line that is not a journal entry (a torn last line is
/// ignored) or out of sequence.
pub fn read_journal(path: &Path, after: u64) -> Result<Vec<JournalEntry>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    let mut entries = Vec::new();
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut n = 0u64;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if read == 0 || !line.ends_with('\n') {
            break;
        }
        if n >= after {
            let entry: JournalEntry = serde_json::from_str(&line).map_err(|e| {
                format!(
                    "{} line {}: not a journal entry: {e}",
                    path.display(),
                    n + 1
                )
            })?;
            if entry.n != n {
                return Err(format!(
                    "{} line {} says position {}: the journal was edited or replaced",
                    path.display(),
                    n + 1,
                    entry.n
                ));
            }
            entries.push(entry);
        }
        n += 1;
    }
    if n < after {
        return Err(format!(
            "{} has {n} entries but the backup was taken at entry {after}: it is not the journal the backup was made beside",
            path.display()
        ));
    }
    Ok(entries)
}

/// Reads a cluster node's journal at `path` (any node's) for a backup
/// taken at etcd revision `revision`: the lines of later revisions.
///
/// The journal must cover that revision: a `start` (a node's journal
/// begun on a resume) or a `gap` (a full read) at or before it, and no gap
/// after it. Lines without a revision before the first such mark (from a
/// time the directory was a single node's) are not the cluster's.
///
/// # Errors
/// As [`read_journal`]; a journal that begins after `revision` or has a
/// gap after it (changes may be missing); a line without a revision after
/// the first mark.
pub fn read_journal_after_revision(
    path: &Path,
    revision: i64,
) -> Result<Vec<JournalEntry>, String> {
    let at_line = |entry: &JournalEntry| format!("{} line {}", path.display(), entry.n + 1);
    let mut covered = false;
    let mut marked = false;
    let mut later = Vec::new();
    for entry in read_journal(path, 0)? {
        let mark = matches!(entry.event, JournalEvent::Gap | JournalEvent::Start);
        let Some(at) = entry.revision else {
            if marked {
                return Err(format!(
                    "{} has no etcd revision: it is not a cluster node's line",
                    at_line(&entry)
                ));
            }
            continue;
        };
        marked |= mark;
        if at <= revision {
            covered |= mark;
            continue;
        }
        if mark {
            return Err(format!(
                "{}: that node's journal {} at revision {at}, after the backup's {revision}, so changes before it may be missing from it; pass --journal with another node's journal (or restore a backup taken after that revision)",
                at_line(&entry),
                if entry.event == JournalEvent::Gap {
                    "has a gap (a full read)"
                } else {
                    "begins"
                },
            ));
        }
        later.push(entry);
    }
    if !covered {
        return Err(format!(
            "{} does not reach back to the backup's etcd revision {revision}: pass --journal with the journal of a node that followed the cluster then",
            path.display()
        ));
    }
    Ok(later)
}
