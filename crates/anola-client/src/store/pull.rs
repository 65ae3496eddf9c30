//! Applying a pulled page. One transaction per page, with its cursor: a crash leaves either the
//! whole page applied, or none of it, and the page is simply pulled again (merges are idempotent).

use super::lww::merge_base;
use super::notes::{apply_merge, refresh_provider, store_conflict};
use super::records::{upsert_version, SYNCED};
use super::{appointments, clock, now_ms, patients, refresh, set_meta, LocalStore};
use crate::error::ClientError;
use anola_protocol::wire::{EntityKind, MergeNote};
use anola_protocol::{ChangeRecord, ConflictNote, Cursor, MedicalRecordVersion};
use rusqlite::Connection;
use uuid::Uuid;

/// Forgets the replica entirely (the device moved to another scope).
pub(crate) fn forget_everything(tx: &Connection) -> Result<(), ClientError> {
    reset(tx)?;
    tx.execute_batch(
        "DELETE FROM medical_records; DELETE FROM outbox; DELETE FROM card_keys; DELETE FROM cards; DELETE FROM check_ins; DELETE FROM staff; DELETE FROM meta WHERE key IN ('pull_cursor', 'last_synced_at', 'last_error');",
    )?;
    Ok(())
}

/// Forgets everything the server confirmed, keeping unsent writes (a resync starts over).
fn reset(tx: &Connection) -> Result<(), ClientError> {
    tx.execute_batch(
        "DELETE FROM entity_base; DELETE FROM patients; DELETE FROM appointments; DELETE FROM providers;
         DELETE FROM medical_records WHERE pending = 0; DELETE FROM conflicts; DELETE FROM merges;",
    )?;
    let mut stmt = tx.prepare("SELECT DISTINCT entity, entity_id FROM outbox WHERE status = 'pending'")?;
    let pending: Vec<(String, String)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
    for (entity, id) in pending {
        let (Ok(entity), Ok(id)) = (serde_json::from_value::<EntityKind>(serde_json::json!(entity)), id.parse::<Uuid>()) else {
            continue;
        };
        refresh(tx, entity, id)?;
    }
    Ok(())
}

/// Merges `changes` into the replica (LWW states, immutable documents) and advances the clock.
fn apply_changes(tx: &rusqlite::Transaction<'_>, device: &str, worker: Option<&str>, changes: &[ChangeRecord]) -> Result<(), ClientError> {
    let mut clock = clock(tx, device)?;
    for c in changes {
        match (c.entity, &c.state) {
            (EntityKind::Patient | EntityKind::Appointment | EntityKind::Provider, Some(state)) => {
                merge_base(tx, c.entity, c.id, state)?;
                match c.entity {
                    EntityKind::Patient => {
                        patients::refresh_view(tx, c.id)?;
                        // On a field worker's device, a patient assigned to someone else was
                        // reassigned away (the server sends only that): it leaves the device.
                        let assignee = state.0.get("field_worker_id").and_then(|s| s.value.as_str());
                        if let Some(worker) = worker.filter(|w| assignee != Some(*w)) {
                            forget_patient(tx, device, c.id)?;
                            tracing::info!(worker, "a patient reassigned to another field worker left this device");
                        }
                    }
                    EntityKind::Appointment => {
                        appointments::refresh_view(tx, c.id)?;
                    }
                    _ => refresh_provider(tx, c.id)?,
                }
                if let Some(h) = state.max_hlc() {
                    clock.observe(h, now_ms());
                }
            }
            (EntityKind::MedicalRecord, _) => {
                if let Some(v) = doc::<MedicalRecordVersion>(c) {
                    clock.observe(&v.hlc, now_ms());
                    upsert_version(tx, &v, SYNCED)?;
                }
            }
            (EntityKind::Conflict, _) => {
                if let Some(n) = doc::<ConflictNote>(c) {
                    store_conflict(tx, &n)?;
                }
            }
            (EntityKind::Merge, _) => {
                if let Some(n) = doc::<MergeNote>(c) {
                    apply_merge(tx, c.id, &n)?;
                }
            }
            (EntityKind::Staff, _) => {
                if let Some(u) = doc::<anola_protocol::auth::SessionUser>(c) {
                    super::staff::upsert(tx, &u)?;
                }
            }
            (EntityKind::Card, _) => {
                if let Some(card) = doc::<anola_protocol::cards::CardSummary>(c) {
                    super::cards::upsert_card(tx, &card)?;
                }
            }
            // A record this build does not understand is skipped; the cursor still moves.
            _ => {}
        }
    }
    set_meta(tx, "hlc", &clock.last().to_string())?;
    Ok(())
}

