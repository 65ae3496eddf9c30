//! Appointments: fields, lifecycle and the slot rule.
//!
//! Fields merge per-field last-writer-wins like patients. On top of that, a provider's time is a
//! resource: an appointment in a slot-holding status occupies 15-minute blocks of its provider's
//! day, and the server lets exactly one appointment hold each block (`slot_blocks`).

use crate::error::FieldError;
use crate::validate::{err, parse_date, parse_time, Checker};
use crate::wire::Op;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Granularity of the slot rule: two appointments of one provider conflict when they share a block.
pub const SLOT_BLOCK_MINUTES: u32 = 15;
pub const MAX_DURATION_MINUTES: u32 = 480;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    Scheduled,
    Confirmed,
    CheckedIn,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
    Rescheduled,
    /// Set by the server: another appointment already holds the slot; staff must pick a new time.
    ConflictNeedsRescheduling,
}

impl AppointmentStatus {
    /// Whether an appointment in this status occupies its provider's time.
    pub fn holds_slot(self) -> bool {
        matches!(
            self,
            AppointmentStatus::Scheduled | AppointmentStatus::Confirmed | AppointmentStatus::CheckedIn | AppointmentStatus::InProgress
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentType {
    Consultation,
    FollowUp,
    Emergency,
    RoutineCheckup,
    Vaccination,
    LabTest,
    Procedure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ConsultationMode {
    InPerson,
    Video,
    Phone,
    HomeVisit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
    Emergency,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cancellation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    /// RFC 3339
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rescheduling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why the server moved an appointment to `conflict_needs_rescheduling`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotConflict {
    pub reason: String,
    /// The appointment that holds the slot.
    pub held_by: Uuid,
}

macro_rules! appointment_fields {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        /// A partial set of appointment fields, as carried by one mutation.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct AppointmentFields {
            $( $(#[$doc])*
            #[serde(default, deserialize_with = "crate::fields::present", skip_serializing_if = "Option::is_none")]
            pub $name: Option<Option<$ty>>, )*
        }

        /// An appointment as a device shows it.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Appointment {
            pub id: Uuid,
            $( $(#[$doc])* #[serde(default)] pub $name: Option<$ty>, )*
            #[serde(default)]
            pub pending: bool,
        }

        pub const APPOINTMENT_FIELD_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

appointment_fields! {
    patient_id: Uuid,
    provider_id: Uuid,
    clinic_id: String,
    appointment_type: AppointmentType,
    mode: ConsultationMode,
    reason: String,
    symptoms: Vec<String>,
    urgency: Urgency,
    /// `YYYY-MM-DD`, in the appointment's time zone.
    date: String,
    /// `HH:MM`, in the appointment's time zone.
    start_time: String,
    duration_minutes: u32,
    /// IANA time zone name, e.g. `Africa/Nairobi`.
    time_zone: String,
    status: AppointmentStatus,
    cancellation: Cancellation,
    rescheduling: Rescheduling,
    /// Set by the server only.
    conflict: SlotConflict,
    deleted: bool,
}

pub const REQUIRED_ON_BOOKING: &[&str] = &[
    "patient_id",
    "provider_id",
    "clinic_id",
    "date",
    "start_time",
    "duration_minutes",
    "status",
];

impl AppointmentFields {
    pub fn validate(&self, op: Op) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut c = Checker { errors: &mut errors };
        if op == Op::Create {
            let present = serde_json::to_value(self).unwrap_or_default();
            for name in REQUIRED_ON_BOOKING {
                if present.get(name).is_none_or(|v| v.is_null()) {
                    c.errors.push(err(name, "required", format!("{name} is required")));
                }
            }
        } else {
            for (name, set) in [("patient_id", self.patient_id.is_some()), ("clinic_id", self.clinic_id.is_some())] {
                if set {
                    c.errors
                        .push(err(name, "immutable", format!("{name} is set when booking and cannot change")));
                }
            }
            for (name, cleared) in [
                ("provider_id", matches!(self.provider_id, Some(None))),
                ("date", matches!(self.date, Some(None))),
                ("start_time", matches!(self.start_time, Some(None))),
                ("duration_minutes", matches!(self.duration_minutes, Some(None))),
                ("status", matches!(self.status, Some(None))),
            ] {
                if cleared {
                    c.errors.push(err(name, "required", format!("{name} cannot be cleared")));
                }
            }
        }
        if let Some(Some(v)) = &self.clinic_id {
            c.text("clinic_id", v, true);
        }
        if let Some(Some(v)) = &self.reason {
            c.text("reason", v, false);
        }
        if let Some(Some(list)) = &self.symptoms {
            c.list_len("symptoms", list);
            for (i, s) in list.iter().enumerate() {
                c.text(&format!("symptoms[{i}]"), s, true);
            }
        }
        if let Some(Some(v)) = &self.date {
            c.any_date("date", v);
        }
        if let Some(Some(v)) = &self.start_time {
            c.time_of_day("start_time", v);
        }
        if let Some(Some(d)) = self.duration_minutes {
            if d == 0 || d > MAX_DURATION_MINUTES {
                c.errors.push(err(
                    "duration_minutes",
                    "out_of_range",
                    format!("duration_minutes must be 1 to {MAX_DURATION_MINUTES}"),
                ));
            }
        }
        if let (Some(Some(t)), Some(Some(d))) = (&self.start_time, self.duration_minutes) {
            if parse_time(t).is_some_and(|start| start + d > 24 * 60) {
                c.errors.push(err(
                    "duration_minutes",
                    "past_midnight",
                    "an appointment must end by midnight of its day",
                ));
            }
        }
        if let Some(Some(tz)) = &self.time_zone {
            let ok = !tz.is_empty() && tz.len() <= 64 && tz.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+-".contains(&b));
            if !ok {
                c.errors.push(err(
                    "time_zone",
                    "invalid_time_zone",
                    "time_zone must be an IANA name such as Africa/Nairobi",
                ));
            }
        }
        if self.status == Some(Some(AppointmentStatus::ConflictNeedsRescheduling)) {
            c.errors
                .push(err("status", "server_only", "conflict_needs_rescheduling is set by the server"));
        }
        for (name, set) in [("conflict", self.conflict.is_some()), ("deleted", self.deleted.is_some())] {
            if set {
                c.errors
                    .push(err(name, "server_only", format!("{name} cannot be written by a device")));
            }
        }
        if let Some(Some(x)) = &self.cancellation {
            c.opt_text("cancellation.reason", &x.reason);
            c.opt_text("cancellation.cancelled_by", &x.cancelled_by);
        }
        if let Some(Some(x)) = &self.rescheduling {
            c.opt_text("rescheduling.reason", &x.reason);
            if let Some(d) = &x.previous_date {
                c.any_date("rescheduling.previous_date", d);
            }
            if let Some(t) = &x.previous_start_time {
                c.time_of_day("rescheduling.previous_start_time", t);
            }
        }
        if op == Op::Delete {
            if self != &AppointmentFields::default() {
                errors.push(err("fields", "not_allowed", "a delete must not carry fields"));
            }
        } else if self == &AppointmentFields::default() {
            errors.push(err("fields", "empty", "a mutation must change at least one field"));
        }
        errors
    }
}

/// The blocks `provider:date:HH:MM` an appointment occupies, or none if its status does not hold a
/// slot or it lacks a time. Each block is a unique key on the server: one holder per block.
pub fn slot_blocks(a: &Appointment) -> Vec<String> {
    let (Some(provider), Some(date), Some(start), Some(duration), Some(status)) =
        (a.provider_id, &a.date, &a.start_time, a.duration_minutes, a.status)
    else {
        return Vec::new();
    };
    if !status.holds_slot() || a.deleted == Some(true) || parse_date(date).is_none() {
        return Vec::new();
    }
    let Some(start) = parse_time(start) else { return Vec::new() };
    let end = (start + duration.max(1)).min(24 * 60);
    let first = start - start % SLOT_BLOCK_MINUTES;
    (first..end)
        .step_by(SLOT_BLOCK_MINUTES as usize)
        .map(|m| format!("{provider}:{date}:{:02}:{:02}", m / 60, m % 60))
        .collect()
}

impl Appointment {
    pub fn from_state(id: Uuid, state: &crate::LwwState, pending: bool) -> Appointment {
        crate::fields::read_entity(id, state, pending, APPOINTMENT_FIELD_NAMES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appt(start: &str, duration: u32, status: AppointmentStatus) -> Appointment {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::nil(), "provider_id": Uuid::from_u128(7), "date": "2026-12-01",
            "start_time": start, "duration_minutes": duration, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn overlapping_appointments_share_a_block() {
        let a = slot_blocks(&appt("10:00", 30, AppointmentStatus::Scheduled));
        let b = slot_blocks(&appt("10:20", 15, AppointmentStatus::Confirmed));
        assert_eq!(a.len(), 2);
        assert!(b.iter().any(|x| a.contains(x)));
        let c = slot_blocks(&appt("10:30", 15, AppointmentStatus::Scheduled));
        assert!(!c.iter().any(|x| a.contains(x)));
    }

    #[test]
    fn cancelled_appointments_hold_nothing() {
        assert!(slot_blocks(&appt("10:00", 30, AppointmentStatus::Cancelled)).is_empty());
        assert!(slot_blocks(&appt("10:00", 30, AppointmentStatus::ConflictNeedsRescheduling)).is_empty());
    }

    #[test]
    fn booking_needs_the_slot_fields() {
        let f: AppointmentFields = serde_json::from_value(serde_json::json!({"reason": "cough"})).unwrap();
        let errs = f.validate(Op::Create);
        for name in REQUIRED_ON_BOOKING {
            assert!(errs.iter().any(|e| e.field == *name), "{name}");
        }
        let f: AppointmentFields = serde_json::from_value(serde_json::json!({"status": "conflict_needs_rescheduling"})).unwrap();
        assert_eq!(f.validate(Op::Update)[0].code, "server_only");
    }
}
