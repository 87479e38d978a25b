//! `credd.v1.BackupAdmin`: a consistent backup of the running daemon's
//! store, streamed. The engine writes the file into a scratch directory
//! (under the data directory) first, so the copy is whole and writes are
//! held only for that; then the file is streamed in 1 MiB chunks and
//! removed, also when the caller goes away.

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use tokio::io::AsyncReadExt;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};
use tracing::{instrument, warn};

use super::admin::observed;
use super::auth::actor;
use super::pb;
use crate::engine::Engine;

/// Bytes per streamed chunk.
const CHUNK: usize = 1 << 20;

/// Serves `BackupAdmin` over one engine.
#[derive(Debug, Clone)]
pub struct BackupService {
    engine: Arc<Engine>,
    scratch: PathBuf,
}

impl BackupService {
    /// Wraps an engine; backups are staged in `scratch`.
    pub fn new(engine: Arc<Engine>, scratch: PathBuf) -> Self {
        Self { engine, scratch }
    }

    /// The tonic server for this service.
    pub fn into_server(self) -> pb::backup_admin_server::BackupAdminServer<Self> {
        pb::backup_admin_server::BackupAdminServer::new(self)
    }
}

/// Removes the staged file when the stream ends or is dropped.
struct Staged(PathBuf);

impl Drop for Staged {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            warn!(path = %self.0.display(), error = %e, "could not remove a staged backup");
        }
    }
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<pb::BackupChunk, Status>> + Send>>;

#[tonic::async_trait]
impl pb::backup_admin_server::BackupAdmin for BackupService {
    type BackupStream = ChunkStream;

    #[instrument(skip_all, fields(rpc = "Backup"))]
    async fn backup(
        &self,
        request: Request<pb::BackupRequest>,
    ) -> Result<Response<Self::BackupStream>, Status> {
        observed("Backup", async move {
            let actor = actor(&request)?;
            std::fs::create_dir_all(&self.scratch)
                .map_err(|e| Status::internal(format!("cannot stage the backup: {e}")))?;
            let path = self
                .scratch
                .join(format!("backup-{}.credd", ulid::Ulid::new()));
            let engine = self.engine.clone();
            let staged_path = path.clone();
            let header = tokio::task::spawn_blocking(move || engine.backup(&actor, &staged_path))
                .await
                .map_err(|e| Status::internal(format!("backup task failed: {e}")))??;
            let staged = Staged(path);
            let file = tokio::fs::File::open(&staged.0)
                .await
                .map_err(|e| Status::internal(format!("cannot read the staged backup: {e}")))?;
            let total = file
                .metadata()
                .await
                .map_err(|e| Status::internal(e.to_string()))?
                .len();
            let template = pb::BackupChunk {
                data: Vec::new(),
                total_bytes: total,
                rows: header.total_rows(),
                write_hold_ms: header.write_hold_ms,
            };
            let stream = chunks(file, template, staged);
            Ok(Response::new(Box::pin(stream) as ChunkStream))
        })
        .await
    }
}

/// The file's chunks, each a copy of `template` with its bytes, read by a
/// task that stops (and removes the file) when the caller goes away.
fn chunks(
    mut file: tokio::fs::File,
    template: pb::BackupChunk,
    staged: Staged,
) -> ReceiverStream<Result<pb::BackupChunk, Status>> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let _staged = staged;
        loop {
            let mut data = Vec::with_capacity(CHUNK);
            let read = (&mut file).take(CHUNK as u64).read_to_end(&mut data).await;
            let item = match read {
                Ok(0) => break,
                Ok(_) => Ok(pb::BackupChunk {
                    data,
                    ..template.clone()
                }),
                Err(e) => Err(Status::internal(format!("reading the staged backup: {e}"))),
            };
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    ReceiverStream::new(rx)
}
