//! Staff operations on the server: providers, duplicate merges, resync. (Authentication and roles
//! arrive with the accounts issue; until then these endpoints trust the caller.)

use super::batch::{rfc3339_now, Batch};
use super::clock::ServerClock;
use super::patients::merged_into;
use crate::faults::Point;
use crate::store::{Inserted, Store, StoreError, CHILD_LINKS_MIGRATION};
use anola_protocol::conflict::{ConflictKind, ConflictNote};
use anola_protocol::wire::{EntityKind, MergeNote, MergeRequest};
use anola_protocol::Provider;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates or replaces a provider; devices receive it with their next pull.
pub async fn put_provider<S: Store>(store: &S, clock: &ServerClock, p: &Provider) -> Result<(), AdminError> {
    let mut batch = Batch::new(store, clock, &p.clinic_id, "server");
    if let Some(h) = batch.head(EntityKind::Provider, p.id).await? {
        if h.text("clinic_id").is_some_and(|c| c != p.clinic_id) {
            return Err(AdminError::Invalid("a provider cannot move to another clinic".into()));
        }
    }
    let fields = match serde_json::to_value(p).map_err(|e| StoreError::Corrupt(e.to_string()))? {
        serde_json::Value::Object(mut m) => {
            m.remove("id");
            m
        }
        _ => unreachable!("providers serialize to objects"),
    };
    batch.server_change(EntityKind::Provider, p.id, fields).await?;
    batch.commit().await?;
    Ok(())
}

/// Open merge candidates of a clinic: possible-duplicate notes whose patients are both unmerged.
pub async fn merge_candidates<S: Store>(store: &S, clinic: &str) -> Result<Vec<ConflictNote>, AdminError> {
    let mut out = Vec::new();
    for doc in store.find_docs(EntityKind::Conflict, "clinic_id", clinic).await? {
        let Ok(note) = serde_json::from_value::<ConflictNote>(doc) else {
            continue;
        };
        if let ConflictKind::PossibleDuplicate { patients, .. } = &note.kind {
            let mut open = true;
            for p in patients {
                match store.head(EntityKind::Patient, *p).await? {
                    Some(h) if merged_into(&h).is_none() => {}
                    _ => open = false,
                }
            }
            if open {
                out.push(note);
            }
        }
    }
    Ok(out)
}

/// Conflict notes of a clinic (all kinds), newest first.
pub async fn conflicts<S: Store>(store: &S, clinic: &str) -> Result<Vec<ConflictNote>, AdminError> {
    let mut notes: Vec<ConflictNote> = store
        .find_docs(EntityKind::Conflict, "clinic_id", clinic)
        .await?
        .into_iter()
        .filter_map(|d| serde_json::from_value(d).ok())
        .collect();
    notes.sort_by(|a, b| b.detected_at.cmp(&a.detected_at));
    Ok(notes)
}

