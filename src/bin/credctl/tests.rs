use clap::{CommandFactory, Parser};

use super::{Cli, Command, duration_arg, stdin_lines};

#[test]
fn the_command_line_is_consistent() {
    Cli::command().debug_assert();
}

#[test]
fn stdin_lines_wants_exactly_one_line_per_value() {
    let names = ["the developer key", "the customer key"];
    assert_eq!(
        stdin_lines("credd_live_api_x\r\n  credd_live_cust_y \n", &names).unwrap(),
        ["credd_live_api_x", "credd_live_cust_y"]
    );
    let err = stdin_lines("credd_live_api_x\n", &names).unwrap_err();
    assert!(
        err.contains("the developer key and the customer key") && err.contains("got 1"),
        "{err}"
    );
    assert!(stdin_lines("a\nb\nc\n", &names).is_err());
    assert!(stdin_lines("a\n\nb\n", &names).is_err());
}

#[test]
fn durations_are_fixed_lengths() {
    assert_eq!(
        duration_arg("lifetime", "90d").unwrap().seconds,
        90 * 86_400
    );
    assert_eq!(duration_arg("lifetime", "12h").unwrap().seconds, 12 * 3_600);
    let err = duration_arg("lifetime", "2 months").unwrap_err();
    assert!(err.starts_with("--lifetime:"), "{err}");
    assert!(duration_arg("lifetime", "soon").is_err());
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
        matches!(cli.command, Command::Create { client_id, .. } if client_id == "credd_live_client_x")
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
        Command::Verify { secret: None, client_id, on_behalf_of, .. }
            if client_id == "credd_live_client_x" && on_behalf_of == "LAGERMAN"
    ));
}
