//! The flags of `credctl consent ...`: a partner's request for a customer's
//! consent, and the customer's answer.

use clap::Subcommand;

use super::EnvArg;

#[derive(Debug, Subcommand)]
pub(crate) enum ConsentCommand {
    /// As the partner: ask a customer to let it act for the customer; prints
    /// the path of the dialog to show the customer.
    Request {
        /// The partner's account id.
        #[arg(long)]
        partner: String,
        /// The customer's account id.
        #[arg(long)]
        customer: String,
        /// Where the customer is sent back; on approval credd appends
        /// customerkey=<key> (an empty customerkey= in it is filled in).
        #[arg(long)]
        redirect_url: String,
        /// Scopes the grant will carry (repeat for several).
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Lifetime of the grant and the customer key, such as 365d
        /// (default: the key gets the server's policy, the grant no expiry).
        #[arg(long)]
        lifetime: Option<String>,
        /// Environment of the customer key: live or test.
        #[arg(long = "env", value_enum, default_value = "live")]
        environment: EnvArg,
    },
    /// Show a consent request.
    Get {
        /// Consent request id.
        id: String,
    },
    /// As the customer: approve. Creates the grant and the customer key,
    /// printed once, and the redirect URL that carries it.
    Approve {
        /// Consent request id.
        id: String,
    },
    /// As the customer: deny; prints the redirect URL with error=access_denied.
    Deny {
        /// Consent request id.
        id: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}
