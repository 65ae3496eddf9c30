//! The MongoDB implementation of `Store`, written to the subset FerretDB v1.24 supports.
//!
//! Collections:
//! - `mutations` (`_id` = mutation id): the exactly-once gate; the first insert wins.
//! - `mutation_results` (`_id` = mutation id): written when a mutation's processing completed.
//! - `versions` (`_id` = `<kind>:<id>:<version, 12 digits>`): version chains of LWW entities.
//! - `patients`, `appointments`, `providers` (`_id` = id): readable current documents (derived).
//! - `medical_records`, `conflicts`, `merges` (`_id` = id): immutable documents.
//! - `claims` (`_id` = key): unique keys with their holder (slot blocks, identity keys, amendments).
//! - `changes` (`_id` = `<clinic>:<seq, 12 digits>`): each clinic's dense change log.
//! - `resyncs` (`_id` = `<clinic>:<generation, 6 digits>`): resync generations, dense per clinic.

use super::sequence::last_present;
use super::{Accepted, ChangeEntry, Claim, Inserted, Store, StoreError, Version};
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, LwwState, Mutation, MutationStatus};
use async_trait::async_trait;
use futures::future::join_all;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::faults::Faults;

const DUPLICATE_KEY: i32 = 11000;
/// Concurrent point reads per pull page: enough to hide round-trip latency, few enough not to
/// starve the connection pool.
const READ_FANOUT: usize = 16;

pub struct MongoStore {
    db: Database,
    /// Next change-log number to try, per clinic. Appends from this process are serialised through
    /// it, so a number is only tried once its predecessor is known to exist.
    next_seq: Mutex<HashMap<String, u64>>,
    faults: Arc<Faults>,
}

fn unavailable(e: mongodb::error::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

fn version_key(entity: EntityKind, id: Uuid, version: u64) -> String {
    format!("{}:{id}:{version:012}", entity.as_str())
}

fn change_key(clinic: &str, seq: u64) -> String {
    format!("{clinic}:{seq:012}")
}

fn view_collection(entity: EntityKind) -> &'static str {
    match entity {
        EntityKind::Patient => "patients",
        EntityKind::Appointment => "appointments",
        EntityKind::Provider => "providers",
        EntityKind::MedicalRecord => "medical_records",
        EntityKind::Conflict => "conflicts",
        EntityKind::Merge => "merges",
    }
}

