//! The conflict rules and scope of all clinic data, driven through the `anola` CLI against the
//! real server and FerretDB: double booking, concurrent amendments, concurrent field edits,
//! duplicate registrations and their merge, clinic and field-worker scope, tombstones, a paged
//! first sync that resumes, and an app too old for the server.

use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, unique_db};
use anola_protocol::Role;
use serde_json::{json, Value};

struct Env {
    _ferret: Ferret,
    server: ServerProc,
    dirs: tempfile::TempDir,
}

fn env() -> Env {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("rules"), &[]);
    Env {
        _ferret: ferret,
        server,
        dirs: tempfile::tempdir().unwrap(),
    }
}

impl Env {
    /// A device enrolled for a scope: `--clinic C` and `--field-worker W` pick the enrolment.
    fn device(&self, name: &str, scope: &[&str]) -> Scoped {
        let flag = |f: &str| scope.iter().position(|a| *a == f).map(|i| scope[i + 1]);
        let clinic = flag("--clinic").unwrap_or("main");
        let fw = flag("--field-worker");
        let role = if fw.is_some() { Role::FieldWorker } else { Role::Clinician };
        Scoped {
            d: Device::with_scope(&self.dirs.path().join(name), &self.server.url(), clinic, role, fw),
            extra: Vec::new(),
        }
    }
}

/// A device with fixed scope flags (clinic, field worker).
struct Scoped {
    d: Device,
    extra: Vec<String>,
}

impl Scoped {
    fn args<'a>(&'a self, args: &'a [&'a str]) -> Vec<&'a str> {
        self.extra.iter().map(String::as_str).chain(args.iter().copied()).collect()
    }
    fn ok(&self, args: &[&str]) -> Value {
        self.d.ok(&self.args(args))
    }
    fn run(&self, args: &[&str]) -> anola_e2e::procs::CliResult {
        self.d.run(&self.args(args))
    }
    fn id(&self, args: &[&str]) -> String {
        self.ok(args)["id"].as_str().unwrap().to_owned()
    }
    fn sync(&self) -> Value {
        self.ok(&["sync"])
    }
}

/// Books `patient` with the clinic's provider at `date` `time`; returns the appointment id.
fn book(d: &Scoped, patient: &str, date: &str, time: &str) -> String {
    d.id(&[
        "appointment",
        "book",
        "--patient",
        patient,
        "--provider",
        PROVIDER,
        "--date",
        date,
        "--time",
        time,
    ])
}

