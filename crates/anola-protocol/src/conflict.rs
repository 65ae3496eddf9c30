//! Conflict notes: what the server records when concurrent writes met, so staff can see every
//! value that was not kept and every flag that needs a person.

use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ConflictKind {
    /// Two devices changed one patient field without seeing each other's change; the later stamp
    /// won, the other value is kept here.
    FieldOverwritten {
        field: String,
        kept_value: serde_json::Value,
        kept_hlc: Hlc,
        lost_value: serde_json::Value,
        lost_hlc: Hlc,
    },
    /// Two amendments of the same record version: both are kept; a clinician must reconcile them.
    ConcurrentAmendments {
        record_id: Uuid,
        amends: Uuid,
        versions: Vec<Uuid>,
    },
    /// Two bookings wanted one provider's slot; `lost` became conflict_needs_rescheduling.
    SlotTaken {
        kept: Uuid,
        lost: Uuid,
        provider_id: Uuid,
        date: String,
        start_time: String,
    },
    /// The server found two registrations that look like one person.
    PossibleDuplicate { patients: Vec<Uuid>, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConflictNote {
    /// Deterministic (derived from what collided), so recording it twice stores it once.
    pub id: Uuid,
    pub entity: crate::wire::EntityKind,
    pub entity_id: Uuid,
    pub clinic_id: String,
    #[serde(flatten)]
    pub kind: ConflictKind,
    /// RFC 3339, server time.
    pub detected_at: String,
}

/// A stable id for a note about `parts` (UUIDv8 from a SHA-256 of the parts).
pub fn note_id(parts: &[&str]) -> Uuid {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    uuid::Builder::from_custom_bytes(b).into_uuid()
}
