//! The foundation scenario: offline registration on device A, sync through the real server into
//! FerretDB, device B receives and edits, A pulls the edit; duplicated and replayed pushes change
//! nothing; a server that crashes in the middle of a push loses and doubles nothing.

use anola_e2e::ferret::Ferret;
use anola_e2e::procs::{Device, ServerProc};
use anola_e2e::{free_port, unique_db};
use mongodb::bson::{doc, Document};
use std::collections::HashMap;
use std::time::Duration;

fn name_of(p: &serde_json::Value) -> String {
    format!(
        "{} {}",
        p["given_name"].as_str().unwrap_or(""),
        p["family_name"].as_str().unwrap_or("")
    )
}

async fn count(db: &mongodb::Database, coll: &str) -> u64 {
    db.collection::<Document>(coll).count_documents(doc! {}).await.expect("count")
}

/// Every mutation id appears in at most one patient version: nothing was applied twice.
async fn assert_no_double_apply(db: &mongodb::Database) {
    use futures::StreamExt;
    let mut cur = db.collection::<Document>("versions").find(doc! {}).await.expect("find");
    let mut seen: HashMap<String, u32> = HashMap::new();
    while let Some(d) = cur.next().await {
        let d = d.expect("doc");
        for m in d.get_array("mutation_ids").map(|a| a.to_vec()).unwrap_or_default() {
            if let Some(m) = m.as_str() {
                *seen.entry(m.to_owned()).or_default() += 1;
            }
        }
    }
    let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "mutations applied more than once: {doubled:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_registration_reaches_mongodb_and_another_device() {
    let ferret = Ferret::start();
    let dbname = unique_db("roundtrip");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dirs = tempfile::tempdir().unwrap();
    // Enrolment needs the server once; everything after starts with it down.
    let enrolling = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let a = Device::new(&dirs.path().join("a"), &url);
    let b = Device::new(&dirs.path().join("b"), &url);
    enrolling.kill();

    // 1. Server down: A registers three patients; they are saved locally and queued.
    let people = [
        ("Amina", "Okafor", "1988-04-12"),
        ("Juma", "Otieno", "1975-01-02"),
        ("Wanjiru", "Kamau", "2001-09-30"),
    ];
    let mut ids = Vec::new();
    for (g, f, d) in people {
        let p = a.ok(&[
            "patient",
            "add",
            "--given",
            g,
            "--family",
            f,
            "--dob",
            d,
            "--phone",
            "+254 700 000 111",
        ]);
        assert_eq!(p["pending"], true);
        ids.push(p["id"].as_str().unwrap().to_owned());
    }
    let offline = a.run(&["sync"]);
    assert_eq!(offline.code, 3, "sync with the server down exits 3 (offline): {}", offline.json);
    let st = a.ok(&["status"]);
    assert_eq!(st["pending"], 3);
    assert_eq!(st["online"], false);
    assert!(st["last_error"].as_str().is_some());

    // 2. Server starts; A syncs.
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let r = a.ok(&["sync"]);
    assert_eq!(r["report"]["pushed"], 3);
    assert_eq!(r["status"]["pending"], 0);

    // 3. B syncs and has them.
    let r = b.ok(&["sync"]);
    // Three patients, and the staff accounts the devices signed in with (protocol v2 announces them).
    let pulled = r["report"]["pulled"].as_u64().unwrap();
    assert!((3..=6).contains(&pulled), "{pulled} records pulled");
    let listed = b.ok(&["patient", "list"]);
    let mut names: Vec<String> = listed.as_array().unwrap().iter().map(name_of).collect();
    names.sort();
    assert_eq!(names, vec!["Amina Okafor", "Juma Otieno", "Wanjiru Kamau"]);

    // 4. B edits one; A pulls the edit.
    b.ok(&[
        "patient",
        "edit",
        &ids[0],
        "--phone",
        "+254 711 222 333",
        "--email",
        "amina@example.org",
    ]);
    b.ok(&["sync"]);
    a.ok(&["sync"]);
    let shown = a.ok(&["patient", "show", &ids[0]]);
    assert_eq!(shown["phone"], "+254 711 222 333");
    assert_eq!(shown["email"], "amina@example.org");
    assert_eq!(shown["pending"], false);

    // 5. The documents are in MongoDB, readable with the driver.
    let client = ferret.client().await;
    let db = client.database(&dbname);
    assert_eq!(count(&db, "patients").await, 3);
    let amina = db
        .collection::<Document>("patients")
        .find_one(doc! {"_id": &ids[0]})
        .await
        .unwrap()
        .expect("Amina in MongoDB");
    assert_eq!(amina.get_str("given_name").unwrap(), "Amina");
    assert_eq!(amina.get_str("phone").unwrap(), "+254 711 222 333");
    assert_eq!(amina.get_str("email").unwrap(), "amina@example.org");
    assert_eq!(count(&db, "mutations").await, 4);
    assert_no_double_apply(&db).await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_and_replayed_pushes_change_nothing() {
    use anola_protocol::*;
    let ferret = Ferret::start();
    let dbname = unique_db("replay");
    let server = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let http = reqwest::Client::new();
    let patient = uuid::Uuid::now_v7();
    let fields = serde_json::json!({"given_name": "Zawadi", "family_name": "Mwangi", "date_of_birth": "1990-02-03", "clinic_id": "main"});
    let dev = anola_e2e::accounts::raw_device(&server.url(), "main", Role::Clinician, Role::Clinician, None).await;
    let req = PushRequest {
        protocol_version: PROTOCOL_VERSION,
        device_id: dev.device_id.clone(),
        clinic_id: "main".into(),
        mutations: vec![dev.signed(Mutation {
            id: uuid::Uuid::now_v7(),
            entity: EntityKind::Patient,
            entity_id: patient,
            op: wire::Op::Create,
            hlc: Hlc::new(1_800_000_000_000, 0, "replaytest"),
            fields,
            base: Default::default(),
            author: Some(dev.user_id),
            signature: None,
        })],
        audit: Vec::new(),
    };
    let push = |body: PushRequest| {
        let http = http.clone();
        let url = format!("{}/sync/push", server.url());
        let dev = dev.clone();
        async move {
            let text = dev.sign(http.post(url)).json(&body).send().await.unwrap().text().await.unwrap();
            serde_json::from_str::<PushResponse>(&text)
                .unwrap_or_else(|e| panic!("{e}: {text} for {}", serde_json::to_string(&body).unwrap()))
        }
    };
    let client = ferret.client().await;
    let db = client.database(&dbname);

    let first = push(req.clone()).await;
    assert_eq!(first.results[0].status, MutationStatus::Applied);
    let snapshot = (
        count(&db, "versions").await,
        anola_e2e::log_entries(&db).await,
        count(&db, "mutations").await,
    );
    assert!(snapshot.1 > 0, "the change log is where this test counts it");

    // The same request twice at the same time (a duplicated packet), then once more.
    let (d1, d2) = tokio::join!(push(req.clone()), push(req.clone()));
    for r in [d1, d2, push(req.clone()).await] {
        assert_eq!(r.results[0].status, MutationStatus::AlreadyApplied);
    }
    assert_eq!(
        (
            count(&db, "versions").await,
            anola_e2e::log_entries(&db).await,
            count(&db, "mutations").await
        ),
        snapshot
    );

    // Other writes happen; then the old request is replayed: still nothing.
    let mut later = req.clone();
    later.mutations[0].id = uuid::Uuid::now_v7();
    later.mutations[0].op = wire::Op::Update;
    later.mutations[0].hlc = Hlc::new(1_800_000_000_500, 0, "replaytest");
    later.mutations[0].fields = serde_json::json!({"phone": "0700111222"});
    dev.sign_mutation(&mut later.mutations[0]);
    assert_eq!(push(later).await.results[0].status, MutationStatus::Applied);
    let snapshot = (count(&db, "versions").await, anola_e2e::log_entries(&db).await);
    assert_eq!(push(req.clone()).await.results[0].status, MutationStatus::AlreadyApplied);
    assert_eq!((count(&db, "versions").await, anola_e2e::log_entries(&db).await), snapshot);
    let doc = db
        .collection::<Document>("patients")
        .find_one(doc! {"_id": patient.to_string()})
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        doc.get_str("phone").unwrap(),
        "0700111222",
        "the replay did not roll the patient back"
    );

    // The same id with different content is refused, not applied.
    let mut reused = req.clone();
    reused.mutations[0].fields =
        serde_json::json!({"given_name": "Impostor", "family_name": "Mwangi", "date_of_birth": "1990-02-03", "clinic_id": "main"});
    dev.sign_mutation(&mut reused.mutations[0]);
    let r = push(reused).await;
    assert_eq!(r.results[0].status, MutationStatus::Rejected);
    assert_eq!(r.results[0].code.as_deref(), Some("mutation_id_reused"));
    assert_no_double_apply(&db).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_killed_mid_push_loses_and_doubles_nothing() {
    let ferret = Ferret::start();
    let dbname = unique_db("crash");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let dirs = tempfile::tempdir().unwrap();
    // Enrolment needs the server once; everything after starts with it down.
    let enrolling = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let a = Device::new(&dirs.path().join("a"), &url);
    let b = Device::new(&dirs.path().join("b"), &url);
    enrolling.kill();
    let client = ferret.client().await;
    let db = client.database(&dbname);

    // The server dies (abort: no response, no clean-up) after each step of a push in turn.
    let per_round = 6;
    let mut total = 0;
    for point in ["after_gate", "after_versions", "after_log", "after_views"] {
        for i in 0..per_round {
            a.ok(&[
                "patient",
                "add",
                "--given",
                &format!("{point}{i}"),
                "--family",
                "Crashtest",
                "--dob",
                "1999-05-05",
            ]);
        }
        // An edit of an already-synced patient rides along, so the crash also hits an update.
        if total > 0 {
            let first = a.ok(&["patient", "list", "--limit", "1000"]).as_array().unwrap().last().unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned();
            a.ok(&["patient", "edit", &first, "--phone", &format!("0700{total:06}")]);
        }
        total += per_round;
        let mut crashing = ServerProc::start(port, ferret.uri(), &dbname, &[("ANOLA_FAULT_ABORT_AT", point)]);
        let r = a.run(&["sync"]);
        assert_eq!(r.code, 3, "{point}: the push failed as the server died: {}", r.json);
        assert!(
            crashing.wait_exit(Duration::from_secs(10)),
            "{point}: the fault-injected server exited"
        );
        assert!(
            a.ok(&["status"])["pending"].as_u64().unwrap() >= per_round as u64,
            "{point}: nothing left the outbox without an answer"
        );

        // Restart and retry: everything arrives exactly once.
        let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
        let r = a.ok(&["sync"]);
        assert_eq!(r["status"]["pending"], 0, "{point}");
        assert_eq!(count(&db, "patients").await, total as u64, "{point}");
        assert_no_double_apply(&db).await;
        b.ok(&["sync"]);
        assert_eq!(
            b.ok(&["patient", "list", "--limit", "1000"]).as_array().unwrap().len(),
            total,
            "{point}: device B sees every patient"
        );
        server.kill();
    }
    let results = count(&db, "mutation_results").await;
    assert_eq!(results, count(&db, "mutations").await, "every accepted mutation finished");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_servers_never_skip_a_change() {
    let ferret = Ferret::start();
    let dbname = unique_db("concurrent");
    // Two server processes on one database: their change-log appends race.
    let s1 = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let s2 = ServerProc::start(free_port(), ferret.uri(), &dbname, &[]);
    let dirs = tempfile::tempdir().unwrap();
    // Every write is its own push, so the log's entries outnumber a bucket (64) and the two
    // processes race to create the next bucket collections too.
    let writers = 4;
    let per_writer = 20;
    let reader = Device::new(&dirs.path().join("reader"), &s2.url());

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader_thread = {
        let done = done.clone();
        let reader = Device::new(&reader.dir, &reader.server);
        std::thread::spawn(move || {
            // Pull over and over while the writers push: every cursor handed out mid-race must
            // still lead to every change.
            let mut rounds = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                reader.ok(&["sync"]);
                rounds += 1;
            }
            rounds
        })
    };
    let handles: Vec<_> = (0..writers)
        .map(|w| {
            let dir = dirs.path().join(format!("w{w}"));
            let url = if w % 2 == 0 { s1.url() } else { s2.url() };
            std::thread::spawn(move || {
                let d = Device::new(&dir, &url);
                for i in 0..per_writer {
                    d.ok(&[
                        "patient",
                        "add",
                        "--given",
                        &format!("W{w}P{i}"),
                        "--family",
                        "Race",
                        "--dob",
                        "1980-01-01",
                    ]);
                    d.ok(&["sync"]);
                }
                d.ok(&["sync"]);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer thread");
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let rounds = reader_thread.join().expect("reader thread");
    reader.ok(&["sync"]);
    let listed = reader.ok(&["patient", "list", "--limit", "1000"]);
    assert_eq!(
        listed.as_array().unwrap().len(),
        writers * per_writer,
        "the reader missed changes after {rounds} racing pulls"
    );
    let client = ferret.client().await;
    let db = client.database(&dbname);
    let buckets = db
        .list_collection_names()
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.starts_with("changes_main_"))
        .count();
    assert!(buckets >= 2, "the race crossed into a new bucket ({buckets} bucket collections)");
    assert_no_double_apply(&db).await;
}
