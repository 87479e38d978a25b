//! The command line as clap parses it: its definition is consistent,
//! credentials and Verify take a client id, List its time filters; and the
//! EXPIRES column.

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

/// The EXPIRES column: two units rounded down, "(soon)" inside the
/// warning window, the date once nothing is left.
#[test]
fn expires_cell_reads_well() {
    use crate::output::expires_cell;
    let d = |seconds| prost_types::Duration { seconds, nanos: 0 };
    let day = 86_400;
    assert_eq!(
        expires_cell(Some(&d(12 * day - 1)), true, None),
        "in 11d 23h (soon)"
    );
    assert_eq!(expires_cell(Some(&d(200 * day)), false, None), "in 200d");
    assert_eq!(
        expires_cell(Some(&d(5 * 3600 + 59)), true, None),
        "in 5h (soon)"
    );
    assert_eq!(expires_cell(Some(&d(200)), true, None), "in 3m 20s (soon)");
    assert_eq!(expires_cell(Some(&d(0)), true, None), "in 0s (soon)");
    let at = prost_types::Timestamp {
        seconds: 1_780_000_000,
        nanos: 0,
    };
    assert_eq!(expires_cell(None, false, Some(&at)), "2026-05-28");
    assert_eq!(expires_cell(None, false, None), "");
}

/// `list` takes the time filters, `whoami` an optional secret and account.
#[test]
fn list_filters_and_whoami_parse() {
    let cli = Cli::try_parse_from([
        "credctl",
        "list",
        "--expiring-within",
        "30d",
        "--inactive-for",
        "60d",
    ])
    .unwrap();
    assert!(matches!(
        cli.command,
        Command::Credential(CredentialCommand::List { expiring_within: Some(e), inactive_for: Some(i), .. })
            if e == "30d" && i == "60d"
    ));
    let cli = Cli::try_parse_from(["credctl", "whoami", "--account", "acme"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Credential(CredentialCommand::Whoami { secret: None, account }) if account == "acme"
    ));
}
