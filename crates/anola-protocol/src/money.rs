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
