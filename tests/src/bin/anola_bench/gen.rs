//! Deterministic, realistic-looking clinic data as protocol mutations.
//!
//! Every patient has a distinct phone and national id (so duplicate detection finds nothing), and
//! every appointment a distinct provider/date/15-minute block (so no slot conflicts): the seeding
//! numbers are the plain path of each entity, not its conflict handling.

use anola_protocol::wire::{EntityKind, Op};
use anola_protocol::{Hlc, Mutation};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

const GIVEN: &[&str] = &[
    "Amina", "Baraka", "Chiamaka", "Daudi", "Esi", "Faith", "Gideon", "Halima", "Imani", "Jabari", "Kesi", "Lulu", "Makena", "Njeri",
    "Omari", "Pendo", "Rehema", "Sefu", "Tumaini", "Wanjiru", "Zawadi", "Kofi", "Ama", "Yaw",
];
const FAMILY: &[&str] = &[
    "Okafor", "Mwangi", "Otieno", "Achieng", "Kamau", "Mensah", "Boateng", "Njoroge", "Wanjala", "Odhiambo", "Kiprop", "Chebet",
    "Nyambura", "Adeyemi", "Owusu", "Asante", "Mutua", "Korir", "Wekesa", "Onyango",
];
const CITIES: &[&str] = &["Nairobi", "Kisumu", "Mombasa", "Nakuru", "Eldoret", "Thika", "Machakos", "Nyeri"];
const REASONS: &[&str] = &[
    "Follow-up of blood pressure",
    "Persistent cough for two weeks",
    "Antenatal visit",
    "Diabetes review and HbA1c",
    "Child immunisation",
    "Knee pain after a fall",
    "Headache and fever",
    "Medication refill",
];
const NOTES: &[&str] = &[
    "Patient reports intermittent headaches for three weeks, worse in the evening. No visual disturbance. BP elevated on two readings; advised lifestyle changes and review in two weeks.",
    "Dry cough for twelve days with low-grade fever at night. Chest clear on auscultation, no weight loss. Sputum sample requested; symptomatic treatment and return if worse.",
    "Routine antenatal visit at 28 weeks. Fetal movements felt, fundal height appropriate. Haemoglobin reviewed, iron and folate continued. Next visit in four weeks.",
    "Known type 2 diabetic on metformin. Fasting glucose 8.4 mmol/L, feet examined with no ulcers. Adherence discussed; dose unchanged, HbA1c to be repeated in three months.",
    "Twisted left knee while farming two days ago. Mild swelling, full weight bearing, no joint line tenderness. Rest, ice and analgesia; physiotherapy if not improving.",
    "Child brought for fever and reduced feeding since yesterday. Alert, mild dehydration, malaria rapid test negative. Oral rehydration started and caregiver counselled.",
];
const CODES: &[(&str, &str)] = &[
    ("I10", "Essential hypertension"),
    ("J20.9", "Acute bronchitis"),
    ("Z34.9", "Supervision of normal pregnancy"),
    ("E11.9", "Type 2 diabetes mellitus"),
    ("S83.6", "Sprain of knee"),
    ("R50.9", "Fever, unspecified"),
];
const TYPES: &[&str] = &["consultation", "follow_up", "routine_checkup", "vaccination", "lab_test"];

/// Providers and the 15-minute blocks of a day the generator books (09:00 to 16:45).
pub const PROVIDERS: usize = 200;
pub const BLOCKS_PER_DAY: usize = 32;

/// Stamps: wall time from `base_ms`, the counter carries the mutation's index, so every stamp is
/// distinct and a run's stamps increase with the index.
pub fn hlc(base_ms: u64, index: u64, node: &str) -> Hlc {
    Hlc::new(base_ms + index / 100_000, (index % 100_000) as u32, node)
}

pub struct Generator {
    pub clinic: String,
    pub base_ms: u64,
    pub patient_ids: Vec<Uuid>,
    pub providers: Vec<Uuid>,
    first_day: time::Date,
}

fn mutation(entity: EntityKind, entity_id: Uuid, hlc: Hlc, fields: Value) -> Mutation {
    Mutation {
        id: Uuid::now_v7(),
        entity,
        entity_id,
        op: Op::Create,
        hlc,
        fields,
        base: BTreeMap::new(),
        author: None,
        signature: None,
    }
}

impl Generator {
    pub fn new(clinic: &str, patients: usize) -> Generator {
        let base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Generator {
            clinic: clinic.to_owned(),
            base_ms,
            patient_ids: (0..patients).map(|_| Uuid::now_v7()).collect(),
            providers: (0..PROVIDERS).map(|_| Uuid::new_v4()).collect(),
            first_day: time::macros::date!(2026 - 01 - 05),
        }
    }

