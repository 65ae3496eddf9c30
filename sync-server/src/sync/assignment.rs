//! A field worker's device may only change its own assigned patients (and their appointments and
//! records), and registers new patients as assigned to itself. The device never receives other
//! patients; this refuses crafted writes to them. Only field-worker devices pay for it: one head
//! read (point reads by `_id`) per patient the push touches, never a scan of the patients.

use crate::store::accounts::DeviceRecord;
use crate::store::{Store, StoreError};
use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{FieldError, PushRequest};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

fn uuid_field(fields: &serde_json::Value, name: &str) -> Option<Uuid> {
    fields.get(name).and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
}

pub async fn check<S: Store>(store: &S, device: &DeviceRecord, req: &PushRequest) -> Result<Vec<FieldError>, StoreError> {
    let Some(fw) = device.field_worker_id.as_deref().filter(|_| device.role.assigned_only()) else {
        return Ok(Vec::new());
    };
    let mut assigned: HashSet<Uuid> = HashSet::new();
    let mut appointment_patient: HashMap<Uuid, Uuid> = HashMap::new();
    for m in &req.mutations {
        match (m.entity, m.op) {
            (EntityKind::Patient, Op::Create) if m.fields.get("field_worker_id").and_then(|v| v.as_str()) == Some(fw) => {
                assigned.insert(m.entity_id);
            }
            (EntityKind::Appointment, _) => {
                if let Some(p) = uuid_field(&m.fields, "patient_id") {
                    appointment_patient.insert(m.entity_id, p);
                }
            }
            _ => {}
        }
    }
    let unknown: Vec<(EntityKind, Uuid)> = req
        .mutations
        .iter()
        .filter(|m| m.entity == EntityKind::Appointment && !appointment_patient.contains_key(&m.entity_id))
        .map(|m| (EntityKind::Appointment, m.entity_id))
        .collect();
    for (key, head) in unknown.iter().zip(store.heads(&unknown).await?) {
        if let Some(p) = head.and_then(|h| uuid_field(&serde_json::Value::Object(h.state.values()), "patient_id")) {
            appointment_patient.insert(key.1, p);
        }
    }
    let patient_of = |m: &anola_protocol::Mutation| match m.entity {
        EntityKind::Patient => Some(m.entity_id),
        EntityKind::Appointment => appointment_patient.get(&m.entity_id).copied(),
        EntityKind::MedicalRecord => uuid_field(&m.fields, "patient_id"),
        _ => None,
    };
    // Whether each other patient the push touches is assigned to this worker now.
    let mut to_read: Vec<(EntityKind, Uuid)> = req
        .mutations
        .iter()
        .filter_map(patient_of)
        .filter(|p| !assigned.contains(p))
        .map(|p| (EntityKind::Patient, p))
        .collect();
    to_read.sort_unstable();
    to_read.dedup();
    for (key, head) in to_read.iter().zip(store.heads(&to_read).await?) {
        if head.is_some_and(|h| h.text("field_worker_id") == Some(fw)) {
            assigned.insert(key.1);
        }
    }
    let mut errors = Vec::new();
    for (i, m) in req.mutations.iter().enumerate() {
        let mut refuse = |field: String, message: String| errors.push(super::authorize::refusal(i, field, message));
        if m.entity == EntityKind::Patient {
            if let Some(v) = m.fields.get("field_worker_id") {
                if v.as_str() != Some(fw) {
                    refuse(
                        format!("mutations[{i}].fields.field_worker_id"),
                        format!("a field worker's device assigns patients to {fw} only"),
                    );
                    continue;
                }
            }
        }
        let patient = patient_of(m);
        if !patient.is_some_and(|p| assigned.contains(&p)) {
            refuse(
                format!("mutations[{i}]"),
                format!("this patient is not assigned to field worker {fw}"),
            );
        }
    }
    Ok(errors)
}
