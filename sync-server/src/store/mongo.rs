//! The MongoDB implementation of `Store`, written to the subset FerretDB v1.24 supports.
//!
//! Collections:
//! - `mutations` (`_id` = mutation id): the exactly-once gate; the first insert wins.
//! - `mutation_results` (`_id` = mutation id): written when a mutation's processing completed.
//! - `patient_versions` (`_id` = `<patient id>:<version, 12 digits>`): each patient's version chain.
//! - `patients` (`_id` = patient id): the readable, current patient document (derived).
//! - `changes` (`_id` = sequence number): the dense change log that pulls read.

use super::sequence::last_present;
use super::{Accepted, ChangeEntry, Inserted, PatientVersion, Store, StoreError};
use anola_protocol::{ChangeRecord, LwwState, Mutation, MutationStatus};
use async_trait::async_trait;
use futures::future::join_all;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, Database, IndexModel};
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
    /// Next change-log number to try. Appends from this process are serialised through it, so a
    /// number is only tried once its predecessor is known to exist.
    next_seq: Mutex<Option<u64>>,
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

fn version_key(patient: Uuid, version: u64) -> String {
    format!("{patient}:{version:012}")
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

impl MongoStore {
    /// Connects lazily; fails only on a malformed URI. Short timeouts so a dead database turns into
    /// a quick 503 rather than a hung request.
    pub async fn connect(
        uri: &str,
        database: &str,
        faults: Arc<Faults>,
    ) -> Result<Self, StoreError> {
        let mut opts = ClientOptions::parse(uri)
            .await
            .map_err(|e| StoreError::Unavailable(format!("MONGODB_URI: {e}")))?;
        opts.app_name = Some("anola-sync-server".into());
        opts.server_selection_timeout = Some(Duration::from_secs(5));
        opts.connect_timeout = Some(Duration::from_secs(5));
        let client = Client::with_options(opts).map_err(unavailable)?;
        Ok(Self {
            db: client.database(database),
            next_seq: Mutex::new(None),
            faults,
        })
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    fn coll(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    async fn exists(&self, coll: &str, id: Bson) -> Result<bool, StoreError> {
        Ok(self
            .coll(coll)
            .find_one(doc! {"_id": id})
            .projection(doc! {"_id": 1})
            .await
            .map_err(unavailable)?
            .is_some())
    }

    async fn read_version(
        &self,
        patient: Uuid,
        version: u64,
    ) -> Result<Option<PatientVersion>, StoreError> {
        let Some(d) = self
            .coll("patient_versions")
            .find_one(doc! {"_id": version_key(patient, version)})
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let state: LwwState = from_bson(d.get("state").cloned().unwrap_or(Bson::Null))?;
        let mutation_id = d.get_str("mutation_id").ok().and_then(|s| s.parse().ok());
        Ok(Some(PatientVersion {
            patient_id: patient,
            version,
            state,
            mutation_id,
            device_id: d.get_str("device_id").unwrap_or_default().to_owned(),
        }))
    }

    async fn read_entry(&self, seq: u64) -> Result<Option<ChangeEntry>, StoreError> {
        let Some(d) = self
            .coll("changes")
            .find_one(doc! {"_id": seq as i64})
            .await
            .map_err(unavailable)?
        else {
            return Ok(None);
        };
        let records: Vec<ChangeRecord> =
            from_bson(d.get("records").cloned().unwrap_or(Bson::Null))?;
        Ok(Some(ChangeEntry { seq, records }))
    }
}

#[async_trait]
impl Store for MongoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .run_command(doc! {"ping": 1})
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        let unique = IndexOptions::builder().unique(true).build();
        let indexes: [(&str, Document, Option<IndexOptions>); 5] = [
            // The chain key is already `_id`; this index serves "all versions of a patient" reads.
            (
                "patient_versions",
                doc! {"patient_id": 1, "version": 1},
                Some(unique),
            ),
            ("patient_versions", doc! {"mutation_id": 1}, None),
            ("patients", doc! {"family_name": 1, "given_name": 1}, None),
            ("patients", doc! {"national_id": 1}, None),
            ("patients", doc! {"health_card_id": 1}, None),
        ];
        for (coll, keys, options) in indexes {
            let model = IndexModel::builder().keys(keys).options(options).build();
            self.coll(coll)
                .create_index(model)
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn accept_mutation(&self, device_id: &str, m: &Mutation) -> Result<Accepted, StoreError> {
        let digest = m.digest();
        let record = doc! {
            "_id": m.id.to_string(),
            "digest": &digest,
            "device_id": device_id,
            "entity": to_bson(&m.entity)?,
            "entity_id": m.entity_id.to_string(),
            "hlc": m.hlc.to_string(),
            "body": to_bson(m)?,
            "received_at": now(),
        };
        match self.coll("mutations").insert_one(record).await {
            Ok(_) => Ok(Accepted::New),
            Err(e) if is_duplicate_key(&e) => {
                let first = self
                    .coll("mutations")
                    .find_one(doc! {"_id": m.id.to_string()})
                    .projection(doc! {"digest": 1})
                    .await
                    .map_err(unavailable)?
                    .ok_or_else(|| {
                        StoreError::Corrupt("mutation vanished after duplicate key".into())
                    })?;
                let finished = self
                    .coll("mutation_results")
                    .find_one(doc! {"_id": m.id.to_string()})
                    .await
                    .map_err(unavailable)?
                    .map(|d| {
                        from_bson::<MutationStatus>(d.get("status").cloned().unwrap_or(Bson::Null))
                    })
                    .transpose()?;
                Ok(Accepted::Existing {
                    digest: first.get_str("digest").unwrap_or_default().to_owned(),
                    finished,
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn finish_mutation(&self, id: Uuid, status: MutationStatus) -> Result<(), StoreError> {
        let d = doc! {"_id": id.to_string(), "status": to_bson(&status)?, "finished_at": now()};
        match self.coll("mutation_results").insert_one(d).await {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate_key(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn patient_head(&self, id: Uuid) -> Result<Option<PatientVersion>, StoreError> {
        // The readable document remembers the version it shows; it may lag, never lead, so walk
        // forward from it to the true end of the chain.
        let hint = self
            .coll("patients")
            .find_one(doc! {"_id": id.to_string()})
            .projection(doc! {"_sync.version": 1})
            .await
            .map_err(unavailable)?
            .and_then(|d| {
                d.get_document("_sync")
                    .ok()
                    .and_then(|s| s.get_i64("version").ok())
            })
            .unwrap_or(0) as u64;
        let mut head = if hint > 0 {
            self.read_version(id, hint).await?
        } else {
            None
        };
        if hint > 0 && head.is_none() {
            return Err(StoreError::Corrupt(format!(
                "patient view points at missing version {hint}"
            )));
        }
        let mut next = hint + 1;
        while let Some(v) = self.read_version(id, next).await? {
            head = Some(v);
            next += 1;
        }
        Ok(head)
    }

    async fn insert_patient_version(&self, v: &PatientVersion) -> Result<Inserted, StoreError> {
        let d = doc! {
            "_id": version_key(v.patient_id, v.version),
            "patient_id": v.patient_id.to_string(),
            "version": v.version as i64,
            "state": to_bson(&v.state)?,
            "mutation_id": v.mutation_id.map(|m| m.to_string()),
            "device_id": &v.device_id,
            "created_at": now(),
        };
        match self.coll("patient_versions").insert_one(d).await {
            Ok(_) => {
                self.faults.after_version_written();
                Ok(Inserted::Yes)
            }
            Err(e) if is_duplicate_key(&e) => Ok(Inserted::Taken),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn write_patient_view(&self, v: &PatientVersion) -> Result<(), StoreError> {
        let mut current = v.clone();
        loop {
            let mut d = match to_bson(&current.state.values())? {
                Bson::Document(d) => d,
                _ => Document::new(),
            };
            d.insert("_id", current.patient_id.to_string());
            d.insert(
                "_sync",
                doc! {
                    "version": current.version as i64,
                    "state": to_bson(&current.state)?,
                    "updated_at": now(),
                },
            );
            self.coll("patients")
                .replace_one(doc! {"_id": current.patient_id.to_string()}, d)
                .upsert(true)
                .await
                .map_err(unavailable)?;
            // A writer of a newer version may have written its view before ours landed. Whoever
            // writes last checks for a successor, so the view ends on the newest version.
            match self
                .read_version(current.patient_id, current.version + 1)
                .await?
            {
                None => return Ok(()),
                Some(_) => {
                    current = self
                        .patient_head(current.patient_id)
                        .await?
                        .ok_or_else(|| StoreError::Corrupt("patient chain vanished".into()))?;
                }
            }
        }
    }

    async fn append_changes(&self, records: Vec<ChangeRecord>) -> Result<u64, StoreError> {
        let mut next = self.next_seq.lock().await;
        let mut seq = match *next {
            Some(n) => n,
            None => last_present(|n| self.exists("changes", Bson::Int64(n as i64))).await? + 1,
        };
        let records = to_bson(&records)?;
        let mut collisions = 0u32;
        loop {
            let d = doc! {"_id": seq as i64, "records": records.clone(), "created_at": now()};
            match self.coll("changes").insert_one(d).await {
                Ok(_) => {
                    *next = Some(seq + 1);
                    return Ok(seq);
                }
                // Another server process took this number: it exists, so the next one may be tried.
                Err(e) if is_duplicate_key(&e) => {
                    collisions += 1;
                    seq = if collisions.is_multiple_of(8) {
                        // Far behind (another process appended a lot): find the end again.
                        last_present(|n| self.exists("changes", Bson::Int64(n as i64))).await? + 1
                    } else {
                        seq + 1
                    };
                }
                Err(e) => {
                    // The insert may or may not have landed; find out from the log itself next time.
                    *next = None;
                    return Err(unavailable(e));
                }
            }
        }
    }

    async fn read_changes(
        &self,
        after: u64,
        min_records: usize,
        max_entries: usize,
    ) -> Result<Vec<ChangeEntry>, StoreError> {
        let mut out: Vec<ChangeEntry> = Vec::new();
        let mut records = 0usize;
        let mut next = after + 1;
        while out.len() < max_entries && records < min_records {
            let want = READ_FANOUT.min(max_entries - out.len());
            let batch = join_all((next..next + want as u64).map(|s| self.read_entry(s))).await;
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
}
