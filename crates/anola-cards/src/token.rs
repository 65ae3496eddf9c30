//! Issuing (signing) and verifying card tokens: compact JWS, ES256, `zip: "DEF"`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::claims::{CardClaims, OwnedWireClaims};
use crate::error::{CardError, IssueError};
use crate::keys::{JwkSet, SigningKey};
use crate::numeric::{decode_qr_text, encode_qr_text, QR_PREFIX};
use crate::revocation::RevocationList;

/// The longest JWS accepted or issued: what SMART Health Cards allow in one QR of version 22 at
/// error-correction L. Our tokens are about a third of this.
pub const MAX_JWS_LEN: usize = 1195;

/// The longest input `verify` looks at (the QR text of a [`MAX_JWS_LEN`] token). Anything longer
/// is refused as `too_large` before any decoding.
pub const MAX_INPUT_LEN: usize = QR_PREFIX.len() + 2 * MAX_JWS_LEN;

/// The most bytes the payload may inflate to (a card's claims JSON is about 150 bytes).
pub const MAX_PAYLOAD_JSON_LEN: usize = 1024;

/// How far in the future a card's issue time may be before it is `not_yet_valid`: offline devices'
/// clocks drift.
pub const CLOCK_SKEW_SECS: i64 = 10 * 60;

/// A card whose signature, issuer, revocation status and validity period all checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedCard {
    pub claims: CardClaims,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    kid: &'a str,
    zip: &'a str,
}

#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    kid: String,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Signs `claims` with `key` and returns the compact JWS (`header.payload.signature`).
///
/// The claims must pass the rules verification enforces and `claims.kid` must be `key.kid()`
/// (use [`CardClaims::new`]).
pub fn issue(claims: &CardClaims, key: &SigningKey) -> Result<String, IssueError> {
    claims.check_for_issue()?;
    if claims.kid != key.kid() {
        return Err(IssueError::KidMismatch {
            claims: claims.kid.clone(),
            key: key.kid().to_owned(),
        });
    }
    let header = serde_json::to_vec(&HeaderOut {
        alg: "ES256",
        kid: key.kid(),
        zip: "DEF",
    })
    .expect("header serializes");
    let json = serde_json::to_vec(&claims.to_wire()).expect("claims serialize");
    let deflated = miniz_oxide::deflate::compress_to_vec(&json, 10);
    let mut jws = String::with_capacity(512);
    jws.push_str(&URL_SAFE_NO_PAD.encode(header));
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(deflated));
    let signature = key.sign_raw(jws.as_bytes());
    jws.push('.');
    jws.push_str(&URL_SAFE_NO_PAD.encode(signature));
    if jws.len() > MAX_JWS_LEN {
        return Err(IssueError::TooLarge {
            len: jws.len(),
            max: MAX_JWS_LEN,
        });
    }
    Ok(jws)
}

/// [`issue`], then the `shc:/` numeric QR text to print.
pub fn issue_qr_text(claims: &CardClaims, key: &SigningKey) -> Result<String, IssueError> {
    let jws = issue(claims, key)?;
    Ok(encode_qr_text(&jws).expect("a base64url JWS encodes in numeric mode"))
}

/// Verifies a scanned card offline.
///
/// `input` is the QR text (`shc:/…`) or the bare JWS; surrounding whitespace (the Enter a keyboard
/// wedge scanner types) is ignored. `keys` is the cached key set of the trusted issuers,
/// `trusted_issuers` the issuer URLs accepted (compared ignoring a trailing `/`), `revoked` the
/// cached revocation list and `now` the device's clock in unix seconds.
///
/// Checks, in order: size, encoding, header, key, signature, payload, issuer, revocation, expiry,
/// issue time. The payload is inflated only after the signature verified, and never beyond
/// [`MAX_PAYLOAD_JSON_LEN`]. Never panics.
pub fn verify(input: &str, keys: &JwkSet, trusted_issuers: &[&str], revoked: &RevocationList, now: i64) -> Result<VerifiedCard, CardError> {
    let (jws, header, vk) = locate_key(input, keys)?;
    let (signing_input, signature_b64) = jws.rsplit_once('.').ok_or_else(|| CardError::malformed("missing signature"))?;
    let signature_bytes = b64("signature", signature_b64)?;
    let signature = Signature::from_slice(&signature_bytes).map_err(|_| CardError::Forged)?;
    vk.verify(signing_input.as_bytes(), &signature).map_err(|_| CardError::Forged)?;

    let claims = decode_payload(&jws, header.kid)?;
    let iss = claims.iss.trim_end_matches('/');
    if !trusted_issuers.iter().any(|t| t.trim_end_matches('/') == iss) {
        return Err(CardError::ForeignIssuer {
            iss: printable(&claims.iss, 80),
        });
    }
    if revoked.is_revoked(&claims.card_id) {
        return Err(CardError::Revoked { card_id: claims.card_id });
    }
    if now >= claims.expires {
        return Err(CardError::Expired {
            card_id: claims.card_id,
            expires: claims.expires,
        });
    }
    if claims.issued > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(CardError::NotYetValid {
            card_id: claims.card_id,
            issued: claims.issued,
        });
    }
    Ok(VerifiedCard { claims })
}

