//! What an authenticated device and the staff named on its writes may push and pull. Pure: the
//! caller has read the device, the signed-in user and the authors (docs/security.md).

use crate::store::accounts::{DeviceRecord, SigningKeyRecord, UserRecord};
use anola_protocol::access::{first_forbidden, project};
use anola_protocol::auth::AuditEntry;
use anola_protocol::signing::{PublicKey, Signature, SignatureError};
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

/// The signing keys a push's mutations and audit entries name, to read before `push`. Only well
/// formed ids (32 hex digits) are read: anything else is no registered key.
pub fn key_ids(req: &PushRequest) -> Vec<String> {
    let well_formed = |k: &str| k.len() == 32 && k.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut ids: Vec<String> = req
        .mutations
        .iter()
        .filter_map(|m| m.signature.as_ref())
        .chain(req.audit.iter().filter_map(|e| e.signature.as_ref()))
        .map(|s| s.key.clone())
        .filter(|k| well_formed(k))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// The registered signing keys a push names (`key_ids`), each parsed once.
pub struct PushKeys(HashMap<String, (SigningKeyRecord, Option<PublicKey>)>);

impl PushKeys {
    pub fn new(records: Vec<SigningKeyRecord>) -> PushKeys {
        PushKeys(
            records
                .into_iter()
                .map(|k| {
                    let public = PublicKey::from_b64(&k.public_key);
                    (k.key_id.clone(), (k, public))
                })
                .collect(),
        )
    }

    /// The key `signature` names, if `user` registered it on `device`; else why not, as a code
    /// and a message.
    fn of(&self, signature: Option<&Signature>, user: Uuid, device: &DeviceRecord) -> Result<&PublicKey, (&'static str, String)> {
        let invalid = |why: &str| (SignatureError::Invalid.code(), format!("the change is signed with {why}"));
        let Some(sig) = signature else {
            return Err((SignatureError::Missing.code(), "the change is not signed by its author".into()));
        };
        let Some((key, public)) = self.0.get(&sig.key) else {
            return Err((
                "signing_key_unknown",
                "the change is signed with a key the server does not know".into(),
            ));
        };
        if key.user_id != user {
            return Err(invalid("another staff member's key"));
        }
        if key.device_id != device.device_id {
            return Err(invalid("a key made on another device"));
        }
        public.as_ref().ok_or_else(|| invalid("a malformed key"))
    }
}

/// Why a mutation's authorship does not hold, if it does not: it must be signed by a key its
/// author registered on this device (ADR 0014), and the key must not be revoked (the account
/// disabled) before the change was made.
fn authorship(
    device: &DeviceRecord,
    m: &anola_protocol::Mutation,
    author: &UserRecord,
    keys: &PushKeys,
) -> Result<(), (&'static str, String)> {
    keys.of(m.signature.as_ref(), author.id, device)?
        .verify_mutation(m)
        .map_err(|e| (e.code(), e.to_string()))?;
    if author.disabled_at.is_some_and(|at| at <= m.hlc.wall_ms as i64) {
        return Err((
            "signing_key_revoked",
            "the author's account was disabled before this change, which revoked their signing keys".into(),
        ));
    }
    Ok(())
}

/// Marks each audit entry `verified` when the staff member it names signed it with a key they
/// registered on this device. Unverified entries are kept: an audit trail must not lose entries,
/// but it must not vouch for them either.
pub fn verify_audit(device: &DeviceRecord, entries: &mut [AuditEntry], keys: &PushKeys) {
    for e in entries {
        e.verified = e
            .user_id
            .map(|user| keys.of(e.signature.as_ref(), user, device).is_ok_and(|p| p.verify_audit(e).is_ok()));
    }
}

/// Every mutation the device's role or its author's role does not allow, as field errors.
/// Writes need a signed-in author on staff devices, who signed them; a kiosk writes on the
/// patient's behalf.
pub fn push(device: &DeviceRecord, req: &PushRequest, authors: &HashMap<Uuid, UserRecord>, keys: &PushKeys) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, m) in req.mutations.iter().enumerate() {
        let mut signed = Ok(());
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
                Some(u) => {
                    signed = authorship(device, m, u, keys);
                    match u.role {
                        Some(r) => roles.push(("author", r)),
                        None if u.platform_admin => {}
                        None => refuse(format!("mutations[{i}].author"), "the author has no clinic role".into()),
                    }
                }
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
        if let Err((code, message)) = signed {
            errors.push(FieldError {
                field: format!("mutations[{i}].signature"),
                code: code.into(),
                message,
                mutation_index: Some(i),
            });
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