/// Removes what the server confirmed about a patient (the patient, its appointments, record
/// versions, cards and notes) and records that in the audit trail. Writes not yet sent stay queued
/// and shown (the server decides on them); nothing of the patient arrives here any more.
fn forget_patient(tx: &Connection, device: &str, patient: Uuid) -> Result<(), ClientError> {
    let p = patient.to_string();
    let appointments: Vec<String> = {
        let mut stmt = tx.prepare("SELECT id FROM appointments WHERE patient_id = ?1")?;
        let rows = stmt.query_map([&p], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for a in &appointments {
        tx.execute("DELETE FROM entity_base WHERE entity = 'appointment' AND id = ?1", [a])?;
        tx.execute("DELETE FROM check_ins WHERE appointment_id = ?1", [a])?;
        if let Ok(id) = a.parse::<Uuid>() {
            refresh(tx, EntityKind::Appointment, id)?;
        }
    }
    tx.execute("DELETE FROM entity_base WHERE entity = 'patient' AND id = ?1", [&p])?;
    refresh(tx, EntityKind::Patient, patient)?;
    tx.execute("DELETE FROM medical_records WHERE patient_id = ?1 AND pending = 0", [&p])?;
    tx.execute("DELETE FROM cards WHERE patient_id = ?1", [&p])?;
    tx.execute("DELETE FROM conflicts WHERE entity_id = ?1", [&p])?;
    let entry = super::audit::entry(
        device,
        None,
        anola_protocol::auth::AuditAction::RemovedFromDevice,
        Some(EntityKind::Patient),
        Some(patient),
        Some(patient),
    );
    super::audit::insert(tx, &entry)
}

fn doc<T: serde::de::DeserializeOwned>(c: &ChangeRecord) -> Option<T> {
    c.doc.clone().and_then(|d| serde_json::from_value(d).ok())
}

/// Records applied per transaction while applying a pulled page (`apply_pull_chunk`): short
/// enough that whoever waits for the store (a search typed in the app) waits a few milliseconds,
/// long enough that per-transaction cost stays small.
pub const APPLY_CHUNK: usize = 200;

impl LocalStore {
    pub fn apply_pull_page(&mut self, changes: &[ChangeRecord], cursor: &str, reset_first: bool) -> Result<(), ClientError> {
        self.apply_pull_chunk(changes, reset_first, Some(cursor))
    }

    /// Applies part of a pulled page in one transaction: `reset_first` on the page's first part,
    /// `cursor` on its last. A crash between parts leaves some records merged and the old cursor
    /// stored; the page is pulled and merged again, which changes nothing for what was merged
    /// (merges are idempotent), so no record is lost or applied twice in effect.
    pub fn apply_pull_chunk(&mut self, changes: &[ChangeRecord], reset_first: bool, cursor: Option<&str>) -> Result<(), ClientError> {
        let device = self.device_id().to_owned();
        let worker = self.scope().field_worker_id.clone();
        let tx = self.conn_mut().transaction()?;
        if reset_first {
            reset(&tx)?;
        }
        apply_changes(&tx, &device, worker.as_deref(), changes)?;
        if let Some(cursor) = cursor {
            set_meta(&tx, "pull_cursor", cursor)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Merges records fetched outside a pull (one patient on demand) exactly as a pull page
    /// would, without moving the pull cursor: the pull that later brings the same change merges
    /// it again, which changes nothing (docs/sync-protocol.md, "One patient on demand").
    pub fn apply_fetched(&mut self, changes: &[ChangeRecord]) -> Result<(), ClientError> {
        let device = self.device_id().to_owned();
        let worker = self.scope().field_worker_id.clone();
        let tx = self.conn_mut().transaction()?;
        apply_changes(&tx, &device, worker.as_deref(), changes)?;
        tx.commit()?;
        Ok(())
    }

    pub fn pull_cursor(&self) -> Result<Option<String>, ClientError> {
        let c = self.meta("pull_cursor")?;
        // Only keep cursors we can still read; an unreadable one means "start over".
        Ok(c.filter(|c| Cursor::decode(c).is_ok()))
    }
}
