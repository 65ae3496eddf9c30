//! Patients: the clinic-relevant fields of the platform's patient model, and their validation.
//!
//! A mutation carries a partial set of fields (`PatientFields`); a field present with `null` clears
//! it. Validation lives here so the device refuses a bad registration before it is queued, and the
//! server refuses the same input with the same code and field name.

use crate::error::FieldError;
use crate::lww::LwwState;
use crate::validate::{err, Checker};
use crate::wire::Op;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
    Other,
    PreferNotToSay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BloodType {
    #[serde(rename = "A+")]
    APos,
    #[serde(rename = "A-")]
    ANeg,
    #[serde(rename = "B+")]
    BPos,
    #[serde(rename = "B-")]
    BNeg,
    #[serde(rename = "AB+")]
    AbPos,
    #[serde(rename = "AB-")]
    AbNeg,
    #[serde(rename = "O+")]
    OPos,
    #[serde(rename = "O-")]
    ONeg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AllergySeverity {
    Mild,
    Moderate,
    Severe,
    LifeThreatening,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConditionStatus {
    Active,
    Managed,
    Resolved,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip_code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyContact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relationship: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allergy {
    pub allergen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<AllergySeverity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChronicCondition {
    pub condition: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ConditionStatus>,
    /// `YYYY-MM-DD`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnosed_date: Option<String>,
}

macro_rules! patient_fields {
    ($( $(#[$doc:meta])* $name:ident : $ty:ty ),* $(,)?) => {
        /// A partial set of patient fields, as carried by one mutation.
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct PatientFields {
            $( $(#[$doc])*
            #[serde(default, deserialize_with = "crate::fields::present", skip_serializing_if = "Option::is_none")]
            pub $name: Option<Option<$ty>>, )*
        }

        /// A patient as a device shows it: the merged state of every write.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        pub struct Patient {
            pub id: Uuid,
            $( $(#[$doc])* #[serde(default)] pub $name: Option<$ty>, )*
            /// True while this device holds changes to the patient that the server has not acknowledged.
            #[serde(default)]
            pub pending: bool,
        }

        /// Every field name a patient mutation may carry, in declaration order.
        pub const PATIENT_FIELD_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

patient_fields! {
    given_name: String,
    family_name: String,
    middle_name: String,
    /// `YYYY-MM-DD`
    date_of_birth: String,
    gender: Gender,
    phone: String,
    email: String,
    national_id: String,
    address: Address,
    /// The health card id in the platform's `AH-...` format.
    health_card_id: String,
    emergency_contact: EmergencyContact,
    blood_type: BloodType,
    allergies: Vec<Allergy>,
    chronic_conditions: Vec<ChronicCondition>,
    /// The clinic whose devices hold this patient; set at registration, never changed.
    clinic_id: String,
    /// The community field worker this patient is assigned to, if any.
    field_worker_id: String,
    /// Tombstone: set by a delete, never by a field edit.
    deleted: bool,
    /// Set by the server when staff merged this registration into another patient.
    merged_into: Uuid,
}

pub const REQUIRED_ON_CREATE: &[&str] = &["given_name", "family_name", "date_of_birth"];

static HEALTH_CARD_HINT: &str = "health_card_id must look like AH-XXXX-XXXX (letters, digits and dashes after AH-)";

impl PatientFields {
    /// Checks every field against the rules; `today` bounds dates of birth. Returns all problems, not
    /// just the first, so a form can mark every bad field at once.
    pub fn validate(&self, op: Op, today: Date) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let mut c = Checker { errors: &mut errors };
        let required = |name: &str| REQUIRED_ON_CREATE.contains(&name);
        // Required fields can never be cleared; on create they must be present.
        for (name, present, cleared) in [
            ("given_name", self.given_name.is_some(), matches!(self.given_name, Some(None))),
            ("family_name", self.family_name.is_some(), matches!(self.family_name, Some(None))),
            (
                "date_of_birth",
                self.date_of_birth.is_some(),
                matches!(self.date_of_birth, Some(None)),
            ),
        ] {
            if cleared || (op == Op::Create && !present) {
                c.errors.push(err(name, "required", format!("{name} is required")));
            }
        }
        if let Some(Some(v)) = &self.given_name {
            c.text("given_name", v, required("given_name"));
        }
        if let Some(Some(v)) = &self.family_name {
            c.text("family_name", v, required("family_name"));
        }
        if let Some(Some(v)) = &self.middle_name {
            c.text("middle_name", v, false);
        }
        if let Some(Some(v)) = &self.date_of_birth {
            c.date("date_of_birth", v, today);
        }
        if let Some(Some(v)) = &self.phone {
            c.phone("phone", v);
        }
        if let Some(Some(v)) = &self.email {
            c.email("email", v);
        }
        if let Some(Some(v)) = &self.national_id {
            c.text("national_id", v, false);
        }
        if let Some(Some(v)) = &self.health_card_id {
            let ok = v.len() <= 40 && v.starts_with("AH-") && v.len() > 3 && v[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                c.errors.push(err("health_card_id", "invalid_health_card_id", HEALTH_CARD_HINT));
            }
        }
        if let Some(Some(a)) = &self.address {
            c.opt_text("address.street", &a.street);
            c.opt_text("address.city", &a.city);
            c.opt_text("address.state", &a.state);
            c.opt_text("address.country", &a.country);
            c.opt_text("address.zip_code", &a.zip_code);
        }
        if let Some(Some(e)) = &self.emergency_contact {
            c.opt_text("emergency_contact.name", &e.name);
            c.opt_text("emergency_contact.relationship", &e.relationship);
            if let Some(p) = &e.phone {
                c.phone("emergency_contact.phone", p);
            }
        }
        if let Some(Some(list)) = &self.allergies {
            c.list_len("allergies", list);
            for (i, a) in list.iter().enumerate() {
                c.text(&format!("allergies[{i}].allergen"), &a.allergen, true);
                c.opt_text(&format!("allergies[{i}].notes"), &a.notes);
            }
        }
        if let Some(Some(list)) = &self.chronic_conditions {
            c.list_len("chronic_conditions", list);
            for (i, cc) in list.iter().enumerate() {
                c.text(&format!("chronic_conditions[{i}].condition"), &cc.condition, true);
                if let Some(d) = &cc.diagnosed_date {
                    c.date(&format!("chronic_conditions[{i}].diagnosed_date"), d, today);
                }
            }
        }
        if let Some(v) = &self.clinic_id {
            match (op, v) {
                (Op::Create, Some(v)) => c.text("clinic_id", v, true),
                (Op::Create, None) => c.errors.push(err("clinic_id", "required", "clinic_id is required")),
                _ => c
                    .errors
                    .push(err("clinic_id", "immutable", "clinic_id is set at registration and cannot change")),
            }
        } else if op == Op::Create {
            c.errors.push(err("clinic_id", "required", "clinic_id is required"));
        }
        if let Some(Some(v)) = &self.field_worker_id {
            c.text("field_worker_id", v, false);
        }
        for (name, present) in [("deleted", self.deleted.is_some()), ("merged_into", self.merged_into.is_some())] {
            if present {
                c.errors.push(err(
                    name,
                    "server_only",
                    format!("{name} cannot be written by a device (use a delete, or a staff merge)"),
                ));
            }
        }
        if op == Op::Delete {
            // A delete carries no fields: its whole effect is the tombstone.
            if self != &PatientFields::default() {
                errors.push(err("fields", "not_allowed", "a delete must not carry fields"));
            }
            return errors;
        }
        if self == &PatientFields::default() {
            errors.push(err("fields", "empty", "a mutation must change at least one field"));
        }
        errors
    }

    /// The fields as a JSON object (only those present; cleared ones as `null`).
    pub fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

impl Patient {
    /// Reads a patient out of a merged state. Fields whose stored value no longer fits the type
    /// (written by a newer version of the app) are left empty rather than failing the whole record.
    pub fn from_state(id: Uuid, state: &LwwState, pending: bool) -> Patient {
        crate::fields::read_entity(id, state, pending, PATIENT_FIELD_NAMES)
    }

    /// "Family, Given Middle" for lists.
    pub fn display_name(&self) -> String {
        let given = [self.given_name.as_deref(), self.middle_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        format!("{}, {}", self.family_name.as_deref().unwrap_or("?"), given)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const TODAY: Date = date!(2026 - 11 - 23);

    fn create(mut json: serde_json::Value) -> Vec<FieldError> {
        json["clinic_id"] = serde_json::json!("c1");
        let f: PatientFields = serde_json::from_value(json).unwrap();
        f.validate(Op::Create, TODAY)
    }

    #[test]
    fn minimal_registration_is_valid() {
        assert!(create(serde_json::json!({"given_name": "Amina", "family_name": "Okafor", "date_of_birth": "1988-04-12"})).is_empty());
    }

    #[test]
    fn each_error_names_its_field() {
        let errs = create(serde_json::json!({
            "given_name": " ", "date_of_birth": "2030-01-01", "phone": "12ab", "email": "nope",
            "health_card_id": "XY-1", "allergies": [{"allergen": ""}]
        }));
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "given_name",
            "family_name",
            "date_of_birth",
            "phone",
            "email",
            "health_card_id",
            "allergies[0].allergen",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
    }

    #[test]
    fn absent_null_and_value_are_distinct() {
        let f: PatientFields = serde_json::from_value(serde_json::json!({"phone": null, "email": "a@b.co"})).unwrap();
        assert_eq!(f.phone, Some(None));
        assert_eq!(f.email, Some(Some("a@b.co".into())));
        assert_eq!(f.gender, None);
        let m = f.to_map();
        assert_eq!(m.len(), 2);
        assert!(m["phone"].is_null());
    }

    #[test]
    fn required_fields_cannot_be_cleared() {
        let f: PatientFields = serde_json::from_value(serde_json::json!({"family_name": null})).unwrap();
        let errs = f.validate(Op::Update, TODAY);
        assert_eq!(errs[0].code, "required");
    }

    #[test]
    fn unknown_fields_and_wrong_types_fail_to_parse() {
        assert!(serde_json::from_value::<PatientFields>(serde_json::json!({"shoe_size": 4})).is_err());
        assert!(serde_json::from_value::<PatientFields>(serde_json::json!({"given_name": 4})).is_err());
        assert!(serde_json::from_value::<PatientFields>(serde_json::json!({"blood_type": "C+"})).is_err());
    }

    #[test]
    fn patient_from_state_survives_foreign_values() {
        let hlc = crate::Hlc::new(1, 0, "n");
        let mut fields = serde_json::Map::new();
        fields.insert("given_name".into(), serde_json::json!("Amina"));
        fields.insert("gender".into(), serde_json::json!("martian"));
        let state = LwwState::from_fields(&fields, &hlc);
        let p = Patient::from_state(Uuid::nil(), &state, false);
        assert_eq!(p.given_name.as_deref(), Some("Amina"));
        assert_eq!(p.gender, None);
    }
}