/// The ids of the patients a device lists.
fn patient_ids(d: &Scoped) -> Vec<String> {
    d.ok(&["patient", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

const PROVIDER: &str = "11111111-1111-4111-8111-111111111111";

fn put_provider(dev: &Scoped, clinic: &str) {
    let p = json!({"id": PROVIDER, "clinic_id": clinic, "title": "Dr.", "given_name": "Achieng", "family_name": "Odhiambo",
                   "specializations": ["general practice"], "active": true});
    dev.ok(&["admin", "put-provider", &p.to_string()]);
}

fn register(dev: &Scoped, given: &str, extra: &[&str]) -> String {
    let mut args = vec!["patient", "add", "--given", given, "--family", "Okafor", "--dob", "1988-04-12"];
    args.extend_from_slice(extra);
    dev.id(&args)
}

#[test]
fn two_offline_bookings_of_one_slot_keep_exactly_one() {
    let e = env();
    let (a, b) = (e.device("a", &[]), e.device("b", &[]));
    put_provider(&a, "main");
    let p = register(&a, "Amina", &[]);
    a.sync();
    b.sync();
    // Both offline (no sync between): overlapping times with the same provider.
    let first = a.id(&[
        "appointment",
        "book",
        "--patient",
        &p,
        "--provider",
        PROVIDER,
        "--date",
        "2026-12-01",
        "--time",
        "10:00",
        "--duration",
        "30",
    ]);
    let second = b.id(&[
        "appointment",
        "book",
        "--patient",
        &p,
        "--provider",
        PROVIDER,
        "--date",
        "2026-12-01",
        "--time",
        "10:15",
        "--duration",
        "30",
    ]);
    a.sync();
    b.sync();
    a.sync();
    for dev in [&a, &b] {
        let list = dev.ok(&["appointment", "list", "--date", "2026-12-01"]);
        let status = |id: &str| list.as_array().unwrap().iter().find(|x| x["id"] == id).unwrap()["status"].clone();
        assert_eq!(status(&first), "scheduled");
        assert_eq!(
            status(&second),
            "conflict_needs_rescheduling",
            "the second booking is kept, marked, never dropped"
        );
        let lost = list.as_array().unwrap().iter().find(|x| x["id"] == second.as_str()).unwrap();
        assert!(lost["conflict"]["reason"].as_str().unwrap().contains("already booked"), "{lost}");
        let notes = dev.ok(&["conflicts", "--about", &second]);
        assert_eq!(notes[0]["kind"], "slot_taken");
    }
    // Staff reschedule the loser to a free time: the server accepts it.
    b.ok(&[
        "appointment",
        "reschedule",
        &second,
        "--date",
        "2026-12-01",
        "--time",
        "11:00",
        "--reason",
        "slot taken",
    ]);
    b.sync();
    let rescheduled = b.ok(&["appointment", "show", &second]);
    assert_eq!(rescheduled["status"], "scheduled");
    assert_eq!(rescheduled["conflict"], Value::Null, "the old reason is cleared once it has a slot");
    // Cancelling keeps the appointment as history and frees its slot.
    a.ok(&["appointment", "cancel", &first, "--reason", "patient travelled"]);
    a.sync();
    let third = b.id(&[
        "appointment",
        "book",
        "--patient",
        &p,
        "--provider",
        PROVIDER,
        "--date",
        "2026-12-01",
        "--time",
        "10:00",
        "--duration",
        "15",
    ]);
    b.sync();
    assert_eq!(b.ok(&["appointment", "show", &third])["status"], "scheduled");
    assert_eq!(b.ok(&["appointment", "show", &first])["status"], "cancelled");
}

#[test]
fn concurrent_amendments_both_survive_and_are_flagged() {
    let e = env();
    let (a, b) = (e.device("a", &[]), e.device("b", &[]));
    let p = register(&a, "Juma", &[]);
    let v1 = a.id(&[
        "record",
        "add",
        "--patient",
        &p,
        "--notes",
        "BP 150/95",
        "--diagnosis",
        "I10:Hypertension",
    ]);
    a.sync();
    b.sync();
    let va = a.id(&["record", "amend", &v1, "--notes", "BP 150/95, start amlodipine"]);
    let vb = b.id(&["record", "amend", &v1, "--notes", "BP 150/95, recheck in 2 weeks"]);
    a.sync();
    b.sync();
    a.sync();
    for dev in [&a, &b] {
        let versions = dev.ok(&["record", "list", "--patient", &p]);
        let versions = versions.as_array().unwrap();
        assert_eq!(versions.len(), 3, "nothing overwritten or deleted: {versions:?}");
        let get = |id: &str| versions.iter().find(|v| v["id"] == id).unwrap().clone();
        assert_eq!(get(&v1)["superseded"], true);
        assert_eq!(get(&v1)["consultation_notes"], "BP 150/95", "the original is unchanged");
        assert_eq!(get(&va)["concurrent_amendment"], true);
        assert_eq!(get(&vb)["concurrent_amendment"], true);
        let notes = dev.ok(&["conflicts"]);
        assert!(
            notes.as_array().unwrap().iter().any(|n| n["kind"] == "concurrent_amendments"),
            "{notes}"
        );
    }
}

#[test]
fn concurrent_edits_of_a_field_keep_the_overwritten_value() {
    let e = env();
    let (a, b) = (e.device("a", &[]), e.device("b", &[]));
    let p = register(&a, "Wanjiru", &["--phone", "0700000000"]);
    a.sync();
    b.sync();
    a.ok(&["patient", "edit", &p, "--phone", "0711111111"]);
    b.ok(&["patient", "edit", &p, "--phone", "0722222222"]);
    a.sync();
    b.sync();
    a.sync();
    let pa = a.ok(&["patient", "show", &p]);
    let pb = b.ok(&["patient", "show", &p]);
    assert_eq!(pa["phone"], pb["phone"], "both devices converge");
    let notes = a.ok(&["conflicts", "--about", &p]);
    let n = &notes[0];
    assert_eq!(n["kind"], "field_overwritten");
    assert_eq!(n["field"], "phone");
    let values = [n["kept_value"].as_str().unwrap(), n["lost_value"].as_str().unwrap()];
    assert!(values.contains(&"0711111111") && values.contains(&"0722222222"), "{n}");
    assert_eq!(n["kept_value"], pa["phone"]);
    // A later edit by a device that had seen the current value is not a conflict.
    a.ok(&["patient", "edit", &p, "--phone", "0733333333"]);
    a.sync();
    assert_eq!(a.ok(&["conflicts", "--about", &p]).as_array().unwrap().len(), 1);
}

#[test]
fn duplicate_registrations_are_found_and_merged_everywhere() {
    let e = env();
    let (a, b) = (e.device("a", &[]), e.device("b", &[]));
    put_provider(&a, "main");
    // The same person registered on two offline devices (same national id).
    let keep = register(&a, "Halima", &["--national-id", "12345678"]);
    let dup = register(&b, "Halima", &["--national-id", "12-345-678"]);
    let appt = book(&b, &dup, "2026-12-02", "09:00");
    let rec = b.id(&["record", "add", "--patient", &dup, "--notes", "fever 38.5"]);
    a.sync();
    b.sync();
    let candidates = a.ok(&["admin", "duplicates"]);
    let pair = &candidates[0]["patients"];
    assert!(
        pair.as_array().unwrap().iter().any(|x| x == keep.as_str()) && pair.as_array().unwrap().iter().any(|x| x == dup.as_str()),
        "{candidates}"
    );
    a.ok(&["admin", "merge", "--survivor", &keep, "--duplicate", &dup, "--by", "clinic admin"]);
    a.sync();
    b.sync();
    for dev in [&a, &b] {
        let names: Vec<String> = dev
            .ok(&["patient", "list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, vec![keep.clone()], "the duplicate is gone from lists");
        assert_eq!(
            dev.ok(&["appointment", "show", &appt])["patient_id"],
            keep.as_str(),
            "appointment re-pointed"
        );
        let records = dev.ok(&["record", "list", "--patient", &keep]);
        assert!(
            records.as_array().unwrap().iter().any(|r| r["id"] == rec.as_str()),
            "record re-pointed: {records}"
        );
    }
    assert!(
        a.ok(&["admin", "duplicates"]).as_array().unwrap().is_empty(),
        "the candidate is resolved"
    );
}

#[test]
fn devices_only_hold_their_scope() {
    let e = env();
    let east = e.device("east", &["--clinic", "east"]);
    let west = e.device("west", &["--clinic", "west"]);
    let worker = e.device("worker", &["--clinic", "east", "--field-worker", "fw-7"]);
    let mine = register(&east, "Assigned", &["--fields-json", r#"{"field_worker_id": "fw-7"}"#]);
    let other = register(&east, "Unassigned", &[]);
    east.ok(&["record", "add", "--patient", &mine, "--notes", "home visit"]);
    east.ok(&["record", "add", "--patient", &other, "--notes", "clinic visit"]);
    register(&west, "Westerner", &[]);
    east.sync();
    west.sync();
    worker.sync();
    let ids = patient_ids;
    assert_eq!(ids(&west).len(), 1, "west sees only its own patient");
    assert_eq!(ids(&worker), vec![mine.clone()], "the field worker sees only the assigned patient");
    assert_eq!(worker.ok(&["record", "list", "--patient", &mine]).as_array().unwrap().len(), 1);
    // Another worker's patient does not exist on this device at all.
    let r = worker.run(&["record", "list", "--patient", &other]);
    assert_eq!((r.code, r.json["code"].as_str()), (1, Some("not_found")), "{}", r.json);
    assert_eq!(ids(&east).len(), 2);
}

#[test]
fn deletes_travel_as_tombstones() {
    let e = env();
    let (a, b) = (e.device("a", &[]), e.device("b", &[]));
    let p = register(&a, "Temporary", &[]);
    a.sync();
    b.sync();
    assert_eq!(b.ok(&["patient", "list"]).as_array().unwrap().len(), 1);
    b.ok(&["patient", "delete", &p]);
    b.sync();
    a.sync();
    assert!(a.ok(&["patient", "list"]).as_array().unwrap().is_empty());
    assert_eq!(
        a.run(&["patient", "show", &p]).json["deleted"],
        true,
        "the tombstone is kept, not erased"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sync_is_paged_shows_progress_and_resumes() {
    use anola_protocol::*;
    let e = env();
    // 100 pushes of 10: a log longer than one bucket (64 entries) and a page limit (500 records).
    let http = reqwest::Client::new();
    let dev = anola_e2e::accounts::raw_device(&e.server.url(), "main", Role::Clinician, Role::Clinician, None).await;
    for batch in 0..100u64 {
        let mutations = (0..10u64)
            .map(|i| Mutation {
                id: uuid::Uuid::now_v7(),
                entity: EntityKind::Patient,
                entity_id: uuid::Uuid::now_v7(),
                op: wire::Op::Create,
                hlc: Hlc::new(1_790_000_000_000 + batch * 10 + i, 0, "seed"),
                fields: json!({"given_name": format!("P{batch}-{i}"), "family_name": "Paged", "date_of_birth": "1970-01-01", "clinic_id": "main"}),
                base: Default::default(),
                author: Some(dev.user_id),
                signature: None,
            })
            .map(|m| dev.signed(m))
            .collect();
        let req = PushRequest {
            protocol_version: PROTOCOL_VERSION,
            device_id: dev.device_id.clone(),
            clinic_id: "main".into(),
            mutations,
            audit: Vec::new(),
        };
        let r = dev
            .sign(http.post(format!("{}/sync/push", e.server.url())))
            .json(&req)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let fresh = e.device("fresh", &[]);
    let first = fresh.ok(&["sync", "--max-pages", "1"]);
    let progress = &first["report"]["progress"];
    let (done, total) = (progress["done"].as_u64().unwrap(), progress["total"].as_u64().unwrap());
    assert!(done < total, "one page is part of the log: {progress}");
    let got = first["report"]["pulled"].as_u64().unwrap();
    assert!(got > 0 && got < 1000);
    assert_eq!(
        fresh.ok(&["status"])["progress"],
        Value::Null,
        "a new process shows no stale progress"
    );
    // Resume: the rest, not everything again. (The log also announces the few staff accounts the
    // test made, protocol v2.)
    let rest = fresh.sync();
    let all = got + rest["report"]["pulled"].as_u64().unwrap();
    assert!((1000..1010).contains(&all), "resumed where it stopped: {all} records in all");
    assert_eq!(fresh.ok(&["patient", "list", "--limit", "1000"]).as_array().unwrap().len(), 1000);
}

#[test]
fn an_app_too_old_for_the_server_keeps_its_data() {
    let ferret = Ferret::start();
    let server = ServerProc::start(
        free_port(),
        ferret.uri(),
        &unique_db("oldapp"),
        // One above what this build speaks: the app is too old for this server.
        &[("ANOLA_MIN_PROTOCOL_VERSION", &(anola_protocol::PROTOCOL_VERSION + 1).to_string())],
    );
    let dirs = tempfile::tempdir().unwrap();
    let a = Device::new(&dirs.path().join("a"), &server.url());
    a.ok(&["patient", "add", "--given", "Kept", "--family", "Local", "--dob", "1990-01-01"]);
    let r = a.run(&["sync"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.json["code"], "incompatible_server", "{}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("Update the app"));
    assert_eq!(a.ok(&["status"])["pending"], 1, "the unsent change is kept");
    assert_eq!(a.ok(&["patient", "list"]).as_array().unwrap().len(), 1, "local data is intact");
}

#[test]
fn a_reassigned_patient_moves_with_its_history_to_the_new_worker() {
    let e = env();
    let desk = e.device("desk", &["--clinic", "east"]);
    put_provider(&desk, "east");
    let old = e.device("fw7", &["--clinic", "east", "--field-worker", "fw-7"]);
    let new = e.device("fw8", &["--clinic", "east", "--field-worker", "fw-8"]);
    let p = register(&desk, "Moving", &["--fields-json", r#"{"field_worker_id": "fw-7"}"#]);
    let rec = desk.id(&["record", "add", "--patient", &p, "--notes", "home visit"]);
    let appt = book(&desk, &p, "2026-12-09", "11:00");
    desk.sync();
    old.sync();
    new.sync();
    let ids = patient_ids;
    assert_eq!(ids(&old), vec![p.clone()], "fw-7 holds the patient");
    assert!(ids(&new).is_empty(), "fw-8 holds nothing yet");

    // Reassigned to fw-8: the new worker receives the patient's whole history.
    desk.ok(&["patient", "edit", &p, "--fields-json", r#"{"field_worker_id": "fw-8"}"#]);
    desk.sync();
    new.sync();
    assert_eq!(ids(&new), vec![p.clone()], "fw-8 received the patient");
    let records = new.ok(&["record", "list", "--patient", &p]);
    assert!(
        records.as_array().unwrap().iter().any(|r| r["id"] == rec.as_str()),
        "the earlier record came along: {records}"
    );
    assert_eq!(
        new.ok(&["appointment", "show", &appt])["patient_id"],
        p.as_str(),
        "the earlier appointment came along"
    );

    // The old worker's device forgets the patient and records that it did.
    old.sync();
    assert!(ids(&old).is_empty(), "fw-7 still holds the patient");
    let records = old.run(&["record", "list", "--patient", &p]);
    assert!(
        records.code != 0 || records.json.as_array().is_some_and(|a| a.is_empty()),
        "fw-7 still lists the records: {}",
        records.json
    );
    assert!(
        old.run(&["appointment", "show", &appt]).code != 0,
        "fw-7 still shows the appointment"
    );
    // Later changes to the patient reach only the new worker.
    desk.ok(&["patient", "edit", &p, "--phone", "0712345678"]);
    desk.sync();
    old.sync();
    assert!(ids(&old).is_empty(), "a later edit brought the patient back to fw-7");
    // The removal is in the patient's access history on the server (it rode on fw-7's push).
    let url = e.server.url();
    let history: Value = anola_e2e::accounts::block_on(async move {
        let token = anola_e2e::accounts::admin_token(&url).await;
        reqwest::Client::new()
            .get(format!("{url}/admin/patients/{p}/access?clinic_id=east"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert!(history.to_string().contains("removed_from_device"), "{history}");
}
