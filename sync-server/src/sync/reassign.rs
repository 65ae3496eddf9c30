//! A patient reassigned to another field worker: the new worker's devices receive the patient's
//! whole history, and the old worker's devices are told to forget the patient.
//!
//! Devices of a field worker only receive what belongs to their assigned patients, from the log
//! position they have reached, so a reassignment alone would bring the new worker only what
//! happens from now on. The push that changes `field_worker_id` therefore announces again, in its
//! own change-log entry, the patient's appointments and record versions (found through the
//! patient's child links, point reads) and, after it, the patient's cards; and the patient's own
//! record carries `unassigned_from` so the previous worker's devices receive it and remove the
//! patient (docs/sync-protocol.md, "Scope changes").

use super::batch::Batch;
use crate::store::{Store, StoreError, Version};
use anola_protocol::wire::EntityKind;
use uuid::Uuid;

/// For every patient whose field worker changed (`before`, `after`), marks the previous worker's
/// unassignment and announces the patient's history again; returns the reassigned patients (whose
/// cards the caller announces after the batch).
pub async fn follow<S: Store>(batch: &mut Batch<'_, S>, patients: &[(Option<Version>, Version)]) -> Result<Vec<Uuid>, StoreError> {
    let mut moved = Vec::new();
    for (before, after) in patients {
        let Some(before) = before else { continue };
        let (from, to) = (before.text("field_worker_id"), after.text("field_worker_id"));
        if from == to {
            continue;
        }
        if let Some(from) = from {
            batch.unassigned(after.id, from.to_owned());
        }
        let id = after.id.to_string();
        // Links, or a scan as well while the one-time link migration has not finished.
        for (kind, child) in super::admin::children_of(batch.store, after.id).await? {
            match kind {
                EntityKind::Appointment => {
                    let head = batch.head(kind, child).await?;
                    if head.as_ref().and_then(|h| h.text("patient_id")) == Some(id.as_str()) {
                        batch.touch(kind, child);
                    }
                }
                EntityKind::MedicalRecord => {
                    if let Some(doc) = batch.store.get_doc(kind, child).await? {
                        if doc.get("patient_id").and_then(|p| p.as_str()) == Some(id.as_str()) {
                            batch.announce_doc(kind, child, doc);
                        }
                    }
                }
                _ => {}
            }
        }
        tracing::info!(to = to.is_some(), "patient reassigned; history announced again");
        moved.push(after.id);
    }
    Ok(moved)
}
