//! The appointment slot rule: a provider's 15-minute block holds at most one appointment.
//!
//! Blocks are unique keys (`claims`), scoped by clinic: `slot:<clinic>:<provider>:<date>:<HH:MM>`.
//! An appointment claims its blocks in time order, so two bookings racing for overlapping time
//! cannot each take a block the other needs: the one that wins the earliest shared block wins. The
//! loser keeps nothing, becomes `conflict_needs_rescheduling` with the reason, and a `SlotTaken`
//! note tells staff.
//!
//! Invariant S1 (one holder per block; claims follow the latest state), kept under concurrency and
//! crashes:
//! - The rule always acts on the appointment's latest accepted version: after acting it reads the
//!   head again and starts over if another request wrote a newer version meanwhile, so the last
//!   run to finish leaves the claims matching the last state.
//! - It releases every block any version of the appointment ever needed and the latest does not
//!   (not only the previous version's), so claims left by a request that crashed, or that acted on
//!   an older version, are freed.
//! - Releases only ever mark the releasing holder's own claim generation (`Store::release`).
//! - A push marks its appointments' rules as pending (one marker per push) before writing their
//!   versions and clears the mark once every rule settled and was announced; a crash in between leaves the mark, and the
//!   sweeper (`repair_pending`) or the device's retry completes the rule.

use super::batch::Batch;
use super::clock::ServerClock;
use crate::store::{Claim, Store, StoreError, Version};
use anola_protocol::appointment::slot_blocks;
use anola_protocol::conflict::ConflictKind;
use anola_protocol::wire::EntityKind;
use anola_protocol::{Appointment, AppointmentStatus};
use uuid::Uuid;

/// Rounds of "act, then check the head" before a busy appointment is left to the sweeper.
const MAX_ROUNDS: usize = 8;

/// The claim keys of a version's blocks, in time order.
fn keys(clinic: &str, v: &Version) -> Vec<String> {
    slot_blocks(&Appointment::from_state(v.id, &v.state, false))
        .into_iter()
        .map(|b| format!("slot:{clinic}:{b}"))
        .collect()
}

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

/// What the rule did for one appointment.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Set when this run found the slot taken and marked the appointment for rescheduling.
    pub lost: Option<String>,
    /// The claims match the latest version (false: it kept changing; the sweeper finishes it).
    pub settled: bool,
}

/// Brings the appointment's claims in line with its latest version. `written` is the version the
/// caller just wrote (saves a read when it is still the newest). `created`: `written` is version 1
/// of an id this very push created, which no other writer can know before the push's change-log
/// entry exists (after the rules), so it is the latest without checking.
pub async fn enforce<S: Store>(batch: &mut Batch<'_, S>, id: Uuid, written: Option<Version>, created: bool) -> Result<Outcome, StoreError> {
    let created = created && written.as_ref().is_some_and(|v| v.version == 1);
    let mut head = match written {
        Some(v) => v,
        None => match batch.store.head(EntityKind::Appointment, id).await? {
            Some(v) => v,
            None => return Ok(Outcome { lost: None, settled: true }),
        },
    };
    let mut out = Outcome::default();
    for _ in 0..MAX_ROUNDS {
        if let Some(reason) = reconcile(batch, &head).await? {
            out.lost = Some(reason);
        }
        // One point read: is there a version after the one acted on?
        if (created && head.version == 1) || batch.store.version(EntityKind::Appointment, id, head.version + 1).await?.is_none() {
            out.settled = true;
            return Ok(out);
        }
        match batch.store.head(EntityKind::Appointment, id).await? {
            Some(latest) => head = latest,
            None => {
                out.settled = true;
                return Ok(out);
            }
        }
    }
    tracing::warn!("appointment kept changing while its slot rule ran; left to the sweeper");
    Ok(out)
}

/// Every claim key any version up to `head` needed (the versions are few per appointment).
async fn ever_needed<S: Store>(batch: &Batch<'_, S>, clinic: &str, head: &Version) -> Result<Vec<String>, StoreError> {
    let mut all = keys(clinic, head);
    for n in 1..head.version {
        if let Some(v) = batch.store.version(EntityKind::Appointment, head.id, n).await? {
            for k in keys(clinic, &v) {
                if !all.contains(&k) {
                    all.push(k);
                }
            }
        }
    }
    Ok(all)
}

/// One pass of the rule over `head`; returns the reason when this pass marked the booking lost.
async fn reconcile<S: Store>(batch: &mut Batch<'_, S>, head: &Version) -> Result<Option<String>, StoreError> {
    let id = head.id;
    let clinic = head.text("clinic_id").unwrap_or(batch.clinic).to_owned();
    let current = Appointment::from_state(id, &head.state, false);
    let needed = keys(&clinic, head);
    let ever = ever_needed(batch, &clinic, head).await?;
    if current.status == Some(AppointmentStatus::ConflictNeedsRescheduling) {
        // Already lost (perhaps by a request that crashed right after): make sure it holds
        // nothing and that staff can see why.
        for k in &ever {
            batch.store.release(k, id).await?;
        }
        if let Some(c) = &current.conflict {
            note_taken(batch, &current, c.held_by).await?;
        }
        return Ok(None);
    }
    let mut taken_by = None;
    for k in &needed {
        match batch.store.claim(k, id).await? {
            Claim::Mine => {}
            Claim::HeldBy(other) => {
                taken_by = Some(other);
                break;
            }
        }
    }
    let Some(holder) = taken_by else {
        for k in ever.iter().filter(|k| !needed.contains(k)) {
            batch.store.release(k, id).await?;
        }
        // Rescheduled into a free slot: the old conflict reason no longer applies.
        if !needed.is_empty() && current.conflict.is_some() {
            let mut fields = serde_json::Map::new();
            fields.insert("conflict".into(), serde_json::Value::Null);
            batch.server_change(EntityKind::Appointment, id, fields).await?;
        }
        return Ok(None);
    };
    // Lost, as of `head`. If another request already wrote a newer version (perhaps moving it to
    // a free time), that version decides: the caller's loop runs the rule again on it.
    if batch.store.version(EntityKind::Appointment, id, head.version + 1).await?.is_some() {
        return Ok(None);
    }
    // Lost: the note first (so a crash cannot leave a marked appointment without its reason's
    // record), then hold nothing, then the status.
    note_taken(batch, &current, holder).await?;
    for k in &ever {
        batch.store.release(k, id).await?;
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

/// The sweeper: completes the slot rule of appointments whose push crashed (or gave up) between
/// writing their versions and settling their claims. Returns how many it settled.
pub async fn repair_pending<S: Store>(store: &S, clock: &ServerClock, older_than_ms: i64) -> Result<usize, StoreError> {
    let mut settled = 0;
    for pending in store.pending_rules(older_than_ms).await? {
        let mut batch = Batch::new(store, clock, &pending.clinic, "server");
        let mut all = true;
        for id in &pending.appointments {
            batch.touch(EntityKind::Appointment, *id);
            let out = enforce(&mut batch, *id, None, false).await?;
            all &= out.settled;
            settled += usize::from(out.settled);
        }
        batch.commit().await?;
        if all {
            store.rules_done(pending.marker).await?;
        }
    }
    Ok(settled)
}
