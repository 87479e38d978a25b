//! The floors under a create: the disk's own durable 4 KiB write, and one
//! `Store::commit` and one `Store::flush`, each timed serially.

use std::path::Path;
use std::time::Instant;

use crate::Ctx;
use crate::fill::{Opened, build_record, commit};
use crate::harness::stats::{Raw, Stats};

/// Serial 4 KiB writes made durable the way sled 0.34 does on Linux
/// (`sync_file_range` with WAIT_BEFORE|WRITE|WAIT_AFTER) and with fdatasync:
/// the disk's floor for one flush.
pub(crate) fn disk_probe(dir: &Path, secs: f64) -> (Stats, Stats) {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::FileExt;
    let path = dir.join("disk-probe");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .expect("probe file");
    let block = [0x5au8; 4096];
    let run = |durable: &dyn Fn(u64) -> std::io::Result<()>| -> Stats {
        let mut raw = Raw::default();
        let start = Instant::now();
        let mut offset = 0u64;
        while start.elapsed().as_secs_f64() < secs {
            let t0 = Instant::now();
            let ok = file.write_all_at(&block, offset).is_ok() && durable(offset).is_ok();
            raw.lat_ns.push(t0.elapsed().as_nanos() as u64);
            raw.errors += u64::from(!ok);
            offset = (offset + 4096) % (64 << 20);
        }
        raw.secs = start.elapsed().as_secs_f64();
        raw.stats()
    };
    let fd = file.as_raw_fd();
    let range = run(&|offset| sync_range(fd, offset));
    let datasync = run(&|_| file.sync_data());
    drop(file);
    let _ = std::fs::remove_file(&path);
    (range, datasync)
}

/// The 4 KiB at `offset` made durable as sled 0.34 does on Linux.
fn sync_range(fd: std::os::fd::RawFd, offset: u64) -> std::io::Result<()> {
    // SAFETY: sync_file_range(2) on an open descriptor we own.
    let rc = unsafe {
        libc::sync_file_range(
            fd,
            offset as libc::off64_t,
            4096,
            libc::SYNC_FILE_RANGE_WAIT_BEFORE
                | libc::SYNC_FILE_RANGE_WRITE
                | libc::SYNC_FILE_RANGE_WAIT_AFTER,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// One record committed, then `Store::flush`, serially: the two halves of
/// a create's storage cost.
pub(crate) fn commit_flush_probe(ctx: &Ctx, opened: &Opened, secs: f64) -> (Stats, Stats) {
    let (mut commits, mut flushes) = (Raw::default(), Raw::default());
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed().as_secs_f64() < secs {
        let (record, _) = build_record(
            opened,
            format!("probe-{}", n / 50),
            format!("probe {n}"),
            ctx.base,
        );
        n += 1;
        let t0 = Instant::now();
        commit(opened, &record);
        let t1 = Instant::now();
        let ok = ctx
            .client_rt
            .block_on(opened.engine.store().flush())
            .is_ok();
        commits.lat_ns.push((t1 - t0).as_nanos() as u64);
        flushes.lat_ns.push(t1.elapsed().as_nanos() as u64);
        flushes.errors += u64::from(!ok);
    }
    let secs = start.elapsed().as_secs_f64();
    commits.secs = secs;
    flushes.secs = secs;
    (commits.stats(), flushes.stats())
}
