//! `CardStore` on MongoDB / FerretDB. Collections (all `_id` strings): `card_keys` (kid),
//! `health_cards` (card id), `card_revocations` (card id), `patient_cards`
//! (`<patient id>:<n, 6 digits>`: the patient's n-th card, a dense sequence per patient so a
//! patient's cards are found with point reads, never a scan of every card).

use super::cards::{CardKeyRecord, CardRecord, CardStore};
use super::mongo::MongoStore;
use super::mongo_accounts::{from_doc, record_doc};
use super::sequence::last_present;
use super::{Inserted, StoreError};
use async_trait::async_trait;
use futures::future::join_all;
use mongodb::bson::{doc, Document};
use std::collections::HashMap;
use uuid::Uuid;

fn link_key(patient_id: Uuid, n: u64) -> String {
    format!("{patient_id}:{n:06}")
}

impl MongoStore {
    async fn with_revocations(&self, docs: Vec<Document>) -> Result<Vec<CardRecord>, StoreError> {
        // One point read per card (an `$in` scans the collection on FerretDB), a few at a time.
        let ids: Vec<String> = docs.iter().filter_map(|d| d.get_str("_id").ok().map(str::to_owned)).collect();
        let mut revoked: HashMap<String, i64> = HashMap::new();
        for chunk in ids.chunks(super::mongo::READ_FANOUT) {
            let found = join_all(chunk.iter().map(|id| self.find_by_id("card_revocations", id))).await;
            for (id, d) in chunk.iter().zip(found) {
                if let Some(at) = d?.and_then(|d| d.get_i64("at").ok()) {
                    revoked.insert(id.clone(), at);
                }
            }
        }
        docs.into_iter()
            .map(|d| {
                let mut c: CardRecord = from_doc(d)?;
                c.revoked_at = revoked.get(&c.card_id).copied();
                Ok(c)
            })
            .collect()
    }

    async fn card_links(&self, patient_id: Uuid) -> Result<u64, StoreError> {
        last_present(|n| async move { Ok(self.find_by_id("patient_cards", &link_key(patient_id, n)).await?.is_some()) }).await
    }

    /// Links a card to its patient under the next free number; returns the number.
    async fn link_card(&self, patient_id: Uuid, card_id: &str) -> Result<u64, StoreError> {
        let mut n = self.card_links(patient_id).await? + 1;
        loop {
            let d = doc! {"_id": link_key(patient_id, n), "card_id": card_id};
            match self.insert_once("patient_cards", d).await? {
                Inserted::Yes => return Ok(n),
                Inserted::Taken => n += 1,
            }
        }
    }

    /// Links every card issued before `patient_cards` existed (a one-time migration at start-up,
    /// so the scan of `health_cards` is paid once, never on a request). Safe to repeat.
    pub(super) async fn link_existing_cards(&self) -> Result<(), StoreError> {
        let mut by_patient: HashMap<Uuid, Vec<(i64, String)>> = HashMap::new();
        for d in self.find_all("health_cards", doc! {}).await? {
            let c: CardRecord = from_doc(d)?;
            by_patient.entry(c.patient_id).or_default().push((c.issued_at, c.card_id));
        }
        for (patient, mut cards) in by_patient {
            cards.sort();
            let linked = self.linked_card_ids(patient).await?;
            for (_, card_id) in cards {
                if !linked.iter().any(|(_, c)| *c == card_id) {
                    self.link_card(patient, &card_id).await?;
                }
            }
        }
        Ok(())
    }

    async fn linked_card_ids(&self, patient_id: Uuid) -> Result<Vec<(u64, String)>, StoreError> {
        let n = self.card_links(patient_id).await?;
        let keys: Vec<String> = (1..=n).map(|i| link_key(patient_id, i)).collect();
        let found = join_all(keys.iter().map(|k| self.find_by_id("patient_cards", k))).await;
        let mut out = Vec::new();
        for (i, d) in (1..=n).zip(found) {
            if let Some(card) = d?.and_then(|d| d.get_str("card_id").ok().map(str::to_owned)) {
                out.push((i, card));
            }
        }
        Ok(out)
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
        // The link first: a crash after it leaves a link to a card that does not exist (skipped
        // when read), never a card its patient's list cannot find.
        self.link_card(c.patient_id, &c.card_id).await?;
        let mut d = record_doc(&c.card_id, c)?;
        d.remove("revoked_at");
        self.insert_once("health_cards", d).await
    }

    async fn cards_of_patient(&self, patient_id: Uuid) -> Result<Vec<CardRecord>, StoreError> {
        let links = self.linked_card_ids(patient_id).await?;
        let found = join_all(links.iter().map(|(_, id)| self.find_by_id("health_cards", id))).await;
        let mut docs = Vec::new();
        for d in found {
            // A link whose card id another patient's card took (a 40-bit collision) is not theirs.
            if let Some(d) = d?.filter(|d| d.get_str("patient_id") == Ok(patient_id.to_string().as_str())) {
                docs.push(d);
            }
        }
        self.with_revocations(docs).await
    }

    async fn cards_of_clinic(&self, clinic_id: &str) -> Result<Vec<CardRecord>, StoreError> {
        let docs = self.find_all("health_cards", doc! {"clinic_id": clinic_id}).await?;
        self.with_revocations(docs).await
    }

    async fn all_cards(&self) -> Result<Vec<CardRecord>, StoreError> {
        let docs = self.find_all("health_cards", doc! {}).await?;
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
