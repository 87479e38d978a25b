//! The scanner pattern README.md documents (under `<!-- credd-key-pattern
//! -->`) against keys credd generates: it matches every kind and
//! environment, in text too, and misses near misses; the gitleaks rule
//! carries the same pattern; and the checksum computed as README.md
//! describes it (CRC-32, base 62, most significant digit first) is the one
//! every generated key carries.

use regex::Regex;

use super::{CHECKSUM_LEN, Secret, parse};
use crate::lifecycle::{Environment, Kind};

const README: &str = include_str!("../../README.md");

/// The first line of the code block after the marker.
fn documented_pattern() -> &'static str {
    let after = README
        .split("<!-- credd-key-pattern -->")
        .nth(1)
        .expect("README.md has the credd-key-pattern marker");
    after
        .lines()
        .skip_while(|l| !l.starts_with("```"))
        .nth(1)
        .expect("a code block after the marker")
}

/// The checksum as README.md describes it, written independently.
fn documented_checksum(covered: &str) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut value = crc32fast::hash(covered.as_bytes());
    let mut digits = Vec::new();
    for _ in 0..6 {
        digits.insert(0, DIGITS[(value % 62) as usize]);
        value /= 62;
    }
    String::from_utf8(digits).unwrap()
}

const KINDS: [Kind; 5] = [
    Kind::ApiKey,
    Kind::Passcode,
    Kind::AdminKey,
    Kind::Session,
    Kind::CustomerKey,
];

/// Every kind and environment matches, alone and inside text, and the
/// documented checksum is the key's own.
#[test]
fn the_documented_pattern_matches_every_generated_key() {
    let pattern = Regex::new(documented_pattern()).unwrap();
    for kind in KINDS {
        for environment in [Environment::Live, Environment::Test] {
            for _ in 0..20 {
                let secret = Secret::generate("credd", environment, kind).unwrap();
                let key = secret.expose();
                assert!(pattern.is_match(key), "{key}");
                let text = format!("API_KEY=\"{key}\"\n");
                let found = pattern.find(&text).map(|m| m.as_str());
                assert_eq!(found, Some(key));
                let (covered, checksum) = key.split_at(key.len() - CHECKSUM_LEN);
                assert_eq!(documented_checksum(covered), checksum, "{key}");
                assert!(parse(key).is_ok());
            }
        }
    }
}

/// Near misses do not match: a wrong prefix, environment or kind, a body
/// one character short or long, a character outside base 62, and a key
/// glued to more word characters.
#[test]
fn the_documented_pattern_misses_near_misses() {
    let pattern = Regex::new(documented_pattern()).unwrap();
    let secret = Secret::generate("credd", Environment::Live, Kind::ApiKey).unwrap();
    let key = secret.expose();
    let tail = &key["credd_live_api_".len()..];
    let near_misses = [
        format!("credx_live_api_{tail}"),
        format!("CREDD_live_api_{tail}"),
        format!("credd_prod_api_{tail}"),
        format!("credd_live_key_{tail}"),
        format!("credd_live_api_{}", &tail[1..]),
        format!("credd_live_api_{tail}A"),
        format!("credd_live_api_{}-{}", &tail[..10], &tail[11..]),
        format!("credd_live_api-{tail}"),
        format!("x{key}"),
        format!("{key}_x"),
    ];
    for miss in &near_misses {
        assert!(!pattern.is_match(miss), "matched {miss}");
    }
    // A changed body keeps the shape but fails the documented checksum.
    let mut changed = key.to_string();
    let at = "credd_live_api_".len();
    let swap = if &changed[at..=at] == "A" { "B" } else { "A" };
    changed.replace_range(at..=at, swap);
    assert!(pattern.is_match(&changed));
    let (covered, checksum) = changed.split_at(changed.len() - CHECKSUM_LEN);
    assert_ne!(documented_checksum(covered), checksum);
    assert!(parse(&changed).is_err());
}

/// The gitleaks rule and the GitHub custom pattern are the same pattern.
#[test]
fn the_gitleaks_rule_and_custom_pattern_agree() {
    let pattern = documented_pattern();
    assert!(README.contains(&format!("regex = '''{pattern}'''")));
    let core = pattern.trim_start_matches("\\b").trim_end_matches("\\b");
    assert!(README.contains(&format!("secret format\n`{core}`")));
}
