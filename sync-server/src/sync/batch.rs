//! A unit of server work. Changes are staged in memory per entity (every mutation of a push to one
//! entity folds into one new version), written with a few bulk inserts, announced in one
//! change-log entry, and only then are readable documents refreshed.

use super::clock::ServerClock;
use crate::faults::Point;
use crate::store::{Inserted, Store, StoreError, Version};
use anola_protocol::conflict::{note_id, ConflictKind, ConflictNote};
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, LwwState};
use std::collections::BTreeMap;
use uuid::Uuid;

type Key = (EntityKind, Uuid);

/// An entity's pending change: the head it started from, what was merged on top, and by whom.
struct Staged {
    base: Option<Version>,
    state: LwwState,
    incoming: Vec<LwwState>,
    mutation_ids: Vec<Uuid>,
}

pub struct Batch<'a, S: Store> {
    pub store: &'a S,
    pub clock: &'a ServerClock,
    pub clinic: &'a str,
    pub device: &'a str,
    heads: BTreeMap<Key, Option<Version>>,
    staged: BTreeMap<Key, Staged>,
    touched: BTreeMap<Key, ()>,
    docs: Vec<ChangeRecord>,
    /// Patients reassigned away from a field worker by this batch (patient id → that worker).
    unassigned: BTreeMap<Uuid, String>,
}

pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl<'a, S: Store> Batch<'a, S> {
    pub fn new(store: &'a S, clock: &'a ServerClock, clinic: &'a str, device: &'a str) -> Self {
        Self {
            store,
            clock,
            clinic,
            device,
            heads: BTreeMap::new(),
            staged: BTreeMap::new(),
            touched: BTreeMap::new(),
            docs: Vec::new(),
            unassigned: BTreeMap::new(),
        }
    }

    /// Records that these entities have no head yet (fresh creates), without reading.
    pub fn assume_new(&mut self, keys: &[Key]) {
        for k in keys {
            self.heads.entry(*k).or_insert(None);
        }
    }

    /// Reads the heads of many entities at once (concurrently) into the batch's cache.
    pub async fn preload(&mut self, keys: &[Key]) -> Result<(), StoreError> {
        let missing: Vec<Key> = keys.iter().copied().filter(|k| !self.heads.contains_key(k)).collect();
        let heads = self.store.heads(&missing).await?;
        for (k, h) in missing.into_iter().zip(heads) {
            self.heads.insert(k, h);
        }
        Ok(())
    }

    /// The newest state of an entity as this batch sees it (staged changes included).
    pub async fn head(&mut self, entity: EntityKind, id: Uuid) -> Result<Option<Version>, StoreError> {
        if let Some(s) = self.staged.get(&(entity, id)) {
            let mut v = s.base.clone().unwrap_or(Version {
                entity,
                id,
                version: 0,
                state: LwwState::new(),
                mutation_ids: Vec::new(),
                device_id: self.device.to_owned(),
            });
            v.state = s.state.clone();
            return Ok(Some(v));
        }
        if let Some(h) = self.heads.get(&(entity, id)) {
            return Ok(h.clone());
        }
        let h = self.store.head(entity, id).await?;
        self.heads.insert((entity, id), h.clone());
        Ok(h)
    }

    /// Merges `incoming` into the entity's staged state; returns whether anything changed.
    pub async fn stage(
        &mut self,
        entity: EntityKind,
        id: Uuid,
        incoming: &LwwState,
        mutation_id: Option<Uuid>,
    ) -> Result<bool, StoreError> {
        if let Some(h) = incoming.max_hlc() {
            self.clock.observe(h);
        }
        self.touched.insert((entity, id), ());
        if !self.staged.contains_key(&(entity, id)) {
            let base = self.head(entity, id).await?;
            if base.as_ref().is_some_and(|b| b.state.dominates(incoming)) {
                return Ok(false);
            }
            let state = base.as_ref().map(|b| b.state.clone()).unwrap_or_default();
            self.staged.insert(
                (entity, id),
                Staged {
                    base,
                    state,
                    incoming: Vec::new(),
                    mutation_ids: Vec::new(),
                },
            );
        }
        let s = self.staged.get_mut(&(entity, id)).expect("staged above");
        let changed = s.state.merge(incoming);
        if changed {
            s.incoming.push(incoming.clone());
            s.mutation_ids.extend(mutation_id);
        }
        Ok(changed)
    }

    /// Writes every staged change as one new version per entity (invariant P3: version n+1 is
    /// derived from version n). Versions that lost a race to another writer are re-derived from
    /// the winner's state and written one by one.
    pub async fn flush(&mut self) -> Result<Vec<Version>, StoreError> {
        let staged = std::mem::take(&mut self.staged);
        let mut versions = Vec::new();
        let mut pending: Vec<(Staged, Version)> = Vec::new();
        for ((entity, id), s) in staged {
            if s.mutation_ids.is_empty() && s.incoming.is_empty() {
                continue;
            }
            let v = Version {
                entity,
                id,
                version: s.base.as_ref().map_or(1, |b| b.version + 1),
                state: s.state.clone(),
                mutation_ids: s.mutation_ids.clone(),
                device_id: self.device.to_owned(),
            };
            pending.push((s, v));
        }
        let inserted = self
            .store
            .insert_versions(&pending.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>())
            .await?;
        for ((s, v), ins) in pending.into_iter().zip(inserted) {
            let v = match ins {
                Inserted::Yes => v,
                Inserted::Taken => self.rederive(s, v.entity, v.id).await?,
            };
            self.heads.insert((v.entity, v.id), Some(v.clone()));
            versions.push(v);
        }
        Ok(versions)
    }

    /// The slow path of `flush` for one entity: re-read the head, merge again, insert, repeat.
    async fn rederive(&mut self, s: Staged, entity: EntityKind, id: Uuid) -> Result<Version, StoreError> {
        loop {
            let head = self.store.head(entity, id).await?;
            if head.as_ref().is_some_and(|h| h.text("clinic_id").is_some_and(|c| c != self.clinic)) {
                return Err(StoreError::Corrupt(format!(
                    "a {} id of another clinic was reused",
                    entity.as_str()
                )));
            }
            let mut state = head.as_ref().map(|h| h.state.clone()).unwrap_or_default();
            for inc in &s.incoming {
                state.merge(inc);
            }
            if let Some(h) = &head {
                if h.state == state {
                    return Ok(h.clone());
                }
            }
            let v = Version {
                entity,
                id,
                version: head.as_ref().map_or(1, |h| h.version + 1),
                state,
                mutation_ids: s.mutation_ids.clone(),
                device_id: self.device.to_owned(),
            };
            if self.store.insert_versions(std::slice::from_ref(&v)).await?[0] == Inserted::Yes {
                return Ok(v);
            }
        }
    }

    /// A change the server makes itself, stamped with the server clock and written at once.
    pub async fn server_change(
        &mut self,
        entity: EntityKind,
        id: Uuid,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), StoreError> {
        let hlc = self.clock.stamp();
        self.stage(entity, id, &LwwState::from_fields(&fields, &hlc), None).await?;
        self.flush().await?;
        Ok(())
    }

    /// Announces the entity's newest state with the batch even if nothing changes it (a resumed
    /// operation re-announcing what an interrupted run may have written but not announced).
    pub fn touch(&mut self, entity: EntityKind, id: Uuid) {
        self.touched.insert((entity, id), ());
    }

    /// The patient was reassigned away from `worker`: its announcement carries
    /// `{"unassigned_from": worker}` so that worker's devices receive it and forget the patient.
    pub fn unassigned(&mut self, patient: Uuid, worker: String) {
        self.touched.insert((EntityKind::Patient, patient), ());
        self.unassigned.insert(patient, worker);
    }

    /// Announces an immutable document with the batch.
    pub fn announce_doc(&mut self, entity: EntityKind, id: Uuid, doc: serde_json::Value) {
        self.docs.push(ChangeRecord {
            entity,
            id,
            state: None,
            doc: Some(doc),
        });
    }

    /// Records a conflict note (idempotent: its id derives from what collided) and announces it.
    pub async fn note(&mut self, entity: EntityKind, entity_id: Uuid, id_parts: &[&str], kind: ConflictKind) -> Result<(), StoreError> {
        let note = ConflictNote {
            id: note_id(id_parts),
            entity,
            entity_id,
            clinic_id: self.clinic.to_owned(),
            kind,
            detected_at: rfc3339_now(),
        };
        let doc = serde_json::to_value(&note).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.store.insert_doc(EntityKind::Conflict, note.id, &doc).await?;
        tracing::info!(entity = entity.as_str(), "conflict recorded");
        self.announce_doc(EntityKind::Conflict, note.id, doc);
        Ok(())
    }

    /// Announces the newest state of everything touched and every document in one change-log
    /// entry, then refreshes readable documents. Touched entities are announced even when a
    /// retry's merge changed nothing: the interrupted attempt may have died before announcing.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.flush().await?;
        let keys: Vec<Key> = self.touched.keys().copied().collect();
        self.preload(&keys).await?;
        let heads: Vec<Version> = keys.iter().filter_map(|k| self.heads.get(k).cloned().flatten()).collect();
        let mut records: Vec<ChangeRecord> = heads
            .iter()
            .map(|v| ChangeRecord {
                entity: v.entity,
                id: v.id,
                state: Some(v.state.clone()),
                doc: match v.entity {
                    EntityKind::Patient => self.unassigned.get(&v.id).map(|w| serde_json::json!({"unassigned_from": w})),
                    _ => None,
                },
            })
            .collect();
        records.append(&mut self.docs);
        if records.is_empty() {
            return Ok(());
        }
        self.store.append_changes(self.clinic, records).await?;
        self.store.reached(Point::AfterLog);
        self.store.write_views(&heads).await?;
        self.store.reached(Point::AfterViews);
        Ok(())
    }
}
