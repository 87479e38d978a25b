//! The `meta` tree: the schema version (and the upgrade from older ones) and
//! the pepper fingerprint checked when the database is opened, and the
//! small named values other parts keep there.

use super::codec;
use super::{Error, Store};

/// Schema written by this build. A newer one on disk is refused.
/// Version 2: `secret_index` entries carry Verify's view of their record
/// (an older credd would change records without updating it), and
/// customer keys and the partner trees exist.
/// Version 3: `by_account` values carry the credential's kind, so the quota
/// counts only the kinds it is about (an older credd reads them as corrupt).
/// Version 4: sessions are indexed by their next deadline in
/// `session_deadlines` and each session names its entry (an older credd
/// would add and remove sessions without it).
pub const SCHEMA_VERSION: u32 = 4;

pub(super) const META_SCHEMA: &[u8] = b"schema_version";
pub(super) const META_PEPPER: &[u8] = b"pepper_fingerprint";

impl Store {
    /// Rewrites every `by_account` value of schema 2 or older (status and
    /// expiry) with its credential's kind, read from the record.
    fn add_kinds_to_account_index(&self) -> Result<(), Error> {
        let mut batch = sled::Batch::default();
        let mut n_rewritten = 0usize;
        for item in &self.by_account {
            let (key, value) = item?;
            if value.len() == codec::ACCOUNT_VALUE_LEN {
                continue;
            }
            let id = key
                .iter()
                .position(|b| *b == 0)
                .map(|at| &key[at + 1..])
                .ok_or(Error::Corrupt("account index key"))?;
            match self.credentials.get(id)? {
                Some(raw) => {
                    let record = codec::decode_record(&raw)?;
                    batch.insert(key, &codec::account_value(&record)[..]);
                }
                None => batch.remove(key),
            }
            n_rewritten += 1;
        }
        self.by_account.apply_batch(batch)?;
        if n_rewritten > 0 {
            tracing::info!(
                entries = n_rewritten,
                "account index upgraded to schema 3 (kinds recorded)"
            );
        }
        Ok(())
    }

    pub(super) fn check_meta(&self, pepper_fingerprint: [u8; 32]) -> Result<(), Error> {
        match self.meta.get(META_SCHEMA)? {
            Some(raw) => {
                let found = <[u8; 4]>::try_from(raw.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| Error::Corrupt("schema version"))?;
                if found > SCHEMA_VERSION {
                    return Err(Error::NewerSchema { found });
                }
                if found < SCHEMA_VERSION {
                    // Schema 1's index entries have no view and are read
                    // through their record; schema 2's `by_account` values
                    // lack the kind and are rewritten here; schema 3's
                    // sessions get their deadline index. Every step is
                    // idempotent, and the new version is written only after
                    // them, so a crash part-way repeats them at the next open.
                    self.add_kinds_to_account_index()?;
                    self.index_sessions()?;
                    self.db.flush()?;
                    self.meta
                        .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
                }
            }
            None => {
                self.meta
                    .insert(META_SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
            }
        }
        match self.meta.get(META_PEPPER)? {
            Some(stored) if stored.as_ref() != pepper_fingerprint.as_slice() => {
                return Err(Error::PepperMismatch);
            }
            Some(_) => {}
            None => {
                if !self.credentials.is_empty() {
                    return Err(Error::PepperMismatch);
                }
                self.meta.insert(META_PEPPER, &pepper_fingerprint)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// Reads a `meta` value.
    ///
    /// # Errors
    /// sled errors.
    pub fn meta_get(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.meta.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// Writes a `meta` value (durable at the next flush).
    ///
    /// # Errors
    /// sled errors.
    pub fn meta_put(&self, key: &str, value: &[u8]) -> Result<(), Error> {
        // Node-local on every backend (see `backend`).
        self.watched(self.meta.insert(key.as_bytes(), value).map_err(Error::from))?;
        Ok(())
    }
}

/// `shared_meta` key: the bootstrap admin key's id (or
/// [`BOOTSTRAP_PENDING`] and the claiming node's id while it issues it).
const SHARED_BOOTSTRAP: &[u8] = b"admin_key_bootstrap";

/// The start of the bootstrap marker's value while its key is being issued.
pub const BOOTSTRAP_PENDING: &str = "pending";

impl Store {
    /// The bootstrap admin key's id, shared by every node of a cluster (and
    /// carried by a migration), if one was issued or is being issued.
    ///
    /// # Errors
    /// sled errors and an undecodable id.
    pub fn bootstrap_marker(&self) -> Result<Option<String>, Error> {
        self.shared_meta
            .get(SHARED_BOOTSTRAP)?
            .map(|raw| {
                String::from_utf8(raw.to_vec()).map_err(|_| Error::Corrupt("bootstrap marker"))
            })
            .transpose()
    }

    /// Sets the bootstrap marker to `value` when it is unset (`only_new`)
    /// or whatever it is; false when `only_new` and another node (or an
    /// earlier start) set it first. Not durable until [`Store::flush`] with
    /// sled; with etcd, committed when it returns.
    ///
    /// # Errors
    /// sled errors, [`Error::Cluster`].
    pub fn set_bootstrap_marker(&self, value: &str, only_new: bool) -> Result<bool, Error> {
        self.transact([&self.shared_meta], |[tree]| {
            if only_new && tree.get(SHARED_BOOTSTRAP)?.is_some() {
                return Ok(false);
            }
            tree.insert(SHARED_BOOTSTRAP, value.as_bytes())?;
            Ok::<_, sled::transaction::ConflictableTransactionError<()>>(true)
        })?
        .map_err(|()| Error::Corrupt("bootstrap marker"))
    }
}
