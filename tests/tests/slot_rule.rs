//! The slot rule under concurrency, on two server processes: one appointment is rescheduled and
//! cancelled by two devices at once, over and over (a seeded schedule; the seed is printed). After
//! every round the slot claims in the database equal what the appointments' states need (no
//! block held by an appointment that no longer wants it, every block of a live booking held by
//! it), a booking at the appointment's current time is refused and one at a time it let go of is
//! accepted.

use anola_e2e::accounts::{raw_device, RawDevice};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use mongodb::bson::{doc, Document};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const CLINIC: &str = "slots";
const PROVIDER: &str = "22222222-2222-4222-8222-222222222222";
const DATE: &str = "2026-12-07";

struct Pusher {
    url: String,
    dev: RawDevice,
}

impl Pusher {
    async fn push(&self, mutations: Vec<Value>) -> Vec<Value> {
        let mut mutations = mutations;
        for m in &mut mutations {
            m["author"] = json!(self.dev.user_id);
        }
        let body = json!({"protocol_version": 2, "device_id": self.dev.device_id, "clinic_id": CLINIC, "mutations": mutations});
        let r = self
            .dev
            .sign(reqwest::Client::new().post(format!("{}/sync/push", self.url)))
            .json(&self.dev.signed_body(&body))
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert!(status.is_success(), "{v}");
        v["results"].as_array().unwrap().clone()
    }
}

fn mutation(entity: &str, id: uuid::Uuid, op: &str, hlc_ms: u64, node: &str, fields: Value) -> Value {
    json!({"id": uuid::Uuid::now_v7(), "entity": entity, "entity_id": id, "op": op,
           "hlc": format!("{hlc_ms:015}-00000-{node}"), "fields": fields})
}

fn booking(patient: uuid::Uuid, time: &str) -> Value {
    json!({"patient_id": patient, "provider_id": PROVIDER, "clinic_id": CLINIC, "date": DATE,
           "start_time": time, "duration_minutes": 30, "status": "scheduled"})
}

async fn holders(db: &mongodb::Database) -> BTreeMap<String, String> {
    anola_e2e::slot_holders(db).await
}

/// The 15-minute blocks a live appointment at `time` for 30 minutes needs.
fn blocks(time: &str) -> Vec<String> {
    let (h, m): (u32, u32) = (time[..2].parse().unwrap(), time[3..].parse().unwrap());
    let start = h * 60 + m;
    (start - start % 15..start + 30)
        .step_by(15)
        .map(|t| format!("slot:{CLINIC}:{PROVIDER}:{DATE}:{:02}:{:02}", t / 60, t % 60))
        .collect()
}

