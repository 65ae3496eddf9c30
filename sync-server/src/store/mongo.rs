//! The MongoDB implementation of `Store`, written to the subset FerretDB v1.24 supports.
//!
//! Collections:
//! - `mutations` (`_id` = mutation id): the exactly-once gate; the first insert wins.
//! - `mutation_results` (`_id` = mutation id): written when a mutation's processing completed.
//! - `versions` (`_id` = `<kind>:<id>:<version, 12 digits>`): version chains of LWW entities.
//! - `patients`, `appointments`, `providers` (`_id` = id): readable current documents (derived).
//! - `medical_records`, `conflicts`, `merges` (`_id` = id): immutable documents.
//! - `claims` (`_id` = key): unique keys with their holder (slot blocks, identity keys, amendments).
//! - `changes_<clinic>_<bucket>` (`_id` = sequence number): each clinic's dense change log, in
//!   bucket collections (see `change_log.rs`).
//! - `resyncs` (`_id` = `<clinic>:<generation, 6 digits>`): resync generations, dense per clinic.
//! - `migrations` (`_id` = name): one-time data migrations that completed.
//! - `rules_pending` (`_id` = marker, one per push): slot rules not yet settled (crash repair).
//! - `patient_children` (`_id` = `<patient>:<n, 8 digits>`): links from a patient to its
//!   appointments and record versions (see `mongo_children.rs`).

use super::sequence::last_present;
use super::{Accepted, ChangeEntry, Claim, Inserted, Store, StoreError, Version};
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, LwwState, Mutation, MutationResult};
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
pub(crate) const READ_FANOUT: usize = 16;

pub struct MongoStore {
    db: Database,
    /// Each clinic's last known log sequence number and when it was learnt (progress totals).
    pub(crate) heads_cache: Mutex<HashMap<String, (u64, std::time::Instant)>>,
    /// Next change-log number to try, per clinic. Appends from this process are serialised through
    /// it, so a number is only tried once its predecessor is known to exist.
    pub(crate) next_seq: Mutex<HashMap<String, u64>>,
    /// Each clinic's log end as this process last appended it, for pulls waiting on news.
    pub(crate) live_heads: std::sync::Mutex<HashMap<String, tokio::sync::watch::Sender<u64>>>,
    /// Collections seen with their unique `_id` index (see `collections.rs`).
    pub(crate) checked_collections: Mutex<std::collections::HashSet<String>>,
    /// Seals the server's secrets at rest (`sealing.rs`); `None` stores them plain (in-process
    /// test servers only: the binary always sets one).
    pub(crate) sealer: Option<Arc<super::sealing::SecretSealer>>,
    /// Each patient's last child-link number as this process last wrote or read it: a hint that
    /// saves the gallop (a stale one only makes the insert collide and move on).
    pub(crate) child_ends: std::sync::Mutex<HashMap<Uuid, u64>>,
    faults: Arc<Faults>,
}

pub(crate) fn unavailable(e: mongodb::error::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(crate) fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        _ => false,
    }
}

/// A claim's generation `g`: the bare key for the first (so keys claimed before generations
/// existed are generation 0), then `<key>#<g>`. Generations are dense: `g + 1` is only taken once
/// `g` is released.
fn generation_key(key: &str, g: u64) -> String {
    if g == 0 {
        key.to_owned()
    } else {
        format!("{key}#{g:06}")
    }
}

/// The marker that generation `g` of a claim was released.
fn released_key(key: &str, g: u64) -> String {
    format!("{key}~{g:06}")
}

fn version_key(entity: EntityKind, id: Uuid, version: u64) -> String {
    format!("{}:{id}:{version:012}", entity.as_str())
}

fn view_collection(entity: EntityKind) -> &'static str {
    match entity {
        EntityKind::Patient => "patients",
        EntityKind::Appointment => "appointments",
        EntityKind::Provider => "providers",
        EntityKind::MedicalRecord => "medical_records",
        EntityKind::Conflict => "conflicts",
        EntityKind::Merge => "merges",
        // Never stored as documents of their own (users and health_cards hold them).
        EntityKind::Staff => "staff_notes",
        EntityKind::Card => "card_notes",
    }
}

