//! Money over the wire (docs/ledger.md). The ledger's own types live in `anola-ledger`.

use serde::{Deserialize, Serialize};

/// `GET /admin/ledger/audit` and `anola-sync-server --audit-ledger`: the whole ledger log replayed
/// and every invariant checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerAudit {
    /// Slots replayed.
    pub slots: u64,
    /// Broken invariants, in words; empty when the ledger is sound.
    pub violations: Vec<String>,
    pub ok: bool,
    /// How long the replay and checks took.
    pub millis: u64,
}

/// A ledger request the server applied (`POST /money/requests`); a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerApplied {
    pub request_id: uuid::Uuid,
    pub status: String,
    /// Ledger entries it wrote.
    pub entries: usize,
    /// When it was decided (ms since the epoch, server clock).
    pub at: i64,
}

/// A ledger refusal: the ledger's stable code (`insufficient_funds`, `currency_mismatch`,
/// `id_reused`, …), a message naming what is wrong, and the request it answers. Nothing of the
/// request was applied; a retry gets the same refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerRefusal {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<uuid::Uuid>,
}
