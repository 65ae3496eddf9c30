//! `LedgerLog` on MongoDB/FerretDB: `ledger_log`, `_id` = the slot number as 20 decimal digits.
//! Both operations are `{_id}`: an insert and a point read. A string, not a number: the embedded
//! FerretDB finds string `_id`s through its index (ADR 0008) but scanned for integer ones
//! (measured: 49 ms per read at 600 slots).

use super::ledger_log::{LedgerLog, LedgerSlot};
use super::mongo::MongoStore;
use super::mongo_accounts::{from_doc, record_doc};
use super::{Inserted, StoreError};
use async_trait::async_trait;
use mongodb::bson::doc;

#[async_trait]
impl LedgerLog for MongoStore {
    async fn insert_ledger_slot(&self, slot: &LedgerSlot) -> Result<Inserted, StoreError> {
        self.insert_once("ledger_log", record_doc(&slot_id(slot.n), slot)?).await
    }

    async fn ledger_slot(&self, n: u64) -> Result<Option<LedgerSlot>, StoreError> {
        let found = self
            .coll("ledger_log")
            .find_one(doc! {"_id": slot_id(n)})
            .await
            .map_err(super::mongo::unavailable)?;
        found.map(from_doc).transpose()
    }
}

fn slot_id(n: u64) -> String {
    format!("{n:020}")
}
