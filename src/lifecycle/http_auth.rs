//! The HTTP authentication rules of the APIs credd stands behind, as pure
//! functions: which mode a request's headers select (Basic client-level,
//! Basic product-level, CleverTap's header pair, a key alone in
//! `Authorization: Bearer` or an API-key header), what is malformed about
//! them, and which HTTP status each refusal is answered with. Checking the
//! key itself is the engine's job; this module never sees the store.

use zeroize::Zeroizing;

use super::VerifyOutcome;

/// Longest header value looked at; anything longer is malformed.
pub const MAX_HEADER: usize = 4096;

/// The authentication headers of one HTTP request; empty means absent.
#[derive(Clone, Copy, Default)]
pub struct HttpHeaders<'a> {
    /// `Authorization`.
    pub authorization: &'a str,
    /// `X-Product-Id`.
    pub product_id: &'a str,
    /// `X-Client-Id`.
    pub client_id: &'a str,
    /// `X-CleverTap-Account-Id`.
    pub clevertap_account_id: &'a str,
    /// `X-CleverTap-Passcode`.
    pub clevertap_passcode: &'a str,
    /// The `partner` of CleverTap's connect call.
    pub clevertap_partner: &'a str,
    /// The API-key header (`X-Api-Key` by default).
    pub api_key: &'a str,
    /// Whether `Authorization: Bearer <key>` is accepted (gateways); when
    /// false only Basic is, as the partner seeds' APIs answer.
    pub bearer: bool,
}

impl std::fmt::Debug for HttpHeaders<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Authorization and the passcode carry secrets: only their presence shows.
        f.debug_struct("HttpHeaders")
            .field("authorization", &!self.authorization.is_empty())
            .field("product_id", &self.product_id)
            .field("client_id", &self.client_id)
            .field("clevertap_account_id", &self.clevertap_account_id)
            .field("clevertap_passcode", &!self.clevertap_passcode.is_empty())
            .field("clevertap_partner", &self.clevertap_partner)
            .field("api_key", &!self.api_key.is_empty())
            .field("bearer", &self.bearer)
            .finish()
    }
}

/// Which rules a request is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthMode {
    /// `Basic base64(ClientId:ApiKey)`.
    Client,
    /// `Basic base64(ProductId:ProductApiKey)` with `X-Product-Id` and `X-Client-Id`.
    Product,
    /// `X-CleverTap-Account-Id` and `X-CleverTap-Passcode`.
    CleverTap,
    /// A key alone (`Authorization: Bearer` or the API-key header),
    /// optionally with `X-Client-Id` naming its client or account.
    Key,
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// No credentials at all.
    MissingCredentials,
    /// `Authorization` is not `Basic`.
    UnsupportedScheme,
    /// The Basic value is not base64.
    MalformedBase64,
    /// Not `id:key`, an empty part, not UTF-8, or half a CleverTap pair.
    MalformedCredentials,
    /// Unknown key, or not the id's key.
    InvalidCredentials,
    /// Expired, disabled or revoked.
    CredentialNotActive,
    /// `X-Product-Id` differs from the ProductId in `Authorization`.
    ProductIdMismatch,
    /// `X-Product-Id` without `X-Client-Id`.
    MissingClientId,
    /// Headers of two modes in one request.
    MixedModes,
    /// The acting account is not a registered partner.
    PartnerNotWhitelisted,
    /// No live grant for the client.
    NotDelegated,
    /// A required scope is missing.
    InsufficientScope,
    /// The account's budget is spent.
    RateLimited,
    /// The credential has no uses left (credits).
    UsageExceeded,
}

