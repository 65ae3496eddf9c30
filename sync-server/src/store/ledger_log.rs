//! The money ledger's log (ADR 0015): one document per slot, `_id` = 1, 2, 3, …, each holding one
//! ledger operation, the time it was decided at and the outcome it had. Inserting slot n is the
//! only write and the commit: its unique `_id` makes two processes that both want slot n agree on
//! one winner, so every operation is decided against exactly the operations before it.

use super::{Inserted, StoreError};
use anola_ledger::ledger::Outcome;
use anola_ledger::LedgerError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What one slot does: one change to the book (`anola_ledger::book`), stored as decided.
pub type LogOp = anola_ledger::BookOp;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerSlot {
    pub n: u64,
    /// When it was decided (ms since the epoch, the deciding server's clock): hold expiry is
    /// judged against it, so a replay decides the same.
    pub at: i64,
    pub op: LogOp,
    /// What it did: for a request its outcome's result, for the others whether they applied.
    pub result: Result<usize, LedgerError>,
}

impl LedgerSlot {
    /// The stored outcome of a request slot.
    pub fn outcome(&self) -> Option<Outcome> {
        match &self.op {
            LogOp::Request { request } => Some(Outcome {
                digest: request.digest(),
                request: request.clone(),
                at: self.at,
                result: self.result.clone(),
            }),
            _ => None,
        }
    }
}

#[async_trait]
pub trait LedgerLog: Send + Sync + 'static {
    /// Inserts `slot` at `slot.n`; `Taken` when that slot is another operation's.
    async fn insert_ledger_slot(&self, slot: &LedgerSlot) -> Result<Inserted, StoreError>;
    /// Slot `n`, if written.
    async fn ledger_slot(&self, n: u64) -> Result<Option<LedgerSlot>, StoreError>;
}
