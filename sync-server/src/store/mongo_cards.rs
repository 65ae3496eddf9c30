//! `CardStore` on MongoDB / FerretDB. Collections (all `_id` strings): `card_keys` (kid),
//! `health_cards` (card id), `card_revocations` (card id).

use super::cards::{CardKeyRecord, CardRecord, CardStore};
use super::mongo::MongoStore;
use super::mongo_accounts::{from_doc, record_doc};
use super::{Inserted, StoreError};
use async_trait::async_trait;
use mongodb::bson::{doc, Document};
use std::collections::HashMap;
use uuid::Uuid;

impl MongoStore {
    async fn with_revocations(&self, docs: Vec<Document>) -> Result<Vec<CardRecord>, StoreError> {
        if docs.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = docs.iter().filter_map(|d| d.get_str("_id").ok().map(str::to_owned)).collect();
        let revoked: HashMap<String, i64> = self
            .find_all("card_revocations", doc! {"_id": {"$in": ids}})
            .await?
            .into_iter()
            .filter_map(|d| Some((d.get_str("_id").ok()?.to_owned(), d.get_i64("at").ok()?)))
            .collect();
        docs.into_iter()
            .map(|d| {
                let mut c: CardRecord = from_doc(d)?;
                c.revoked_at = revoked.get(&c.card_id).copied();
                Ok(c)
            })
            .collect()
    }
}

#[async_trait]
impl CardStore for MongoStore {
    async fn card_keys(&self) -> Result<Vec<CardKeyRecord>, StoreError> {
        self.find_all("card_keys", doc! {}).await?.into_iter().map(from_doc).collect()
    }

    async fn insert_card_key(&self, k: &CardKeyRecord) -> Result<Inserted, StoreError> {
        self.insert_once("card_keys", record_doc(&k.kid, k)?).await
    }

    async fn replace_card_key(&self, k: &CardKeyRecord) -> Result<(), StoreError> {
        self.coll("card_keys")
            .replace_one(doc! {"_id": k.kid.as_str()}, record_doc(&k.kid, k)?)
            .await
            .map_err(super::mongo::unavailable)?;
        Ok(())
    }

    async fn insert_card(&self, c: &CardRecord) -> Result<Inserted, StoreError> {
        let mut d = record_doc(&c.card_id, c)?;
        d.remove("revoked_at");
        self.insert_once("health_cards", d).await
    }

    async fn cards_of_patient(&self, patient_id: Uuid) -> Result<Vec<CardRecord>, StoreError> {
        let docs = self.find_all("health_cards", doc! {"patient_id": patient_id.to_string()}).await?;
        self.with_revocations(docs).await
    }

    async fn cards_of_clinic(&self, clinic_id: &str) -> Result<Vec<CardRecord>, StoreError> {
        let docs = self.find_all("health_cards", doc! {"clinic_id": clinic_id}).await?;
        self.with_revocations(docs).await
    }

    async fn card(&self, card_id: &str) -> Result<Option<CardRecord>, StoreError> {
        let docs: Vec<Document> = self.find_by_id("health_cards", card_id).await?.into_iter().collect();
        Ok(self.with_revocations(docs).await?.into_iter().next())
    }

    async fn revoke_card(&self, card_id: &str, at: i64, reason: &str) -> Result<(), StoreError> {
        self.insert_once("card_revocations", doc! {"_id": card_id, "at": at, "reason": reason})
            .await?;
        Ok(())
    }

    async fn named_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.secret_once(name, candidate).await
    }
}
