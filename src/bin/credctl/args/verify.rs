//! The flags of the checks: `credctl verify` (a secret, as a verifying
//! service would), `verify-http` (a gateway's headers) and `verify-pair`
//! (a partner's developer key with a customer key). Keys are read from
//! stdin (or a file), so they stay out of shell history and `ps`; only
//! `verify-http --authorization` takes its value as an argument, for quick
//! tests with throwaway keys.

use std::path::PathBuf;

use clap::ArgGroup;

/// The secret to check and what to check it for.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The secret (omit to read it from stdin).
    pub(crate) secret: Option<String>,
    /// Account id (required for passcodes).
    #[arg(long, default_value = "")]
    pub(crate) account: String,
    /// A required scope (repeat for several).
    #[arg(long = "scope")]
    pub(crate) scopes: Vec<String>,
    /// A scope expression that must hold as well, e.g.
    /// "orders:read AND (refunds:write OR admin)" (AND binds tighter than OR).
    #[arg(long, default_value = "")]
    pub(crate) scope_query: String,
    /// Credits a VALID answer spends (default 1; 0 checks without spending).
    #[arg(long)]
    pub(crate) cost: Option<u64>,
    /// The client id presented with the key.
    #[arg(long, default_value = "")]
    pub(crate) client_id: String,
    /// The account a partner's key acts for.
    #[arg(long, default_value = "")]
    pub(crate) on_behalf_of: String,
    /// A named rate limit to apply, NAME or NAME:COST (repeat); all or
    /// nothing.
    #[arg(long = "limit", value_parser = crate::rate_limits::parse_request)]
    pub(crate) limits: Vec<credd::api::pb::RateLimitRequest>,
}

/// The authentication headers a gateway received; absent ones are empty.
/// `Debug` shows whether an Authorization value was given, never the value.
#[derive(clap::Args)]
pub(crate) struct VerifyHttpArgs {
    /// The Authorization header, e.g. "Basic TEFHRVJNQU46..." (it carries a
    /// key: prefer --authorization-stdin).
    #[arg(long, conflicts_with = "authorization_stdin")]
    pub(crate) authorization: Option<String>,
    /// Read the Authorization value from stdin (its first line).
    #[arg(long)]
    pub(crate) authorization_stdin: bool,
    /// X-Product-Id (present: product-level authentication).
    #[arg(long, default_value = "")]
    pub(crate) product_id: String,
    /// X-Client-Id (the client a product acts for).
    #[arg(long, default_value = "")]
    pub(crate) client_id: String,
    /// X-CleverTap-Account-Id.
    #[arg(long, default_value = "")]
    pub(crate) clevertap_account_id: String,
    /// Read X-CleverTap-Passcode from stdin (the line after the
    /// Authorization value with --authorization-stdin).
    #[arg(long)]
    pub(crate) clevertap_passcode_stdin: bool,
    /// CleverTap's connect call (`?partner=<name>`): the partner's account id.
    #[arg(long, default_value = "")]
    pub(crate) partner: String,
    /// A required scope (repeat for several).
    #[arg(long = "scope")]
    pub(crate) scopes: Vec<String>,
    /// A scope expression that must hold as well (as for `verify`).
    #[arg(long, default_value = "")]
    pub(crate) scope_query: String,
    /// Accept `Authorization: Bearer <key>` as a gateway does (default:
    /// Basic only, as the partner seeds' APIs answer).
    #[arg(long)]
    pub(crate) accept_bearer: bool,
}

impl std::fmt::Debug for VerifyHttpArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyHttpArgs")
            .field("authorization", &self.authorization.is_some())
            .field("authorization_stdin", &self.authorization_stdin)
            .field("product_id", &self.product_id)
            .field("client_id", &self.client_id)
            .field("clevertap_account_id", &self.clevertap_account_id)
            .field("clevertap_passcode_stdin", &self.clevertap_passcode_stdin)
            .field("partner", &self.partner)
            .field("scopes", &self.scopes)
            .field("scope_query", &self.scope_query)
            .field("accept_bearer", &self.accept_bearer)
            .finish()
    }
}

/// Where the two keys come from; never the command line.
#[derive(Debug, clap::Args)]
#[command(group(
    ArgGroup::new("developer_key")
        .required(true)
        .args(["developer_key_stdin", "developer_key_file"])
))]
pub(crate) struct VerifyPairArgs {
    /// Read the developer key and then the customer key from stdin, one a line.
    #[arg(long)]
    pub(crate) developer_key_stdin: bool,
    /// File holding the developer key; stdin then holds only the customer key.
    #[arg(long)]
    pub(crate) developer_key_file: Option<PathBuf>,
    /// A required scope (repeat for several).
    #[arg(long = "scope")]
    pub(crate) scopes: Vec<String>,
}
