//! `LedgerLog` on MongoDB/FerretDB: `ledger_log`, `_id` = slot number. Both operations are
//! `{_id}`: an insert and a point read.

use super::ledger_log::{LedgerLog, LedgerSlot};
use super::mongo::MongoStore;
use super::mongo_accounts::{from_doc, record_doc};
use super::{Inserted, StoreError};
use async_trait::async_trait;
use mongodb::bson::doc;

#[async_trait]
impl LedgerLog for MongoStore {
    async fn insert_ledger_slot(&self, slot: &LedgerSlot) -> Result<Inserted, StoreError> {
        let mut d = record_doc("", slot)?;
        d.insert("_id", slot.n as i64);
        self.insert_once("ledger_log", d).await
    }

    async fn ledger_slot(&self, n: u64) -> Result<Option<LedgerSlot>, StoreError> {
        let found = self
            .coll("ledger_log")
            .find_one(doc! {"_id": n as i64})
            .await
            .map_err(super::mongo::unavailable)?;
        found.map(from_doc).transpose()
    }
}
