//! Compiles `proto/` into Rust with protox (pure Rust, so no system `protoc`
//! is needed) and writes the encoded descriptor set that gRPC reflection serves.

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
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let descriptors = protox::Compiler::new(["proto"])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(PROTOS.iter().map(|p| p.trim_start_matches("proto/")))?
        .file_descriptor_set();

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("credd_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;

    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