pub(crate) fn to_bson<T: serde::Serialize>(v: &T) -> Result<Bson, StoreError> {
    bson::to_bson(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_bson<T: serde::de::DeserializeOwned>(v: Bson) -> Result<T, StoreError> {
    bson::from_bson(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn now() -> bson::DateTime {
    bson::DateTime::now()
}

fn doc_to_json(mut d: Document) -> Result<serde_json::Value, StoreError> {
    d.remove("_id");
    from_bson(Bson::Document(d))
}

/// The readable document of a version: its fields at top level, sync metadata under `_sync`.
fn view_doc(v: &Version) -> Result<Document, StoreError> {
    let mut d = match to_bson(&v.state.values())? {
        Bson::Document(d) => d,
        _ => Document::new(),
    };
    d.insert("_id", v.id.to_string());
    d.insert(
        "_sync",
        doc! {"version": v.version as i64, "state": to_bson(&v.state)?, "updated_at": now()},
    );
    Ok(d)
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
            heads_cache: Mutex::new(HashMap::new()),
            checked_collections: Mutex::new(Default::default()),
            live_heads: Default::default(),
            sealer: None,
            child_ends: Default::default(),
            faults,
        })
    }

    /// Seals secrets at rest with `sealer` from now on.
    pub fn with_sealer(mut self, sealer: super::sealing::SecretSealer) -> Self {
        self.sealer = Some(Arc::new(sealer));
        self
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub(crate) fn coll(&self, name: &str) -> Collection<Document> {
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
            mutation_ids: d
                .get_array("mutation_ids")
                .map(|a| a.iter().filter_map(|b| b.as_str().and_then(|s| s.parse().ok())).collect())
                .unwrap_or_default(),
            device_id: d.get_str("device_id").unwrap_or_default().to_owned(),
        }))
    }

    /// Inserts documents in one round trip (unordered: each stands alone) and reports, per
    /// document, whether it landed or its `_id` was already taken.
    pub(super) async fn insert_many_unique(&self, coll: &str, docs: Vec<Document>) -> Result<Vec<Inserted>, StoreError> {
        let n = docs.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut out = vec![Inserted::Yes; n];
        match self.coll(coll).insert_many(docs).ordered(false).await {
            Ok(_) => {}
            Err(e) => match e.kind.as_ref() {
                ErrorKind::InsertMany(ime) if ime.write_concern_error.is_none() => {
                    for w in ime.write_errors.iter().flatten() {
                        if w.code != DUPLICATE_KEY {
                            return Err(StoreError::Unavailable(format!("insert into {coll}: {}", w.message)));
                        }
                        if let Some(slot) = out.get_mut(w.index) {
                            *slot = Inserted::Taken;
                        }
                    }
                }
                _ => return Err(unavailable(e)),
            },
        }
        Ok(out)
    }

    /// A claim's newest generation: its number, holder and whether it was released; `None` when
    /// the key was never claimed. Point reads only (O(log generations)).
    async fn claim_generation(&self, key: &str) -> Result<Option<(u64, Uuid, bool)>, StoreError> {
        let holder_of = |d: Option<Document>| d.and_then(|d| d.get_str("holder").ok().and_then(|h| h.parse::<Uuid>().ok()));
        let Some(base) = self.coll("claims").find_one(doc! {"_id": key}).await.map_err(unavailable)? else {
            return Ok(None);
        };
        let first = holder_of(Some(base)).ok_or_else(|| StoreError::Corrupt(format!("claim {key} has no holder")))?;
        let g = last_present(|n| self.exists("claims", generation_key(key, n))).await?;
        let holder = if g == 0 {
            first
        } else {
            let d = self
                .coll("claims")
                .find_one(doc! {"_id": generation_key(key, g)})
                .await
                .map_err(unavailable)?;
            holder_of(d).ok_or_else(|| StoreError::Corrupt(format!("claim {key} generation {g} has no holder")))?
        };
        let released = self.exists("claims", released_key(key, g)).await?;
        Ok(Some((g, holder, released)))
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
    fn reached(&self, point: crate::faults::Point) {
        self.faults.reached(point);
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db.run_command(doc! {"ping": 1}).await.map_err(unavailable)?;
        Ok(())
    }

    async fn ensure_indexes(&self) -> Result<(), StoreError> {
        for name in super::collections::FIXED {
            self.ensure_collection(name).await?;
        }
        let unique = IndexOptions::builder().unique(true).build();
        let indexes: Vec<(&str, Document, Option<IndexOptions>)> = vec![
            // Version chains are keyed by `_id`; this index serves "all versions of one entity".
            ("versions", doc! {"entity": 1, "entity_id": 1, "version": 1}, Some(unique)),
            ("versions", doc! {"mutation_ids": 1}, None),
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
        if !self.migration_done("patient_cards_v1").await? {
            self.link_existing_cards().await?;
            self.mark_migration_done("patient_cards_v1").await?;
        }
        Ok(())
    }

    async fn accept_mutations(&self, device_id: &str, clinic_id: &str, ms: &[Mutation]) -> Result<Vec<Accepted>, StoreError> {
        let received_at = now();
        let docs = ms
            .iter()
            .map(|m| {
                Ok(doc! {
                    "_id": m.id.to_string(),
                    "digest": m.digest(),
                    "device_id": device_id,
                    "clinic_id": clinic_id,
                    "entity": m.entity.as_str(),
                    "entity_id": m.entity_id.to_string(),
                    "hlc": m.hlc.to_string(),
                    "body": to_bson(m)?,
                    "received_at": received_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let inserted = self.insert_many_unique("mutations", docs).await?;
        // Seen before: read what each was first sent with, and whether it finished. Point reads by
        // `_id` (concurrently, a few at a time): the only read whose cost does not grow with the
        // collection on FerretDB (an `$in` scans it; docs/adr/0008).
        let seen: Vec<String> = ms
            .iter()
            .zip(&inserted)
            .filter(|(_, i)| **i == Inserted::Taken)
            .map(|(m, _)| m.id.to_string())
            .collect();
        let mut digests: HashMap<String, String> = HashMap::new();
        let mut finished: HashMap<String, MutationResult> = HashMap::new();
        for chunk in seen.chunks(READ_FANOUT) {
            let reads = chunk.iter().map(|id| async move {
                let first = self.find_by_id("mutations", id).await?;
                let result = self.find_by_id("mutation_results", id).await?;
                Ok::<_, StoreError>((id, first, result))
            });
            for r in join_all(reads).await {
                let (id, first, result) = r?;
                if let Some(digest) = first.as_ref().and_then(|d| d.get_str("digest").ok()) {
                    digests.insert(id.clone(), digest.to_owned());
                }
                if let Some(d) = result {
                    let text = |f: &str| d.get_str(f).ok().map(str::to_owned);
                    let answer = MutationResult {
                        mutation_id: id.parse().map_err(|_| StoreError::Corrupt(format!("mutation id {id}")))?,
                        status: from_bson(d.get("status").cloned().unwrap_or(Bson::Null))?,
                        code: text("code"),
                        message: text("message"),
                    };
                    finished.insert(id.clone(), answer);
                }
            }
        }
        let mut out = Vec::with_capacity(ms.len());
        for (m, ins) in ms.iter().zip(inserted) {
            out.push(match ins {
                Inserted::Yes => Accepted::New,
                Inserted::Taken => {
                    let id = m.id.to_string();
                    let digest = digests
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| StoreError::Corrupt("mutation vanished after duplicate key".into()))?;
                    Accepted::Existing {
                        digest,
                        finished: finished.remove(&id),
                    }
                }
            });
        }
        Ok(out)
    }

    async fn finish_mutations(&self, done: &[MutationResult]) -> Result<(), StoreError> {
        let at = now();
        let docs = done
            .iter()
            .map(|r| {
                let mut d = doc! {"_id": r.mutation_id.to_string(), "status": to_bson(&r.status)?, "finished_at": at};
                if let Some(code) = &r.code {
                    d.insert("code", code);
                }
                if let Some(message) = &r.message {
                    d.insert("message", message);
                }
                Ok(d)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.insert_many_unique("mutation_results", docs).await.map(|_| ())
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

    async fn heads(&self, keys: &[(EntityKind, Uuid)]) -> Result<Vec<Option<Version>>, StoreError> {
        // Chunks of concurrent point reads (not one stream: async-trait futures cannot borrow
        // through a stream combinator's closure here).
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(READ_FANOUT) {
            for r in join_all(chunk.iter().map(|(e, id)| self.head(*e, *id))).await {
                out.push(r?);
            }
        }
        Ok(out)
    }

    async fn insert_versions(&self, vs: &[Version]) -> Result<Vec<Inserted>, StoreError> {
        let created_at = now();
        let docs = vs
            .iter()
            .map(|v| {
                Ok(doc! {
                    "_id": version_key(v.entity, v.id, v.version),
                    "entity": v.entity.as_str(),
                    "entity_id": v.id.to_string(),
                    "version": v.version as i64,
                    "state": to_bson(&v.state)?,
                    "mutation_ids": v.mutation_ids.iter().map(|m| m.to_string()).collect::<Vec<_>>(),
                    "device_id": &v.device_id,
                    "created_at": created_at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.insert_many_unique("versions", docs).await
    }

    async fn version(&self, entity: EntityKind, id: Uuid, n: u64) -> Result<Option<Version>, StoreError> {
        self.read_version(entity, id, n).await
    }

    async fn write_view(&self, v: &Version) -> Result<(), StoreError> {
        let coll = view_collection(v.entity);
        let mut current = v.clone();
        loop {
            let d = view_doc(&current)?;
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

    async fn write_views(&self, vs: &[Version]) -> Result<(), StoreError> {
        // First versions become readable documents by insert, which costs the same whatever the
        // collection's size; anything else (or a first version whose document exists) is replaced.
        let (first, rest): (Vec<&Version>, Vec<&Version>) = vs.iter().partition(|v| v.version == 1);
        let mut by_coll: HashMap<&str, Vec<&Version>> = HashMap::new();
        for v in first {
            by_coll.entry(view_collection(v.entity)).or_default().push(v);
        }
        let mut replace: Vec<&Version> = rest;
        for (coll, versions) in by_coll {
            let docs = versions.iter().map(|v| view_doc(v)).collect::<Result<Vec<_>, _>>()?;
            for (v, ins) in versions.iter().zip(self.insert_many_unique(coll, docs).await?) {
                if ins == Inserted::Taken {
                    replace.push(v);
                }
            }
        }
        // One at a time: on FerretDB/SQLite each replace is a write transaction that scans, and
        // concurrent ones only contend for the database lock (SQLITE_BUSY under load).
        for v in replace {
            self.write_view(v).await?;
        }
        Ok(())
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

    async fn insert_docs(&self, entity: EntityKind, docs: &[(Uuid, serde_json::Value)]) -> Result<Vec<Inserted>, StoreError> {
        let docs = docs
            .iter()
            .map(|(id, doc)| match to_bson(doc)? {
                Bson::Document(mut d) => {
                    d.insert("_id", id.to_string());
                    Ok(d)
                }
                _ => Err(StoreError::Corrupt("documents must be objects".into())),
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.insert_many_unique(view_collection(entity), docs).await
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

    async fn mark_rules_pending(&self, clinic: &str, appointments: &[Uuid]) -> Result<Option<Uuid>, StoreError> {
        if appointments.is_empty() {
            return Ok(None);
        }
        let marker = Uuid::now_v7();
        let ids: Vec<String> = appointments.iter().map(Uuid::to_string).collect();
        let d = doc! {"_id": marker.to_string(), "clinic_id": clinic, "appointments": ids, "at": now()};
        self.insert_unique("rules_pending", d).await?;
        Ok(Some(marker))
    }

    async fn rules_done(&self, marker: Uuid) -> Result<(), StoreError> {
        self.coll("rules_pending")
            .delete_one(doc! {"_id": marker.to_string()})
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn pending_rules(&self, older_than_ms: i64) -> Result<Vec<super::PendingRules>, StoreError> {
        let before = bson::DateTime::from_millis(bson::DateTime::now().timestamp_millis() - older_than_ms);
        let docs = self.find_all("rules_pending", doc! {"at": {"$lte": before}}).await?;
        Ok(docs
            .iter()
            .filter_map(|d| {
                Some(super::PendingRules {
                    marker: d.get_str("_id").ok()?.parse().ok()?,
                    clinic: d.get_str("clinic_id").ok()?.to_owned(),
                    appointments: d
                        .get_array("appointments")
                        .ok()?
                        .iter()
                        .filter_map(|a| a.as_str().and_then(|s| s.parse().ok()))
                        .collect(),
                })
            })
            .collect())
    }

    fn patients_created(&self, patients: &[Uuid]) {
        let mut ends = self.cached_child_ends();
        for p in patients {
            ends.entry(*p).or_insert(0);
        }
    }

    async fn link_children(&self, links: &[(Uuid, EntityKind, Uuid)]) -> Result<(), StoreError> {
        self.link_children_by_patient(links).await
    }

    async fn children_of(&self, patient: Uuid) -> Result<Vec<(EntityKind, Uuid)>, StoreError> {
        self.linked_children(patient).await
    }

    async fn link_existing_children(&self) -> Result<(), StoreError> {
        if self.migration_done(super::CHILD_LINKS_MIGRATION).await? {
            return Ok(());
        }
        self.link_existing().await
    }

    async fn claim(&self, key: &str, holder: Uuid) -> Result<Claim, StoreError> {
        // Generations (see `claim_generation`): the key is free when it has none or its newest is
        // released; taking it is a unique insert of the next generation, so of two claimants one
        // wins and the other reads the winner.
        let first = doc! {"_id": key, "holder": holder.to_string(), "claimed_at": now()};
        if self.insert_unique("claims", first).await? == Inserted::Yes {
            return Ok(Claim::Mine);
        }
        loop {
            let next = match self.claim_generation(key).await? {
                None => 0,
                Some((_, h, false)) if h == holder => return Ok(Claim::Mine),
                Some((_, h, false)) => return Ok(Claim::HeldBy(h)),
                Some((g, _, true)) => g + 1,
            };
            let d = doc! {"_id": generation_key(key, next), "holder": holder.to_string(), "claimed_at": now()};
            if self.insert_unique("claims", d).await? == Inserted::Yes {
                return Ok(Claim::Mine);
            }
        }
    }

    async fn claim_many(&self, claims: &[(String, Uuid)]) -> Result<Vec<Claim>, StoreError> {
        let at = now();
        let docs = claims
            .iter()
            .map(|(k, h)| doc! {"_id": k, "holder": h.to_string(), "claimed_at": at})
            .collect();
        let inserted = self.insert_many_unique("claims", docs).await?;
        let mut out = Vec::with_capacity(claims.len());
        for ((key, holder), ins) in claims.iter().zip(inserted) {
            out.push(match ins {
                Inserted::Yes => Claim::Mine,
                Inserted::Taken => self.claim(key, *holder).await?,
            });
        }
        Ok(out)
    }

    async fn release(&self, key: &str, holder: Uuid) -> Result<(), StoreError> {
        // Marks the holder's own generation released (an insert, never a delete): a stale release
        // can only mark a generation that is already released, never the next holder's.
        if let Some((g, h, false)) = self.claim_generation(key).await? {
            if h == holder {
                self.insert_unique("claims", doc! {"_id": released_key(key, g), "at": now()})
                    .await?;
            }
        }
        Ok(())
    }

    async fn append_changes(&self, clinic: &str, records: Vec<ChangeRecord>) -> Result<u64, StoreError> {
        self.append_entries(clinic, records).await
    }

    async fn read_changes(&self, clinic: &str, after: u64, min_records: usize, max_entries: usize) -> Result<Vec<ChangeEntry>, StoreError> {
        self.read_entries(clinic, after, min_records, max_entries).await
    }

    async fn wait_for_changes(&self, clinic: &str, after: u64, max_wait: Duration) -> Result<bool, StoreError> {
        self.wait_for_entry(clinic, after, max_wait).await
    }

    async fn log_head(&self, clinic: &str) -> Result<u64, StoreError> {
        self.cached_log_head(clinic).await
    }

    async fn resync_generation(&self, clinic: &str) -> Result<u64, StoreError> {
        last_present(|n| self.exists("resyncs", format!("{clinic}:{n:06}"))).await
    }

    async fn migration_done(&self, name: &str) -> Result<bool, StoreError> {
        self.exists("migrations", name.to_owned()).await
    }

    async fn mark_migration_done(&self, name: &str) -> Result<(), StoreError> {
        self.insert_unique("migrations", doc! {"_id": name, "at": now()}).await?;
        Ok(())
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
