use super::*;

use std::os::unix::fs::PermissionsExt;

const KINDS: [Kind; 5] = [
    Kind::ApiKey,
    Kind::Passcode,
    Kind::AdminKey,
    Kind::Session,
    Kind::CustomerKey,
];
const ENVIRONMENTS: [Environment; 2] = [Environment::Live, Environment::Test];

fn generate(prefix: &str, environment: Environment, kind: Kind) -> Secret {
    Secret::generate(prefix, environment, kind).unwrap()
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| ALPHABET.contains(&b))
}

/// A well-formed string of exactly `len` bytes with a correct checksum,
/// built by padding the prefix.
fn valid_of_len(len: usize) -> String {
    let fixed = "_live_api_".len() + BODY_LEN + CHECKSUM_LEN;
    let prefix = "a".repeat(len - fixed);
    let covered = format!("{prefix}_live_api_{}", "A".repeat(BODY_LEN));
    let text = format!("{covered}{}", checksum_of(&covered));
    assert_eq!(text.len(), len);
    text
}

/// Every kind and environment yields `<prefix>_<env>_<kind>_<24 base62><6 base62>`,
/// and the last six characters are the CRC32 checksum of everything before them.
#[test]
fn generated_format_for_every_kind_and_environment() {
    for prefix in ["credd", "acme1"] {
        for environment in ENVIRONMENTS {
            for kind in KINDS {
                let secret = generate(prefix, environment, kind);
                let text = secret.expose();
                let env = match environment {
                    Environment::Live => "live",
                    Environment::Test => "test",
                };
                let kind_tag = match kind {
                    Kind::ApiKey => "api",
                    Kind::Passcode => "pass",
                    Kind::AdminKey => "admin",
                    Kind::Session => "sess",
                    Kind::CustomerKey => "cust",
                };
                let head = format!("{prefix}_{env}_{kind_tag}_");
                assert!(
                    text.starts_with(&head),
                    "{text:?} should start with {head:?}"
                );
                let tail = &text[head.len()..];
                assert_eq!(tail.len(), BODY_LEN + CHECKSUM_LEN, "{text:?}");
                assert_eq!(BODY_LEN, 24);
                assert_eq!(CHECKSUM_LEN, 6);
                assert!(is_base62(tail), "{text:?} tail is not base62");
                let (covered, checksum) = text.split_at(text.len() - CHECKSUM_LEN);
                assert_eq!(checksum, checksum_of(covered));
                assert_eq!(text.matches('_').count(), 3, "{text:?}");
            }
        }
    }
}

/// `parse` accepts what `generate` produces and reports its kind and environment.
#[test]
fn parse_accepts_generated_secrets() {
    for environment in ENVIRONMENTS {
        for kind in KINDS {
            for _ in 0..20 {
                let secret = generate("credd", environment, kind);
                assert_eq!(
                    parse(secret.expose()),
                    Ok(SecretShape { environment, kind }),
                    "{}",
                    secret.expose()
                );
            }
        }
    }
}

/// Changing any single character of a generated key, to any other base62
/// character or to a few non-alphanumerics, makes `parse` refuse it: in the
/// prefix, environment, kind, separators, body and checksum alike.
#[test]
fn checksum_rejects_every_single_character_change() {
    let others: Vec<char> = ALPHABET
        .iter()
        .map(|b| char::from(*b))
        .chain(['_', '-', ' ', '.', '+', '/', '=', '\0', 'é'])
        .collect();
    for (environment, kind) in [
        (Environment::Live, Kind::ApiKey),
        (Environment::Test, Kind::Passcode),
    ] {
        let secret = generate("credd", environment, kind);
        let original: Vec<char> = secret.expose().chars().collect();
        let mut tried = 0usize;
        for position in 0..original.len() {
            for &replacement in &others {
                if replacement == original[position] {
                    continue;
                }
                let mut changed = original.clone();
                changed[position] = replacement;
                let changed: String = changed.into_iter().collect();
                assert!(
                    parse(&changed).is_err(),
                    "changing position {position} to {replacement:?} was accepted: {changed:?}"
                );
                tried += 1;
            }
        }
        // Every position was tried with at least every other base62 character.
        assert!(tried >= original.len() * 61, "{tried}");
    }
}

