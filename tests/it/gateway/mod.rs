//! credd behind real proxies: Envoy (ext_authz) and nginx (auth_request) run
//! the shipped example configs against an echo upstream. The harness starts
//! and stops the components; the other modules are the cases.

pub mod fixture;
pub mod harness;

mod cases;
mod closed;
mod examples;
mod through_envoy;
mod through_nginx;
