//! Secrets: generation from the OS CSPRNG, the key format and its checksum,
//! the pepper and `HMAC-SHA256(pepper, secret)`, and constant-time comparison.
//! A plaintext secret lives only in a [`Secret`], which never prints itself and
//! is zeroed when dropped. Storing the hash is the store's job.
//!
//! Format: `<prefix>_<live|test>_<api|pass|admin|sess|cust>_<body><checksum>` where `body` is
//! 24 base62 characters (about 143 bits) and `checksum` is the CRC32 of
//! everything before it, as 6 base62 digits. The checksum lets Verify refuse a
//! mistyped or made-up string without touching the store, and lets secret
//! scanners recognise a credd key.

use std::fmt;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::lifecycle::{Environment, Kind};

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Random base62 characters in a secret: 24 * log2(62) is about 142.9 bits.
pub const BODY_LEN: usize = 24;
/// Base62 digits of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;
/// Longest string Verify will look at; anything longer is malformed.
pub const MAX_SECRET_LEN: usize = 128;

/// A plaintext secret. `Debug` and `Display` print only its hint; the memory
/// is zeroed on drop. Call [`Secret::expose`] to hand it to the one caller
/// that may see it.
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Draws a new secret from the OS CSPRNG.
    ///
    /// # Errors
    /// Fails only if the operating system cannot supply randomness.
    pub fn generate(
        prefix: &str,
        environment: Environment,
        kind: Kind,
    ) -> Result<Self, getrandom::Error> {
        compose(prefix, environment, kind_tag(kind)).map(Secret)
    }

    /// The plaintext. Only the response that issued the secret may carry it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Prefix and last four characters, e.g. `credd_live_api_...Xy9Z`.
    pub fn hint(&self) -> String {
        hint_of(&self.0)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.hint())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hint())
    }
}

/// `<prefix>_<env>_<tag>_<random body><checksum>`, in memory that is zeroed
/// on drop.
fn compose(
    prefix: &str,
    environment: Environment,
    tag: &str,
) -> Result<Zeroizing<String>, getrandom::Error> {
    let mut text = Zeroizing::new(String::with_capacity(
        prefix.len() + 16 + BODY_LEN + CHECKSUM_LEN,
    ));
    text.push_str(prefix);
    text.push('_');
    text.push_str(env_tag(environment));
    text.push('_');
    text.push_str(tag);
    text.push('_');
    let mut filled = 0;
    let mut buf = Zeroizing::new([0u8; 64]);
    while filled < BODY_LEN {
        getrandom::fill(&mut buf[..])?;
        // Rejection sampling keeps every character uniform: 248 = 4 * 62.
        for byte in buf.iter().filter(|b| **b < 248) {
            if filled == BODY_LEN {
                break;
            }
            text.push(char::from(ALPHABET[usize::from(*byte % 62)]));
            filled += 1;
        }
    }
    let checksum = checksum_of(&text);
    text.push_str(&checksum);
    Ok(text)
}

/// The kind segment of a client id.
const CLIENT_ID_TAG: &str = "client";

/// A new public client id, `<prefix>_<live|test>_client_<body><checksum>`.
/// Drawn like a secret so ids cannot be guessed or enumerated, but it is
/// not one: it is stored and shown as it is.
///
/// # Errors
/// Fails only if the operating system cannot supply randomness.
pub fn new_client_id(prefix: &str, environment: Environment) -> Result<String, getrandom::Error> {
    compose(prefix, environment, CLIENT_ID_TAG).map(|text| text.as_str().to_string())
}

/// Whether `value` has the shape of a client id (checksum not checked): a
/// gateway may send either a client id or an account id, and this tells
/// them apart.
pub fn is_client_id_shaped(value: &str) -> bool {
    shape_parts(value).is_ok_and(|(_, tag)| tag == CLIENT_ID_TAG)
}

