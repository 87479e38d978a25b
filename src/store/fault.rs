//! Whether the database can still write. sled 0.34 remembers its first I/O
//! error (a full disk, a failed fsync) and returns it from every later write
//! and flush, while reads go on working: the process looks alive but cannot
//! acknowledge anything until the database is opened again. The store reports
//! such an error here once; the daemon watches it, stops serving and exits
//! non-zero, so that its supervisor restarts it and the restart recovers.

use tokio::sync::watch;

use super::Error;

/// The first unrecoverable storage error, shared by every clone of a store.
#[derive(Debug)]
pub(crate) struct FaultWatch {
    first: watch::Sender<Option<String>>,
}

impl Default for FaultWatch {
    fn default() -> Self {
        FaultWatch {
            first: watch::Sender::new(None),
        }
    }
}

impl FaultWatch {
    /// Records `err` if it is unrecoverable and nothing was recorded before.
    pub(crate) fn note(&self, err: &Error) {
        if err.is_unrecoverable() {
            self.first.send_if_modified(|first| {
                if first.is_some() {
                    return false;
                }
                *first = Some(err.to_string());
                true
            });
        }
    }

    /// The recorded error, if any.
    pub(crate) fn get(&self) -> Option<String> {
        self.first.borrow().clone()
    }

    /// A receiver that changes once, when the first error is recorded.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Option<String>> {
        self.first.subscribe()
    }
}

impl Error {
    /// Whether the database stays unable to write after this error until it
    /// is opened again: sled's I/O errors (which it keeps returning), a
    /// failed flush, and anything sled calls a bug or corruption.
    pub fn is_unrecoverable(&self) -> bool {
        match self {
            Error::Sled(e) => matches!(
                e,
                sled::Error::Io(_) | sled::Error::ReportableBug(_) | sled::Error::Corruption { .. }
            ),
            Error::Flush(_) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the first unrecoverable error is kept; others are ignored.
    #[test]
    fn keeps_the_first_unrecoverable_error() {
        let watch = FaultWatch::default();
        let mut rx = watch.subscribe();
        watch.note(&Error::Corrupt("not an I/O error"));
        assert_eq!(watch.get(), None);
        assert!(!rx.has_changed().unwrap());
        let full = std::io::Error::from_raw_os_error(28);
        watch.note(&Error::Sled(sled::Error::Io(full)));
        watch.note(&Error::Flush("later".to_string()));
        let first = watch.get().expect("recorded");
        assert!(first.contains("No space left"), "{first}");
        assert!(rx.has_changed().unwrap());
        assert_eq!(rx.borrow_and_update().as_deref(), Some(first.as_str()));
    }
}
