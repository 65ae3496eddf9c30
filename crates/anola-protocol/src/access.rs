//! Who may read and write what: the role matrix, field by field (docs/security.md).
//!
//! One table, used by the server (what a device may pull and push) and by the app (what a signed-in
//! staff member is shown), so the two cannot disagree. A device is enrolled with a role that is the
//! ceiling of everything it may hold; each staff member signed in on it is limited further by their
//! own role. Pure functions, no I/O.

use crate::conflict::ConflictKind;
use crate::wire::{ChangeRecord, EntityKind};
use serde::{Deserialize, Serialize};

/// A clinic staff role (a user's role, and the ceiling a device is enrolled with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Registration, appointments and check-in; no clinical data.
    FrontDesk,
    /// Everything clinical for the clinic's patients.
    Clinician,
    /// Only the patients assigned to the field worker, clinical data included.
    FieldWorker,
    /// Everything in the clinic, plus users, devices and access history.
    ClinicAdmin,
    /// A self check-in kiosk: names and card ids to find a patient, appointment times, and the
    /// appointment status to mark arrival. Devices only; no person has this role.
    Kiosk,
}

pub const ALL_ROLES: &[Role] = &[Role::FrontDesk, Role::Clinician, Role::FieldWorker, Role::ClinicAdmin, Role::Kiosk];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::FrontDesk => "front_desk",
            Role::Clinician => "clinician",
            Role::FieldWorker => "field_worker",
            Role::ClinicAdmin => "clinic_admin",
            Role::Kiosk => "kiosk",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        ALL_ROLES.iter().copied().find(|r| r.as_str() == s)
    }

    /// Roles a person may hold (the kiosk is a device mode).
    pub fn is_staff(self) -> bool {
        self != Role::Kiosk
    }

    /// Whether this role is limited to assigned patients.
    pub fn assigned_only(self) -> bool {
        self == Role::FieldWorker
    }
}

/// The seed's user types. Clinic staff are `provider` (clinicians, field workers, front desk) or
/// `admin` (clinic and platform administrators) with a staff role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    Patient,
    Provider,
    Sponsor,
    Vendor,
    Admin,
}

/// Patient fields that are clinical: hidden from front desk and kiosk.
pub const CLINICAL_PATIENT_FIELDS: &[&str] = &["blood_type", "allergies", "chronic_conditions"];
/// Appointment fields that are clinical.
pub const CLINICAL_APPOINTMENT_FIELDS: &[&str] = &["symptoms"];
/// What a kiosk may read of a patient: enough to match a card and greet by initials.
pub const KIOSK_PATIENT_FIELDS: &[&str] = &["given_name", "family_name", "health_card_id", "clinic_id", "deleted", "merged_into"];
/// What a kiosk may read of an appointment: enough to find today's and mark arrival.
pub const KIOSK_APPOINTMENT_FIELDS: &[&str] = &[
    "patient_id",
    "provider_id",
    "clinic_id",
    "date",
    "start_time",
    "duration_minutes",
    "time_zone",
    "status",
    "deleted",
];

/// Whether `role` may see `field` of `kind` (`None`: the whole record, e.g. a medical record).
pub fn may_read(role: Role, kind: EntityKind, field: Option<&str>) -> bool {
    use EntityKind::*;
    match (role, kind) {
        // Every device signs its staff in offline and verifies cards offline.
        (_, Staff | Card) => true,
        (Role::Clinician | Role::ClinicAdmin | Role::FieldWorker, _) => true,
        (Role::FrontDesk, Patient) => field.is_none_or(|f| !CLINICAL_PATIENT_FIELDS.contains(&f)),
        (Role::FrontDesk, Appointment) => field.is_none_or(|f| !CLINICAL_APPOINTMENT_FIELDS.contains(&f)),
        (Role::FrontDesk, Provider | Merge | Conflict) => true,
        (Role::FrontDesk, MedicalRecord) => false,
        (Role::Kiosk, Patient) => field.is_none_or(|f| KIOSK_PATIENT_FIELDS.contains(&f)),
        (Role::Kiosk, Appointment) => field.is_none_or(|f| KIOSK_APPOINTMENT_FIELDS.contains(&f)),
        (Role::Kiosk, Provider | Merge) => true,
        (Role::Kiosk, MedicalRecord | Conflict) => false,
    }
}

