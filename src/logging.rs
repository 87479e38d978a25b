//! The daemon's log: a `tracing` subscriber writing plain or JSON lines to
//! stderr, with `log` records (sled, mio) bridged in, and a guard that keeps
//! an event from aborting the process while a thread is being torn down.
//!
//! tracing-subscriber's fmt layer formats every event in a thread-local
//! buffer, and reaching a thread-local during or after its destruction
//! panics; a panic inside a thread-local destructor aborts the process
//! ("fatal runtime error", exit status 134). Events do fire that late: a
//! crossbeam-epoch handle or a tokio context torn down at thread exit drops
//! what it still holds (sled pages, sockets), and their `Drop`s log at
//! trace level. [`TeardownSafe`] therefore passes an event on only while a
//! thread-local of its own, touched just before the fmt layer's buffer and
//! so destroyed just after it, is still alive; and once [`close`] has been
//! called (when `main` is done with the runtime) it passes nothing on.

use std::sync::atomic::{AtomicBool, Ordering};

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_log::AsLog;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Registry};

/// Set by [`close`]: from then on events are dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// A value with a destructor, so that the thread-local holding it is
/// registered for destruction when first touched and reports its own end.
struct Alive;

impl Drop for Alive {
    fn drop(&mut self) {}
}

thread_local! {
    static ALIVE: Alive = const { Alive };
}

/// Whether an event may be written from this thread now.
fn writable() -> bool {
    !CLOSED.load(Ordering::Relaxed) && ALIVE.try_with(|_| ()).is_ok()
}

/// Stops writing events, for good. Call it when the runtime and everything
/// the daemon ran are done, before they are dropped: what they log while
/// being torn down is not worth an abort.
pub fn close() {
    CLOSED.store(true, Ordering::Relaxed);
}

/// Output format of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable lines.
    Plain,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber: `filter` (an `EnvFilter` directive, already
/// validated) unless `RUST_LOG` is set, lines to stderr, `log` records
/// bridged. Does nothing if a subscriber is already installed.
pub fn init(filter: &str, format: Format) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(filter));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let registry = Registry::default().with(filter);
    let installed = match format {
        Format::Plain => {
            tracing::subscriber::set_global_default(registry.with(TeardownSafe(fmt))).is_ok()
        }
        Format::Json => {
            tracing::subscriber::set_global_default(registry.with(TeardownSafe(fmt.json()))).is_ok()
        }
    };
    if installed {
        let _ = tracing_log::LogTracer::builder()
            .with_max_level(LevelFilter::current().as_log())
            .init();
    }
}

/// Passes everything to the wrapped layer, and events only while
/// [`writable`].
pub struct TeardownSafe<L>(pub L);

impl<S, L> Layer<S> for TeardownSafe<L>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    L: Layer<S>,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        self.0.on_register_dispatch(subscriber);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.0.on_layer(subscriber);
    }

    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        self.0.register_callsite(metadata)
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.0.enabled(metadata, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.0.on_new_span(attrs, id, ctx);
    }

    fn on_record(&self, span: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        self.0.on_record(span, values, ctx);
    }

    fn on_follows_from(&self, span: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.0.on_follows_from(span, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.0.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if writable() {
            // Should a thread-local that this check cannot see be gone
            // already, the panic stops here instead of unwinding out of a
            // thread-local destructor (which aborts).
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                self.0.on_event(event, ctx);
            }));
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.0.max_level_hint()
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.0.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.0.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.0.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: std::any::TypeId) -> Option<*const ()> {
        if id == std::any::TypeId::of::<Self>() {
            Some(std::ptr::from_ref(self).cast())
        } else {
            // SAFETY: forwarded unchanged; the wrapped layer upholds the
            // contract for its own types.
            unsafe { self.0.downcast_raw(id) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread-local whose destructor logs, destroyed after the guard's:
    /// the event is dropped instead of aborting the process.
    #[test]
    fn an_event_from_a_thread_local_destructor_does_not_abort() {
        struct LogsOnDrop;
        impl Drop for LogsOnDrop {
            fn drop(&mut self) {
                tracing::info!("dropped during thread teardown");
            }
        }
        thread_local! {
            static LATE: LogsOnDrop = const { LogsOnDrop };
        }
        let subscriber = Registry::default().with(TeardownSafe(
            tracing_subscriber::fmt::layer().with_writer(std::io::sink),
        ));
        // The daemon's subscriber is global, which reaches events that a
        // thread-local scoped one would not (its own slot is gone by then).
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        let handle = std::thread::spawn(|| {
            // Registered first, so destroyed last: after the guard and the
            // fmt layer's buffer.
            LATE.with(|_| ());
            tracing::info!("an ordinary event");
        });
        // The thread ended (its thread-locals destroyed) without aborting
        // this process.
        handle.join().expect("the thread ended normally");
    }
}
