//! Serving a pull page.
//!
//! L1 (never skip): a clinic's change log is dense and read in order up to its first gap, so every
//! entry below the returned cursor was delivered by this or an earlier page.
//! Scope: a device reads only its clinic's log; a field worker's device receives only the
//! patients assigned to that worker and their appointments, records and notes.
//! Resync: a cursor from an older resync generation restarts from the beginning with `reset`.

use crate::store::{Store, StoreError};
use anola_protocol::wire::EntityKind;
use anola_protocol::{ChangeRecord, Cursor, Progress, DEFAULT_PULL_LIMIT, MAX_PULL_LIMIT};
use std::collections::HashMap;
use uuid::Uuid;

pub struct Page {
    pub changes: Vec<ChangeRecord>,
    pub cursor: Cursor,
    pub has_more: bool,
    pub progress: Progress,
    pub reset: bool,
}

/// Entries read per page at most, whatever their size: bounds the work of one request.
const MAX_ENTRIES_PER_PAGE: usize = 256;

/// The patient a record is about, for scoping.
fn patient_of(r: &ChangeRecord) -> Option<Uuid> {
    match r.entity {
        EntityKind::Patient => Some(r.id),
        EntityKind::Appointment => r.state.as_ref()?.0.get("patient_id")?.value.as_str()?.parse().ok(),
        EntityKind::MedicalRecord => r.doc.as_ref()?.get("patient_id")?.as_str()?.parse().ok(),
        EntityKind::Conflict => match r.doc.as_ref()?.get("entity")?.as_str()? {
            "patient" => r.doc.as_ref()?.get("entity_id")?.as_str()?.parse().ok(),
            _ => None,
        },
        EntityKind::Card => Some(r.id),
        EntityKind::Provider | EntityKind::Merge | EntityKind::Staff => None,
    }
}

/// Keeps what a field worker may hold: their assigned patients and what belongs to them (cards
/// included), plus providers, merges and staff (which carry no patient data).
async fn field_worker_filter<S: Store>(store: &S, worker: &str, records: Vec<ChangeRecord>) -> Result<Vec<ChangeRecord>, StoreError> {
    let mut assigned: HashMap<Uuid, bool> = HashMap::new();
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if matches!(r.entity, EntityKind::Provider | EntityKind::Merge | EntityKind::Staff) {
            out.push(r);
            continue;
        }
        let Some(patient) = patient_of(&r) else { continue };
        // Reassigned away from this worker: the worker's devices get the patient's new state once,
        // and forget the patient (and nothing more of it passes).
        let unassigning = r.entity == EntityKind::Patient
            && r.doc.as_ref().and_then(|d| d.get("unassigned_from")).and_then(|w| w.as_str()) == Some(worker);
        if unassigning {
            assigned.insert(patient, false);
            out.push(r);
            continue;
        }
        // A patient's own record answers for itself, every time (a page may hold the patient
        // before and after a reassignment), and decides for what follows it in the page; other
        // records without one before them look the patient up.
        let ok = if r.entity == EntityKind::Patient {
            let ok = r
                .state
                .as_ref()
                .and_then(|s| s.0.get("field_worker_id"))
                .and_then(|s| s.value.as_str())
                == Some(worker);
            assigned.insert(patient, ok);
            ok
        } else {
            match assigned.get(&patient) {
                Some(ok) => *ok,
                None => {
                    let ok = store
                        .head(EntityKind::Patient, patient)
                        .await?
                        .and_then(|h| h.text("field_worker_id").map(|w| w == worker))
                        .unwrap_or(false);
                    assigned.insert(patient, ok);
                    ok
                }
            }
        };
        if ok {
            out.push(r);
        }
    }
    Ok(out)
}

pub async fn page<S: Store>(
    store: &S,
    clinic: &str,
    field_worker: Option<&str>,
    cursor: Cursor,
    limit: Option<u32>,
    protocol_version: u32,
) -> Result<Page, StoreError> {
    let limit = limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT) as usize;
    let gen = store.resync_generation(clinic).await?;
    let (from, reset) = if cursor.gen == gen { (cursor.seq, false) } else { (0, true) };
    let entries = store.read_changes(clinic, from, limit, MAX_ENTRIES_PER_PAGE).await?;
    let records: usize = entries.iter().map(|e| e.records.len()).sum();
    // A page that stopped for size may have more behind it; one that stopped at the log's end has not.
    let has_more = records >= limit || entries.len() >= MAX_ENTRIES_PER_PAGE;
    let done = entries.last().map_or(from, |e| e.seq);
    let total = if has_more { store.log_head(clinic).await?.max(done) } else { done };
    let mut changes: Vec<ChangeRecord> = entries
        .into_iter()
        .flat_map(|e| e.records)
        // An older client cannot parse kinds added after its protocol version.
        .filter(|r| r.entity.since_protocol() <= protocol_version)
        .collect();
    if let Some(worker) = field_worker {
        changes = field_worker_filter(store, worker, changes).await?;
    }
    Ok(Page {
        changes,
        cursor: Cursor::at_gen(done, gen),
        has_more,
        progress: Progress { done, total },
        reset,
    })
}
