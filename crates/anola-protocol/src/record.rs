//! Medical records: append-only. Each entry is an immutable version; an edit is an amendment, a
//! new version whose `amends` names the version it replaces. Sync never overwrites or deletes a
//! version, and two amendments of the same version both survive, flagged for the clinician.

use crate::error::FieldError;
use crate::validate::{err, Checker};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vitals {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systolic_mmhg: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diastolic_mmhg: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pulse_bpm: Option<u16>,
    /// Tenths of a degree Celsius (no floats in stored clinical values: FerretDB and JSON agree on integers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_dc: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respiratory_rate: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spo2_percent: Option<u8>,
    /// Grams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight_g: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height_mm: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diagnosis {
    /// e.g. an ICD-10 code such as `I10`.
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub kind: String,
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prescription {
    pub medication: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_days: Option<u16>,
}

/// Attachment metadata only; the file itself travels separately (later).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabResult {
    pub test: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_range: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
}

/// One immutable version of a medical record, as a device writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFields {
    /// The logical record this version belongs to (the first version's id for the original).
    /// Devices fill it in when writing; a form may leave it out.
    #[serde(default)]
    pub record_id: Uuid,
    /// The version this one amends; `None` for the original entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amends: Option<Uuid>,
    pub patient_id: Uuid,
    /// Filled in by the device from its configuration.
    #[serde(default)]
    pub clinic_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_id: Option<Uuid>,
    /// Who wrote it (staff name or id; accounts come later).
    pub author: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consultation_notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vitals: Option<Vitals>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<Diagnosis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<Order>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prescriptions: Vec<Prescription>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lab_results: Vec<LabResult>,
    /// The clinician shared this entry with the patient: it appears in the patient's portal.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shared_with_patient: bool,
}

impl RecordFields {
    /// `version_id` is the mutation's entity id: the id of this immutable version.
    pub fn validate(&self, version_id: Uuid) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut c = Checker { errors: &mut errors };
        c.text("clinic_id", &self.clinic_id, true);
        c.text("author", &self.author, true);
        match self.amends {
            None if self.record_id != version_id => c.errors.push(err(
                "record_id",
                "invalid_record_id",
                "an original entry's record_id must equal its own id",
            )),
            Some(a) if a == version_id => c.errors.push(err("amends", "invalid_amends", "a version cannot amend itself")),
            _ => {}
        }
        if let Some(n) = &self.consultation_notes {
            c.long_text("consultation_notes", n);
        }
        if let Some(p) = &self.plan {
            c.long_text("plan", p);
        }
        for (name, len) in [
            ("diagnoses", self.diagnoses.len()),
            ("orders", self.orders.len()),
            ("prescriptions", self.prescriptions.len()),
            ("lab_results", self.lab_results.len()),
        ] {
            if len > crate::validate::MAX_LIST {
                c.errors.push(err(
                    name,
                    "too_many",
                    format!("{name} must hold at most {} entries", crate::validate::MAX_LIST),
                ));
            }
        }
        // Every text a record carries has a limit, the same on the device and the server.
        for (i, d) in self.diagnoses.iter().enumerate() {
            c.text(&format!("diagnoses[{i}].code"), &d.code, true);
            c.opt_text(&format!("diagnoses[{i}].system"), &d.system);
            if let Some(text) = &d.description {
                c.long_text(&format!("diagnoses[{i}].description"), text);
            }
        }
        for (i, o) in self.orders.iter().enumerate() {
            c.text(&format!("orders[{i}].kind"), &o.kind, true);
            c.text(&format!("orders[{i}].description"), &o.description, true);
        }
        for (i, p) in self.prescriptions.iter().enumerate() {
            c.text(&format!("prescriptions[{i}].medication"), &p.medication, true);
            for (name, v) in [("dose", &p.dose), ("route", &p.route), ("frequency", &p.frequency)] {
                c.opt_text(&format!("prescriptions[{i}].{name}"), v);
            }
        }
        for (i, l) in self.lab_results.iter().enumerate() {
            c.text(&format!("lab_results[{i}].test"), &l.test, true);
            for (name, v) in [("value", &l.value), ("unit", &l.unit), ("reference_range", &l.reference_range)] {
                c.opt_text(&format!("lab_results[{i}].{name}"), v);
            }
            if let Some(a) = &l.attachment {
                c.text(&format!("lab_results[{i}].attachment.file_name"), &a.file_name, true);
                c.text(&format!("lab_results[{i}].attachment.content_type"), &a.content_type, true);
                c.opt_text(&format!("lab_results[{i}].attachment.sha256"), &a.sha256);
            }
        }
        let has_content = self.consultation_notes.is_some()
            || self.vitals.is_some()
            || !self.diagnoses.is_empty()
            || self.plan.is_some()
            || !self.orders.is_empty()
            || !self.prescriptions.is_empty()
            || !self.lab_results.is_empty();
        if !has_content {
            errors.push(err(
                "fields",
                "empty",
                "a record needs notes, vitals, diagnoses, a plan, orders, prescriptions or lab results",
            ));
        }
        errors
    }
}

/// A stored version, as devices receive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MedicalRecordVersion {
    pub id: Uuid,
    #[serde(flatten)]
    pub fields: RecordFields,
    /// HLC of the write, for ordering versions in the UI.
    pub hlc: crate::Hlc,
    pub device_id: String,
}
