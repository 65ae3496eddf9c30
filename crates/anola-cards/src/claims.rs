//! What a card says: issuer, key, card id, patient, validity. On the wire the claims travel as a
//! minified JSON object with short keys (`{"v":1,"iss":…,"cid":…,"pid":…,"iat":…,"exp":…}`); the key
//! id travels in the JWS protected header, which the signature covers too.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CardError, IssueError};

/// The card format version this crate issues and accepts.
pub const CARD_VERSION: u8 = 1;

/// The longest issuer URL a card may carry.
pub const MAX_ISSUER_LEN: usize = 200;

/// The longest card id (the protocol's `health_card_id` rule).
pub const MAX_CARD_ID_LEN: usize = 40;

/// The claims of one health card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardClaims {
    /// Issuer: the sync server's base URL (its keys are at `<iss>/.well-known/jwks.json`).
    pub iss: String,
    /// Key id of the signing key: its RFC 7638 JWK thumbprint. Carried in the JWS header.
    pub kid: String,
    /// The card id in the platform's `AH-XXXX-XXXX` format (one patient may hold several cards).
    pub card_id: String,
    /// The patient the card belongs to.
    pub patient_id: Uuid,
    /// Issue time, unix seconds (the card is not valid before it, less the clock skew).
    pub issued: i64,
    /// Expiry, unix seconds (the card is invalid from this instant).
    pub expires: i64,
    /// Card format version ([`CARD_VERSION`]).
    pub v: u8,
}

impl CardClaims {
    /// Claims for a new card signed by `key`; `kid` and `v` are filled in.
    pub fn new(
        iss: impl Into<String>,
        key: &crate::keys::SigningKey,
        card_id: impl Into<String>,
        patient_id: Uuid,
        issued: i64,
        expires: i64,
    ) -> Self {
        CardClaims {
            iss: iss.into(),
            kid: key.kid().to_owned(),
            card_id: card_id.into(),
            patient_id,
            issued,
            expires,
            v: CARD_VERSION,
        }
    }

    /// The rules both issuance and verification enforce (other than kid and signature).
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.v != CARD_VERSION {
            return Err(format!(
                "unsupported card version {} (this device reads version {CARD_VERSION})",
                self.v
            ));
        }
        if self.iss.is_empty() || self.iss.len() > MAX_ISSUER_LEN || self.iss.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("the issuer is empty, too long or holds spaces".into());
        }
        if !is_valid_card_id(&self.card_id) {
            return Err("the card id is not in the AH-XXXX-XXXX format".into());
        }
        if self.expires <= self.issued {
            return Err("the card expires before it is issued".into());
        }
        Ok(())
    }

    pub(crate) fn to_wire(&self) -> WireClaims<'_> {
        WireClaims {
            v: self.v,
            iss: &self.iss,
            cid: &self.card_id,
            pid: self.patient_id,
            iat: self.issued,
            exp: self.expires,
        }
    }

    pub(crate) fn from_wire(w: OwnedWireClaims, kid: String) -> Result<Self, CardError> {
        let claims = CardClaims {
            iss: w.iss,
            kid,
            card_id: w.cid,
            patient_id: w.pid,
            issued: w.iat,
            expires: w.exp,
            v: w.v,
        };
        claims.check().map_err(CardError::malformed)?;
        Ok(claims)
    }

    pub(crate) fn check_for_issue(&self) -> Result<(), IssueError> {
        self.check().map_err(IssueError::InvalidClaims)
    }
}

/// Whether `id` is a platform health card id: `AH-` then letters, digits and dashes, at most 40
/// characters (e.g. `AH-LZ3K9Q2A-1A2B3C`; the same rule as the protocol's `health_card_id`).
pub fn is_valid_card_id(id: &str) -> bool {
    id.len() <= MAX_CARD_ID_LEN && id.len() > 3 && id.starts_with("AH-") && id[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The payload as serialized: short keys, fixed order.
#[derive(Serialize)]
pub(crate) struct WireClaims<'a> {
    v: u8,
    iss: &'a str,
    cid: &'a str,
    pid: Uuid,
    iat: i64,
    exp: i64,
}

/// The payload as parsed.
#[derive(Deserialize)]
pub(crate) struct OwnedWireClaims {
    v: u8,
    iss: String,
    cid: String,
    pid: Uuid,
    iat: i64,
    exp: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_ids() {
        for ok in ["AH-LZ3K9Q2A-1A2B3C", "AH-1", "AH-ABCD-EFGH"] {
            assert!(is_valid_card_id(ok), "{ok}");
        }
        for bad in [
            "",
            "AH-",
            "ah-1234",
            "AH_1234",
            "AH-12 34",
            "AH-12é",
            &format!("AH-{}", "1".repeat(38)),
        ] {
            assert!(!is_valid_card_id(bad), "{bad}");
        }
    }
}