/// Folds `duplicate` into `survivor`: the duplicate is tombstoned with `merged_into`, the survivor's
/// empty fields are filled from it, its appointments and records are re-pointed, and a merge note
/// tells every device to do the same locally.
///
/// Idempotent and resumable: every step checks what is already done (a filled field is not filled
/// again, a tombstone is not rewritten, a moved child is not moved again) and everything an earlier,
/// interrupted run may have written is announced again, so repeating a merge after a crash at any
/// step finishes it and repeating a finished merge changes nothing but a re-announcement. The
/// duplicate's children are found through their links (point reads), or by scanning until the
/// one-time link migration has finished.
pub async fn merge<S: Store>(store: &S, clock: &ServerClock, req: &MergeRequest) -> Result<MergeNote, AdminError> {
    if req.survivor == req.duplicate {
        return Err(AdminError::Invalid("survivor and duplicate must differ".into()));
    }
    let mut batch = Batch::new(store, clock, &req.clinic_id, "server");
    let survivor = batch
        .head(EntityKind::Patient, req.survivor)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no patient {}", req.survivor)))?;
    let duplicate = batch
        .head(EntityKind::Patient, req.duplicate)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("no patient {}", req.duplicate)))?;
    for p in [&survivor, &duplicate] {
        if p.text("clinic_id") != Some(req.clinic_id.as_str()) {
            return Err(AdminError::Invalid(format!("patient {} is not in clinic {}", p.id, req.clinic_id)));
        }
    }
    if merged_into(&survivor).is_some() {
        return Err(AdminError::Invalid(
            "the survivor was itself merged away; merge into its survivor".into(),
        ));
    }
    let resumed = match merged_into(&duplicate) {
        Some(into) if into != req.survivor => {
            return Err(AdminError::Invalid(format!("the duplicate was already merged into {into}")));
        }
        Some(_) => true,
        None => false,
    };

    // 1. Fill the survivor's empty fields from the duplicate (nothing left to fill when resumed).
    let mut fill = serde_json::Map::new();
    for (field, s) in &duplicate.state.0 {
        let skip = ["clinic_id", "deleted", "merged_into"].contains(&field.as_str()) || s.value.is_null();
        if !skip && survivor.state.0.get(field).is_none_or(|x| x.value.is_null()) {
            fill.insert(field.clone(), s.value.clone());
        }
    }
    if !fill.is_empty() {
        batch.server_change(EntityKind::Patient, req.survivor, fill).await?;
    }
    // 2. Tombstone the duplicate, once.
    if resumed {
        batch.touch(EntityKind::Patient, req.duplicate);
        batch.touch(EntityKind::Patient, req.survivor);
    } else {
        let mut tomb = serde_json::Map::new();
        tomb.insert("merged_into".into(), serde_json::json!(req.survivor));
        tomb.insert("deleted".into(), serde_json::json!(true));
        batch.server_change(EntityKind::Patient, req.duplicate, tomb).await?;
    }
    store.reached(Point::MergeAfterTombstone);

    // 3. Re-point the duplicate's children; those an interrupted run moved are announced again.
    let children = children_of(store, req.duplicate).await?;
    let appts: Vec<(EntityKind, Uuid)> = children.iter().filter(|(k, _)| *k == EntityKind::Appointment).copied().collect();
    batch.preload(&appts).await?;
    let (dup, surv) = (req.duplicate.to_string(), req.survivor.to_string());
    let mut move_appts = Vec::new();
    for (_, id) in &appts {
        match batch
            .head(EntityKind::Appointment, *id)
            .await?
            .as_ref()
            .and_then(|h| h.text("patient_id"))
        {
            Some(p) if p == dup => move_appts.push(*id),
            Some(p) if p == surv => batch.touch(EntityKind::Appointment, *id),
            _ => {}
        }
    }
    let mut move_records = Vec::new();
    for (kind, id) in &children {
        if *kind != EntityKind::MedicalRecord {
            continue;
        }
        let Some(doc) = store.get_doc(EntityKind::MedicalRecord, *id).await? else {
            continue;
        };
        let on = |f: &str| doc.get(f).and_then(|v| v.as_str()).map(str::to_owned);
        if on("patient_id").as_deref() == Some(dup.as_str()) {
            move_records.push((*id, doc));
        } else if on("patient_id").as_deref() == Some(surv.as_str()) && on("original_patient_id").as_deref() == Some(dup.as_str()) {
            batch.announce_doc(EntityKind::MedicalRecord, *id, doc);
        }
    }
    // Linked to the survivor before they move, so a later merge of the survivor finds them.
    let links: Vec<(Uuid, EntityKind, Uuid)> = move_appts
        .iter()
        .map(|id| (req.survivor, EntityKind::Appointment, *id))
        .chain(move_records.iter().map(|(id, _)| (req.survivor, EntityKind::MedicalRecord, *id)))
        .collect();
    store.link_children(&links).await?;
    for id in move_appts {
        let mut f = serde_json::Map::new();
        f.insert("patient_id".into(), serde_json::json!(req.survivor));
        batch.server_change(EntityKind::Appointment, id, f).await?;
    }
    for (id, mut doc) in move_records {
        // Only the link moves; the clinical content of the version is untouched.
        doc["patient_id"] = serde_json::json!(req.survivor);
        doc["original_patient_id"] = serde_json::json!(req.duplicate);
        store.replace_doc(EntityKind::MedicalRecord, id, &doc).await?;
        batch.announce_doc(EntityKind::MedicalRecord, id, doc);
    }

    store.reached(Point::MergeAfterChildren);

    // 4. The merge note, once: a resumed merge announces the stored one.
    let note = MergeNote {
        survivor: req.survivor,
        duplicate: req.duplicate,
        merged_by: req.merged_by.clone(),
        merged_at: rfc3339_now(),
    };
    let doc = serde_json::to_value(&note).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = anola_protocol::conflict::note_id(&["merge", &surv, &dup]);
    let (note, doc) = match store.insert_doc(EntityKind::Merge, id, &doc).await? {
        Inserted::Yes => (note, doc),
        Inserted::Taken => {
            let stored = store
                .get_doc(EntityKind::Merge, id)
                .await?
                .ok_or_else(|| StoreError::Corrupt("a merge note vanished".into()))?;
            let note: MergeNote = serde_json::from_value(stored.clone()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            (note, stored)
        }
    };
    batch.announce_doc(EntityKind::Merge, id, doc);
    batch.commit().await?;
    tracing::info!(resumed, "patients merged");
    Ok(note)
}

/// A patient's appointments and record versions: by links once every child is linked, by scanning
/// (and links) while the one-time link migration has not finished.
pub(crate) async fn children_of<S: Store>(store: &S, patient: Uuid) -> Result<Vec<(EntityKind, Uuid)>, StoreError> {
    let mut out = store.children_of(patient).await?;
    if store.migration_done(CHILD_LINKS_MIGRATION).await? {
        return Ok(out);
    }
    let p = patient.to_string();
    let mut found: Vec<(EntityKind, Uuid)> = store
        .find_views(EntityKind::Appointment, "patient_id", &p)
        .await?
        .into_iter()
        .map(|id| (EntityKind::Appointment, id))
        .collect();
    for field in ["patient_id", "original_patient_id"] {
        for d in store.find_docs(EntityKind::MedicalRecord, field, &p).await? {
            if let Some(id) = d.get("id").and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
                found.push((EntityKind::MedicalRecord, id));
            }
        }
    }
    for c in found {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// Tells every device of the clinic to resync from the beginning (at its next pull).
pub async fn resync<S: Store>(store: &S, clinic: &str) -> Result<u64, AdminError> {
    Ok(store.bump_resync(clinic).await?)
}