fn to_bson<T: serde::Serialize>(v: &T) -> Result<Bson, StoreError> {
    bson::to_bson(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_bson<T: serde::de::DeserializeOwned>(v: Bson) -> Result<T, StoreError> {
    bson::from_bson(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn now() -> bson::DateTime {
    bson::DateTime::now()
}

fn doc_to_json(mut d: Document) -> Result<serde_json::Value, StoreError> {
    d.remove("_id");
    from_bson(Bson::Document(d))
}

impl MongoStore {
    /// Connects lazily; fails only on a malformed URI. Short timeouts so a dead database turns into
    /// a quick 503 rather than a hung request.
    pub async fn connect(uri: &str, database: &str, faults: Arc<Faults>) -> Result<Self, StoreError> {
        let mut opts = ClientOptions::parse(uri)
            .await
            .map_err(|e| StoreError::Unavailable(format!("MONGODB_URI: {e}")))?;
        opts.app_name = Some("anola-sync-server".into());
        opts.server_selection_timeout = Some(Duration::from_secs(5));
        opts.connect_timeout = Some(Duration::from_secs(5));
        let client = Client::with_options(opts).map_err(unavailable)?;
        Ok(Self {
            db: client.database(database),
            next_seq: Mutex::new(HashMap::new()),
            faults,
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    fn coll(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    async fn exists(&self, coll: &str, id: String) -> Result<bool, StoreError> {
        Ok(self
            .coll(coll)
            .find_one(doc! {"_id": id})
            .projection(doc! {"_id": 1})
            .await
            .map_err(unavailable)?
            .is_some())
    }

    async fn read_version(&self, entity: EntityKind, id: Uuid, version: u64) -> Result<Option<Version>, StoreError> {
        let Some(d) = self
            .coll("versions")
            .find_one(doc! {"_id": version_key(entity, id, version)})
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let state: LwwState = from_bson(d.get("state").cloned().unwrap_or(Bson::Null))?;
        Ok(Some(Version {
            entity,
            id,
            version,
            state,
            mutation_id: d.get_str("mutation_id").ok().and_then(|s| s.parse().ok()),
            device_id: d.get_str("device_id").unwrap_or_default().to_owned(),
        }))
    }

    async fn read_entry(&self, clinic: &str, seq: u64) -> Result<Option<ChangeEntry>, StoreError> {
        let Some(d) = self
            .coll("changes")
            .find_one(doc! {"_id": change_key(clinic, seq)})
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let records: Vec<ChangeRecord> = from_bson(d.get("records").cloned().unwrap_or(Bson::Null))?;
        Ok(Some(ChangeEntry { seq, records }))
    }

    async fn insert_unique(&self, coll: &str, d: Document) -> Result<Inserted, StoreError> {
        match self.coll(coll).insert_one(d).await {
            Ok(_) => Ok(Inserted::Yes),
            Err(e) if is_duplicate_key(&e) => Ok(Inserted::Taken),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl Store for MongoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! {"ping": 1}).await.map_err(unavailable)?;
        Ok(())
    }

    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder().unique(true).build();
        let indexes: Vec<(&str, Document, Option<IndexOptions>)> = vec![
            // Version chains are keyed by `_id`; this index serves "all versions of one entity".
            ("versions", doc! {"entity": 1, "entity_id": 1, "version": 1}, Some(unique)),
            ("versions", doc! {"mutation_id": 1}, None),
            ("mutations", doc! {"device_id": 1, "received_at": 1}, None),
            ("patients", doc! {"clinic_id": 1, "family_name": 1, "given_name": 1}, None),
            ("patients", doc! {"national_id": 1}, None),
            ("patients", doc! {"health_card_id": 1}, None),
            ("appointments", doc! {"patient_id": 1}, None),
            ("appointments", doc! {"provider_id": 1, "date": 1}, None),
            ("medical_records", doc! {"patient_id": 1}, None),
            ("medical_records", doc! {"record_id": 1}, None),
            ("conflicts", doc! {"clinic_id": 1, "kind": 1}, None),
            ("providers", doc! {"clinic_id": 1}, None),
        ];
        for (coll, keys, options) in indexes {
            let model = IndexModel::builder().keys(keys).options(options).build();
            self.coll(coll).create_index(model).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn accept_mutation(&self, device_id: &str, clinic_id: &str, m: &Mutation) -> Result<Accepted, StoreError> {
        let digest = m.digest();
        let record = doc! {
            "_id": m.id.to_string(),
            "digest": &digest,
            "device_id": device_id,
            "clinic_id": clinic_id,
            "entity": m.entity.as_str(),
            "entity_id": m.entity_id.to_string(),
            "hlc": m.hlc.to_string(),
            "body": to_bson(m)?,
            "received_at": now(),
        };
        match self.insert_unique("mutations", record).await? {
            Inserted::Yes => Ok(Accepted::New),
            Inserted::Taken => {
                let first = self
                    .coll("mutations")
                    .find_one(doc! {"_id": m.id.to_string()})
                    .projection(doc! {"digest": 1})
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(|| StoreError::Corrupt("mutation vanished after duplicate key".into()))?;
                let finished = self
                    .coll("mutation_results")
                    .find_one(doc! {"_id": m.id.to_string()})
                    .await
                    .map_err(unavailable)?
                    .map(|d| from_bson::<MutationStatus>(d.get("status").cloned().unwrap_or(Bson::Null)))
                    .transpose()?;
                Ok(Accepted::Existing {
                    digest: first.get_str("digest").unwrap_or_default().to_owned(),
                    finished,
                })
            }
        }
    }

    async fn finish_mutation(&self, id: Uuid, status: MutationStatus) -> Result<(), StoreError> {
        let d = doc! {"_id": id.to_string(), "status": to_bson(&status)?, "finished_at": now()};
        self.insert_unique("mutation_results", d).await.map(|_| ())
    }

    async fn head(&self, entity: EntityKind, id: Uuid) -> Result<Option<Version>, StoreError> {
        // The readable document remembers the version it shows; it may lag, never lead, so walk
        // forward from it to the true end of the chain.
        let hint = self
            .coll(view_collection(entity))
            .find_one(doc! {"_id": id.to_string()})
            .projection(doc! {"_sync.version": 1})
            .await
            .map_err(unavailable)?
            .and_then(|d| d.get_document("_sync").ok().and_then(|s| s.get_i64("version").ok()))
            .unwrap_or(0) as u64;
        let mut head = if hint > 0 {
            self.read_version(entity, id, hint).await?
        } else {
            None
        };
        if hint > 0 && head.is_none() {
            return Err(StoreError::Corrupt(format!(
                "{} view points at missing version {hint}",
                entity.as_str()
            )));
        }
        let mut next = hint + 1;
        while let Some(v) = self.read_version(entity, id, next).await? {
            head = Some(v);
            next += 1;
        }
        Ok(head)
    }

    async fn insert_version(&self, v: &Version) -> Result<Inserted, StoreError> {
        let d = doc! {
            "_id": version_key(v.entity, v.id, v.version),
            "entity": v.entity.as_str(),
            "entity_id": v.id.to_string(),
            "version": v.version as i64,
            "state": to_bson(&v.state)?,
            "mutation_id": v.mutation_id.map(|m| m.to_string()),
            "device_id": &v.device_id,
            "created_at": now(),
        };
        let r = self.insert_unique("versions", d).await?;
        if r == Inserted::Yes {
            self.faults.after_version_written();
        }
        Ok(r)
    }

    async fn write_view(&self, v: &Version) -> Result<(), StoreError> {
        let coll = view_collection(v.entity);
        let mut current = v.clone();
        loop {
            let mut d = match to_bson(&current.state.values())? {
                Bson::Document(d) => d,
                _ => Document::new(),
            };
            d.insert("_id", current.id.to_string());
            d.insert(
                "_sync",
                doc! {"version": current.version as i64, "state": to_bson(&current.state)?, "updated_at": now()},
            );
            self.coll(coll)
                .replace_one(doc! {"_id": current.id.to_string()}, d)
                .upsert(true)
                .await
                .map_err(unavailable)?;
            // A writer of a newer version may have written its view before ours landed. Whoever
            // writes last checks for a successor, so the view ends on the newest version.
            match self.read_version(current.entity, current.id, current.version + 1).await? {
                None => return Ok(()),
                Some(_) => {
                    current = self
                        .head(current.entity, current.id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("version chain vanished".into()))?;
                }
            }
        }
    }

    async fn find_views(&self, entity: EntityKind, field: &str, value: &str) -> Result<Vec<Uuid>, StoreError> {
        let docs: Vec<Document> = self
            .coll(view_collection(entity))
            .find(doc! {field: value})
            .projection(doc! {"_id": 1})
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        Ok(docs
            .iter()
            .filter_map(|d| d.get_str("_id").ok().and_then(|s| s.parse().ok()))
            .collect())
    }

    async fn insert_doc(&self, entity: EntityKind, id: Uuid, doc: &serde_json::Value) -> Result<Inserted, StoreError> {
        let mut d = match to_bson(doc)? {
            Bson::Document(d) => d,
            _ => return Err(StoreError::Corrupt("documents must be objects".into())),
        };
        d.insert("_id", id.to_string());
        self.insert_unique(view_collection(entity), d).await
    }

    async fn get_doc(&self, entity: EntityKind, id: Uuid) -> Result<Option<serde_json::Value>, StoreError> {
        self.coll(view_collection(entity))
            .find_one(doc! {"_id": id.to_string()})
            .await
            .map_err(unavailable)?
            .map(doc_to_json)
            .transpose()
    }

    async fn replace_doc(&self, entity: EntityKind, id: Uuid, doc: &serde_json::Value) -> Result<(), StoreError> {
        let mut d = match to_bson(doc)? {
            Bson::Document(d) => d,
            _ => return Err(StoreError::Corrupt("documents must be objects".into())),
        };
        d.insert("_id", id.to_string());
        self.coll(view_collection(entity))
            .replace_one(doc! {"_id": id.to_string()}, d)
            .upsert(true)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn find_docs(&self, entity: EntityKind, field: &str, value: &str) -> Result<Vec<serde_json::Value>, StoreError> {
        let docs: Vec<Document> = self
            .coll(view_collection(entity))
            .find(doc! {field: value})
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)?;
        docs.into_iter().map(doc_to_json).collect()
    }

    async fn claim(&self, key: &str, holder: Uuid) -> Result<Claim, StoreError> {
        match self
            .insert_unique("claims", doc! {"_id": key, "holder": holder.to_string(), "claimed_at": now()})
            .await?
        {
            Inserted::Yes => Ok(Claim::Mine),
            Inserted::Taken => {
                let d = self.coll("claims").find_one(doc! {"_id": key}).await.map_err(unavailable)?;
                match d.and_then(|d| d.get_str("holder").ok().and_then(|h| h.parse::<Uuid>().ok())) {
                    Some(h) if h == holder => Ok(Claim::Mine),
                    Some(h) => Ok(Claim::HeldBy(h)),
                    // Released between our insert and our read: try again.
                    None => self.claim(key, holder).await,
                }
            }
        }
    }

    async fn release(&self, key: &str, holder: Uuid) -> Result<(), StoreError> {
        let held = self.coll("claims").find_one(doc! {"_id": key}).await.map_err(unavailable)?;
        if held.is_some_and(|d| d.get_str("holder") == Ok(holder.to_string().as_str())) {
            self.coll("claims").delete_one(doc! {"_id": key}).await.map_err(unavailable)?;
        }
        Ok(())
    }

    async fn append_changes(&self, clinic: &str, records: Vec<ChangeRecord>) -> Result<u64, StoreError> {
        let mut next = self.next_seq.lock().await;
        let mut seq = match next.get(clinic) {
            Some(n) => *n,
            None => self.log_head(clinic).await? + 1,
        };
        let records = to_bson(&records)?;
        let mut collisions = 0u32;
        loop {
            let d = doc! {"_id": change_key(clinic, seq), "clinic_id": clinic, "seq": seq as i64, "records": records.clone(), "created_at": now()};
            match self.coll("changes").insert_one(d).await {
                Ok(_) => {
                    next.insert(clinic.to_owned(), seq + 1);
                    return Ok(seq);
                }
                // Another server process took this number: it exists, so the next one may be tried.
                Err(e) if is_duplicate_key(&e) => {
                    collisions += 1;
                    seq = if collisions.is_multiple_of(8) {
                        self.log_head(clinic).await? + 1
                    } else {
                        seq + 1
                    };
                }
                Err(e) => {
                    // The insert may or may not have landed; find out from the log itself next time.
                    next.remove(clinic);
                    return Err(unavailable(e));
                }
            }
        }
    }

    async fn read_changes(&self, clinic: &str, after: u64, min_records: usize, max_entries: usize) -> Result<Vec<ChangeEntry>, StoreError> {
        let mut out: Vec<ChangeEntry> = Vec::new();
        let mut records = 0usize;
        let mut next = after + 1;
        while out.len() < max_entries && records < min_records {
            let want = READ_FANOUT.min(max_entries - out.len());
            let batch = join_all((next..next + want as u64).map(|s| self.read_entry(clinic, s))).await;
            for entry in batch {
                match entry? {
                    Some(e) => {
                        records += e.records.len();
                        out.push(e);
                    }
                    // The log is dense: a missing number is the current end. Anything read beyond
                    // it in this batch was appended after that moment and is read next time.
                    None => return Ok(out),
                }
                if records >= min_records {
                    return Ok(out);
                }
            }
            next += want as u64;
        }
        Ok(out)
    }

    async fn log_head(&self, clinic: &str) -> Result<u64, StoreError> {
        last_present(|n| self.exists("changes", change_key(clinic, n))).await
    }

    async fn resync_generation(&self, clinic: &str) -> Result<u64, StoreError> {
        last_present(|n| self.exists("resyncs", format!("{clinic}:{n:06}"))).await
    }

    async fn bump_resync(&self, clinic: &str) -> Result<u64, StoreError> {
        let mut gen = self.resync_generation(clinic).await? + 1;
        loop {
            match self
                .insert_unique("resyncs", doc! {"_id": format!("{clinic}:{gen:06}"), "at": now()})
                .await?
            {
                Inserted::Yes => return Ok(gen),
                Inserted::Taken => gen += 1,
            }
        }
    }
}