/// Checks a client id's shape and checksum and returns its environment.
///
/// # Errors
/// [`FormatError`] when it cannot be a client id credd issued.
pub fn parse_client_id(value: &str) -> Result<Environment, FormatError> {
    let (environment, tag) = shape_parts(value)?;
    if tag != CLIENT_ID_TAG {
        return Err(FormatError::Malformed);
    }
    let (covered, checksum) = value.split_at(value.len() - CHECKSUM_LEN);
    if bool::from(checksum_of(covered).as_bytes().ct_eq(checksum.as_bytes())) {
        Ok(environment)
    } else {
        Err(FormatError::BadChecksum)
    }
}

/// What the format of a presented string says, once its checksum holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretShape {
    /// Live or test, from the key itself.
    pub environment: Environment,
    /// API key or passcode, from the key itself.
    pub kind: Kind,
}

/// Why a presented string is not a credd secret. Carries nothing of the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not `<prefix>_<env>_<kind>_<body><checksum>`.
    #[error("not a credd secret")]
    Malformed,
    /// Well formed, but the checksum does not match: a typo or a forgery.
    #[error("secret checksum does not match")]
    BadChecksum,
}

/// Reads the kind and environment of a presented string without checking its
/// checksum (so a passcode presented without its account can be refused with
/// a precise message).
///
/// # Errors
/// [`FormatError::Malformed`] when the shape is wrong.
pub fn peek_shape(presented: &str) -> Result<SecretShape, FormatError> {
    let (environment, tag) = shape_parts(presented)?;
    let kind = match tag {
        "api" => Kind::ApiKey,
        "pass" => Kind::Passcode,
        "admin" => Kind::AdminKey,
        "sess" => Kind::Session,
        "cust" => Kind::CustomerKey,
        _ => return Err(FormatError::Malformed),
    };
    Ok(SecretShape { environment, kind })
}

/// Splits `<prefix>_<env>_<tag>_<body><checksum>` into its environment and
/// tag, checking the prefix and body shapes.
fn shape_parts(presented: &str) -> Result<(Environment, &str), FormatError> {
    if presented.len() > MAX_SECRET_LEN || !presented.is_ascii() {
        return Err(FormatError::Malformed);
    }
    let mut parts = presented.rsplitn(4, '_');
    let tail = parts.next().ok_or(FormatError::Malformed)?;
    let tag = parts.next().ok_or(FormatError::Malformed)?;
    let environment = match parts.next() {
        Some("live") => Environment::Live,
        Some("test") => Environment::Test,
        _ => return Err(FormatError::Malformed),
    };
    let prefix = parts.next().ok_or(FormatError::Malformed)?;
    let prefix_ok = !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let tail_ok =
        tail.len() == BODY_LEN + CHECKSUM_LEN && tail.bytes().all(|b| b.is_ascii_alphanumeric());
    if !prefix_ok || !tail_ok {
        return Err(FormatError::Malformed);
    }
    Ok((environment, tag))
}

/// Checks the format and the checksum of a presented string.
///
/// # Errors
/// [`FormatError`] when it cannot be a secret credd issued.
pub fn parse(presented: &str) -> Result<SecretShape, FormatError> {
    let shape = peek_shape(presented)?;
    let (covered, checksum) = presented.split_at(presented.len() - CHECKSUM_LEN);
    let expected = checksum_of(covered);
    if bool::from(expected.as_bytes().ct_eq(checksum.as_bytes())) {
        Ok(shape)
    } else {
        Err(FormatError::BadChecksum)
    }
}

/// The bytes of `text`, an even number of hexadecimal digits (either
/// case); `None` for anything else.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Lower-case hex of `bytes`: digests, fingerprints and ids made of hash
/// bytes (never a secret's plaintext).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Prefix and last four characters of a secret string.
pub fn hint_of(secret: &str) -> String {
    let prefix_end = secret.rfind('_').map_or(0, |i| i + 1);
    let last_four = secret.len().saturating_sub(4).max(prefix_end);
    format!("{}...{}", &secret[..prefix_end], &secret[last_four..])
}

fn env_tag(environment: Environment) -> &'static str {
    match environment {
        Environment::Live => "live",
        Environment::Test => "test",
    }
}

fn kind_tag(kind: Kind) -> &'static str {
    match kind {
        Kind::ApiKey => "api",
        Kind::Passcode => "pass",
        Kind::AdminKey => "admin",
        Kind::Session => "sess",
        Kind::CustomerKey => "cust",
    }
}

