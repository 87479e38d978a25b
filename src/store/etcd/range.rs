//! Reading every key under a prefix at one revision, in pages, in time
//! linear in the keys on etcd 3.4. There a Range with a limit still walks
//! its whole key range in the index before it cuts the page (etcd issue
//! 11057), so paging with a limit costs each page O(keys left in its
//! range): 1M credentials were not read in 15 minutes. So no request here
//! has a limit; every one is at the revision R of the first answer (a
//! consistent snapshot), and each walks only the keys it returns:
//!
//! - **Ranges.** `[prefix, prefix_end)` is cut into each replicated tree's
//!   `{prefix}{tree}/` range and the gaps between them (the cluster's own
//!   keys). Each range is counted first (`count_only`: an index walk, no
//!   values read). A range of more than [`LIST`] keys is split and its
//!   parts counted in turn (at once: most are often empty): a range of
//!   every key starting with `p` first narrows to the longest prefix its
//!   keys share (a prefix of its first key, found by halving, a count a
//!   step: this skips `cred_01J` or the high bytes of a deadline's time),
//!   then splits into that prefix's key and the 256 ranges of it + one
//!   byte; any other range splits at its byte-wise midpoint.
//! - **Keys.** A range of at most [`LIST`] keys is listed keys-only.
//! - **Values.** Then read in pages between every [`PAGE`]th listed key:
//!   `[k_i, k_{i+PAGE})`, no limit, which at R holds exactly those keys. A
//!   page longer than a gRPC message may be (values up to 8 KiB, beyond
//!   [`MESSAGE`] in all) is asked again as two halves, down to one key; a
//!   list too long is split like a range with too many keys.
//!
//! Every key is walked a bounded number of times (a few counts per split
//! level, the list once, its page once), so the read is O(keys): measured
//! in `range/tests.rs`.

#[cfg(test)]
mod old;
#[cfg(test)]
mod tests;

use etcd_client::{GetOptions, GetResponse, KeyValue, KvClient};

use super::super::Error;
use super::REPLICATED;

/// Keys per page of values, at most.
const PAGE: usize = 1_000;
/// The most keys one keys-only Range lists (about 3 MB of keys of 100
/// bytes; etcd reads their values meanwhile, to drop them): a range with
/// more is split first.
const LIST: i64 = 50_000;
/// The longest answer the read accepts (gRPC's default is 4 MiB; a page of
/// 1,000 values of 8 KiB is 8 MB).
const MESSAGE: usize = 64 << 20;

/// Calls `each` with every page of keys under `prefix` (in key order) at one
/// revision, and returns that revision: the cluster's current one when the
/// read began. `prefix` ends with `/` (the configuration checks it).
pub(super) async fn read_prefix(
    kv: &mut KvClient,
    prefix: &[u8],
    each: impl FnMut(&[KeyValue]) -> Result<(), Error>,
) -> Result<i64, Error> {
    read_prefix_within(kv, prefix, (MESSAGE, LIST), each).await
}

/// [`read_prefix`], with answers of at most `message` bytes and lists of at
/// most `list` keys.
async fn read_prefix_within(
    kv: &KvClient,
    prefix: &[u8],
    (message, list): (usize, i64),
    mut each: impl FnMut(&[KeyValue]) -> Result<(), Error>,
) -> Result<i64, Error> {
    let mut reader = Reader {
        kv: kv.clone().max_decoding_message_size(message),
        revision: 0,
    };
    // A stack, the next range to read last; with its count when known.
    let mut ranges: Vec<(Vec<u8>, Vec<u8>, Option<i64>)> = cover(prefix, REPLICATED)
        .into_iter()
        .rev()
        .map(|(start, end)| (start, end, None))
        .collect();
    while let Some((mut start, mut end, known)) = ranges.pop() {
        let count = match known {
            Some(count) => count,
            None => reader.count(&start, &end).await?,
        };
        if count == 0 {
            continue;
        }
        if count > list {
            if prefix_end(&start) == end {
                start = reader.shared_prefix(&start, count).await?;
                end = prefix_end(&start);
            }
            let parts = split(&start, &end);
            if parts.len() > 1 {
                ranges.extend(reader.count_parts(parts).await?.into_iter().rev());
                continue;
            }
        }
        let keys = match reader.list(&start, &end).await {
            Ok(keys) => keys,
            Err(e) if too_long(&e) => {
                let parts = split(&start, &end);
                if parts.len() < 2 {
                    return Err(etcd(e));
                }
                ranges.extend(reader.count_parts(parts).await?.into_iter().rev());
                continue;
            }
            Err(e) => return Err(etcd(e)),
        };
        reader.pages(&keys, &end, &mut each).await?;
    }
    Ok(reader.revision)
}