impl Refusal {
    /// The HTTP status to answer with. `connect` is CleverTap's connect
    /// call, which answers bad credentials with 400 "Invalid Credentials".
    pub fn http_status(self, connect: bool) -> u16 {
        match self {
            Refusal::PartnerNotWhitelisted | Refusal::NotDelegated | Refusal::InsufficientScope => {
                403
            }
            Refusal::RateLimited | Refusal::UsageExceeded => 429,
            Refusal::MalformedCredentials
            | Refusal::InvalidCredentials
            | Refusal::CredentialNotActive
                if connect =>
            {
                400
            }
            Refusal::MissingCredentials
            | Refusal::UnsupportedScheme
            | Refusal::MalformedBase64
            | Refusal::MalformedCredentials
            | Refusal::InvalidCredentials
            | Refusal::CredentialNotActive
            | Refusal::ProductIdMismatch
            | Refusal::MissingClientId
            | Refusal::MixedModes => 401,
        }
    }

    /// The refusal a Verify answer amounts to; None for VALID.
    pub fn for_outcome(outcome: &VerifyOutcome) -> Option<Refusal> {
        match outcome {
            VerifyOutcome::Valid { .. } => None,
            VerifyOutcome::NotFound | VerifyOutcome::AccountMismatch => {
                Some(Refusal::InvalidCredentials)
            }
            VerifyOutcome::Expired | VerifyOutcome::Disabled(_) | VerifyOutcome::Revoked => {
                Some(Refusal::CredentialNotActive)
            }
            VerifyOutcome::InsufficientScope => Some(Refusal::InsufficientScope),
            VerifyOutcome::RateLimited { .. } => Some(Refusal::RateLimited),
            VerifyOutcome::UsageExceeded => Some(Refusal::UsageExceeded),
            VerifyOutcome::NotDelegated => Some(Refusal::NotDelegated),
            VerifyOutcome::PartnerNotWhitelisted => Some(Refusal::PartnerNotWhitelisted),
        }
    }
}

/// A refusal decided from the headers alone, with the mode (when one was
/// selected) and a reason for the HTTP body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderRefusal {
    /// The mode the headers selected, if they got that far.
    pub mode: Option<AuthMode>,
    /// Why.
    pub refusal: Refusal,
    /// What was wrong; never holds a key.
    pub reason: String,
}

/// What the headers ask to be checked.
pub enum AuthAttempt<'a> {
    /// A key presented with the id of its account or client.
    Client {
        /// The ClientId as presented.
        id: String,
        /// The API key (zeroed on drop).
        key: Zeroizing<String>,
    },
    /// A product's key acting for a client.
    Product {
        /// The ProductId as presented (equal to `X-Product-Id`).
        product_id: String,
        /// The product's API key (zeroed on drop).
        key: Zeroizing<String>,
        /// `X-Client-Id` as presented.
        client_id: &'a str,
    },
    /// A key alone, perhaps with the id of its client or account.
    Key {
        /// The key as presented.
        key: &'a str,
        /// `X-Client-Id`, when sent.
        id: Option<&'a str>,
    },
    /// CleverTap's account id and passcode.
    CleverTap {
        /// `X-CleverTap-Account-Id`.
        account_id: &'a str,
        /// `X-CleverTap-Passcode`.
        passcode: &'a str,
        /// The connect call's partner, if any.
        partner: Option<&'a str>,
    },
}

impl std::fmt::Debug for AuthAttempt<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthAttempt::Client { id, .. } => f.debug_struct("Client").field("id", id).finish(),
            AuthAttempt::Key { id, .. } => f.debug_struct("Key").field("id", id).finish(),
            AuthAttempt::Product {
                product_id,
                client_id,
                ..
            } => f
                .debug_struct("Product")
                .field("product_id", product_id)
                .field("client_id", client_id)
                .finish(),
            AuthAttempt::CleverTap {
                account_id,
                partner,
                ..
            } => f
                .debug_struct("CleverTap")
                .field("account_id", account_id)
                .field("partner", partner)
                .finish(),
        }
    }
}

impl AuthAttempt<'_> {
    /// The mode this attempt is judged by.
    pub fn mode(&self) -> AuthMode {
        match self {
            AuthAttempt::Client { .. } => AuthMode::Client,
            AuthAttempt::Product { .. } => AuthMode::Product,
            AuthAttempt::CleverTap { .. } => AuthMode::CleverTap,
            AuthAttempt::Key { .. } => AuthMode::Key,
        }
    }
}

