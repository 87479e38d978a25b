//! The flags of `credctl partner ...`: whitelisting accounts as partners.

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum PartnerCommand {
    /// Whitelist an account as a partner (needs a global key).
    Register {
        /// The partner's account id.
        account: String,
        /// Shown to customers in the consent dialog.
        #[arg(long, default_value = "")]
        display_name: String,
        /// Consent redirects must start with one of these (repeat for
        /// several; none: any https URL).
        #[arg(long = "redirect-prefix")]
        redirect_prefixes: Vec<String>,
    },
    /// Show a partner.
    Get {
        /// The partner's account id.
        account: String,
    },
    /// List the partners.
    List,
    /// Change a partner.
    Update {
        /// The partner's account id.
        account: String,
        /// New display name.
        #[arg(long)]
        display_name: Option<String>,
        /// Replace the redirect prefixes (repeat for several).
        #[arg(long = "redirect-prefix")]
        redirect_prefixes: Vec<String>,
        /// Remove every redirect prefix (any https URL is allowed).
        #[arg(long, conflicts_with = "redirect_prefixes")]
        clear_redirect_prefixes: bool,
        /// Replace the mTLS client identities the partner's keys must
        /// arrive with through a gateway (repeat for several).
        #[arg(long = "mtls-identity")]
        mtls_identities: Vec<String>,
        /// Require no mTLS client identity any more.
        #[arg(long, conflicts_with = "mtls_identities")]
        clear_mtls_identities: bool,
    },
    /// Un-whitelist a partner; revokes its grants and their customer keys.
    Remove {
        /// The partner's account id.
        account: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
    },
}
