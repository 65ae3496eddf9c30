//! Anola health cards: the pure core of a signed QR card that any Anola device verifies offline,
//! in the style of SMART Health Cards (SHC). The sync server issues and signs; the clinic app, the
//! CLI and the kiosk verify with cached keys. No I/O: no network, files, database or async runtime.
//!
//! # The format
//!
//! ```text
//! claims   {"v":1,"iss":"https://sync.anola.example","cid":"AH-LZ3K9Q2A-1A2B3C",
//!           "pid":"<patient uuid>","iat":1767225600,"exp":1924992000}      (minified, short keys)
//! header   {"alg":"ES256","kid":"<RFC 7638 thumbprint>","zip":"DEF"}
//! JWS      b64url(header) . b64url(rawDEFLATE(claims)) . b64url(r||s)      (compact, no padding)
//! QR text  shc:/ + two digits per JWS character (ord(c) - 45, zero-padded: "e" → "56")
//! QR       byte segment "shc:/" + one numeric segment, error correction M
//! ```
//!
//! * **Claims** ([`CardClaims`]): issuer URL, key id, card id (the platform's `AH-…` format; a
//!   patient may hold several cards over time), patient id, issue and expiry time (unix seconds),
//!   format version. The key id travels in the protected header, which the signature covers, so it
//!   is not repeated in the payload.
//! * **Signature**: ES256 (ECDSA P-256, SHA-256, RFC 6979 deterministic nonces) over
//!   `header.payload`, as the 64-byte `r||s` of JWS (RFC 7515/7518). The key id ([`SigningKey::kid`])
//!   is the base64url SHA-256 JWK thumbprint (RFC 7638), so a device can tell which cached key to
//!   use and the server can rotate keys: [`JwkSet`] is the body of `/.well-known/jwks.json`.
//! * **Revocation** ([`RevocationList`]): card ids that must be refused, synced to devices.
//! * **Fallback code** ([`fallback_code`]): 12 digits printed under the QR (`1234-5678-9012`),
//!   HMAC-SHA256 of the card id under a server secret plus a Damm check digit that catches every
//!   single-digit typo and every swap of neighbours ([`check_fallback_format`]).
//!
//! # Why these choices: the smallest QR that verifies offline
//!
//! * **ES256** has the shortest signatures of the JOSE public-key algorithms (64 bytes, 86
//!   characters; an RS256 signature is 342), and public-key signing means devices hold only public
//!   keys: a stolen tablet cannot mint cards. HMAC tokens would be shorter but every verifier
//!   would hold the secret.
//! * **Raw DEFLATE** (`zip: "DEF"`, no zlib header or checksum: the signature already protects the
//!   bytes) shrinks the JSON's repeated quotes, keys and digits.
//! * **Numeric mode**: QR numeric mode spends 3.33 bits per digit, so two digits per base64url
//!   character cost 6.67 bits against 8 in byte mode (QR alphanumeric mode has no lowercase).
//!   It is also exactly SHC's encoding, so generic SHC tooling can read our codes.
//! * **Offline verification**: [`verify`] needs only the cached [`JwkSet`], the list of trusted
//!   issuers and the cached [`RevocationList`]; nothing is looked up. A device that has never seen
//!   the signing key answers `unknown_key` (sync to refresh the keys) rather than guessing.
//!
//! # Size (measured by the `typical_and_worst_case_tokens_fit_qr_version_22_at_level_m` test)
//!
//! A typical card (issuer `https://sync.anola.example`, a seed-style card id such as
//! `AH-LZ3K9Q2A-1A2B3C`) is a JWS of about 364 characters, a QR text of 727–743 characters, and
//! a **version 13** QR (69×69 modules) at error-correction level M. A worst case (a 68-character
//! issuer URL, a 40-character card id, 19-digit times) is 412 JWS characters, 829 QR text
//! characters, version 14. Version 22 at level M holds up to 1859 characters of QR text (a 927-character
//! JWS), so cards stay far inside the SHC bound of version 22 ([`MAX_QR_VERSION`]) and keep room
//! for level M's damage tolerance; [`issue`] refuses tokens over [`MAX_JWS_LEN`] (1195, SHC's
//! version-22 level-L limit).
//!
//! # Verification
//!
//! [`verify`] takes the scanned text (`shc:/…`, or the bare JWS; surrounding whitespace such as a
//! wedge scanner's Enter is ignored) and checks, in this order: size (over [`MAX_INPUT_LEN`]
//! characters is `too_large` before any decoding), encoding and header (`malformed`), key
//! (`unknown_key`), signature (`forged`: any change to header or payload breaks it), payload
//! (inflated only after the signature verified, at most [`MAX_PAYLOAD_JSON_LEN`] bytes), issuer
//! (`foreign_issuer`), revocation (`revoked`), expiry (`expired`) and issue time (`not_yet_valid`,
//! allowing [`CLOCK_SKEW_SECS`] of clock drift). Each [`CardError`] has a message for staff and a
//! stable [`CardError::code`]. No input makes it panic (property-tested on random bytes, random
//! digits, truncations, single-character changes and crafted tokens).
//!
//! Limits: the key set is trusted as a whole (a key of one trusted issuer could sign a card naming
//! another trusted issuer: Anola deployments have one issuer, so devices cache one key set);
//! revocation is as fresh as the device's last sync.
//!
//! ```
//! use anola_cards::*;
//!
//! let key = SigningKey::generate();
//! let iss = "https://sync.anola.example";
//! let claims = CardClaims::new(iss, &key, "AH-LZ3K9Q2A-1A2B3C", uuid::Uuid::new_v4(), 1_767_225_600, 1_924_992_000);
//! let qr_text = issue_qr_text(&claims, &key).unwrap();
//! assert!(card_qr_version(&qr_text).unwrap() <= MAX_QR_VERSION);
//!
//! let keys = JwkSet::new(vec![key.public_jwk()]); // what /.well-known/jwks.json serves
//! let card = verify(&qr_text, &keys, &[iss], &RevocationList::new(), 1_800_000_000).unwrap();
//! assert_eq!(card.claims, claims);
//!
//! let code = fallback_code(&claims.card_id, b"server secret");
//! assert_eq!(check_fallback_format(&code).unwrap(), code);
//! ```

mod claims;
mod error;
mod fallback;
mod keys;
mod numeric;
mod qr;
mod revocation;
mod token;

pub use claims::{is_valid_card_id, CardClaims, CARD_VERSION, MAX_CARD_ID_LEN, MAX_ISSUER_LEN};
pub use error::{CardError, FallbackCodeError, IssueError, KeyError};
pub use fallback::{check_digit_ts, check_fallback_format, fallback_code, fallback_code_matches, FALLBACK_DIGITS};
pub use keys::{Jwk, JwkSet, SigningKey};
pub use numeric::{decode_qr_text, encode_qr_text, QR_PREFIX};
pub use qr::{card_qr_code, card_qr_version, max_qr_text_len, MAX_QR_VERSION, QR_EC_LEVEL};
pub use revocation::RevocationList;
pub use token::{
    decode_unverified, issue, issue_qr_text, verify, VerifiedCard, CLOCK_SKEW_SECS, MAX_INPUT_LEN, MAX_JWS_LEN, MAX_PAYLOAD_JSON_LEN,
};

/// The `qrcode` crate this crate builds symbols with, for rendering them.
pub use qrcode;
