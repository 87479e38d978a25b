//! The flags of `credctl webhook ...`: endpoints, their secrets, test
//! events, deliveries and redelivery.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Create an endpoint; prints its signing secret once.
    Create {
        /// Where events are POSTed (https).
        url: String,
        /// Only this account's events (default: every account's, global
        /// keys only).
        #[arg(long)]
        account: Option<String>,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
        /// An event type or prefix.* to receive (repeat; default: all).
        #[arg(long = "event")]
        events: Vec<String>,
    },
    /// List endpoints.
    List {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
    },
    /// Show an endpoint.
    Get {
        /// Endpoint id (wh_...).
        id: String,
    },
    /// Change an endpoint.
    Update {
        /// Endpoint id.
        id: String,
        /// New URL.
        #[arg(long)]
        url: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// Replace the event filter (repeat).
        #[arg(long = "event")]
        events: Vec<String>,
        /// Receive every event again.
        #[arg(long, conflicts_with = "events")]
        all_events: bool,
        /// Enable (clears why it was disabled).
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Disable.
        #[arg(long)]
        disable: bool,
    },
    /// Delete an endpoint and its deliveries.
    Delete {
        /// Endpoint id.
        id: String,
    },
    /// A new signing secret, printed once; the old one keeps signing
    /// during the configured overlap.
    RotateSecret {
        /// Endpoint id.
        id: String,
    },
    /// Send a `webhook.test` event to the endpoint now.
    Test {
        /// Endpoint id.
        id: String,
    },
    /// The endpoint's deliveries, newest first, with their attempts.
    Deliveries {
        /// Endpoint id.
        id: String,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Send one delivery again, with the same webhook-id.
    Redeliver {
        /// Endpoint id.
        id: String,
        /// The delivery's event seq (from `deliveries`).
        seq: u64,
    },
}