/// The connection and the revision every request after the first reads at.
struct Reader {
    kv: KvClient,
    /// 0 until the first answer names it.
    revision: i64,
}

impl Reader {
    /// `[start, end)` at the read's revision.
    async fn get(
        &mut self,
        start: &[u8],
        end: &[u8],
        options: GetOptions,
    ) -> Result<GetResponse, etcd_client::Error> {
        let mut options = options.with_range(end.to_vec());
        if self.revision > 0 {
            options = options.with_revision(self.revision);
        }
        let answer = self.kv.get(start.to_vec(), Some(options)).await?;
        if self.revision == 0 {
            self.revision = answer.header().map_or(0, |h| h.revision());
        }
        Ok(answer)
    }

    /// Keys in `[start, end)`.
    async fn count(&mut self, start: &[u8], end: &[u8]) -> Result<i64, Error> {
        let options = GetOptions::new().with_count_only();
        let answer = self.get(start, end, options).await.map_err(etcd)?;
        Ok(answer.count())
    }

    /// The number of keys in `[start, end)` and the first of them: both
    /// from one keys-only Range of limit 1 (etcd counts the whole range).
    async fn probe(&mut self, start: &[u8], end: &[u8]) -> Result<(i64, Option<Vec<u8>>), Error> {
        let options = GetOptions::new().with_keys_only().with_limit(1);
        let mut answer = self.get(start, end, options).await.map_err(etcd)?;
        let first = answer.take_kvs().into_iter().next();
        Ok((answer.count(), first.map(|kv| kv.into_key_value().0)))
    }