/// A change confined to the body or the checksum is reported as a bad
/// checksum, not as a malformed string.
#[test]
fn body_or_checksum_change_is_bad_checksum() {
    let secret = generate("credd", Environment::Live, Kind::ApiKey);
    let text = secret.expose();
    let body_start = text.len() - BODY_LEN - CHECKSUM_LEN;
    for position in [body_start, body_start + BODY_LEN - 1, text.len() - 1] {
        let mut bytes = text.as_bytes().to_vec();
        bytes[position] = if bytes[position] == b'0' { b'1' } else { b'0' };
        let changed = String::from_utf8(bytes).unwrap();
        assert_eq!(parse(&changed), Err(FormatError::BadChecksum), "{position}");
    }
}

/// `peek_shape` reads the kind and environment, and does not look at the checksum.
#[test]
fn peek_shape_reads_kind_and_environment() {
    for environment in ENVIRONMENTS {
        for kind in KINDS {
            let secret = generate("credd", environment, kind);
            assert_eq!(
                peek_shape(secret.expose()),
                Ok(SecretShape { environment, kind })
            );
        }
    }
    let bad_checksum = format!("credd_test_pass_{}", "A".repeat(BODY_LEN + CHECKSUM_LEN));
    assert_eq!(
        peek_shape(&bad_checksum),
        Ok(SecretShape {
            environment: Environment::Test,
            kind: Kind::Passcode
        })
    );
    assert_eq!(parse(&bad_checksum), Err(FormatError::BadChecksum));
}

/// Empty, over-long, non-ASCII and mis-shaped input is Malformed, for both
/// `peek_shape` and `parse`; exactly `MAX_SECRET_LEN` bytes is still accepted.
#[test]
fn malformed_inputs_are_refused() {
    assert_eq!(MAX_SECRET_LEN, 128);
    let at_limit = valid_of_len(MAX_SECRET_LEN);
    assert!(parse(&at_limit).is_ok(), "{at_limit}");
    let over_limit = valid_of_len(MAX_SECRET_LEN + 1);
    assert_eq!(peek_shape(&over_limit), Err(FormatError::Malformed));
    assert_eq!(parse(&over_limit), Err(FormatError::Malformed));

    let good = generate("credd", Environment::Live, Kind::ApiKey);
    let good = good.expose();
    let non_ascii = format!("{}é", &good[..good.len() - 2]);
    let cases = [
        String::new(),
        "x".repeat(10_000),
        non_ascii,
        "é".repeat(20),
        format!("{good}A"),
        good[..good.len() - 1].to_string(),
        good.replacen("credd_", "CREDD_", 1),
        good.replacen("credd_", "_", 1),
        good.replacen("_live_", "_prod_", 1),
        good.replacen("_api_", "_key_", 1),
        format!("{}{}", &good[..good.len() - 1], '-'),
        "credd_live_api".to_string(),
        "___".to_string(),
    ];
    for case in cases {
        assert_eq!(peek_shape(&case), Err(FormatError::Malformed), "{case:?}");
        assert_eq!(parse(&case), Err(FormatError::Malformed), "{case:?}");
    }
}

/// The HMAC is deterministic, and differs when the pepper or the secret differs.
#[test]
fn hmac_is_deterministic_and_keyed() {
    let a = Pepper::from_bytes([1; 32]);
    let b = Pepper::from_bytes([2; 32]);
    let secret = "credd_live_api_AAAAAAAAAAAAAAAAAAAAAAAA000000";
    let other = "credd_live_api_AAAAAAAAAAAAAAAAAAAAAAAB000000";
    assert_eq!(a.hash(secret).0, a.hash(secret).0);
    assert_eq!(a.hash(secret), Pepper::from_bytes([1; 32]).hash(secret));
    assert_ne!(a.hash(secret).0, b.hash(secret).0);
    assert_ne!(a.hash(secret).0, a.hash(other).0);
}

