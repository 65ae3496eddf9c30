//! Staff operations on the server: providers, duplicate merges, resync. (Authentication and roles
//! arrive with the accounts issue; until then these endpoints trust the caller.)

use super::batch::{rfc3339_now, Batch};
use super::clock::ServerClock;
use super::patients::merged_into;
use crate::store::{Store, StoreError};
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
/// tells every device to do the same locally. Repeating a merge changes nothing.
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
    if let Some(into) = merged_into(&duplicate) {
        if into != req.survivor {
            return Err(AdminError::Invalid(format!("the duplicate was already merged into {into}")));
        }
    }

    // Fill the survivor's empty fields from the duplicate, then tombstone the duplicate.
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
    let mut tomb = serde_json::Map::new();
    tomb.insert("merged_into".into(), serde_json::json!(req.survivor));
    tomb.insert("deleted".into(), serde_json::json!(true));
    batch.server_change(EntityKind::Patient, req.duplicate, tomb).await?;

    let dup = req.duplicate.to_string();
    for appt in store.find_views(EntityKind::Appointment, "patient_id", &dup).await? {
        let mut f = serde_json::Map::new();
        f.insert("patient_id".into(), serde_json::json!(req.survivor));
        batch.server_change(EntityKind::Appointment, appt, f).await?;
    }
    for mut doc in store.find_docs(EntityKind::MedicalRecord, "patient_id", &dup).await? {
        // Only the link moves; the clinical content of the version is untouched.
        let Some(id) = doc.get("id").and_then(|v| v.as_str()).and_then(|s| s.parse::<Uuid>().ok()) else {
            continue;
        };
        doc["patient_id"] = serde_json::json!(req.survivor);
        doc["original_patient_id"] = serde_json::json!(req.duplicate);
        store.replace_doc(EntityKind::MedicalRecord, id, &doc).await?;
        batch.announce_doc(EntityKind::MedicalRecord, id, doc);
    }
    let note = MergeNote {
        survivor: req.survivor,
        duplicate: req.duplicate,
        merged_by: req.merged_by.clone(),
        merged_at: rfc3339_now(),
    };
    let doc = serde_json::to_value(&note).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let id = anola_protocol::conflict::note_id(&["merge", &req.survivor.to_string(), &dup]);
    store.insert_doc(EntityKind::Merge, id, &doc).await?;
    batch.announce_doc(EntityKind::Merge, id, doc);
    batch.commit().await?;
    tracing::info!("patients merged");
    Ok(note)
}

/// Tells every device of the clinic to resync from the beginning (at its next pull).
pub async fn resync<S: Store>(store: &S, clinic: &str) -> Result<u64, AdminError> {
    Ok(store.bump_resync(clinic).await?)
}
