//! What an authenticated device and the staff named on its writes may push and pull. Pure: the
//! caller has read the device, the signed-in user and the authors (docs/security.md).

use crate::store::accounts::{DeviceRecord, UserRecord};
use anola_protocol::access::{first_forbidden, project};
use anola_protocol::wire::{ChangeRecord, EntityKind, Op};
use anola_protocol::{ErrorBody, ErrorCode, FieldError, PushRequest};
use std::collections::HashMap;
use uuid::Uuid;

fn forbidden(field: impl Into<String>, message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(ErrorCode::Forbidden, message).with_field(field)
}

/// The body must speak for the device that authenticated, in its clinic.
pub fn envelope(device: &DeviceRecord, device_id: &str, clinic_id: &str) -> Result<(), ErrorBody> {
    if device_id != device.device_id {
        return Err(forbidden("device_id", "device_id must be the enrolled device's id"));
    }
    if clinic_id != device.clinic_id {
        return Err(forbidden(
            "clinic_id",
            format!("this device is enrolled in clinic {}", device.clinic_id),
        ));
    }
    Ok(())
}

/// The field worker whose patients a device pulls: its enrolment decides, not the request.
pub fn pull_scope(device: &DeviceRecord, requested: Option<&str>) -> Result<Option<String>, ErrorBody> {
    match (&device.field_worker_id, requested) {
        (Some(mine), Some(asked)) if mine != asked => {
            Err(forbidden("field_worker_id", "this device holds another field worker's patients"))
        }
        (Some(mine), _) if device.role.assigned_only() => Ok(Some(mine.clone())),
        (_, asked) => Ok(asked.map(str::to_owned)),
    }
}

/// Every mutation the device's role or its author's role does not allow, as field errors.
/// Writes need a signed-in author on staff devices; a kiosk writes on the patient's behalf.
pub fn push(device: &DeviceRecord, req: &PushRequest, authors: &HashMap<Uuid, UserRecord>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, m) in req.mutations.iter().enumerate() {
        let mut refuse = |field: String, message: String| errors.push(refusal(i, field, message));
        let whole = matches!(m.op, Op::Create | Op::Delete) || m.entity == EntityKind::MedicalRecord;
        let fields: Vec<&str> = m
            .fields
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let mut roles = vec![("device", device.role)];
        match m.author {
            Some(id) => match authors.get(&id) {
                None => refuse(
                    format!("mutations[{i}].author"),
                    "the author is not an account of this clinic".into(),
                ),
                Some(u) if !u.platform_admin && u.clinic_id.as_deref() != Some(device.clinic_id.as_str()) => refuse(
                    format!("mutations[{i}].author"),
                    "the author is not an account of this clinic".into(),
                ),
                Some(u) if u.disabled_at.is_some_and(|at| at <= m.hlc.wall_ms as i64) => refuse(
                    format!("mutations[{i}].author"),
                    "the author's account was disabled before this change".into(),
                ),
                Some(u) => match u.role {
                    Some(r) => roles.push(("author", r)),
                    None if u.platform_admin => {}
                    None => refuse(format!("mutations[{i}].author"), "the author has no clinic role".into()),
                },
            },
            None if device.role != anola_protocol::Role::Kiosk => refuse(
                format!("mutations[{i}].author"),
                "changes from a staff device must name the signed-in author".into(),
            ),
            None => {}
        }
        for (who, role) in roles {
            if let Some(part) = first_forbidden(role, m.entity, whole, fields.iter().copied()) {
                let (field, what) = match part {
                    Some(f) => (
                        format!("mutations[{i}].fields.{f}"),
                        format!("the field {f} of a {}", m.entity.as_str()),
                    ),
                    None => (format!("mutations[{i}]"), format!("a {} {}", m.entity.as_str(), op_name(m.op))),
                };
                refuse(field, format!("the {who}'s role ({}) may not write {what}", role.as_str()));
                break;
            }
        }
    }
    errors
}

/// A `forbidden` error about mutation `i` of a push.
pub(crate) fn refusal(i: usize, field: String, message: String) -> FieldError {
    FieldError {
        field,
        code: "forbidden".into(),
        message,
        mutation_index: Some(i),
    }
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Create => "creation",
        Op::Update => "change",
        Op::Delete => "deletion",
    }
}

/// What of a pull page the device's role may hold.
pub fn pull_page(device: &DeviceRecord, changes: Vec<ChangeRecord>) -> Vec<ChangeRecord> {
    changes.iter().filter_map(|c| project(device.role, c)).collect()
}
