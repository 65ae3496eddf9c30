//! Health cards on the wire (the token format itself is `anola-cards`).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST /cards/issue`: a new card for a patient; the patient's earlier cards are revoked
/// (replaced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueCardRequest {
    pub patient_id: Uuid,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCard {
    /// `AH-XXXX-XXXX`
    pub card_id: String,
    pub patient_id: Uuid,
    /// What the QR holds: `shc:/` + digits (an ES256 JWS, see anola-cards).
    pub qr_text: String,
    /// For QRs that will not read: `1234-5678-9012`.
    pub fallback_code: String,
    /// RFC 3339.
    pub issued_at: String,
    pub expires_at: String,
    /// Cards of this patient revoked by this issue.
    #[serde(default)]
    pub replaced: Vec<String>,
}

/// One card as devices cache it for offline check-in (ids only, no names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardSummary {
    pub card_id: String,
    pub patient_id: Uuid,
    pub fallback_code: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub revoked: bool,
}

/// `GET /sync/cards`: what a device needs to verify cards offline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardsSync {
    /// The issuer devices trust (cards naming another are foreign).
    pub issuer: String,
    /// The signing keys, current and retired (`/.well-known/jwks.json`), as a JWK set.
    pub jwks: serde_json::Value,
    /// Revoked card ids of this clinic.
    pub revoked: Vec<String>,
    pub cards: Vec<CardSummary>,
}