/// `Pepper::hash` equals HMAC-SHA256 computed by the `hmac` crate and by a
/// hand-written HMAC over `sha2` (RFC 2104), for several keys and inputs.
#[test]
fn hmac_matches_independent_computations() {
    fn by_hand(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(key);
        let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
        let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
        let inner = Sha256::new()
            .chain_update(&ipad)
            .chain_update(message)
            .finalize();
        Sha256::new()
            .chain_update(&opad)
            .chain_update(inner)
            .finalize()
            .into()
    }
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::try_from(i * 7 + 3).unwrap();
    }
    for key in [key, [0u8; 32], [0xff; 32]] {
        let pepper = Pepper::from_bytes(key);
        for message in [
            "",
            "credd_live_api_x",
            "a much longer message ".repeat(10).as_str(),
        ] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
            mac.update(message.as_bytes());
            let expected: [u8; 32] = mac.finalize().into_bytes().into();
            assert_eq!(pepper.hash(message).0, expected, "{message:?}");
            assert_eq!(
                pepper.hash(message).0,
                by_hand(&key, message.as_bytes()),
                "{message:?}"
            );
        }
    }
}

/// `SecretHash::ct_eq` is true for equal bytes and false when any byte differs.
#[test]
fn secret_hash_ct_eq() {
    let hash = Pepper::from_bytes([9; 32]).hash("credd_test_pass_x");
    let same = hash.0;
    assert!(hash.ct_eq(&same));
    for i in [0, 15, 31] {
        let mut other = same;
        other[i] ^= 0x01;
        assert!(!hash.ct_eq(&other), "byte {i}");
    }
    assert!(!hash.ct_eq(&[0; 32]));
}

/// `Debug` and `Display` of a secret show its hint (prefix and last four
/// characters) and never the full secret or its body.
#[test]
fn secret_formatting_never_shows_the_secret() {
    for environment in ENVIRONMENTS {
        for kind in KINDS {
            let secret = generate("credd", environment, kind);
            let text = secret.expose().to_string();
            let head_len = text.len() - BODY_LEN - CHECKSUM_LEN;
            let hint = secret.hint();
            assert_eq!(
                hint,
                format!("{}...{}", &text[..head_len], &text[text.len() - 4..])
            );
            let body = &text[head_len..head_len + BODY_LEN];
            for shown in [
                format!("{secret:?}"),
                format!("{secret}"),
                format!("{secret:#?}"),
            ] {
                assert!(!shown.contains(&text), "{shown}");
                assert!(!shown.contains(body), "{shown}");
                assert!(shown.contains(&hint), "{shown} lacks {hint}");
            }
            assert_eq!(format!("{secret}"), hint);
            assert_eq!(format!("{secret:?}"), format!("Secret({hint})"));
        }
    }
}

/// `Debug` of a pepper and of a hash shows none of their bytes, in decimal or hex.
#[test]
fn pepper_and_hash_formatting_hide_bytes() {
    let pepper = Pepper::from_bytes([0xa7; 32]);
    let hash = pepper.hash("credd_live_api_secret");
    let hash_hex: String = hash.0.iter().map(|b| format!("{b:02x}")).collect();
    for shown in [format!("{pepper:?}"), format!("{pepper:#?}")] {
        assert!(!shown.contains("167"), "{shown}");
        assert!(!shown.to_lowercase().contains("a7"), "{shown}");
        assert_eq!(shown, "Pepper(..)");
    }
    for shown in [format!("{hash:?}"), format!("{hash:#?}")] {
        assert!(!shown.contains(&hash_hex[..8]), "{shown}");
        assert!(!shown.contains(&format!("{:?}", hash.0)), "{shown}");
        assert_eq!(shown, "SecretHash(..)");
    }
}

/// Two generated secrets of the same kind and environment differ, in the body.
#[test]
fn generated_secrets_differ() {
    let mut seen = std::collections::HashSet::new();
    for _ in 0..200 {
        let secret = generate("credd", Environment::Live, Kind::ApiKey);
        let text = secret.expose();
        let body =
            text[text.len() - BODY_LEN - CHECKSUM_LEN..text.len() - CHECKSUM_LEN].to_string();
        assert!(seen.insert(body), "repeated body in {text}");
    }
}

