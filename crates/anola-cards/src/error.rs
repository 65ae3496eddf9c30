//! Errors of verification, issuance, keys and fallback codes. Every variant has a human message
//! (its `Display`, fit to show to front-desk staff) and a stable machine `code()`.

use time::OffsetDateTime;

/// Why a scanned card was refused. Verification never panics: every input ends in a `VerifiedCard`
/// or in exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not an Anola card at all, or damaged: wrong prefix, bad digits, bad base64, bad JSON, an
    /// unsupported algorithm or version.
    #[error("not a readable Anola health card ({reason}); rescan the card or type its fallback code")]
    Malformed { reason: String },
    /// Refused before any decoding: longer than any card this system issues.
    #[error("scanned code is too large to be an Anola health card ({len} characters, at most {max})")]
    TooLarge { len: usize, max: usize },
    /// Signed with a key this device does not know (not in the cached key set).
    #[error("card was signed with an unknown key ({kid}); sync this device to refresh the issuer keys, or the card is not ours")]
    UnknownKey { kid: String },
    /// The signature does not verify: forged, or altered after signing.
    #[error("card signature is invalid: the card was forged or altered after it was issued")]
    Forged,
    /// A valid signature, but the issuer named in the card is not trusted here.
    #[error("card was issued by {iss}, which this clinic does not trust")]
    ForeignIssuer { iss: String },
    /// Past its expiry.
    #[error("card {card_id} expired on {}; issue the patient a new card", fmt_date(*expires))]
    Expired { card_id: String, expires: i64 },
    /// Issued in the future (beyond the allowed clock skew): this device's clock or the issuer's is wrong.
    #[error("card {card_id} is not valid until {}; check this device's date and time", fmt_date(*issued))]
    NotYetValid { card_id: String, issued: i64 },
    /// On the revocation list (lost, stolen or replaced).
    #[error("card {card_id} has been revoked (lost or replaced); use the patient's current card")]
    Revoked { card_id: String },
}

impl CardError {
    /// A stable identifier for programs, logs and the UI (never changes with wording).
    pub fn code(&self) -> &'static str {
        match self {
            CardError::Malformed { .. } => "malformed",
            CardError::TooLarge { .. } => "too_large",
            CardError::UnknownKey { .. } => "unknown_key",
            CardError::Forged => "forged",
            CardError::ForeignIssuer { .. } => "foreign_issuer",
            CardError::Expired { .. } => "expired",
            CardError::NotYetValid { .. } => "not_yet_valid",
            CardError::Revoked { .. } => "revoked",
        }
    }

    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        CardError::Malformed { reason: reason.into() }
    }
}

/// Why a card could not be issued (a server-side programming or configuration error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The claims break a rule verification would enforce.
    #[error("invalid card claims: {0}")]
    InvalidClaims(String),
    /// `claims.kid` does not name the signing key.
    #[error("claims name key {claims} but the signing key is {key}")]
    KidMismatch { claims: String, key: String },
    /// The token would not fit the QR size budget.
    #[error("card token is {len} characters, more than the {max} that fit the QR size budget")]
    TooLarge { len: usize, max: usize },
}

impl IssueError {
    pub fn code(&self) -> &'static str {
        match self {
            IssueError::InvalidClaims(_) => "invalid_claims",
            IssueError::KidMismatch { .. } => "kid_mismatch",
            IssueError::TooLarge { .. } => "too_large",
        }
    }
}

/// A signing key or public key that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
    #[error("invalid public key (JWK): {0}")]
    InvalidPublicKey(String),
}

impl KeyError {
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::InvalidPrivateKey(_) => "invalid_private_key",
            KeyError::InvalidPublicKey(_) => "invalid_public_key",
        }
    }
}

/// A typed fallback code that cannot be a card's code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FallbackCodeError {
    #[error("a card code has 12 digits (like 1234-5678-9012); this one has {0}")]
    WrongLength(usize),
    #[error("a card code has only digits, dashes and spaces")]
    NotDigits,
    #[error("this card code has a typo (its last digit does not match); check the digits and type it again")]
    BadCheckDigit,
}

impl FallbackCodeError {
    pub fn code(&self) -> &'static str {
        match self {
            FallbackCodeError::WrongLength(_) => "fallback_wrong_length",
            FallbackCodeError::NotDigits => "fallback_not_digits",
            FallbackCodeError::BadCheckDigit => "fallback_bad_check_digit",
        }
    }
}

/// `YYYY-MM-DD` (UTC) for messages; the raw number if out of range.
pub(crate) fn fmt_date(unix: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => t.date().to_string(),
        Err(_) => format!("unix time {unix}"),
    }
}
