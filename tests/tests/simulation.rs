//! Seeded fault-injection simulation: many devices running the real client library make random
//! registrations, edits, deletions, bookings and amendments, go offline at random, and sync
//! through a proxy that drops, delays, duplicates, reorders and replays requests and responses.
//! Three sync server processes share the database, each behind its own fault proxy (devices are
//! spread over them). Meanwhile the server processes are SIGKILLed and restarted, FerretDB is
//! restarted, and devices are
//! "killed" between their local commit and the push acknowledgement (a sync aborted mid-flight,
//! the replica reopened from disk). After healing and a final sync, the invariants must hold.
//!
//! Small configuration (run by scripts/test.sh): 20 devices, a few hundred steps.
//! Soak: `ANOLA_SIM_SEED=<u64> ANOLA_SIM_STEPS=5000 ANOLA_SIM_DEVICES=30 cargo test -p anola-e2e
//! --test simulation -- --nocapture`. A failure prints the seed that reproduces its operation
//! sequence (timing-dependent interleavings can still differ between runs).

use anola_client::sync::admin::AdminClient;
use anola_client::workstation::Workstation;
use anola_client::Clinic;
use anola_e2e::fault_proxy::{FaultConfig, FaultProxy};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::{enrolled, reopen};
use anola_e2e::{free_port, unique_db};
use anola_protocol::appointment::slot_blocks;
use anola_protocol::{Appointment, AppointmentFields, AppointmentStatus, PatientFields, Provider, RecordFields};
use mongodb::bson::{doc, Document};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// xorshift64*: small, seedable, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> Option<&'a T> {
        if v.is_empty() {
            None
        } else {
            Some(&v[self.below(v.len())])
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Device {
    dir: std::path::PathBuf,
    _ws: Arc<Workstation>,
    clinic: Arc<Clinic>,
    offline_until: usize,
    syncing: Option<tokio::task::JoinHandle<()>>,
}

const PROVIDERS: [&str; 3] = [
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
fn act(rng: &mut Rng, c: &Clinic, step: usize) -> bool {
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

async fn count(db: &mongodb::Database, coll: &str) -> u64 {
    db.collection::<Document>(coll).count_documents(doc! {}).await.expect("count")
}

/// Waits for every in-flight sync task.
async fn settle(devices: &mut [Device]) {
    for d in devices.iter_mut() {
        if let Some(t) = d.syncing.take() {
            let _ = t.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_converge_under_faults() {
    let seed: u64 = env_or("ANOLA_SIM_SEED", 0x5eed_2026_u64 ^ (std::process::id() as u64));
    let steps: usize = env_or("ANOLA_SIM_STEPS", 800);
    let n_devices: usize = env_or("ANOLA_SIM_DEVICES", 20);
    eprintln!("simulation: seed={seed} steps={steps} devices={n_devices} (rerun: ANOLA_SIM_SEED={seed})");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("SIMULATION FAILED — reproduce with ANOLA_SIM_SEED={seed} ANOLA_SIM_STEPS={steps} ANOLA_SIM_DEVICES={n_devices}");
        default_hook(info);
    }));
    let mut rng = Rng::new(seed);

    let mut ferret = Ferret::start();
    let restartable_db = ferret.is_private();
    let dbname = unique_db("sim");
    // Several server processes share the database, each behind its own fault proxy; devices are
    // spread over them.
    let n_servers: usize = env_or("ANOLA_SIM_SERVERS", 3).max(1);
    let ports: Vec<u16> = (0..n_servers).map(|_| free_port()).collect();
    let upstreams: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let upstream = upstreams[0].clone();
    let mut servers: Vec<Option<ServerProc>> = ports
        .iter()
        .map(|p| Some(ServerProc::start(*p, ferret.uri(), &dbname, &[])))
        .collect();
    let admin = AdminClient::with_token(&upstream, "main", &anola_e2e::accounts::admin_token(&upstream).await);
    for (i, id) in PROVIDERS.iter().enumerate() {
        let p: Provider = serde_json::from_value(
            json!({"id": id, "clinic_id": "main", "given_name": format!("Prov{i}"), "family_name": "Sim", "active": true}),
        )
        .unwrap();
        admin.put_provider(&p).await.expect("provider");
    }
    // Devices enrol through a well-behaved proxy; the chaos starts once they are set up.
    let mut proxies = Vec::new();
    for (k, u) in upstreams.iter().enumerate() {
        proxies.push(FaultProxy::start(u, FaultConfig::none(), seed.wrapping_add(k as u64)).await);
    }
    let proxy_of = |i: usize| proxies[i % proxies.len()].url();
    let dirs = tempfile::tempdir().unwrap();
    let mut devices: Vec<Device> = Vec::new();
    for i in 0..n_devices {
        let dir = dirs.path().join(format!("d{i}"));
        let (ws, clinic) = enrolled(&dir, &proxy_of(i), "main", anola_protocol::Role::Clinician, None).await;
        devices.push(Device {
            dir,
            _ws: ws,
            clinic,
            offline_until: 0,
            syncing: None,
        });
    }
    for p in &proxies {
        p.set_config(FaultConfig::chaos());
    }

    let mut writes = 0u64;
    let (mut server_kills, mut db_restarts, mut device_kills) = (0, 0, 0);
    for step in 0..steps {
        let i = rng.below(n_devices);
        match rng.below(100) {
            // Local work (no network needed).
            0..=54 => {
                if act(&mut rng, &devices[i].clinic, step) {
                    writes += 1;
                }
            }
            // A sync round, in the background, unless the device is offline or already syncing.
            55..=84 => {
                let d = &mut devices[i];
                let busy = d.syncing.as_ref().is_some_and(|t| !t.is_finished());
                if step >= d.offline_until && !busy {
                    let c = d.clinic.clone();
                    d.syncing = Some(tokio::spawn(async move {
                        let _ = c.sync_now().await;
                    }));
                }
            }
            // Go offline for a while.
            85..=89 => devices[i].offline_until = step + 5 + rng.below(40),
            // Kill the device between its local commit and the acknowledgement.
            90..=94 => {
                let d = &mut devices[i];
                if let Some(t) = d.syncing.take() {
                    tokio::time::sleep(Duration::from_millis(rng.below(60) as u64)).await;
                    t.abort();
                    let _ = t.await;
                    let (ws, clinic) = reopen(&d.dir, &proxy_of(i)).await;
                    d._ws = ws;
                    d.clinic = clinic;
                    device_kills += 1;
                }
            }
            // Kill -9 the server and bring it back.
            95..=97 => {
                let k = rng.below(servers.len());
                if let Some(s) = servers[k].take() {
                    s.kill();
                    server_kills += 1;
                    tokio::time::sleep(Duration::from_millis(rng.below(300) as u64)).await;
                    servers[k] = Some(ServerProc::start(ports[k], ferret.uri(), &dbname, &[]));
                }
            }
            // Restart the database under the running server.
            _ => {
                if restartable_db {
                    ferret.kill();
                    tokio::time::sleep(Duration::from_millis(rng.below(200) as u64)).await;
                    ferret.restart();
                    db_restarts += 1;
                }
            }
        }
        if step % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let stats: Vec<_> = proxies.iter().map(|p| p.stats()).collect();
    eprintln!("simulation: {n_servers} server processes, {writes} local writes, {server_kills} server kills, {db_restarts} database restarts, {device_kills} device kills; proxies {stats:?}");

    // Heal: no more faults; everyone syncs until nothing moves.
    settle(&mut devices).await;
    for p in &proxies {
        p.set_config(FaultConfig::none());
        p.partition(false);
    }
    let mut quiet_rounds = 0;
    for round in 0..12 {
        let mut moved = 0;
        for (i, d) in devices.iter_mut().enumerate() {
            // The database or server may still be coming back from the last restart.
            let mut tries = 0;
            let r = loop {
                match d.clinic.sync_now().await {
                    Ok(r) => break r,
                    Err(e) if tries < 60 => {
                        tries += 1;
                        eprintln!("heal round {round}: retrying after {e}");
                        // A device reopened while the network failed signed in offline: it
                        // syncs once its staff member signs in online again.
                        if !d._ws.state().online_session {
                            let (ws, clinic) = reopen(&d.dir, &proxy_of(i)).await;
                            d._ws = ws;
                            d.clinic = clinic;
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => panic!("heal round {round}: sync failed: {e}"),
                }
            };
            moved += r.pushed + r.pulled;
        }
        quiet_rounds = if moved == 0 { quiet_rounds + 1 } else { 0 };
        if quiet_rounds == 2 {
            break;
        }
    }
    assert_eq!(quiet_rounds, 2, "the system did not go quiet after healing");

    // Reference: a new device pulls the server's whole state.
    let (_reference_ws, reference) = enrolled(
        &dirs.path().join("reference"),
        &upstream,
        "main",
        anola_protocol::Role::Clinician,
        None,
    )
    .await;
    reference.sync_now().await.expect("reference sync");

    let client = ferret.client().await;
    let db = client.database(&dbname);

    // Database restarts mid-creation must not have left a collection without its unique `_id`.
    for name in db.list_collection_names().await.unwrap() {
        let idx = db.collection::<Document>(&name).list_index_names().await.unwrap();
        assert!(idx.iter().any(|n| n == "_id_"), "collection {name} lost its unique _id index");
    }

    // No acknowledged write is lost: every local write reached the gate, nothing is pending or refused.
    for (i, d) in devices.iter().enumerate() {
        let s = d.clinic.status().unwrap();
        assert_eq!((s.pending, s.rejected), (0, 0), "device {i} still holds unsent or refused writes");
    }
    assert_eq!(
        count(&db, "mutations").await,
        writes,
        "every local write reached the server exactly once"
    );
    // No mutation applied twice: one result each, and in at most one version.
    assert_eq!(count(&db, "mutation_results").await, writes, "every mutation finished once");
    let mut seen: HashMap<String, u32> = HashMap::new();
    {
        use futures::StreamExt;
        let mut cur = db.collection::<Document>("versions").find(doc! {}).await.unwrap();
        while let Some(d) = cur.next().await {
            for m in d.unwrap().get_array("mutation_ids").map(|a| a.to_vec()).unwrap_or_default() {
                *seen.entry(m.as_str().unwrap_or_default().to_owned()).or_default() += 1;
            }
        }
    }
    assert!(seen.values().all(|n| *n == 1), "a mutation was folded into two versions");

    // Every replica equals the server's state.
    let snapshot = |c: &Clinic| {
        let patients: BTreeMap<Uuid, serde_json::Value> = c
            .list_patients("", 1000)
            .unwrap()
            .into_iter()
            .map(|p| (p.id, serde_json::to_value(p).unwrap()))
            .collect();
        let appts: BTreeMap<Uuid, Appointment> = c.list_appointments(None, None).unwrap().into_iter().map(|a| (a.id, a)).collect();
        let mut records = BTreeSet::new();
        for id in patients.keys() {
            for v in c.list_records(*id).unwrap() {
                records.insert((
                    v.version.id,
                    v.version.fields.patient_id,
                    v.version.fields.consultation_notes.clone(),
                ));
            }
        }
        let notes: BTreeSet<Uuid> = c.list_conflicts(None).unwrap().into_iter().map(|n| n.id).collect();
        (patients, appts, records, notes)
    };
    let expected = snapshot(&reference);
    assert_eq!(expected.0.len() as u64, count(&db, "patients").await - deleted_patients(&db).await);
    for (i, d) in devices.iter().enumerate() {
        let got = snapshot(&d.clinic);
        assert_eq!(got.0, expected.0, "device {i}: patients differ from the server");
        assert_eq!(got.1, expected.1, "device {i}: appointments differ from the server");
        assert_eq!(got.2, expected.2, "device {i}: medical records differ from the server");
        assert_eq!(got.3, expected.3, "device {i}: conflict notes differ from the server");
    }

    // No slot has two holders.
    let mut holders: HashMap<String, Uuid> = HashMap::new();
    for a in expected.1.values() {
        for block in slot_blocks(a) {
            if let Some(other) = holders.insert(block.clone(), a.id) {
                panic!("slot {block} held by {other} and {}", a.id);
            }
        }
    }
    // Slot claims equal what the appointments' states need: every block of a live booking is
    // held by it, and no appointment holds a block its state does not need.
    let held = anola_e2e::slot_holders(&db).await;
    let mut wanted: BTreeMap<String, String> = BTreeMap::new();
    for a in expected.1.values() {
        for block in slot_blocks(a) {
            wanted.insert(format!("slot:main:{block}"), a.id.to_string());
        }
    }
    assert_eq!(held, wanted, "slot claims differ from the appointments' states");
    // Every conflict has a visible record.
    let notes = reference.list_conflicts(None).unwrap();
    for a in expected
        .1
        .values()
        .filter(|a| a.status == Some(AppointmentStatus::ConflictNeedsRescheduling))
    {
        assert!(a.conflict.is_some(), "appointment {} needs rescheduling without a reason", a.id);
        let json = serde_json::to_value(&notes).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "slot_taken" && n["lost"] == a.id.to_string()),
            "no note for {}",
            a.id
        );
    }
    let mut by_amends: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (id, _, _) in &expected.2 {
        if let Some(v) = expected
            .0
            .keys()
            .flat_map(|p| reference.list_records(*p).unwrap())
            .find(|v| v.version.id == *id)
        {
            if let Some(a) = v.version.fields.amends {
                by_amends.entry(a).or_default().push(*id);
            }
        }
    }
    for (target, versions) in by_amends.iter().filter(|(_, v)| v.len() > 1) {
        let json = serde_json::to_value(&notes).unwrap();
        assert!(
            json.as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "concurrent_amendments" && n["amends"] == target.to_string()),
            "versions {versions:?} amend {target} concurrently without a note"
        );
    }
    eprintln!(
        "simulation: converged — {} patients, {} appointments, {} record versions, {} conflict notes on every device",
        expected.0.len(),
        expected.1.len(),
        expected.2.len(),
        expected.3.len()
    );
    drop(servers);
}

async fn deleted_patients(db: &mongodb::Database) -> u64 {
    db.collection::<Document>("patients")
        .count_documents(doc! {"deleted": true})
        .await
        .expect("count")
}