/// A missing pepper file is created with 32 bytes and mode 0600, and loading
/// it again gives the same pepper (same fingerprint and hashes), not a new one.
#[test]
fn pepper_is_created_0600_and_reloaded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pepper");
    let (created, was_created) = Pepper::load_or_create(&path).unwrap();
    assert!(was_created);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(meta.len(), 32);
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(on_disk.as_slice(), &created.key[..]);

    let (reloaded, was_created) = Pepper::load_or_create(&path).unwrap();
    assert!(!was_created);
    assert_eq!(reloaded.fingerprint(), created.fingerprint());
    assert_eq!(reloaded.hash("x"), created.hash("x"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        on_disk,
        "reload rewrote the file"
    );
}

/// A pepper file readable by group or others (0644, and also 0640, 0604,
/// 0660) is refused with an error that says to `chmod 600` it, and is left
/// as it was.
#[test]
fn pepper_refuses_group_readable_file() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o644, 0o640, 0o604, 0o660] {
        let path = dir.path().join(format!("pepper{mode:o}"));
        std::fs::write(&path, [7u8; 32]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = Pepper::load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, PepperError::Permissions { mode: got, .. } if got == mode),
            "{mode:o}: {err:?}"
        );
        let message = err.to_string();
        assert!(message.contains("chmod 600"), "{message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, mode);
        assert_eq!(std::fs::read(&path).unwrap(), [7u8; 32]);
    }
}

/// A 0600 pepper file that is not exactly 32 bytes is refused with its length.
#[test]
fn pepper_refuses_wrong_length() {
    let dir = tempfile::tempdir().unwrap();
    for len in [0usize, 31, 33, 64] {
        let path = dir.path().join(format!("pepper{len}"));
        std::fs::write(&path, vec![7u8; len]).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = Pepper::load_or_create(&path).unwrap_err();
        assert!(
            matches!(err, PepperError::Length { len: got, .. } if got == len),
            "{len}: {err:?}"
        );
        assert!(err.to_string().contains("32 bytes"), "{err}");
    }
}

/// Different peppers have different fingerprints, and the fingerprint is not
/// the pepper itself nor its plain SHA-256.
#[test]
fn fingerprint_differs_between_peppers() {
    let a = Pepper::from_bytes([1; 32]);
    let b = Pepper::from_bytes([2; 32]);
    assert_ne!(a.fingerprint(), b.fingerprint());
    assert_eq!(a.fingerprint(), Pepper::from_bytes([1; 32]).fingerprint());
    assert_ne!(a.fingerprint(), [1; 32]);
    let plain: [u8; 32] = Sha256::digest([1u8; 32]).into();
    assert_ne!(a.fingerprint(), plain);

    let dir = tempfile::tempdir().unwrap();
    let (one, _) = Pepper::load_or_create(&dir.path().join("one")).unwrap();
    let (two, _) = Pepper::load_or_create(&dir.path().join("two")).unwrap();
    assert_ne!(one.fingerprint(), two.fingerprint());
}

/// Client ids have the key format with the `client` tag, a checksum that
/// parse checks, and are told apart from account ids by shape.
#[test]
fn client_ids() {
    let id = crate::secret::new_client_id("credd", Environment::Test).expect("randomness");
    assert!(id.starts_with("credd_test_client_"), "{id}");
    assert_eq!(
        id.len(),
        "credd_test_client_".len() + BODY_LEN + CHECKSUM_LEN
    );
    assert_eq!(crate::secret::parse_client_id(&id), Ok(Environment::Test));
    assert!(crate::secret::is_client_id_shaped(&id));
    let mut typo = id.clone();
    let last = typo.pop().map_or('0', |c| if c == '0' { '1' } else { '0' });
    typo.push(last);
    assert_eq!(
        crate::secret::parse_client_id(&typo),
        Err(FormatError::BadChecksum)
    );
    assert!(!crate::secret::is_client_id_shaped("LAGERMAN"));
    let key = generate("credd", Environment::Live, Kind::ApiKey);
    assert!(!crate::secret::is_client_id_shaped(key.expose()));
    assert!(crate::secret::parse_client_id(key.expose()).is_err());
}