/// Whether `role` may write `field` of `kind` (`None`: creating or deleting the whole record).
/// Providers, conflicts and merges are written by the server only.
pub fn may_write(role: Role, kind: EntityKind, field: Option<&str>) -> bool {
    use EntityKind::*;
    match (role, kind) {
        (_, Provider | Conflict | Merge | Staff | Card) => false,
        (Role::Clinician | Role::ClinicAdmin | Role::FieldWorker, _) => true,
        (Role::FrontDesk, Patient | Appointment) => may_read(role, kind, field),
        (Role::FrontDesk, MedicalRecord) => false,
        // Arrival only: the status field of an existing appointment.
        (Role::Kiosk, Appointment) => field == Some("status"),
        (Role::Kiosk, _) => false,
    }
}

/// The part of `record` that `role` may hold, or `None` when nothing of it may be sent.
/// Field-level: LWW states lose their hidden fields; conflict notes about hidden fields are dropped.
pub fn project(role: Role, record: &ChangeRecord) -> Option<ChangeRecord> {
    if !may_read(role, record.entity, None) {
        return None;
    }
    let mut out = record.clone();
    if let Some(state) = out.state.as_mut() {
        state.0.retain(|field, _| may_read(role, record.entity, Some(field)));
    }
    if record.entity == EntityKind::Conflict {
        let note: Option<crate::ConflictNote> = record.doc.clone().and_then(|d| serde_json::from_value(d).ok());
        if let Some(note) = note {
            let visible = match &note.kind {
                ConflictKind::FieldOverwritten { field, .. } => may_read(role, note.entity, Some(field)),
                ConflictKind::ConcurrentAmendments { .. } => may_read(role, EntityKind::MedicalRecord, None),
                _ => may_read(role, note.entity, None),
            };
            if !visible {
                return None;
            }
        }
    }
    Some(out)
}

/// The first part of a write that `role` may not make: `Some(None)` for the record itself (a create,
/// a delete, a new medical record version), `Some(Some(field))` for a field.
pub fn first_forbidden<'a>(
    role: Role,
    kind: EntityKind,
    whole_record: bool,
    mut fields: impl Iterator<Item = &'a str>,
) -> Option<Option<&'a str>> {
    if whole_record && !may_write(role, kind, None) {
        return Some(None);
    }
    fields.find(|f| !may_write(role, kind, Some(f))).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_desk_never_sees_clinical_data() {
        assert!(!may_read(Role::FrontDesk, EntityKind::MedicalRecord, None));
        assert!(!may_read(Role::FrontDesk, EntityKind::Patient, Some("allergies")));
        assert!(may_read(Role::FrontDesk, EntityKind::Patient, Some("phone")));
        assert!(!may_write(Role::FrontDesk, EntityKind::Patient, Some("blood_type")));
        assert!(may_write(Role::FrontDesk, EntityKind::Appointment, None));
    }

    #[test]
    fn kiosk_marks_arrival_only() {
        assert!(may_write(Role::Kiosk, EntityKind::Appointment, Some("status")));
        assert!(!may_write(Role::Kiosk, EntityKind::Appointment, Some("date")));
        assert!(!may_write(Role::Kiosk, EntityKind::Appointment, None));
        assert!(!may_write(Role::Kiosk, EntityKind::Patient, None));
        assert!(!may_read(Role::Kiosk, EntityKind::Patient, Some("phone")));
        assert_eq!(
            first_forbidden(Role::Kiosk, EntityKind::Appointment, false, ["status"].into_iter()),
            None
        );
        assert_eq!(
            first_forbidden(Role::Kiosk, EntityKind::Appointment, true, ["status"].into_iter()),
            Some(None)
        );
    }

    #[test]
    fn nobody_writes_server_records() {
        for r in ALL_ROLES {
            for k in [
                EntityKind::Provider,
                EntityKind::Conflict,
                EntityKind::Merge,
                EntityKind::Staff,
                EntityKind::Card,
            ] {
                assert!(!may_write(*r, k, None));
            }
        }
    }

    #[test]
    fn projection_strips_hidden_fields() {
        let mut state = crate::LwwState::new();
        let hlc: crate::Hlc = "000000000000001-00000-d".parse().unwrap();
        for f in ["given_name", "allergies", "phone"] {
            state.0.insert(
                f.into(),
                crate::Stamped {
                    value: serde_json::json!("x"),
                    hlc: hlc.clone(),
                },
            );
        }
        let rec = ChangeRecord {
            entity: EntityKind::Patient,
            id: uuid::Uuid::nil(),
            state: Some(state),
            doc: None,
        };
        let fd = project(Role::FrontDesk, &rec).unwrap();
        assert!(fd.state.as_ref().unwrap().0.contains_key("phone"));
        assert!(!fd.state.as_ref().unwrap().0.contains_key("allergies"));
        let k = project(Role::Kiosk, &rec).unwrap();
        assert_eq!(k.state.unwrap().0.keys().collect::<Vec<_>>(), vec!["given_name"]);
    }
}
