//! Request checks that run before anything is written: a request either passes all of them or
//! nothing of it is applied.

use anola_protocol::wire::{validate_clinic_id, TypedFields};
use anola_protocol::{validate_device_id, ErrorBody, ErrorCode, FieldError, PushRequest, MAX_PUSH_BATCH, SUPPORTED_PROTOCOL_VERSIONS};
use std::sync::atomic::{AtomicU32, Ordering};
use time::{Date, OffsetDateTime};

pub fn today() -> Date {
    anola_protocol::validate::latest_local_date(OffsetDateTime::now_utc().date())
}

/// The oldest protocol version this server still accepts (operators raise it to retire old apps).
static MIN_PROTOCOL_VERSION: AtomicU32 = AtomicU32::new(1);

pub fn set_min_protocol_version(v: u32) {
    MIN_PROTOCOL_VERSION.store(v, Ordering::Relaxed);
}

/// The versions this server accepts now.
pub fn accepted_versions() -> Vec<u32> {
    let min = MIN_PROTOCOL_VERSION.load(Ordering::Relaxed);
    SUPPORTED_PROTOCOL_VERSIONS.iter().copied().filter(|v| *v >= min).collect()
}

pub fn protocol_version(v: u32) -> Result<(), ErrorBody> {
    let accepted = accepted_versions();
    if accepted.contains(&v) {
        Ok(())
    } else {
        Err(ErrorBody::new(
            ErrorCode::UnsupportedProtocolVersion,
            format!("protocol_version {v} is not supported; this server speaks {SUPPORTED_PROTOCOL_VERSIONS:?}. Update the app."),
        )
        .with_field("protocol_version"))
    }
}

pub fn device_id(id: &str) -> Result<(), ErrorBody> {
    match validate_device_id(id) {
        None => Ok(()),
        Some(e) => Err(ErrorBody::new(ErrorCode::InvalidRequest, e.message).with_field("device_id")),
    }
}

pub fn clinic_id(id: &str) -> Result<(), ErrorBody> {
    match validate_clinic_id(id) {
        None => Ok(()),
        Some(e) => Err(ErrorBody::new(ErrorCode::InvalidRequest, e.message).with_field("clinic_id")),
    }
}

/// The clinic a mutation's fields name, if any (creations carry it).
fn named_clinic(t: &TypedFields) -> Option<&str> {
    match t {
        TypedFields::Patient(f) => f.clinic_id.as_ref().and_then(|c| c.as_deref()),
        TypedFields::Appointment(f) => f.clinic_id.as_ref().and_then(|c| c.as_deref()),
        TypedFields::MedicalRecord(f) => Some(f.clinic_id.as_str()),
    }
}

/// Validates a whole push; on failure returns every field error, each tagged with its mutation.
/// A field of the wrong type is a malformed request (400, first offending path); a value that
/// breaks a rule is a validation failure (422, every offending field).
pub fn push(req: &PushRequest, today: Date) -> Result<(), ErrorBody> {
    protocol_version(req.protocol_version)?;
    device_id(&req.device_id)?;
    clinic_id(&req.clinic_id)?;
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(ErrorBody::new(
            ErrorCode::BatchTooLarge,
            format!(
                "a push may carry at most {MAX_PUSH_BATCH} mutations; this one has {}",
                req.mutations.len()
            ),
        )
        .with_field("mutations"));
    }
    let mut errors: Vec<FieldError> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, m) in req.mutations.iter().enumerate() {
        let typed = match m.typed() {
            Ok(t) => t,
            Err((path, message)) => {
                let field = if path.is_empty() {
                    format!("mutations[{i}].fields")
                } else {
                    format!("mutations[{i}].fields.{path}")
                };
                return Err(ErrorBody::new(ErrorCode::InvalidRequest, format!("{field}: {message}")).with_field(field));
            }
        };
        if named_clinic(&typed).is_some_and(|c| c != req.clinic_id) {
            errors.push(FieldError {
                field: format!("mutations[{i}].fields.clinic_id"),
                code: "clinic_mismatch".into(),
                message: "clinic_id must be the clinic of the pushing device".into(),
                mutation_index: Some(i),
            });
        }
        for mut e in m.validate(today) {
            e.field = format!("mutations[{i}].fields.{}", e.field);
            e.mutation_index = Some(i);
            errors.push(e);
        }
        if !seen.insert(m.id) {
            errors.push(FieldError {
                field: format!("mutations[{i}].id"),
                code: "duplicate_in_batch".into(),
                message: "the same mutation id appears twice in one push".into(),
                mutation_index: Some(i),
            });
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let first = errors[0].field.clone();
    let mut body = ErrorBody::new(
        ErrorCode::ValidationFailed,
        format!(
            "{} field error(s); first: {}: {}. Nothing was applied.",
            errors.len(),
            first,
            errors[0].message
        ),
    )
    .with_field(first);
    body.errors = errors;
    Err(body)
}

/// Audit entries ride on a push: the device may only report its own, with readable times.
pub fn audit(req: &PushRequest) -> Result<(), ErrorBody> {
    if req.audit.len() > MAX_PUSH_BATCH {
        return Err(ErrorBody::new(
            ErrorCode::BatchTooLarge,
            format!("a push may carry at most {MAX_PUSH_BATCH} audit entries"),
        )
        .with_field("audit"));
    }
    for (i, e) in req.audit.iter().enumerate() {
        if e.device_id != req.device_id {
            return Err(
                ErrorBody::new(ErrorCode::InvalidRequest, "an audit entry must come from the pushing device")
                    .with_field(format!("audit[{i}].device_id")),
            );
        }
        if time::OffsetDateTime::parse(&e.at, &time::format_description::well_known::Rfc3339).is_err() {
            return Err(ErrorBody::new(ErrorCode::InvalidRequest, "at must be an RFC 3339 time").with_field(format!("audit[{i}].at")));
        }
    }
    Ok(())
}
