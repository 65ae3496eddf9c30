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

fn blocks(v: Option<&Version>) -> Vec<String> {
    v.map(|v| slot_blocks(&Appointment::from_state(v.id, &v.state, false)))
        .unwrap_or_default()
}

/// Brings the appointment's claims in line with its state; returns a message when the booking lost
/// its slot.
pub async fn enforce<S: Store>(batch: &mut Batch<'_, S>, old: Option<&Version>, new: &Version) -> Result<Option<String>, StoreError> {
    let id = new.id;
    let previously = blocks(old);
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
        return Ok(None);
    };
    // Lost: hold nothing (neither the new blocks claimed so far nor the old ones).
    for b in needed.iter().chain(previously.iter()) {
        batch.store.release(b, id).await?;
    }
    let appt = Appointment::from_state(id, &new.state, false);
    let when = format!(
        "{} {}",
        appt.date.clone().unwrap_or_default(),
        appt.start_time.clone().unwrap_or_default()
    );
    let reason = format!("the provider's time at {when} was already booked by another appointment; choose a new time");
    let mut fields = serde_json::Map::new();
    fields.insert(
        "status".into(),
        serde_json::to_value(AppointmentStatus::ConflictNeedsRescheduling).expect("enum serializes"),
    );
    fields.insert("conflict".into(), serde_json::json!({"reason": reason, "held_by": holder}));
    batch.server_change(EntityKind::Appointment, id, fields).await?;
    let lost = id.to_string();
    let kept = holder.to_string();
    batch
        .note(
            EntityKind::Appointment,
            id,
            &["slot", &kept, &lost, &when],
            ConflictKind::SlotTaken {
                kept: holder,
                lost: id,
                provider_id: appt.provider_id.unwrap_or_default(),
                date: appt.date.unwrap_or_default(),
                start_time: appt.start_time.unwrap_or_default(),
            },
        )
        .await?;
    Ok(Some(reason))
}
