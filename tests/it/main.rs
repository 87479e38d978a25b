//! Integration tests: every test starts the real `credd` binary on an
//! ephemeral loopback port with its own data directory and talks to it
//! through the generated gRPC clients. One test binary, many modules.

mod support;
mod admin;
mod verify;
mod rotation;
mod listing;
mod durability;
mod hygiene;
mod crash_loop;
