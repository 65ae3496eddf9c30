//! A merge of duplicate patients that the server crashes in the middle of (after the tombstone,
//! after moving the children) is finished by repeating it, and a repeated merge changes nothing:
//! every device ends with the duplicate gone and its appointment and record on the survivor, and
//! the merge note is the first one.

use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, unique_db};
use mongodb::bson::{doc, Document};
use serde_json::json;
use std::time::Duration;

const PROVIDER: &str = "11111111-1111-4111-8111-111111111111";

fn id(d: &Device, args: &[&str]) -> String {
    d.ok(args)["id"].as_str().unwrap().to_owned()
}

/// An appointment at `time` and a record for `patient`: the children a merge must move.
fn children(a: &Device, patient: &str, time: &str) -> (String, String) {
    let book = [
        "appointment",
        "book",
        "--patient",
        patient,
        "--provider",
        PROVIDER,
        "--date",
        "2026-12-04",
        "--time",
        time,
    ];
    let appt = id(a, &book);
    let rec = id(a, &["record", "add", "--patient", patient, "--notes", "cough"]);
    (appt, rec)
}

struct Setup {
    ferret: Ferret,
    dbname: String,
    port: u16,
    url: String,
    dirs: tempfile::TempDir,
    server: ServerProc,
    a: Device,
}

/// A server on a fresh database and an enrolled device `a` with the clinic's provider.
fn setup(name: &str) -> Setup {
    let ferret = Ferret::start();
    let dbname = unique_db(name);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dirs = tempfile::tempdir().unwrap();
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let a = Device::new(&dirs.path().join("a"), &url);
    let p = json!({"id": PROVIDER, "clinic_id": "main", "title": "Dr.", "given_name": "Achieng", "family_name": "Odhiambo",
                   "specializations": ["general practice"], "active": true});
    a.ok(&["admin", "put-provider", &p.to_string()]);
    Setup {
        ferret,
        dbname,
        port,
        url,
        dirs,
        server,
        a,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_merge_interrupted_at_any_step_finishes_when_repeated() {
    let Setup {
        ferret,
        dbname,
        port,
        url,
        dirs,
        server,
        a,
    } = setup("merge_resume");
    let mut server = Some(server);
    let db = mongodb::Client::with_uri_str(ferret.uri()).await.unwrap().database(&dbname);

    for (n, point) in ["merge_after_tombstone", "merge_after_children"].into_iter().enumerate() {
        let add = |given: &str| {
            id(
                &a,
                &["patient", "add", "--given", given, "--family", "Merge", "--dob", "1990-01-01"],
            )
        };
        let keep = add(&format!("Keep{n}"));
        let dup = add(&format!("Dup{n}"));
        let time = format!("0{}:00", 8 + n);
        let (appt, rec) = children(&a, &dup, &time);
        a.ok(&["sync"]);
        server.take().unwrap().kill();

        // The merge dies at `point`.
        let mut crashing = ServerProc::start(port, ferret.uri(), &dbname, &[("ANOLA_FAULT_ABORT_AT", point)]);
        let merge = [
            "admin",
            "merge",
            "--survivor",
            keep.as_str(),
            "--duplicate",
            dup.as_str(),
            "--by",
            "admin",
        ];
        let r = a.run(&merge);
        assert_ne!(r.code, 0, "{point}: the merge failed as the server died: {}", r.json);
        assert!(crashing.wait_exit(Duration::from_secs(10)), "{point}: the server crashed");

        // Repeated on a healthy server: finished. Repeated again: the same note, nothing new.
        server = Some(ServerProc::start(port, ferret.uri(), &dbname, &[]));
        let first = a.ok(&merge);
        let again = a.ok(&merge);
        assert_eq!(first["merged_at"], again["merged_at"], "{point}: one merge note: {first} {again}");

        // A device that never saw the merge happen learns all of it by pulling.
        let b = Device::new(&dirs.path().join(format!("b{n}")), &url);
        for dev in [&a, &b] {
            dev.ok(&["sync"]);
            let ids: Vec<String> = dev
                .ok(&["patient", "list", "--limit", "1000"])
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect();
            assert!(ids.contains(&keep) && !ids.contains(&dup), "{point}: duplicate gone: {ids:?}");
            assert_eq!(dev.ok(&["appointment", "show", &appt])["patient_id"], keep.as_str(), "{point}");
            let records = dev.ok(&["record", "list", "--patient", &keep]);
            assert!(
                records.as_array().unwrap().iter().any(|r| r["id"] == rec.as_str()),
                "{point}: record moved: {records}"
            );
        }
        let stored = db
            .collection::<Document>("medical_records")
            .find_one(doc! {"_id": &rec})
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.get_str("patient_id").unwrap(), keep);
        assert_eq!(stored.get_str("original_patient_id").unwrap(), dup);
        let tombstones = db
            .collection::<Document>("versions")
            .count_documents(doc! {"entity": "patient", "entity_id": &dup, "state.merged_into": {"$exists": true}})
            .await
            .unwrap();
        assert_eq!(tombstones, 1, "{point}: the duplicate was tombstoned once");
    }
}

/// A database from before child links: the server links existing appointments and records in the
/// background at start-up, and a merge finds the children either way.
#[tokio::test(flavor = "multi_thread")]
async fn children_from_before_links_are_linked_and_merged() {
    let Setup {
        ferret,
        dbname,
        port,
        url: _,
        dirs: _dirs,
        server,
        a,
    } = setup("merge_links");
    let add = |given: &str| id(&a, &["patient", "add", "--given", given, "--family", "Old", "--dob", "1990-01-01"]);
    let (keep, dup) = (add("Keep"), add("Dup"));
    let (appt, rec) = children(&a, &dup, "10:00");
    a.ok(&["sync"]);
    server.kill();

    // Forget the links and the migration, as a database written by an older server would be.
    let db = mongodb::Client::with_uri_str(ferret.uri()).await.unwrap().database(&dbname);
    db.collection::<Document>("patient_children").delete_many(doc! {}).await.unwrap();
    db.collection::<Document>("migrations")
        .delete_one(doc! {"_id": "patient_children_v1"})
        .await
        .unwrap();

    let _server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while db
        .collection::<Document>("migrations")
        .find_one(doc! {"_id": "patient_children_v1"})
        .await
        .unwrap()
        .is_none()
    {
        assert!(std::time::Instant::now() < deadline, "the link migration finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let links = db
        .collection::<Document>("patient_children")
        .count_documents(doc! {"_id": {"$regex": format!("^{dup}:")}})
        .await
        .unwrap();
    assert_eq!(links, 2, "the duplicate's appointment and record are linked");
    a.ok(&["admin", "merge", "--survivor", &keep, "--duplicate", &dup, "--by", "admin"]);
    a.ok(&["sync"]);
    assert_eq!(a.ok(&["appointment", "show", &appt])["patient_id"], keep.as_str());
    let records = a.ok(&["record", "list", "--patient", &keep]);
    assert!(records.as_array().unwrap().iter().any(|r| r["id"] == rec.as_str()), "{records}");
}
