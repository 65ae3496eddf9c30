//! Model-based property test of the device store: several real SQLite replicas exchange changes
//! through a simulated server (the same merge and exactly-once rules as the real one) while
//! responses are dropped and duplicated. After a final sync every replica shows exactly the
//! server's state, nothing is pending, and no device ever sent again a mutation whose answer it
//! had received (the server's gate would have to catch each such resend; a device that does it
//! relies on the gate to avoid applying a write twice).

use anola_client::store::LocalStore;
use anola_protocol::plan::outbox_actions;
use anola_protocol::{ChangeRecord, Cursor, EntityKind, LwwState, MutationResult, MutationStatus, Patient, PatientFields, MAX_PUSH_BATCH};
use proptest::prelude::*;
use std::collections::{BTreeMap, HashSet};
use uuid::Uuid;

#[derive(Default)]
struct Server {
    states: BTreeMap<Uuid, LwwState>,
    log: Vec<ChangeRecord>,
    applied: HashSet<Uuid>,
    /// Mutations whose answer reached their device.
    answered: HashSet<Uuid>,
    /// Mutations sent again after their answer reached the device (must stay 0).
    resent_after_answer: Vec<Uuid>,
}

impl Server {
    fn push(&mut self, store: &LocalStore) -> Vec<(Uuid, MutationResult)> {
        let batch = store.pending_batch(MAX_PUSH_BATCH).unwrap();
        batch
            .into_iter()
            .map(|e| {
                let m = e.mutation;
                if self.answered.contains(&m.id) {
                    self.resent_after_answer.push(m.id);
                }
                let status = if self.applied.insert(m.id) {
                    let s = self.states.entry(m.entity_id).or_default();
                    s.merge(&m.state());
                    self.log.push(ChangeRecord {
                        entity: EntityKind::Patient,
                        id: m.entity_id,
                        state: Some(s.clone()),
                        doc: None,
                    });
                    MutationStatus::Applied
                } else {
                    MutationStatus::AlreadyApplied
                };
                (
                    m.id,
                    MutationResult {
                        mutation_id: m.id,
                        status,
                        code: None,
                        message: None,
                    },
                )
            })
            .collect()
    }

    fn pull(&self, store: &mut LocalStore, page: usize) {
        loop {
            let from = store.pull_cursor().unwrap().map(|c| Cursor::decode(&c).unwrap().seq).unwrap_or(0) as usize;
            let to = (from + page).min(self.log.len());
            store
                .apply_pull_page(&self.log[from..to], &Cursor::at(to as u64).encode(), false)
                .unwrap();
            if to == self.log.len() {
                return;
            }
        }
    }
}

fn deliver(server: &mut Server, store: &mut LocalStore, answers: &[(Uuid, MutationResult)]) {
    let ids: Vec<Uuid> = answers.iter().map(|(id, _)| *id).collect();
    server.answered.extend(ids.iter().copied());
    let results: Vec<MutationResult> = answers.iter().map(|(_, r)| r.clone()).collect();
    store.apply_outbox_actions(&outbox_actions(&ids, &results)).unwrap();
}

#[derive(Debug, Clone)]
enum Op {
    Register { device: usize },
    Edit { device: usize, patient: usize, phone: u32 },
    Push { device: usize, response: Fate },
    Pull { device: usize, page: usize },
}

#[derive(Debug, Clone, Copy)]
enum Fate {
    Delivered,
    Dropped,
    Duplicated,
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    let d = 0..devices;
    prop_oneof![
        2 => d.clone().prop_map(|device| Op::Register { device }),
        3 => (d.clone(), 0usize..8, 1_000_000u32..9_999_999).prop_map(|(device, patient, phone)| Op::Edit { device, patient, phone }),
        3 => (d.clone(), prop_oneof![Just(Fate::Delivered), Just(Fate::Dropped), Just(Fate::Duplicated)]).prop_map(|(device, response)| Op::Push { device, response }),
        2 => (d, 1usize..4).prop_map(|(device, page)| Op::Pull { device, page }),
    ]
}

fn fields(json: serde_json::Value) -> PatientFields {
    serde_json::from_value(json).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge_under_dropped_and_duplicated_responses(ops in proptest::collection::vec(op(3), 1..40)) {
        let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
        let mut stores: Vec<LocalStore> = dirs.iter().map(|d| LocalStore::open(d.path(), &anola_client::DataKey::from_bytes([7; 32])).unwrap()).collect();
        let mut server = Server::default();
        let mut registered = 0usize;

        for op in ops {
            match op {
                Op::Register { device } => {
                    registered += 1;
                    stores[device].register_patient(fields(serde_json::json!({
                        "given_name": format!("P{registered}"), "family_name": "Model", "date_of_birth": "1990-01-01"
                    }))).unwrap();
                }
                Op::Edit { device, patient, phone } => {
                    // Edit a patient this device knows (its own or pulled), if any.
                    let known: Vec<Patient> = stores[device].list_patients("", 1000).unwrap();
                    if let Some(p) = known.get(patient % known.len().max(1)) {
                        stores[device].update_patient(p.id, fields(serde_json::json!({"phone": format!("07{phone}")}))).unwrap();
                    }
                }
                Op::Push { device, response } => {
                    let answers = server.push(&stores[device]);
                    match response {
                        Fate::Delivered => deliver(&mut server, &mut stores[device], &answers),
                        Fate::Dropped => {}
                        Fate::Duplicated => {
                            deliver(&mut server, &mut stores[device], &answers);
                            deliver(&mut server, &mut stores[device], &answers);
                        }
                    }
                }
                Op::Pull { device, page } => server.pull(&mut stores[device], page),
            }
        }

        // Heal: everyone pushes (answers delivered), then everyone pulls.
        for s in stores.iter_mut() {
            let answers = server.push(s);
            deliver(&mut server, s, &answers);
        }
        for s in stores.iter_mut() {
            server.pull(s, 5);
        }

        prop_assert!(server.resent_after_answer.is_empty(), "answered mutations sent again: {:?}", server.resent_after_answer);
        for s in &stores {
            let counts = s.outbox_counts().unwrap();
            prop_assert_eq!(counts.pending, 0);
            let shown: BTreeMap<Uuid, Patient> = s.list_patients("", 1000).unwrap().into_iter().map(|p| (p.id, p)).collect();
            prop_assert_eq!(shown.len(), server.states.len());
            for (id, state) in &server.states {
                let expected = Patient::from_state(*id, state, false);
                prop_assert_eq!(shown.get(id), Some(&expected));
            }
        }
    }
}
