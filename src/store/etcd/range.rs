//! Reading every key under a prefix at one revision, in pages, fast on
//! etcd 3.4: there a Range with a limit still walks its whole key range in
//! the index before cutting the page, so paging [start, end) by moving
//! `start` costs O(keys) a page and O(keys²) in all (100,000 credentials
//! took 68 s). Here each page that says "more" splits what is left of its
//! range at the byte-wise midpoint, so the ranges asked for shrink as the
//! read goes on (depth first, so the pending ranges stay few). A page
//! longer than a gRPC message may be (large values) is asked again with a
//! quarter of the keys, and the page size grows back as pages succeed.

use etcd_client::{GetOptions, KeyValue, KvClient};

use super::super::Error;

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

/// The first key after every key that starts with `prefix`.
pub(super) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// A key half-way between `a` and `b` (byte strings read as base-256
/// fractions): at least `a` and at most `b` in key order.
fn midpoint(a: &[u8], b: &[u8]) -> Vec<u8> {
    let n = a.len().max(b.len()) + 1;
    let digit = |s: &[u8], i: usize| u16::from(s.get(i).copied().unwrap_or(0));
    let mut sum = vec![0u16; n];
    let mut carry = 0u16;
    for i in (0..n).rev() {
        let t = digit(a, i) + digit(b, i) + carry;
        sum[i] = t & 0xff;
        carry = t >> 8;
    }
    let mut rem = carry;
    let mut out: Vec<u8> = sum
        .iter()
        .map(|d| {
            let t = (rem << 8) | d;
            rem = t % 2;
            u8::try_from(t / 2).unwrap_or(u8::MAX)
        })
        .collect();
    while out.len() > 1 && out.last() == Some(&0) {
        out.pop();
    }
    out
}

/// Whether etcd's answer was longer than a gRPC message may be.
fn too_long(e: &etcd_client::Error) -> bool {
    matches!(e, etcd_client::Error::GRpcStatus(status)
        if status.message().contains("message length too large"))
}

fn etcd(e: etcd_client::Error) -> Error {
    Error::Cluster(format!("etcd: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The midpoint lies between its ends in key order.
    #[test]
    fn midpoint_lies_between() {
        let cases: [(&[u8], &[u8]); 5] = [
            (b"/credd/audit/\0", b"/credd0"),
            (b"a", b"c"),
            (b"abc\xff", b"abd"),
            (b"/p/secret_index/\x10\0", b"/p/secret_index/\x90"),
            (b"x", b"x\0\x01"),
        ];
        for (a, b) in cases {
            let m = midpoint(a, b);
            assert!(a <= m.as_slice() && m.as_slice() <= b, "{a:?} {m:?} {b:?}");
        }
        assert_eq!(midpoint(b"a", b"c"), b"b");
    }
}
