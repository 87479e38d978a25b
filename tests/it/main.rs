//! Integration tests: every test starts the real `credd` binary on an
//! ephemeral loopback port with its own data directory and talks to it
//! through the generated gRPC clients. One test binary, many modules.

mod accounts;
mod admin;
mod audit;
mod auth;
mod crash_loop;
mod credctl;
mod credits;
mod delegation_crash;
mod disk_full;
mod durability;
#[path = "../common/etcd_cluster.rs"]
mod etcd_cluster;
mod etcd_harness;
mod expiring;
mod ext_authz;
mod forward_auth;
mod gateway;
mod http_auth;
mod hygiene;
mod lifecycle;
mod listing;
mod mail;
mod metadata;
mod operations;
mod partners;
mod proto_compat;
mod rate_limits;
mod reflection;
mod rotation;
mod scope_expr;
mod shutdown;
mod smtp_server;
mod support;
mod tidy;
mod tls;
mod upgrade;
mod usage;
mod users;
mod verify;
