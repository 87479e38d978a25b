//! The full read as it was before `range.rs` listed keys first (test
//! builds only): pages with a limit, each page that says "more" splitting
//! what is left of its range at the byte-wise midpoint. Kept so the
//! measurement in `tests.rs` times both reads in one run: on etcd 3.4 a
//! Range with a limit walks its whole key range in the index before it cuts
//! the page, so this read grows faster than the keys.

use etcd_client::{GetOptions, KeyValue, KvClient};

use super::super::super::Error;
use super::{etcd, midpoint, prefix_end, too_long};

/// Keys per page, at most.
const PAGE: i64 = 1_000;

/// Calls `each` with every page of keys under `prefix` (in no particular
/// order across pages) at one revision, and returns that revision: the
/// cluster's current one when the read began.
pub(super) async fn read_prefix(
    kv: &mut KvClient,
    prefix: &[u8],
    mut each: impl FnMut(&[KeyValue]) -> Result<(), Error>,
) -> Result<i64, Error> {
    let mut revision = 0;
    let mut limit = PAGE;
    let mut ranges = vec![(prefix.to_vec(), prefix_end(prefix))];
    while let Some((start, end)) = ranges.pop() {
        let mut options = GetOptions::new().with_range(end.clone()).with_limit(limit);
        if revision > 0 {
            options = options.with_revision(revision);
        }
        let page = match kv.get(start.clone(), Some(options)).await {
            Ok(page) => page,
            // Large values (credential metadata up to 8 KiB, usage buckets)
            // can make a page longer than a gRPC message may be: ask for
            // fewer keys, down to one (etcd's own limit per value is far
            // below the message limit).
            Err(e) if too_long(&e) && limit > 1 => {
                limit = (limit / 4).max(1);
                ranges.push((start, end));
                continue;
            }
            Err(e) => return Err(etcd(e)),
        };
        limit = (limit * 2).min(PAGE);
        if revision == 0 {
            revision = page.header().map_or(0, |h| h.revision());
        }
        each(page.kvs())?;
        let Some(last) = page.kvs().last().filter(|_| page.more()) else {
            continue;
        };
        let mut next = last.key().to_vec();
        next.push(0);
        let mid = midpoint(&next, &end);
        if next < mid && mid < end {
            ranges.push((mid.clone(), end));
            ranges.push((next, mid));
        } else {
            ranges.push((next, end));
        }
    }
    Ok(revision)
}
