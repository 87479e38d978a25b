//! The generated types and gRPC stubs of the wire-compatible subset of
//! Envoy's ext_authz protos (`proto/envoy/`), one module per proto package
//! so that the generated cross-references resolve. `google.rpc.Status` is
//! `tonic_types::Status`, re-exported as [`google::rpc::Status`].

#![allow(clippy::all, clippy::pedantic, clippy::unwrap_used, missing_docs)]

/// `envoy.service.*`.
pub mod service {
    /// `envoy.service.auth.*`.
    pub mod auth {
        /// `envoy.service.auth.v3`: the `Authorization` service (`Check`).
        pub mod v3 {
            tonic::include_proto!("envoy.service.auth.v3");
        }
    }
}

/// `envoy.config.*`.
pub mod config {
    /// `envoy.config.core.*`.
    pub mod core {
        /// `envoy.config.core.v3`: headers.
        pub mod v3 {
            tonic::include_proto!("envoy.config.core.v3");
        }
    }
}

/// `envoy.type.*`.
pub mod r#type {
    /// `envoy.type.v3`: HTTP status codes.
    pub mod v3 {
        tonic::include_proto!("envoy.r#type.v3");
    }
}

/// `google.*`.
pub mod google {
    /// `google.rpc`.
    pub mod rpc {
        pub use tonic_types::Status;
    }
}
