//! A unit of server work: folds changes into version chains, collects what must be announced, and
//! commits the announcement (one change-log entry) and the readable documents at the end.

use super::clock::ServerClock;
use crate::store::{Inserted, Store, StoreError, Version};
use anola_protocol::conflict::{note_id, ConflictKind, ConflictNote};
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, LwwState};
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct Batch<'a, S: Store> {
    pub store: &'a S,
    pub clock: &'a ServerClock,
    pub clinic: &'a str,
    pub device: &'a str,
    heads: BTreeMap<(EntityKind, Uuid), Option<Version>>,
    touched: BTreeMap<(EntityKind, Uuid), ()>,
    docs: Vec<ChangeRecord>,
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
            touched: BTreeMap::new(),
            docs: Vec::new(),
        }
    }

    /// The newest version, cached for the batch (the batch's own writes included).
    pub async fn head(&mut self, entity: EntityKind, id: Uuid) -> Result<Option<Version>, StoreError> {
        if let Some(h) = self.heads.get(&(entity, id)) {
            return Ok(h.clone());
        }
        let h = self.store.head(entity, id).await?;
        self.heads.insert((entity, id), h.clone());
        Ok(h)
    }

    /// Merges `incoming` into the entity's chain; returns the head after it and whether it changed.
    /// Invariant P3: version n+1 is derived from version n; a lost race re-reads and retries.
    pub async fn fold(
        &mut self,
        entity: EntityKind,
        id: Uuid,
        incoming: &LwwState,
        mutation_id: Option<Uuid>,
    ) -> Result<(Version, bool), StoreError> {
        if let Some(h) = incoming.max_hlc() {
            self.clock.observe(h);
        }
        loop {
            let head = self.head(entity, id).await?;
            self.touched.insert((entity, id), ());
            if let Some(h) = &head {
                if h.state.dominates(incoming) {
                    return Ok((h.clone(), false));
                }
            }
            let mut state = head.as_ref().map(|h| h.state.clone()).unwrap_or_default();
            state.merge(incoming);
            let next = Version {
                entity,
                id,
                version: head.as_ref().map_or(1, |h| h.version + 1),
                state,
                mutation_id,
                device_id: self.device.to_owned(),
            };
            match self.store.insert_version(&next).await? {
                Inserted::Yes => {
                    self.heads.insert((entity, id), Some(next.clone()));
                    return Ok((next, true));
                }
                // Someone else extended the chain first: read the new head and merge onto it.
                Inserted::Taken => {
                    self.heads.remove(&(entity, id));
                }
            }
        }
    }

    /// A change the server makes itself, stamped with the server clock.
    pub async fn server_change(
        &mut self,
        entity: EntityKind,
        id: Uuid,
        fields: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Version, StoreError> {
        let hlc = self.clock.stamp();
        let (v, _) = self.fold(entity, id, &LwwState::from_fields(&fields, &hlc), None).await?;
        Ok(v)
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

    /// Announces the newest state of everything touched and of every document, in one change-log
    /// entry, then refreshes readable documents. Touched entities are announced even when a
    /// retry's merge changed nothing: the interrupted attempt may have died before announcing.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let mut heads = Vec::new();
        for (entity, id) in self.touched.keys().copied().collect::<Vec<_>>() {
            if let Some(v) = self.head(entity, id).await? {
                heads.push(v);
            }
        }
        let mut records: Vec<ChangeRecord> = heads
            .iter()
            .map(|v| ChangeRecord {
                entity: v.entity,
                id: v.id,
                state: Some(v.state.clone()),
                doc: None,
            })
            .collect();
        records.append(&mut self.docs);
        if records.is_empty() {
            return Ok(());
        }
        self.store.append_changes(self.clinic, records).await?;
        for v in &heads {
            self.store.write_view(v).await?;
        }
        Ok(())
    }
}
