//! What the server tells devices beyond records: providers, conflict notes and merges.

use super::lww::shown;
use super::LocalStore;
use crate::error::ClientError;
use anola_protocol::wire::{EntityKind, MergeNote};
use anola_protocol::{ConflictNote, Provider};
use rusqlite::{params, Connection};
use uuid::Uuid;

pub(crate) fn refresh_provider(tx: &Connection, id: Uuid) -> Result<(), ClientError> {
    let (state, _) = shown(tx, EntityKind::Provider, id)?;
    let mut obj = state.values();
    obj.insert("id".into(), serde_json::json!(id));
    // A provider this build cannot read (newer fields) is skipped, not fatal.
    if let Ok(p) = serde_json::from_value::<Provider>(serde_json::Value::Object(obj)) {
        tx.execute(
            "INSERT INTO providers(id, doc, family_name) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, family_name = excluded.family_name",
            params![id.to_string(), serde_json::to_string(&p)?, p.family_name],
        )?;
    }
    Ok(())
}

pub(crate) fn store_conflict(tx: &Connection, note: &ConflictNote) -> Result<(), ClientError> {
    let kind = serde_json::to_value(note)?
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or("")
        .to_owned();
    tx.execute(
        "INSERT OR IGNORE INTO conflicts(id, entity, entity_id, kind, doc, detected_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            note.id.to_string(),
            note.entity.as_str(),
            note.entity_id.to_string(),
            kind,
            serde_json::to_string(note)?,
            note.detected_at
        ],
    )?;
    Ok(())
}

/// Applies a merge locally: the duplicate's records follow the survivor (the server re-sends them
/// too; doing it here keeps a device consistent even if it holds versions not yet re-sent).
pub(crate) fn apply_merge(tx: &Connection, id: Uuid, note: &MergeNote) -> Result<(), ClientError> {
    tx.execute(
        "INSERT OR IGNORE INTO merges(id, survivor, duplicate, doc) VALUES (?1, ?2, ?3, ?4)",
        params![
            id.to_string(),
            note.survivor.to_string(),
            note.duplicate.to_string(),
            serde_json::to_string(note)?
        ],
    )?;
    tx.execute(
        "UPDATE medical_records SET patient_id = ?1 WHERE patient_id = ?2",
        params![note.survivor.to_string(), note.duplicate.to_string()],
    )?;
    Ok(())
}

impl LocalStore {
    pub fn list_providers(&self) -> Result<Vec<Provider>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT doc FROM providers ORDER BY family_name COLLATE NOCASE")?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
    }

    /// Conflict notes, newest first; about one entity when `entity_id` is given.
    pub fn list_conflicts(&self, entity_id: Option<Uuid>) -> Result<Vec<ConflictNote>, ClientError> {
        let mut stmt = self
            .conn()
            .prepare("SELECT doc FROM conflicts WHERE (?1 IS NULL OR entity_id = ?1) ORDER BY detected_at DESC")?;
        let rows = stmt.query_map([entity_id.map(|e| e.to_string())], |r| r.get::<_, String>(0))?;
        rows.map(|d| Ok(serde_json::from_str(&d?)?)).collect()
    }

    pub fn count_conflicts(&self) -> Result<u64, ClientError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM conflicts", [], |r| r.get::<_, i64>(0))? as u64)
    }
}
