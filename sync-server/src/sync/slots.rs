//! The appointment slot rule: a provider's 15-minute block holds at most one appointment.
//!
//! Blocks are unique keys (`claims`). An appointment claims its blocks in time order, so two
//! bookings racing for overlapping time cannot each take a block the other needs: the one that
//! wins the earliest shared block wins. The loser keeps nothing, becomes
//! `conflict_needs_rescheduling` with the reason, and a `SlotTaken` note tells staff.

use super::batch::Batch;
use crate::store::{Claim, Store, StoreError, Version};
use anola_protocol::appointment::slot_blocks;
use anola_protocol::conflict::ConflictKind;
use anola_protocol::wire::EntityKind;
use anola_protocol::{Appointment, AppointmentStatus};
use uuid::Uuid;

fn blocks(v: Option<&Version>) -> Vec<String> {
    v.map(|v| slot_blocks(&Appointment::from_state(v.id, &v.state, false)))
        .unwrap_or_default()
}

/// Brings the appointment's claims in line with its state; returns a message when the booking lost
/// its slot.
async fn note_taken<S: Store>(batch: &mut Batch<'_, S>, appt: &Appointment, holder: Uuid) -> Result<(), StoreError> {
    let when = format!(
        "{} {}",
        appt.date.clone().unwrap_or_default(),
        appt.start_time.clone().unwrap_or_default()
    );
    let (kept, lost) = (holder.to_string(), appt.id.to_string());
    let kind = ConflictKind::SlotTaken {
        kept: holder,
        lost: appt.id,
        provider_id: appt.provider_id.unwrap_or_default(),
        date: appt.date.clone().unwrap_or_default(),
        start_time: appt.start_time.clone().unwrap_or_default(),
    };
    batch
        .note(EntityKind::Appointment, appt.id, &["slot", &kept, &lost, &when], kind)
        .await
}

/// Brings the appointment's claims in line with its state; returns a message when the booking lost
/// its slot. Runs on every change of the appointment, so an interrupted earlier run is completed.
pub async fn enforce<S: Store>(batch: &mut Batch<'_, S>, old: Option<&Version>, new: &Version) -> Result<Option<String>, StoreError> {
    let id = new.id;
    let previously = blocks(old);
    let current = Appointment::from_state(id, &new.state, false);
    if current.status == Some(AppointmentStatus::ConflictNeedsRescheduling) {
        // Already lost (perhaps by a request that crashed right after): make sure it holds
        // nothing and that staff can see why.
        for b in &previously {
            batch.store.release(b, id).await?;
        }
        if let Some(c) = &current.conflict {
            note_taken(batch, &current, c.held_by).await?;
        }
        return Ok(None);
    }
    let needed = blocks(Some(new));
    let mut taken_by = None;
    for b in &needed {
        match batch.store.claim(b, id).await? {
            Claim::Mine => {}
            Claim::HeldBy(other) => {
                taken_by = Some(other);
                break;
            }
        }
    }
    let Some(holder) = taken_by else {
        for b in previously.iter().filter(|b| !needed.contains(b)) {
            batch.store.release(b, id).await?;
        }
        // Rescheduled into a free slot: the old conflict reason no longer applies.
        if !needed.is_empty() && current.conflict.is_some() {
            let mut fields = serde_json::Map::new();
            fields.insert("conflict".into(), serde_json::Value::Null);
            batch.server_change(EntityKind::Appointment, id, fields).await?;
        }
        return Ok(None);
    };
    // Lost: the note first (so a crash cannot leave a marked appointment without its reason's
    // record), then hold nothing, then the status.
    note_taken(batch, &current, holder).await?;
    for b in needed.iter().chain(previously.iter()) {
        batch.store.release(b, id).await?;
    }
    let when = format!(
        "{} {}",
        current.date.clone().unwrap_or_default(),
        current.start_time.clone().unwrap_or_default()
    );
    let reason = format!("the provider's time at {when} was already booked by another appointment; choose a new time");
    let mut fields = serde_json::Map::new();
    fields.insert(
        "status".into(),
        serde_json::to_value(AppointmentStatus::ConflictNeedsRescheduling).expect("enum serializes"),
    );
    fields.insert("conflict".into(), serde_json::json!({"reason": reason, "held_by": holder}));
    batch.server_change(EntityKind::Appointment, id, fields).await?;
    Ok(Some(reason))
}
