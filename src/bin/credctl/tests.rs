//! The command line as clap parses it: its definition is consistent, and
//! credentials and Verify take a client id.

use clap::{CommandFactory, Parser};

use crate::args::{Cli, Command, CredentialCommand, VerifyArgs};

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn create_and_verify_take_a_client_id() {
    let cli = Cli::try_parse_from([
        "credctl",
        "create",
        "--account",
        "acme",
        "--name",
        "n",
        "--client-id",
        "credd_live_client_x",
    ])
    .unwrap();
    assert!(
        matches!(cli.command, Command::Credential(CredentialCommand::Create { client_id, .. }) if client_id == "credd_live_client_x")
    );
    let cli = Cli::try_parse_from([
        "credctl",
        "verify",
        "--client-id",
        "credd_live_client_x",
        "--on-behalf-of",
        "LAGERMAN",
    ])
    .unwrap();
    assert!(matches!(
        cli.command,
        Command::Verify(VerifyArgs { secret: None, client_id, on_behalf_of, .. })
            if client_id == "credd_live_client_x" && on_behalf_of == "LAGERMAN"
    ));
}
