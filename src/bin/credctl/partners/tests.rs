//! The partner commands' flags as clap parses them (grants, partners,
//! consents, and keys never taken from argv by the checks), and the
//! customer key found in an approved consent's redirect URL.

use clap::Parser;

use super::consents::customer_key_of;
use crate::args::{Cli, Command, ConsentCommand, EnvArg, GrantCommand, PartnerCommand};

fn parse(args: &[&str]) -> Result<Command, clap::Error> {
    Cli::try_parse_from(std::iter::once("credctl").chain(args.iter().copied())).map(|c| c.command)
}

#[test]
fn the_customer_key_is_the_last_customerkey_parameter() {
    let url = "https://partner.example/klicktipp-api?customerkey=credd_live_cust_abc";
    assert_eq!(customer_key_of(url), Some("credd_live_cust_abc"));
    let url = "https://partner.example/cb?customerkey=&state=s1&customerkey=credd_test_cust_x";
    assert_eq!(customer_key_of(url), Some("credd_test_cust_x"));
    assert_eq!(
        customer_key_of("https://partner.example/cb?customerkey="),
        None
    );
    assert_eq!(
        customer_key_of("https://partner.example/cb?error=access_denied"),
        None
    );
    assert_eq!(customer_key_of("https://partner.example/cb"), None);
}

#[test]
fn grants_take_scopes_a_lifetime_and_list_ended_ones_with_all() {
    let command = parse(&[
        "grant",
        "create",
        "--partner",
        "MYPRODUCT",
        "--client",
        "LAGERMAN",
        "--scope",
        "orders:read",
        "--scope",
        "orders:write",
        "--lifetime",
        "90d",
    ])
    .unwrap();
    assert!(matches!(
        command,
        Command::Grant(GrantCommand::Create { partner, client, scopes, lifetime: Some(l) })
            if partner == "MYPRODUCT" && client == "LAGERMAN" && scopes.len() == 2 && l == "90d"
    ));
    let command = parse(&["grant", "list", "--partner", "MYPRODUCT", "--all"]).unwrap();
    assert!(matches!(
        command,
        Command::Grant(GrantCommand::List { all: true, client, .. }) if client.is_empty()
    ));
}

#[test]
fn partner_prefixes_are_replaced_or_cleared_not_both() {
    let command = parse(&[
        "partner",
        "register",
        "KT",
        "--display-name",
        "Partner",
        "--redirect-prefix",
        "https://a.example/",
        "--redirect-prefix",
        "https://b.example/",
    ])
    .unwrap();
    assert!(matches!(
        command,
        Command::Partner(PartnerCommand::Register { redirect_prefixes, .. }) if redirect_prefixes.len() == 2
    ));
    assert!(parse(&["partner", "update", "KT", "--clear-redirect-prefixes"]).is_ok());
    assert!(
        parse(&[
            "partner",
            "update",
            "KT",
            "--redirect-prefix",
            "https://a.example/",
            "--clear-redirect-prefixes",
        ])
        .is_err()
    );
}

#[test]
fn consent_requests_default_to_live() {
    let command = parse(&[
        "consent",
        "request",
        "--partner",
        "KT",
        "--customer",
        "shop",
        "--redirect-url",
        "https://partner.example/klicktipp-api?customerkey=",
    ])
    .unwrap();
    assert!(matches!(
        command,
        Command::Consent(ConsentCommand::Request {
            environment: EnvArg::Live,
            lifetime: None,
            ..
        })
    ));
}

#[test]
fn keys_never_come_from_argv() {
    // verify-pair names where the developer key comes from, and takes no key itself.
    assert!(parse(&["verify-pair"]).is_err());
    assert!(
        parse(&[
            "verify-pair",
            "--developer-key-stdin",
            "--developer-key-file",
            "k"
        ])
        .is_err()
    );
    assert!(parse(&["verify-pair", "--developer-key-stdin", "credd_live_api_x"]).is_err());
    assert!(
        parse(&[
            "verify-pair",
            "--developer-key-stdin",
            "--scope",
            "contacts:write"
        ])
        .is_ok()
    );
    // verify-http: the Authorization value from argv or stdin, not both.
    assert!(
        parse(&[
            "verify-http",
            "--authorization",
            "Basic eDp5",
            "--authorization-stdin"
        ])
        .is_err()
    );
    let command = parse(&[
        "verify-http",
        "--authorization-stdin",
        "--product-id",
        "MYPRODUCT",
        "--client-id",
        "LAGERMAN",
    ])
    .unwrap();
    assert!(matches!(command, Command::VerifyHttp(args)
        if args.authorization.is_none() && args.authorization_stdin && args.product_id == "MYPRODUCT"));
}