fn refuse(mode: Option<AuthMode>, refusal: Refusal, reason: &str) -> HeaderRefusal {
    HeaderRefusal {
        mode,
        refusal,
        reason: reason.to_string(),
    }
}

/// Reads the headers: which mode, which id and key, or why they are refused
/// before any key is looked at.
///
/// # Errors
/// A [`HeaderRefusal`] for missing, mixed or malformed headers.
pub fn parse<'a>(headers: &HttpHeaders<'a>) -> Result<AuthAttempt<'a>, HeaderRefusal> {
    let too_long = [
        headers.authorization,
        headers.product_id,
        headers.client_id,
        headers.clevertap_account_id,
        headers.clevertap_passcode,
        headers.clevertap_partner,
        headers.api_key,
    ]
    .iter()
    .any(|h| h.len() > MAX_HEADER);
    if too_long {
        return Err(refuse(
            None,
            Refusal::MalformedCredentials,
            "an authentication header is longer than 4096 bytes",
        ));
    }
    let bearer = headers
        .bearer
        .then(|| bearer_token(headers.authorization))
        .flatten();
    let keyed = bearer.is_some() || !headers.api_key.is_empty();
    let basic = !headers.authorization.is_empty() && bearer.is_none();
    let clevertap =
        !headers.clevertap_account_id.is_empty() || !headers.clevertap_passcode.is_empty();
    match (basic || keyed, clevertap) {
        (false, false) => Err(refuse(
            None,
            Refusal::MissingCredentials,
            "the Authorization header is missing",
        )),
        (true, true) => Err(refuse(
            None,
            Refusal::MixedModes,
            "Authorization and the X-CleverTap headers were sent together; use one scheme",
        )),
        (false, true) => parse_clevertap(headers),
        (true, false) if keyed => parse_key(headers, bearer),
        (true, false) => parse_basic(headers),
    }
}

/// The token of `Authorization: Bearer <token>` (maybe empty), or None
/// for another scheme.
fn bearer_token(authorization: &str) -> Option<&str> {
    let value = authorization.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// A key alone: from `Authorization: Bearer` or the API-key header, never
/// both, with `X-Client-Id` (optional) naming its client or account.
fn parse_key<'a>(
    headers: &HttpHeaders<'a>,
    bearer: Option<&'a str>,
) -> Result<AuthAttempt<'a>, HeaderRefusal> {
    let mode = Some(AuthMode::Key);
    if !headers.authorization.is_empty() && !headers.api_key.is_empty() {
        return Err(refuse(
            mode,
            Refusal::MixedModes,
            "Authorization and X-Api-Key were sent together; send the key once",
        ));
    }
    let key = bearer.unwrap_or(headers.api_key.trim());
    if !headers.product_id.is_empty() {
        return Err(refuse(
            mode,
            Refusal::MixedModes,
            "X-Product-Id needs Basic product-level authentication, not a bare key",
        ));
    }
    if key.is_empty() {
        return Err(refuse(
            mode,
            Refusal::MalformedCredentials,
            "the key is empty",
        ));
    }
    if key.contains([',', ' ', '\t']) {
        return Err(refuse(
            mode,
            Refusal::MalformedCredentials,
            "more than one credential was sent; send exactly one",
        ));
    }
    Ok(AuthAttempt::Key {
        key,
        id: Some(headers.client_id).filter(|c| !c.is_empty()),
    })
}