async fn view(db: &mongodb::Database, id: uuid::Uuid) -> Document {
    db.collection::<Document>("appointments")
        .find_one(doc! {"_id": id.to_string()})
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reschedules_on_two_servers_keep_claims_equal_to_states() {
    let seed: u64 = std::env::var("ANOLA_SLOT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("seed {seed} (ANOLA_SLOT_SEED={seed} repeats this run)");
    let mut rng = seed;
    let mut next = move |n: u64| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (rng >> 33) % n
    };

    let ferret = Ferret::start();
    let dbname = unique_db("slots");
    let s1 = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let s2 = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let a = Pusher {
        url: s1.url(),
        dev: raw_device(&s1.url(), CLINIC, Role::Clinician, Role::Clinician, None).await,
    };
    let b = Pusher {
        url: s2.url(),
        dev: raw_device(&s2.url(), CLINIC, Role::Clinician, Role::Clinician, None).await,
    };
    let db = ferret.client().await.database(&dbname);

    let patient = uuid::Uuid::now_v7();
    let base_ms = 1_800_000_000_000u64;
    let fields = json!({"given_name": "Slot", "family_name": "Keeper", "date_of_birth": "1980-01-01", "clinic_id": CLINIC});
    a.push(vec![mutation("patient", patient, "create", base_ms, "a", fields)]).await;
    let appt = uuid::Uuid::now_v7();
    a.push(vec![mutation(
        "appointment",
        appt,
        "create",
        base_ms + 1,
        "a",
        booking(patient, "08:00"),
    )])
    .await;

    let times = ["08:00", "08:30", "09:00", "09:15", "10:00", "10:45", "11:00"];
    let mut hlc = base_ms + 10;
    for round in 0..12 {
        // Two devices change the same appointment at once, through different server processes:
        // each a reschedule (or, sometimes, a cancel, or a reinstatement).
        let change = |next: &mut dyn FnMut(u64) -> u64| match next(6) {
            0 => json!({"status": "cancelled"}),
            1 => json!({"status": "scheduled"}),
            _ => json!({"start_time": times[next(times.len() as u64) as usize], "status": "scheduled"}),
        };
        let (fa, fb) = (change(&mut next), change(&mut next));
        let (ha, hb) = (hlc + next(3), hlc + next(3));
        hlc += 10;
        let ma = mutation("appointment", appt, "update", ha, "a", fa);
        let mb = mutation("appointment", appt, "update", hb, "b", fb);
        tokio::join!(a.push(vec![ma]), b.push(vec![mb]));

        let v = view(&db, appt).await;
        let status = v.get_str("status").unwrap().to_owned();
        let time = v.get_str("start_time").unwrap().to_owned();
        let held = holders(&db).await;
        let mine: Vec<&String> = held.iter().filter(|(_, h)| *h == &appt.to_string()).map(|(k, _)| k).collect();
        let want: Vec<String> = if status == "scheduled" { blocks(&time) } else { Vec::new() };
        assert_eq!(
            mine.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            want.iter().map(String::as_str).collect::<Vec<_>>(),
            "seed {seed}, round {round}: claims held by the appointment ({status} at {time}) differ from its state"
        );

        // A booking at its time is refused while it is live; at a time it let go of, accepted.
        let probe_time = if status == "scheduled" {
            time.clone()
        } else {
            times[next(times.len() as u64) as usize].to_owned()
        };
        let probe = uuid::Uuid::now_v7();
        hlc += 10;
        let r = a
            .push(vec![mutation(
                "appointment",
                probe,
                "create",
                hlc,
                "a",
                booking(patient, &probe_time),
            )])
            .await;
        let refused = r[0]["code"] == "slot_taken";
        let overlaps_live = status == "scheduled" && blocks(&probe_time).iter().any(|k| want.contains(k));
        assert_eq!(refused, overlaps_live, "seed {seed}, round {round}: probe at {probe_time}: {r:?}");
        // The probe goes away again so the next round starts from the one appointment.
        hlc += 10;
        a.push(vec![mutation(
            "appointment",
            probe,
            "update",
            hlc,
            "a",
            json!({"status": "cancelled"}),
        )])
        .await;
    }
}

/// A server that dies after writing a reschedule's version but before moving its slot claims, with
/// a device that never retries: the sweeper of the next server process completes the rule, so the
/// new time is held (a booking there is refused) and the old one is free.
#[tokio::test(flavor = "multi_thread")]
async fn the_sweeper_completes_a_rule_a_crash_interrupted() {
    let ferret = Ferret::start();
    let dbname = unique_db("sweep");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let a = Pusher {
        url: url.clone(),
        dev: raw_device(&url, CLINIC, Role::Clinician, Role::Clinician, None).await,
    };
    let (patient, appt) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    let t = 1_800_000_000_000u64;
    let fields = json!({"given_name": "Swept", "family_name": "Keeper", "date_of_birth": "1980-01-01", "clinic_id": CLINIC});
    a.push(vec![mutation("patient", patient, "create", t, "a", fields)]).await;
    a.push(vec![mutation("appointment", appt, "create", t + 1, "a", booking(patient, "09:00"))])
        .await;
    server.kill();

    let mut crashing = ServerProc::start(port, ferret.uri(), &dbname, &[("ANOLA_FAULT_ABORT_AT", "after_versions")]);
    let body = json!({"protocol_version": 2, "device_id": a.dev.device_id, "clinic_id": CLINIC,
                      "mutations": [mutation("appointment", appt, "update", t + 2, "a", json!({"start_time": "10:00"}))]});
    let mut body = body;
    body["mutations"][0]["author"] = json!(a.dev.user_id);
    let sent = a
        .dev
        .sign(reqwest::Client::new().post(format!("{url}/sync/push")))
        .json(&a.dev.signed_body(&body))
        .send()
        .await;
    assert!(
        sent.is_err() || !sent.unwrap().status().is_success(),
        "the push died with the server"
    );
    assert!(crashing.wait_exit(std::time::Duration::from_secs(10)));

    let _server = ServerProc::start(port, ferret.uri(), &dbname, &[("ANOLA_SWEEP_INTERVAL_SECS", "1")]);
    let db = ferret.client().await.database(&dbname);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while db.collection::<Document>("rules_pending").count_documents(doc! {}).await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "the sweeper settled the pending rule");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let held = holders(&db).await;
    let mine: Vec<&String> = held.iter().filter(|(_, h)| *h == &appt.to_string()).map(|(k, _)| k).collect();
    assert_eq!(mine, blocks("10:00").iter().collect::<Vec<_>>(), "claims follow the state");
    let r = a
        .push(vec![mutation(
            "appointment",
            uuid::Uuid::now_v7(),
            "create",
            t + 3,
            "a",
            booking(patient, "10:00"),
        )])
        .await;
    assert_eq!(r[0]["code"], "slot_taken", "{r:?}");
    let r = a
        .push(vec![mutation(
            "appointment",
            uuid::Uuid::now_v7(),
            "create",
            t + 4,
            "a",
            booking(patient, "09:00"),
        )])
        .await;
    assert_eq!(r[0]["status"], "applied", "the old time is free: {r:?}");
}
