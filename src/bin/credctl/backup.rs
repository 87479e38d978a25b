//! `credctl backup OUT`: streams a backup from the daemon into `OUT.partial`,
//! checks the whole file (header, length, checksum, rows per tree), then
//! renames it to `OUT`. The file's first bytes (its magic) are held back
//! and written only once the daemon has ended the stream with OK, so a
//! `.partial` cut anywhere (the daemon or credctl killed, the network gone)
//! is never a file that restore accepts; on an error the `.partial` is
//! removed as well. A progress bar on a terminal; otherwise only the
//! summary.

use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;

use serde_json::json;

use credd::api::pb;
use credd::api::pb::backup_admin_client::BackupAdminClient;
use credd::store::BACKUP_MAGIC_LEN as MAGIC_LEN;

use crate::args::BackupArgs;
use crate::connect::Authed;
use crate::output::Output;
use crate::rpc::status_error;

/// Receives, checks and places the backup; prints its summary.
pub(crate) async fn run(authed: Authed, args: BackupArgs, out: &Output) -> Result<(), String> {
    let mut client = BackupAdminClient::new(authed);
    let mut partial_name = args.out.as_os_str().to_owned();
    partial_name.push(".partial");
    let partial = std::path::PathBuf::from(partial_name);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(&partial)
        .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    let received = receive(&mut client, &mut file, &partial)
        .await
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })?;
    let header = credd::store::check_backup_file(&partial).map_err(|e| {
        let _ = std::fs::remove_file(&partial);
        format!("the backup received is not whole: {e}")
    })?;
    std::fs::rename(&partial, &args.out).map_err(|e| {
        format!(
            "cannot rename {} to {}: {e}",
            partial.display(),
            args.out.display()
        )
    })?;
    out.object(json!({
        "file": args.out.display().to_string(),
        "bytes": received,
        "rows": header.total_rows(),
        "credentials": header.rows_of("credentials"),
        "taken_at": header.created_at,
        "write_hold_ms": header.write_hold_ms,
        "sha256": header.sha256,
    }));
    Ok(())
}

/// Writes the stream into `file` with its first [`credd::store::BACKUP_MAGIC_LEN`] bytes zeroed,
/// and puts them in place (then syncs) only after the stream ended with OK.
/// Returns the bytes received.
async fn receive(
    client: &mut BackupAdminClient<Authed>,
    file: &mut std::fs::File,
    partial: &std::path::Path,
) -> Result<u64, String> {
    let write_err = |e: std::io::Error| format!("cannot write {}: {e}", partial.display());
    let mut stream = client
        .backup(pb::BackupRequest {})
        .await
        .map_err(status_error)?
        .into_inner();
    let bar = credd::progress::bar(
        Some(0),
        "{bytes}/{total_bytes} {bytes_per_sec} eta {eta} {wide_bar}",
    );
    let mut magic = Vec::with_capacity(MAGIC_LEN);
    let mut received = 0u64;
    while let Some(chunk) = stream.message().await.map_err(status_error)? {
        bar.set_length(chunk.total_bytes);
        let mut data = chunk.data;
        let held = (MAGIC_LEN - magic.len()).min(data.len());
        magic.extend_from_slice(&data[..held]);
        data[..held].fill(0);
        file.write_all(&data).map_err(write_err)?;
        received += data.len() as u64;
        bar.set_position(received);
    }
    bar.finish_and_clear();
    file.seek(SeekFrom::Start(0)).map_err(write_err)?;
    file.write_all(&magic).map_err(write_err)?;
    file.sync_all()
        .map_err(|e| format!("cannot sync {}: {e}", partial.display()))?;
    Ok(received)
}