fn parse_clevertap<'a>(headers: &HttpHeaders<'a>) -> Result<AuthAttempt<'a>, HeaderRefusal> {
    let mode = Some(AuthMode::CleverTap);
    if !headers.product_id.is_empty() || !headers.client_id.is_empty() {
        return Err(refuse(
            mode,
            Refusal::MixedModes,
            "X-Product-Id and X-Client-Id belong to Basic product-level authentication, not to the X-CleverTap headers",
        ));
    }
    // Half a pair is refused by the engine, after the connect call's
    // partner check (see [`clevertap_incomplete`]).
    Ok(AuthAttempt::CleverTap {
        account_id: headers.clevertap_account_id,
        passcode: headers.clevertap_passcode,
        partner: Some(headers.clevertap_partner).filter(|p| !p.is_empty()),
    })
}

/// What is missing from a CleverTap pair, if anything.
pub fn clevertap_incomplete(account_id: &str, passcode: &str) -> Option<&'static str> {
    if account_id.is_empty() {
        Some("X-CleverTap-Account-Id is missing")
    } else if passcode.is_empty() {
        Some("X-CleverTap-Passcode is missing")
    } else {
        None
    }
}

fn parse_basic<'a>(headers: &HttpHeaders<'a>) -> Result<AuthAttempt<'a>, HeaderRefusal> {
    use base64::Engine;
    let product = !headers.product_id.is_empty();
    let mode = Some(if product {
        AuthMode::Product
    } else {
        AuthMode::Client
    });
    let value = headers.authorization.trim();
    let (scheme, encoded) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(refuse(
            mode,
            Refusal::UnsupportedScheme,
            "the Authorization header must use the Basic scheme",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map(Zeroizing::new)
        .map_err(|_| {
            refuse(
                mode,
                Refusal::MalformedBase64,
                "the Basic credentials are not valid base64",
            )
        })?;
    let text = std::str::from_utf8(&decoded).map_err(|_| {
        refuse(
            mode,
            Refusal::MalformedCredentials,
            "the Basic credentials are not UTF-8 text",
        )
    })?;
    let Some((id, key)) = text.split_once(':') else {
        return Err(refuse(
            mode,
            Refusal::MalformedCredentials,
            "the Basic credentials have no colon; expected id:key",
        ));
    };
    if id.is_empty() || key.is_empty() {
        return Err(refuse(
            mode,
            Refusal::MalformedCredentials,
            "the Basic credentials have an empty id or key; expected id:key",
        ));
    }
    let key = Zeroizing::new(key.to_string());
    if !product {
        if !headers.client_id.is_empty() {
            return Err(refuse(
                mode,
                Refusal::MixedModes,
                "X-Client-Id is only valid with X-Product-Id (product-level authentication)",
            ));
        }
        return Ok(AuthAttempt::Client {
            id: id.to_string(),
            key,
        });
    }
    if id != headers.product_id {
        return Err(refuse(
            mode,
            Refusal::ProductIdMismatch,
            "X-Product-Id does not match the ProductId in the Authorization header",
        ));
    }
    if headers.client_id.is_empty() {
        return Err(refuse(
            mode,
            Refusal::MissingClientId,
            "product-level authentication needs X-Client-Id, the client the product acts for",
        ));
    }
    Ok(AuthAttempt::Product {
        product_id: id.to_string(),
        key,
        client_id: headers.client_id,
    })
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn basic(text: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(text)
        )
    }

    fn refusal(headers: HttpHeaders<'_>) -> (Option<AuthMode>, Refusal) {
        match parse(&headers) {
            Ok(attempt) => panic!("expected a refusal, got {attempt:?}"),
            Err(r) => (r.mode, r.refusal),
        }
    }

    /// The seed's client-level example decodes to its ClientId and key.
    #[test]
    fn client_level_seed_example() {
        let headers = HttpHeaders {
            authorization: "Basic TEFHRVJNQU46ODdiYTg3NGI4YTUwNDliZWFkYzk3MTA5ODQ2MDY3MTU=",
            ..Default::default()
        };
        match parse(&headers) {
            Ok(AuthAttempt::Client { id, key }) => {
                assert_eq!(id, "LAGERMAN");
                assert_eq!(key.as_str(), "87ba874b8a5049beadc9710984606715");
            }
            other => panic!("{other:?}"),
        }
    }

    /// The seed's product-level example selects product mode.
    #[test]
    fn product_level_seed_example() {
        let headers = HttpHeaders {
            authorization: "Basic TVlQUk9EVUNUOmFiYzEyM2RlZjQ1NmdoaTc4OWprbDAxMm1ubzM0NXBx",
            product_id: "MYPRODUCT",
            client_id: "LAGERMAN",
            ..Default::default()
        };
        match parse(&headers) {
            Ok(AuthAttempt::Product {
                product_id,
                key,
                client_id,
            }) => {
                assert_eq!(product_id, "MYPRODUCT");
                assert_eq!(key.as_str(), "abc123def456ghi789jkl012mno345pq");
                assert_eq!(client_id, "LAGERMAN");
            }
            other => panic!("{other:?}"),
        }
    }

    /// Every malformed or mixed combination is refused with its own reason.
    #[test]
    fn refusals() {
        let good = basic("MYPRODUCT:key");
        let no_colon = basic("LAGERMAN");
        let empty_id = basic(":key");
        let client = Some(AuthMode::Client);
        let product = Some(AuthMode::Product);
        let clevertap = Some(AuthMode::CleverTap);
        let cases: Vec<(HttpHeaders<'_>, Option<AuthMode>, Refusal)> = vec![
            (HttpHeaders::default(), None, Refusal::MissingCredentials),
            (
                HttpHeaders {
                    authorization: "Bearer abc",
                    ..Default::default()
                },
                client,
                Refusal::UnsupportedScheme,
            ),
            (
                HttpHeaders {
                    authorization: "Basic !!!not-base64",
                    ..Default::default()
                },
                client,
                Refusal::MalformedBase64,
            ),
            (
                HttpHeaders {
                    authorization: &no_colon,
                    ..Default::default()
                },
                client,
                Refusal::MalformedCredentials,
            ),
            (
                HttpHeaders {
                    authorization: &empty_id,
                    ..Default::default()
                },
                client,
                Refusal::MalformedCredentials,
            ),
            (
                HttpHeaders {
                    authorization: &good,
                    client_id: "LAGERMAN",
                    ..Default::default()
                },
                client,
                Refusal::MixedModes,
            ),
            (
                HttpHeaders {
                    authorization: &good,
                    product_id: "OTHER",
                    client_id: "LAGERMAN",
                    ..Default::default()
                },
                product,
                Refusal::ProductIdMismatch,
            ),
            (
                HttpHeaders {
                    authorization: &good,
                    product_id: "MYPRODUCT",
                    ..Default::default()
                },
                product,
                Refusal::MissingClientId,
            ),
            (
                HttpHeaders {
                    authorization: &good,
                    clevertap_account_id: "acct",
                    clevertap_passcode: "pc",
                    ..Default::default()
                },
                None,
                Refusal::MixedModes,
            ),
            (
                HttpHeaders {
                    clevertap_account_id: "acct",
                    clevertap_passcode: "pc",
                    product_id: "MYPRODUCT",
                    ..Default::default()
                },
                clevertap,
                Refusal::MixedModes,
            ),
        ];
        for (headers, mode, want) in cases {
            assert_eq!(refusal(headers), (mode, want), "{headers:?}");
        }
        let not_utf8 = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode([0xff, b':', b'k'])
        );
        assert_eq!(
            refusal(HttpHeaders {
                authorization: &not_utf8,
                ..Default::default()
            })
            .1,
            Refusal::MalformedCredentials
        );
        let huge = "x".repeat(MAX_HEADER + 1);
        assert_eq!(
            refusal(HttpHeaders {
                authorization: &huge,
                ..Default::default()
            })
            .1,
            Refusal::MalformedCredentials
        );
    }

    /// Half a CleverTap pair is a mode of its own, refused (after the
    /// partner check) for the missing half.
    #[test]
    fn half_a_clevertap_pair() {
        let headers = HttpHeaders {
            clevertap_account_id: "acct",
            ..Default::default()
        };
        assert!(matches!(
            parse(&headers),
            Ok(AuthAttempt::CleverTap { passcode: "", .. })
        ));
        assert_eq!(
            clevertap_incomplete("acct", ""),
            Some("X-CleverTap-Passcode is missing")
        );
        assert_eq!(
            clevertap_incomplete("", "pc"),
            Some("X-CleverTap-Account-Id is missing")
        );
        assert_eq!(clevertap_incomplete("acct", "pc"), None);
    }

    /// The scheme is case-insensitive and the key may contain colons.
    #[test]
    fn scheme_case_and_colons_in_keys() {
        let value = basic("LAGERMAN:a:b").replace("Basic", "bAsIc");
        let headers = HttpHeaders {
            authorization: &value,
            ..Default::default()
        };
        match parse(&headers) {
            Ok(AuthAttempt::Client { id, key }) => {
                assert_eq!((id.as_str(), key.as_str()), ("LAGERMAN", "a:b"));
            }
            other => panic!("{other:?}"),
        }
    }

    /// 401 for missing or incorrect, 403 for not allowed, 400 for bad
    /// credentials on CleverTap's connect call, 429 for the rate limit.
    #[test]
    fn statuses() {
        assert_eq!(Refusal::InvalidCredentials.http_status(false), 401);
        assert_eq!(Refusal::InvalidCredentials.http_status(true), 400);
        assert_eq!(Refusal::PartnerNotWhitelisted.http_status(true), 403);
        assert_eq!(Refusal::NotDelegated.http_status(false), 403);
        assert_eq!(Refusal::MixedModes.http_status(false), 401);
        assert_eq!(Refusal::RateLimited.http_status(false), 429);
    }

    /// A key alone: Bearer (when accepted) or the API-key header, once.
    #[test]
    fn key_alone() {
        let key = |authorization, api_key, client_id| HttpHeaders {
            authorization,
            api_key,
            client_id,
            bearer: true,
            ..Default::default()
        };
        assert!(matches!(
            parse(&key("Bearer k1", "", "")),
            Ok(AuthAttempt::Key {
                key: "k1",
                id: None
            })
        ));
        assert!(matches!(
            parse(&key("", " k2 ", "LAGERMAN")),
            Ok(AuthAttempt::Key {
                key: "k2",
                id: Some("LAGERMAN")
            })
        ));
        let m = Some(AuthMode::Key);
        for (headers, want) in [
            (key("Bearer ", "", ""), (m, Refusal::MalformedCredentials)),
            (
                key("Bearer a,Bearer b", "", ""),
                (m, Refusal::MalformedCredentials),
            ),
            (key("Bearer a", "b", ""), (m, Refusal::MixedModes)),
            (key(&basic("a:b"), "b", ""), (m, Refusal::MixedModes)),
            (
                HttpHeaders {
                    product_id: "MYPRODUCT",
                    ..key("Bearer a", "", "")
                },
                (m, Refusal::MixedModes),
            ),
        ] {
            assert_eq!(refusal(headers), want, "{headers:?}");
        }
        // Without `bearer`, as VerifyHttpAuthorization answers by default.
        let basic_only = HttpHeaders {
            authorization: "Bearer k1",
            ..Default::default()
        };
        assert_eq!(
            refusal(basic_only),
            (Some(AuthMode::Client), Refusal::UnsupportedScheme)
        );
    }

    /// Debug output never shows the key or the passcode.
    #[test]
    fn debug_hides_secrets() {
        let value = basic("LAGERMAN:supersecretkey");
        let headers = HttpHeaders {
            authorization: &value,
            clevertap_passcode: "supersecretpasscode",
            ..Default::default()
        };
        let shown = format!("{headers:?}");
        assert!(!shown.contains("supersecret") && !shown.contains(&value[6..]));
        let attempt = parse(&HttpHeaders {
            authorization: &value,
            ..Default::default()
        });
        assert!(!format!("{attempt:?}").contains("supersecret"));
    }
}
