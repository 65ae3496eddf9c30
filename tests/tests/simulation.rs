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
use anola_e2e::sim::{act, Rng, PROVIDERS};
use anola_e2e::workstations::{enrolled, reopen};
use anola_e2e::{free_port, unique_db};
use anola_protocol::appointment::slot_blocks;
use anola_protocol::{Appointment, AppointmentStatus, Provider};
use mongodb::bson::{doc, Document};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A device run as separate processes (`anola-sim-device`), each SIGKILLed at a random moment
/// or left to finish; between runs nothing of it is open.
struct ProcDevice {
    dir: std::path::PathBuf,
    proxy: String,
    /// The running process, when it started, and when it is to be killed (`None`: let it finish).
    run: Option<(std::process::Child, std::time::Instant, Option<Duration>)>,
}

impl ProcDevice {
    fn start(&mut self, seed: u64, writes: usize, step: usize, kill_after: Option<Duration>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("process.log"))
            .expect("process log");
        let child = std::process::Command::new(anola_e2e::target_bin("anola-sim-device"))
            .arg(&self.dir)
            .arg(&self.proxy)
            .arg(seed.to_string())
            .arg(writes.to_string())
            .arg(step.to_string())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start anola-sim-device");
        self.run = Some((child, std::time::Instant::now(), kill_after));
    }

    /// Reaps a finished run or kills a run that is due; returns (finished, killed).
    fn poll(&mut self, force: bool) -> (u64, u64) {
        let Some((child, started, kill_after)) = self.run.as_mut() else {
            return (0, 0);
        };
        if let Ok(Some(_)) = child.try_wait() {
            self.run = None;
            return (1, 0);
        }
        if force || kill_after.is_some_and(|k| started.elapsed() >= k) {
            // SIGKILL: no destructor, no flush, whatever the process was doing.
            let _ = child.kill();
            let _ = child.wait();
            self.run = None;
            return (0, 1);
        }
        (0, 0)
    }
}

struct Device {
    dir: std::path::PathBuf,
    _ws: Arc<Workstation>,
    clinic: Arc<Clinic>,
    offline_until: usize,
    syncing: Option<tokio::task::JoinHandle<()>>,
}

async fn count(db: &mongodb::Database, coll: &str) -> u64 {
    db.collection::<Document>(coll).count_documents(doc! {}).await.expect("count")
}

/// The servers sweep every second: a slot rule a push left unsettled (its appointment kept
/// changing, or the push died after answering) is the sweeper's to finish (slots.rs), and healing
/// waits for it.
const SERVER_ENV: &[(&str, &str)] = &[("ANOLA_SWEEP_INTERVAL_SECS", "1")];

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
        .map(|p| Some(ServerProc::start(*p, ferret.uri(), &dbname, SERVER_ENV)))
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
    // Devices run as processes: enrolled here, then closed; only their processes open them.
    let n_proc: usize = env_or("ANOLA_SIM_PROCESS_DEVICES", 3);
    let mut procs: Vec<ProcDevice> = Vec::new();
    for j in 0..n_proc {
        let dir = dirs.path().join(format!("p{j}"));
        let proxy = proxy_of(n_devices + j);
        let (ws, clinic) = enrolled(&dir, &proxy, "main", anola_protocol::Role::Clinician, None).await;
        ws.sign_out().await;
        drop((ws, clinic));
        procs.push(ProcDevice { dir, proxy, run: None });
    }
    let (mut proc_runs, mut proc_kills) = (0u64, 0u64);
    for p in &proxies {
        p.set_config(FaultConfig::chaos());
    }

    let mut writes = 0u64;
    let (mut server_kills, mut db_restarts, mut device_kills) = (0, 0, 0);
    for step in 0..steps {
        for p in procs.iter_mut() {
            let (done, killed) = p.poll(false);
            proc_runs += done;
            proc_kills += killed;
        }
        if n_proc > 0 && rng.below(100) < 6 {
            let j = rng.below(n_proc);
            if procs[j].run.is_none() {
                // Two runs in three are killed 0.1–1.3 s in (a run takes about a second): signing
                // in, writing, between a commit and its push, mid-push, or after the server applied
                // the push but before the device recorded the answer (`process.log` says which).
                let kill_after = (rng.below(3) > 0).then(|| Duration::from_millis(100 + rng.below(1200) as u64));
                let (seed, writes) = (rng.next_u64(), 1 + rng.below(4));
                procs[j].start(seed, writes, step, kill_after);
            }
        }
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
                    servers[k] = Some(ServerProc::start(ports[k], ferret.uri(), &dbname, SERVER_ENV));
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
    // Device processes still running get a while to finish, then are killed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while procs.iter().any(|p| p.run.is_some()) {
        let force = std::time::Instant::now() >= deadline;
        for p in procs.iter_mut() {
            let (done, killed) = p.poll(force);
            proc_runs += done;
            proc_kills += killed;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Where the kills found the processes: a run whose last phase is `committed` or `syncing` died
    // between a local commit and the server's acknowledgement.
    let mut last_phases: BTreeMap<String, u64> = BTreeMap::new();
    for p in &procs {
        let log = std::fs::read_to_string(p.dir.join("process.log")).unwrap_or_default();
        for run in log.split("phase: start").skip(1) {
            let last = run.lines().rev().find_map(|l| l.strip_prefix("phase: ")).unwrap_or("start");
            *last_phases.entry(last.to_owned()).or_default() += 1;
        }
    }
    eprintln!("simulation: device process runs by last phase {last_phases:?}");
    // They join the others for healing and the checks. Their writes are counted from their own
    // replicas: each local write commits with its audit entry, so a kill cannot split the two.
    for (j, p) in procs.iter().enumerate() {
        let (ws, clinic) = reopen(&p.dir, &p.proxy).await;
        let local = clinic
            .audit_log()
            .expect("audit log")
            .iter()
            .filter(|e| e.action == anola_protocol::auth::AuditAction::Write)
            .count() as u64;
        eprintln!("simulation: device process p{j} made {local} local writes");
        writes += local;
        devices.push(Device {
            dir: p.dir.clone(),
            _ws: ws,
            clinic,
            offline_until: 0,
            syncing: None,
        });
    }
    let stats: Vec<_> = proxies.iter().map(|p| p.stats()).collect();
    eprintln!("simulation: {n_servers} server processes, {writes} local writes, {server_kills} server kills, {db_restarts} database restarts, {device_kills} in-process device kills, {proc_runs} device process runs finished and {proc_kills} SIGKILLed; proxies {stats:?}");

    // Heal: no more faults; everyone syncs until nothing moves.
    settle(&mut devices).await;
    for p in &proxies {
        p.set_config(FaultConfig::none());
        p.partition(false);
    }
    let rules_db = ferret.client().await.database(&dbname);
    let mut quiet_rounds = 0;
    for round in 0..20 {
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
        // Quiet only once no slot rule is left pending for the sweeper (it may still change an
        // appointment that devices then pull).
        let pending = count(&rules_db, "rules_pending").await;
        if pending > 0 {
            eprintln!("heal round {round}: {pending} slot rule(s) pending for the sweeper");
            tokio::time::sleep(Duration::from_millis(1_200)).await;
        }
        quiet_rounds = if moved == 0 && pending == 0 { quiet_rounds + 1 } else { 0 };
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
