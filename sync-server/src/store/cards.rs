//! What health-card issuance needs from storage. Once-only decisions are unique inserts: a card
//! id, a signing key, a revocation.

use super::accounts::Millis;
use super::{Inserted, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardKeyRecord {
    pub kid: String,
    /// PKCS#8 PEM of the ES256 signing key.
    pub pkcs8_pem: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardRecord {
    pub card_id: String,
    pub patient_id: Uuid,
    pub clinic_id: String,
    pub issued_at: Millis,
    pub expires_at: Millis,
    /// Filled from the revocation documents when read.
    #[serde(default)]
    pub revoked_at: Option<Millis>,
}

#[async_trait]
pub trait CardStore: Send + Sync + 'static {
    async fn card_keys(&self) -> Result<Vec<CardKeyRecord>, StoreError>;
    async fn insert_card_key(&self, k: &CardKeyRecord) -> Result<Inserted, StoreError>;
    /// Rewrites a stored key (sealing one stored before sealing was turned on).
    async fn replace_card_key(&self, k: &CardKeyRecord) -> Result<(), StoreError>;
    async fn insert_card(&self, c: &CardRecord) -> Result<Inserted, StoreError>;
    async fn cards_of_patient(&self, patient_id: Uuid) -> Result<Vec<CardRecord>, StoreError>;
    async fn cards_of_clinic(&self, clinic_id: &str) -> Result<Vec<CardRecord>, StoreError>;
    /// Every card (a scan: one-time migrations only).
    async fn all_cards(&self) -> Result<Vec<CardRecord>, StoreError>;
    async fn card(&self, card_id: &str) -> Result<Option<CardRecord>, StoreError>;
    /// Idempotent: the first revocation stays.
    async fn revoke_card(&self, card_id: &str, at: Millis, reason: &str) -> Result<(), StoreError>;
    /// A secret made once per database (first writer wins), e.g. for fallback codes.
    async fn named_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
}
