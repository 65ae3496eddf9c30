//! `LedgerLog` in memory (see `memory.rs`).

use super::ledger_log::{LedgerLog, LedgerSlot};
use super::memory::MemoryStore;
use super::{Inserted, StoreError};
use async_trait::async_trait;

#[async_trait]
impl LedgerLog for MemoryStore {
    async fn insert_ledger_slot(&self, slot: &LedgerSlot) -> Result<Inserted, StoreError> {
        self.step().await;
        Ok(self.with(|s| match s.ledger_log.entry(slot.n) {
            std::collections::btree_map::Entry::Occupied(_) => Inserted::Taken,
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(slot.clone());
                Inserted::Yes
            }
        }))
    }

    async fn ledger_slot(&self, n: u64) -> Result<Option<LedgerSlot>, StoreError> {
        self.step().await;
        Ok(self.with(|s| s.ledger_log.get(&n).cloned()))
    }
}
