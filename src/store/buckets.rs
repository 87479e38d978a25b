//! Per-credential values packed into hash buckets: one sled entry holds
//! every credential id of its bucket (crc32 of the id, 16 bits) with its
//! value, sorted by id. A flush touching a million credentials then
//! rewrites at most 65,536 sled entries of a few dozen ids each instead of
//! a million, which is what makes it cheap (sled's cost is per entry).
//! Used by `last_used` and the per-credential rows of `usage`.

use std::borrow::Cow;

use prost::encoding::{decode_varint, encode_varint};

use super::Error;

/// The bucket of a credential id, as its 2-byte key suffix.
pub(super) fn bucket_of(id: &str) -> [u8; 2] {
    (crc32fast::hash(id.as_bytes()) as u16).to_be_bytes()
}

/// A value kept per credential in a bucket.
pub(super) trait Payload: Sized + Copy {
    /// Appends the encoded value.
    fn put(&self, buf: &mut Vec<u8>);
    /// Reads one value from the front of `buf`.
    fn take(buf: &mut &[u8]) -> Result<Self, Error>;
    /// Combines a stored value with a newer one.
    fn merge(stored: Self, new: Self) -> Self;
}

/// A decoded bucket: ids and values, sorted by id. Ids borrow from the
/// stored bytes (or from the caller, for new ones): decoding allocates
/// nothing per entry.
pub(super) struct Bucket<'a, V> {
    pub(super) entries: Vec<(Cow<'a, str>, V)>,
}

impl<'a, V: Payload> Bucket<'a, V> {
    /// Decodes a stored bucket (none stored: empty).
    pub(super) fn decode(raw: Option<&'a [u8]>) -> Result<Self, Error> {
        let mut entries = Vec::new();
        let mut buf = raw.unwrap_or_default();
        while !buf.is_empty() {
            let len = usize::try_from(decode_varint(&mut buf).map_err(|_| corrupt())?)
                .map_err(|_| corrupt())?;
            let id = buf.get(..len).ok_or_else(corrupt)?;
            let id = std::str::from_utf8(id).map_err(|_| corrupt())?;
            buf = &buf[len..];
            entries.push((Cow::Borrowed(id), V::take(&mut buf)?));
        }
        Ok(Bucket { entries })
    }

    /// The value of one id.
    pub(super) fn get(&self, id: &str) -> Option<V> {
        self.entries
            .binary_search_by(|(have, _)| (**have).cmp(id))
            .ok()
            .map(|at| self.entries[at].1)
    }

    /// Merges newer values in: `items` sorted by id are merged with the
    /// sorted entries in one pass (an id given twice is merged twice).
    pub(super) fn put_sorted(&mut self, items: &[(&'a str, V)]) {
        let old = std::mem::take(&mut self.entries);
        let mut merged: Vec<(Cow<'a, str>, V)> = Vec::with_capacity(old.len() + items.len());
        let mut old = old.into_iter().peekable();
        for (id, value) in items {
            if let Some((last, stored)) = merged.last_mut() {
                if **last == **id {
                    *stored = V::merge(*stored, *value);
                    continue;
                }
            }
            while let Some((have, _)) = old.peek() {
                if **have >= **id {
                    break;
                }
                merged.extend(old.next());
            }
            match old.peek() {
                Some((have, stored)) if **have == **id => {
                    let stored = *stored;
                    old.next();
                    merged.push((Cow::Borrowed(*id), V::merge(stored, *value)));
                }
                _ => merged.push((Cow::Borrowed(*id), *value)),
            }
        }
        merged.extend(old);
        self.entries = merged;
    }

    /// Drops `id`; whether it was there.
    pub(super) fn remove(&mut self, id: &str) -> bool {
        match self.entries.binary_search_by(|(have, _)| (**have).cmp(id)) {
            Ok(at) => {
                self.entries.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The stored form.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(self.entries.len() * 40);
        for (id, value) in &self.entries {
            encode_varint(id.len() as u64, &mut buf);
            buf.extend_from_slice(id.as_bytes());
            value.put(&mut buf);
        }
        buf
    }
}

fn corrupt() -> Error {
    Error::Corrupt("bucket entry")
}

/// A bucket's key and the pairs that fall in it.
pub(super) type Group<'a, V> = ([u8; 2], Vec<(&'a str, V)>);

/// Groups `(id, value)` pairs by bucket, each bucket's pairs together and
/// sorted by id (ids must be distinct). The pairs are ordered by bucket
/// first, each bucket's hash computed once, then each group by id: no
/// string comparisons across the whole list.
pub(super) fn grouped<'a, V: Copy>(
    pairs: impl IntoIterator<Item = (&'a str, V)>,
) -> Vec<Group<'a, V>> {
    let mut pairs: Vec<(&'a str, V)> = pairs.into_iter().collect();
    pairs.sort_by_cached_key(|(id, _)| bucket_of(id));
    let mut groups: Vec<Group<'a, V>> = Vec::new();
    let mut rest = &pairs[..];
    while let Some((first, _)) = rest.first() {
        let bucket = bucket_of(first);
        let same = rest
            .iter()
            .take_while(|(id, _)| bucket_of(id) == bucket)
            .count();
        let mut items = rest[..same].to_vec();
        items.sort_unstable_by(|a, b| a.0.cmp(b.0));
        groups.push((bucket, items));
        rest = &rest[same..];
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Payload for u64 {
        fn put(&self, buf: &mut Vec<u8>) {
            encode_varint(*self, buf);
        }
        fn take(buf: &mut &[u8]) -> Result<Self, Error> {
            decode_varint(buf).map_err(|_| corrupt())
        }
        fn merge(stored: Self, new: Self) -> Self {
            stored + new
        }
    }

    /// Entries stay sorted, merge, round-trip and are removed; grouping
    /// puts each id with its bucket.
    #[test]
    fn bucket_round_trip() {
        let mut bucket = Bucket::<u64>::decode(None).unwrap();
        bucket.put_sorted(&[("cred_b", 2)]);
        bucket.put_sorted(&[("cred_a", 1), ("cred_b", 2), ("cred_b", 3), ("cred_c", 0)]);
        assert!(bucket.remove("cred_c"));
        let encoded = bucket.encode();
        let again = Bucket::<u64>::decode(Some(&encoded)).unwrap();
        assert_eq!(again.get("cred_a"), Some(1));
        assert_eq!(again.get("cred_b"), Some(7));
        assert_eq!(again.get("cred_c"), None);
        let mut again = again;
        assert!(again.remove("cred_a"));
        assert!(!again.remove("cred_a"));
        assert_eq!(again.entries.len(), 1);
        assert!(Bucket::<u64>::decode(Some(&[5, b'x'])).is_err());
        let groups = grouped([("cred_a", 1u64), ("cred_b", 2), ("cred_a", 3)]);
        for (bucket, items) in &groups {
            assert!(items.iter().all(|(id, _)| bucket_of(id) == *bucket));
        }
        assert_eq!(
            groups.iter().map(|(_, items)| items.len()).sum::<usize>(),
            3
        );
    }
}