/// Decodes a card's claims WITHOUT checking its signature, issuer or dates: for diagnostics only
/// (e.g. to show which issuer an `unknown_key` card names). Never trust the result.
pub fn decode_unverified(input: &str) -> Result<CardClaims, CardError> {
    let jws = to_jws(input)?;
    let header = parse_header(&jws)?;
    decode_payload(&jws, header.kid)
}

/// Size check, numeric decoding, JWS shape.
fn to_jws(input: &str) -> Result<String, CardError> {
    if input.len() > MAX_INPUT_LEN {
        return Err(CardError::TooLarge {
            len: input.len(),
            max: MAX_INPUT_LEN,
        });
    }
    let text = input.trim_matches(|c: char| c.is_ascii_whitespace());
    let jws = if text.starts_with(QR_PREFIX) {
        decode_qr_text(text)?
    } else if text.bytes().filter(|&b| b == b'.').count() == 2 {
        text.to_owned()
    } else {
        return Err(CardError::malformed("the code does not start with shc:/"));
    };
    if jws.len() > MAX_JWS_LEN {
        return Err(CardError::TooLarge {
            len: jws.len(),
            max: MAX_JWS_LEN,
        });
    }
    let parts: Vec<&str> = jws.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(CardError::malformed("the token is not a compact JWS (header.payload.signature)"));
    }
    Ok(jws)
}

fn parse_header(jws: &str) -> Result<HeaderIn, CardError> {
    let header_b64 = jws.split('.').next().unwrap_or_default();
    let header: HeaderIn =
        serde_json::from_slice(&b64("header", header_b64)?).map_err(|_| CardError::malformed("the token header is not valid JSON"))?;
    if header.alg != "ES256" {
        return Err(CardError::malformed(format!(
            "unsupported signature algorithm {}",
            printable(&header.alg, 16)
        )));
    }
    if header.zip.as_deref() != Some("DEF") {
        return Err(CardError::malformed("the token payload is not DEFLATE-compressed"));
    }
    if header.crit.is_some() {
        return Err(CardError::malformed(
            "the token has critical header extensions this device does not know",
        ));
    }
    Ok(header)
}

/// Decodes to the JWS, parses the header and finds the (usable) key it names.
fn locate_key(input: &str, keys: &JwkSet) -> Result<(String, HeaderIn, VerifyingKey), CardError> {
    let jws = to_jws(input)?;
    let header = parse_header(&jws)?;
    let vk = keys
        .keys
        .iter()
        .filter(|k| k.kid == header.kid)
        .find_map(|k| k.verifying_key().ok())
        .ok_or_else(|| CardError::UnknownKey {
            kid: printable(&header.kid, 64),
        })?;
    Ok((jws, header, vk))
}

fn decode_payload(jws: &str, kid: String) -> Result<CardClaims, CardError> {
    let payload_b64 = jws.split('.').nth(1).unwrap_or_default();
    let deflated = b64("payload", payload_b64)?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, MAX_PAYLOAD_JSON_LEN)
        .map_err(|_| CardError::malformed("the token payload does not inflate"))?;
    let wire: OwnedWireClaims = serde_json::from_slice(&json).map_err(|_| CardError::malformed("the card claims are not valid JSON"))?;
    CardClaims::from_wire(wire, kid)
}

fn b64(part: &str, s: &str) -> Result<Vec<u8>, CardError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| CardError::malformed(format!("the token {part} is not base64url")))
}

/// Untrusted text for a message: printable ASCII only, at most `max` characters.
fn printable(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| c.is_ascii_graphic()).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}