/// CRC32 of `covered` as [`CHECKSUM_LEN`] base62 digits, most significant first.
fn checksum_of(covered: &str) -> String {
    let mut value = u64::from(crc32fast::hash(covered.as_bytes()));
    let mut digits = [b'0'; CHECKSUM_LEN];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 62) as usize];
        value /= 62;
    }
    digits.iter().map(|b| char::from(*b)).collect()
}

/// `HMAC-SHA256(pepper, secret)`: the only form in which a secret is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// Constant-time equality, for wherever a stored hash is compared.
    pub fn ct_eq(&self, other: &[u8; 32]) -> bool {
        bool::from(self.0.ct_eq(other))
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

/// The HMAC key. Lives in a 0600 file outside the database, so a stolen
/// database alone cannot be used to test guesses.
pub struct Pepper {
    key: Zeroizing<[u8; 32]>,
    /// The HMAC keyed once; each hash starts from a copy (Verify's hot
    /// path skips hashing the key's two pads every time).
    keyed: Hmac<Sha256>,
}

impl fmt::Debug for Pepper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pepper(..)")
    }
}

/// Why the pepper could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum PepperError {
    /// Reading, writing or inspecting the file failed.
    #[error("pepper file {path}: {source}")]
    Io {
        /// The pepper file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Group or others may read it.
    #[error(
        "pepper file {path} is readable by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The pepper file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// Not 32 bytes.
    #[error("pepper file {path} must hold exactly 32 bytes, it holds {len}")]
    Length {
        /// The pepper file.
        path: PathBuf,
        /// What it holds.
        len: usize,
    },
    /// No randomness from the OS.
    #[error("cannot draw a pepper from the OS random source: {0}")]
    Random(getrandom::Error),
}

impl Pepper {
    /// A pepper from raw bytes (tests and tools).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        // An HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
        let keyed = match <Hmac<Sha256> as Mac>::new_from_slice(&bytes) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        Pepper {
            key: Zeroizing::new(bytes),
            keyed,
        }
    }

    /// Loads the pepper from `path`, creating it (32 random bytes, mode 0600)
    /// if it does not exist. Returns whether it was created.
    ///
    /// # Errors
    /// [`PepperError`] when the file cannot be read or written, is readable
    /// by others, or is not 32 bytes.
    pub fn load_or_create(path: &Path) -> Result<(Self, bool), PepperError> {
        let io = |source| PepperError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::metadata(path) {
            Ok(meta) => {
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(PepperError::Permissions {
                        path: path.to_path_buf(),
                        mode,
                    });
                }
                let mut bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
                let Ok(array) = <[u8; 32]>::try_from(bytes.as_slice()) else {
                    return Err(PepperError::Length {
                        path: path.to_path_buf(),
                        len: bytes.len(),
                    });
                };
                bytes.zeroize();
                Ok((Pepper::from_bytes(array), false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut array = Zeroizing::new([0u8; 32]);
                getrandom::fill(&mut array[..]).map_err(PepperError::Random)?;
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(&array[..]).map_err(io)?;
                file.sync_all().map_err(io)?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::File::open(dir)
                        .and_then(|d| d.sync_all())
                        .map_err(io)?;
                }
                Ok((Pepper::from_bytes(*array), true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// `HMAC-SHA256(pepper, secret)`.
    pub fn hash(&self, secret: &str) -> SecretHash {
        let mut mac = self.keyed.clone();
        mac.update(secret.as_bytes());
        SecretHash(mac.finalize().into_bytes().into())
    }

    /// A value that identifies this pepper without revealing it, stored in
    /// the database so a restart with another pepper is refused.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(b"credd pepper fingerprint v1\0");
        hasher.update(&self.key[..]);
        hasher.finalize().into()
    }
}

#[allow(clippy::panic)] // HMAC takes keys of every length; this cannot happen.
fn unreachable_hmac() -> ! {
    panic!("hmac rejected a 32-byte key")
}

pub mod webhook;

#[cfg(test)]
mod pattern_tests;
#[cfg(test)]
mod tests;