    /// Patient fields for index `i` (distinct phone and national id per index).
    pub fn patient_fields(&self, i: usize) -> Value {
        json!({
            "given_name": GIVEN[i % GIVEN.len()],
            "family_name": FAMILY[(i / GIVEN.len()) % FAMILY.len()],
            "date_of_birth": format!("{:04}-{:02}-{:02}", 1940 + i % 80, 1 + (i / 80) % 12, 1 + (i / 960) % 28),
            "gender": if i.is_multiple_of(2) { "female" } else { "male" },
            "phone": format!("+2547{:08}", i % 100_000_000),
            "national_id": format!("NID{:09}", i),
            "address": {"city": CITIES[i % CITIES.len()], "country": "Kenya"},
            "clinic_id": self.clinic,
        })
    }

    /// The create of seeded patient `i`.
    pub fn patient(&self, i: usize) -> Mutation {
        mutation(
            EntityKind::Patient,
            self.patient_ids[i],
            hlc(self.base_ms, i as u64, "bench"),
            self.patient_fields(i),
        )
    }

    /// A new patient registered by another device (`node`), numbered apart from the seeded ones.
    pub fn extra_patient(&self, i: usize, node: &str) -> Mutation {
        let index = 50_000_000 + i;
        mutation(
            EntityKind::Patient,
            Uuid::now_v7(),
            hlc(self.base_ms + 60_000, i as u64, node),
            self.patient_fields(index),
        )
    }

    /// An edit of seeded patient `k`: a new email (not an identity key), stamped after the seed.
    pub fn patient_update(&self, k: usize, i: usize, node: &str) -> Mutation {
        Mutation {
            id: Uuid::now_v7(),
            entity: EntityKind::Patient,
            entity_id: self.patient_ids[k],
            op: Op::Update,
            hlc: hlc(self.base_ms + 120_000, i as u64, node),
            fields: json!({"email": format!("patient{k}@example.org")}),
            base: BTreeMap::new(),
            author: None,
            signature: None,
        }
    }

    /// The booking of appointment `a`: provider, day and block are all derived from `a`, so no
    /// two bookings share a block.
    pub fn appointment(&self, a: usize, stamp_index: u64) -> Mutation {
        let block = a % BLOCKS_PER_DAY;
        let provider = (a / BLOCKS_PER_DAY) % PROVIDERS;
        let day = a / (BLOCKS_PER_DAY * PROVIDERS);
        let date = self.first_day + time::Duration::days(day as i64);
        let minutes = 9 * 60 + 15 * block;
        let patient = self.patient_ids[(a * 7919) % self.patient_ids.len()];
        mutation(
            EntityKind::Appointment,
            Uuid::now_v7(),
            hlc(self.base_ms, stamp_index, "bench"),
            json!({
                "patient_id": patient,
                "provider_id": self.providers[provider],
                "clinic_id": self.clinic,
                "date": format!("{:04}-{:02}-{:02}", date.year(), date.month() as u8, date.day()),
                "start_time": format!("{:02}:{:02}", minutes / 60, minutes % 60),
                "duration_minutes": 15,
                "status": "scheduled",
                "appointment_type": TYPES[a % TYPES.len()],
                "mode": "in_person",
                "reason": REASONS[a % REASONS.len()],
            }),
        )
    }

    /// An original medical record version (`record_id` = its own id) with notes (~200 characters),
    /// vitals and one diagnosis.
    pub fn record(&self, r: usize, stamp_index: u64) -> Mutation {
        let id = Uuid::now_v7();
        let patient = self.patient_ids[(r * 104_729) % self.patient_ids.len()];
        let (code, description) = CODES[r % CODES.len()];
        mutation(
            EntityKind::MedicalRecord,
            id,
            hlc(self.base_ms, stamp_index, "bench"),
            json!({
                "record_id": id,
                "patient_id": patient,
                "clinic_id": self.clinic,
                "provider_id": self.providers[r % PROVIDERS],
                "author": format!("Dr. {} {}", GIVEN[r % GIVEN.len()], FAMILY[(r / 3) % FAMILY.len()]),
                "consultation_notes": NOTES[r % NOTES.len()],
                "vitals": {
                    "systolic_mmhg": 105 + (r % 50) as u16,
                    "diastolic_mmhg": 65 + (r % 30) as u16,
                    "pulse_bpm": 58 + (r % 45) as u16,
                    "temperature_dc": 362 + (r % 20) as u16,
                    "spo2_percent": 94 + (r % 6) as u8,
                    "weight_g": 45_000 + (r % 50) as u32 * 1_000,
                },
                "diagnoses": [{"code": code, "system": "ICD-10", "description": description}],
            }),
        )
    }
}
