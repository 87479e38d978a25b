//! credd behind real proxies: Envoy (ext_authz) and nginx (auth_request) run
//! the shipped example configs against an echo upstream. The harness starts
//! and stops the components; the other modules are the cases.

pub mod harness;

mod closed;
mod examples;
