//! The simulation's random clinic work, shared by the simulation test and the device process it
//! kills (`anola-sim-device`): a seedable generator and one random local action.

use anola_client::Clinic;
use anola_protocol::{AppointmentFields, PatientFields, RecordFields};
use serde_json::json;

/// xorshift64*: small, seedable, and the same everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.below(v.len())])
        }
    }
}

pub const PROVIDERS: [&str; 3] = [
    "aaaaaaaa-0000-4000-8000-000000000001",
    "aaaaaaaa-0000-4000-8000-000000000002",
    "aaaaaaaa-0000-4000-8000-000000000003",
];

fn patient_fields(v: serde_json::Value) -> PatientFields {
    serde_json::from_value(v).expect("valid patient fields")
}

fn appointment_fields(v: serde_json::Value) -> AppointmentFields {
    serde_json::from_value(v).expect("valid appointment fields")
}

fn record_fields(v: serde_json::Value) -> RecordFields {
    serde_json::from_value(v).expect("valid record fields")
}

/// One random local action; returns whether it wrote (one mutation).
pub fn act(rng: &mut Rng, c: &Clinic, step: usize) -> bool {
    let patients = c.list_patients("", 1000).unwrap_or_default();
    let roll = rng.below(100);
    let r = match roll {
        0..=17 => c
            .register_patient(patient_fields(json!({
                "given_name": format!("G{step}"), "family_name": (["Okafor", "Otieno", "Kamau", "Said"][rng.below(4)]),
                "date_of_birth": format!("19{:02}-0{}-1{}", 50 + rng.below(49), 1 + rng.below(9), rng.below(10)),
                "phone": format!("07{:08}", rng.below(100_000_000)),
            })))
            .map(|_| ()),
        18..=37 => match rng.pick(&patients) {
            Some(p) => {
                let f = match rng.below(3) {
                    0 => json!({"phone": format!("07{:08}", rng.below(100_000_000))}),
                    1 => json!({"email": format!("p{step}@example.org")}),
                    _ => json!({"given_name": format!("Renamed{step}")}),
                };
                c.update_patient(p.id, patient_fields(f)).map(|_| ())
            }
            None => return false,
        },
        38..=39 => match rng.pick(&patients) {
            Some(p) => c.delete_patient(p.id).map(|_| ()),
            None => return false,
        },
        40..=57 => match rng.pick(&patients) {
            Some(p) => c
                .book_appointment(appointment_fields(json!({
                    "patient_id": p.id, "provider_id": PROVIDERS[rng.below(3)], "date": format!("2026-12-0{}", 1 + rng.below(2)),
                    "start_time": format!("{:02}:{:02}", 9 + rng.below(2), 15 * rng.below(4)), "duration_minutes": ([15, 30][rng.below(2)]),
                    "status": "scheduled",
                })))
                .map(|_| ()),
            None => return false,
        },
        58..=69 => {
            let appts = c.list_appointments(None, None).unwrap_or_default();
            match rng.pick(&appts) {
                Some(a) => {
                    let f = match rng.below(4) {
                        0 => json!({"status": "confirmed"}),
                        1 => json!({"status": "cancelled", "cancellation": {"reason": "sim"}}),
                        2 => json!({"status": "completed"}),
                        _ => {
                            json!({"status": "scheduled", "date": "2026-12-03", "start_time": format!("{:02}:{:02}", 9 + rng.below(2), 15 * rng.below(4))})
                        }
                    };
                    c.update_appointment(a.id, appointment_fields(f)).map(|_| ())
                }
                None => return false,
            }
        }
        70..=84 => match rng.pick(&patients) {
            Some(p) => c
                .add_record(record_fields(
                    json!({"patient_id": p.id, "author": "sim", "consultation_notes": format!("visit {step}")}),
                ))
                .map(|_| ()),
            None => return false,
        },
        _ => {
            let Some(p) = rng.pick(&patients) else { return false };
            let versions = c.list_records(p.id).unwrap_or_default();
            match rng.pick(&versions) {
                Some(v) => c
                    .amend_record(
                        v.version.id,
                        record_fields(json!({"patient_id": p.id, "author": "sim", "consultation_notes": format!("amended {step}")})),
                    )
                    .map(|_| ()),
                None => return false,
            }
        }
    };
    r.is_ok()
}