    /// The longest prefix every key starting with `prefix` has (`count`
    /// of them): a prefix of the first such key, found by halving (a count
    /// a step). Splitting there, not byte after byte, skips what all keys
    /// of a tree share (`cred_01J`, the high bytes of a deadline's time).
    async fn shared_prefix(&mut self, prefix: &[u8], count: i64) -> Result<Vec<u8>, Error> {
        let (_, Some(first)) = self.probe(prefix, &prefix_end(prefix)).await? else {
            return Ok(prefix.to_vec());
        };
        // `first[..low]` is shared by every key; `first[..=high]` is not
        // known to be.
        let (mut low, mut high) = (prefix.len(), first.len());
        while low < high {
            let mid = (low + high).div_ceil(2);
            let candidate = &first[..mid];
            if self.count(candidate, &prefix_end(candidate)).await? == count {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        Ok(first[..low].to_vec())
    }

    /// The parts of a split with their counts, those with keys only, in
    /// order. Counted at once (a split has up to 257 parts, most of them
    /// often empty: one request after another would cost a round trip
    /// each).
    async fn count_parts(
        &mut self,
        parts: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>, Option<i64>)>, Error> {
        let mut counting = tokio::task::JoinSet::new();
        for (at, (start, end)) in parts.iter().enumerate() {
            let mut reader = Reader {
                kv: self.kv.clone(),
                revision: self.revision,
            };
            let (start, end) = (start.clone(), end.clone());
            counting.spawn(async move { (at, reader.count(&start, &end).await) });
        }
        let mut counts = vec![0; parts.len()];
        while let Some(done) = counting.join_next().await {
            let (at, count) = done.map_err(|e| Error::Cluster(format!("etcd: {e}")))?;
            counts[at] = count?;
        }
        Ok(parts
            .into_iter()
            .zip(counts)
            .filter(|(_, count)| *count > 0)
            .map(|((start, end), count)| (start, end, Some(count)))
            .collect())
    }

    /// The keys in `[start, end)`, in order.
    async fn list(&mut self, start: &[u8], end: &[u8]) -> Result<Vec<Vec<u8>>, etcd_client::Error> {
        let options = GetOptions::new().with_keys_only();
        let mut answer = self.get(start, end, options).await?;
        Ok(answer
            .take_kvs()
            .into_iter()
            .map(|kv| kv.into_key_value().0)
            .collect())
    }

    /// Calls `each` with the values of `keys` (every key of a range that
    /// ends at `end`, in order), [`PAGE`] keys a page.
    async fn pages(
        &mut self,
        keys: &[Vec<u8>],
        end: &[u8],
        each: &mut impl FnMut(&[KeyValue]) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // Pages as (first, past the last) indexes into `keys`; a stack,
        // the next page last.
        let mut pending: Vec<(usize, usize)> = (0..keys.len())
            .step_by(PAGE)
            .map(|first| (first, (first + PAGE).min(keys.len())))
            .rev()
            .collect();
        while let Some((first, last)) = pending.pop() {
            let page_end = keys.get(last).map_or(end, Vec::as_slice);
            match self.get(&keys[first], page_end, GetOptions::new()).await {
                Ok(page) => each(page.kvs())?,
                // Large values (credential metadata up to 8 KiB, usage
                // buckets) can make a page longer than a message may be:
                // ask for halves, down to one key (etcd's own limit per
                // value is far below the message limit).
                Err(e) if too_long(&e) && last - first > 1 => {
                    let mid = first + (last - first) / 2;
                    pending.push((mid, last));
                    pending.push((first, mid));
                }
                Err(e) => return Err(etcd(e)),
            }
        }
        Ok(())
    }
}

/// `[prefix, prefix_end(prefix))` as ranges in key order, end to end: each
/// tree's `{prefix}{tree}/` range and the gaps before, between and after
/// them.
fn cover(prefix: &[u8], trees: &[&str]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut starts: Vec<Vec<u8>> = trees
        .iter()
        .map(|tree| [prefix, tree.as_bytes(), b"/"].concat())
        .collect();
    starts.sort();
    let mut ranges = Vec::with_capacity(2 * starts.len() + 1);
    let mut at = prefix.to_vec();
    for start in starts {
        // A tree within another's range (none: every name ends with `/`).
        if start < at {
            continue;
        }
        if at < start {
            ranges.push((at, start.clone()));
        }
        at = prefix_end(&start);
        ranges.push((start, at.clone()));
    }
    let end = prefix_end(prefix);
    if at < end {
        ranges.push((at, end));
    }
    ranges
}

/// Parts of `[start, end)`, end to end, to count and read one by one: for
/// the range of every key starting with `start`, the key `start` itself and
/// the 256 ranges of `start` + one byte; for any other range its halves at
/// the byte-wise midpoint; itself when it cannot be cut.
fn split(start: &[u8], end: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    if !start.is_empty() && prefix_end(start) == end {
        let mut parts = Vec::with_capacity(257);
        parts.push((start.to_vec(), [start, &[0]].concat()));
        for byte in 0..=u8::MAX {
            let from = [start, &[byte]].concat();
            let to = prefix_end(&from);
            parts.push((from, to));
        }
        return parts;
    }
    let mid = midpoint(start, end);
    if start < mid.as_slice() && mid.as_slice() < end {
        vec![(start.to_vec(), mid.clone()), (mid, end.to_vec())]
    } else {
        vec![(start.to_vec(), end.to_vec())]
    }
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
