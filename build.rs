//! Compiles `proto/` into Rust with protox (pure Rust, so no system `protoc`
//! is needed): `credd.v1` and the wire-compatible subset of Envoy's ext_authz
//! protos, servers and clients both. Writes the one encoded descriptor set
//! (both, with their imports) that gRPC reflection serves.

use std::path::PathBuf;

use prost::Message;

/// Every file of `package credd.v1`: one per service, plus the shared types.
const PROTOS: &[&str] = &[
    "proto/credd/v1/types.proto",
    "proto/credd/v1/credential_admin.proto",
    "proto/credd/v1/verifier.proto",
    "proto/credd/v1/admin_key_admin.proto",
    "proto/credd/v1/audit_log.proto",
    "proto/credd/v1/account_admin.proto",
    "proto/credd/v1/user_admin.proto",
    "proto/credd/v1/session_auth.proto",
    "proto/credd/v1/client_id_admin.proto",
    "proto/credd/v1/partner_admin.proto",
    "proto/credd/v1/backup_admin.proto",
    "proto/credd/v1/webhook_admin.proto",
    "proto/credd/v1/leak_admin.proto",
];

/// The Envoy ext_authz subset (`envoy.service.auth.v3.Authorization`) and
/// the files it imports that are not well-known types.
const ENVOY_PROTOS: &[&str] = &[
    "proto/envoy/service/auth/v3/external_auth.proto",
    "proto/envoy/service/auth/v3/attribute_context.proto",
    "proto/envoy/config/core/v3/base.proto",
    "proto/envoy/type/v3/http_status.proto",
    "proto/google/rpc/status.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let all = || PROTOS.iter().chain(ENVOY_PROTOS);
    for proto in all() {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let descriptors = protox::Compiler::new(["proto"])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(all().map(|p| p.trim_start_matches("proto/")))?
        .file_descriptor_set();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("credd_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    // google.rpc.Status is tonic-types' (the same message), not a second copy.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".google.rpc", "::tonic_types::pb")
        .compile_fds(descriptors)?;
    Ok(())
}
