//! The gRPC surface: tonic services that turn protobuf requests into engine
//! calls and engine answers into protobuf responses. The only module that
//! names tonic or the generated types; errors become `Status` in `status.rs`.
//! The generated types are [`pb`] (`credd.v1`) and [`envoy`] (the Envoy
//! ext_authz subset).

mod accounts;
mod admin;
mod admin_keys;
mod audit;
mod auth;
mod backup;
mod convert;
mod credits;
pub mod envoy;
mod ext_authz;
mod import;
mod leaks;
mod partners;
mod rate_limits;
mod server;
mod status;
mod tls;
mod usage;
mod users;
mod verifier;
mod webhooks;

pub use accounts::AccountService;
pub use admin::AdminService;
pub use admin_keys::AdminKeyService;
pub use audit::AuditService;
pub use auth::{Authenticator, Throttle, ThrottlePolicy};
pub use backup::BackupService;
pub use leaks::LeakService;
pub use partners::{ClientIdService, PartnerService};
pub use server::{Health, Server, ServerError};
pub use tls::{Tls, TlsError, load as load_tls};
pub use users::{SessionService, UserService};
pub use verifier::VerifierService;
pub use webhooks::WebhookService;

/// The generated protobuf types and gRPC stubs of `credd.v1`.
#[allow(clippy::all, clippy::pedantic, clippy::unwrap_used, missing_docs)]
pub mod pb {
    tonic::include_proto!("credd.v1");

    /// Encoded descriptors of `credd.v1` and of the Envoy ext_authz subset
    /// (see [`super::envoy`]), with their imports: what gRPC reflection serves.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/credd_descriptor.bin"));
}
