//! The device side of access control against the real server: a stolen replica file is unreadable
//! (`sqlite3` cannot open it), a revoked device erases its replica at its next contact, audit
//! entries written offline arrive on the server and show in the patient's access history, and an
//! account disabled on the server loses offline access at the device's next sync.

use anola_e2e::accounts::{admin_token, STAFF_PASSWORD};
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{free_port, unique_db};
use anola_protocol::{PatientFields, Role};
use serde_json::json;
use std::path::Path;

fn patient(given: &str) -> PatientFields {
    serde_json::from_value(json!({"given_name": given, "family_name": "Securitas", "date_of_birth": "1979-03-04"})).unwrap()
}

fn replica_files(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(".sqlite3")))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_replica_is_unreadable_and_a_revoked_device_erases_it() {
    let ferret = Ferret::start();
    let server = ServerProc::start(free_port(), ferret.uri(), &unique_db("devsec"), &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let dir = dirs.path().join("laptop");
    let (ws, clinic) = enrolled(&dir, &url, "main", Role::Clinician, None).await;
    clinic.register_patient(patient("Zebedayo")).unwrap();
    clinic.sync_now().await.unwrap();

    // The copied file: no patient name in its bytes, and neither SQLite nor the sqlite3 command
    // can read it without the key.
    let files = replica_files(&dir);
    assert!(!files.is_empty(), "no replica file in {}", dir.display());
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        assert!(
            !bytes.windows(8).any(|w| w == b"Zebedayo"),
            "{} holds patient data in clear",
            f.display()
        );
    }
    let main_file = files.iter().find(|f| f.extension().is_some_and(|e| e == "sqlite3")).unwrap();
    let plain = rusqlite::Connection::open(main_file).unwrap();
    assert!(plain
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .is_err());
    if let Ok(out) = std::process::Command::new("sqlite3").arg(main_file).arg(".tables").output() {
        assert!(
            !out.status.success() || String::from_utf8_lossy(&out.stderr).contains("not a database"),
            "sqlite3 read the replica: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // Revoked by an administrator: at its next contact the device erases its replica and says why.
    let device_id = ws.state().device.expect("enrolled").device_id;
    let token = admin_token(&url).await;
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/devices/{device_id}/revoke"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let err = clinic.sync_now().await.unwrap_err();
    assert_eq!(err.code(), "device_revoked", "{err}");
    assert!(
        replica_files(&dir).is_empty(),
        "the replica survived the revocation: {:?}",
        replica_files(&dir)
    );
    let state = ws.state();
    assert!(!state.enrolled, "still enrolled after a wipe");
    assert!(state.notice.as_deref().is_some_and(|n| n.contains("revoked")), "{:?}", state.notice);
    assert!(ws.clinic().is_err(), "data still reachable after the wipe");
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_audit_entries_reach_the_server_and_disabled_staff_lose_offline_access() {
    let ferret = Ferret::start();
    let port = free_port();
    let dbname = unique_db("audit");
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let dir = dirs.path().join("chw");
    let (ws, clinic) = enrolled(&dir, &url, "main", Role::Clinician, None).await;
    let user_id = ws.state().user.expect("signed in").id;
    let p = clinic.register_patient(patient("Audited")).unwrap();
    clinic.sync_now().await.unwrap();

    // Offline: the chart and its records are viewed and a record written.
    server.kill();
    clinic.get_patient(p.id).unwrap();
    clinic.list_records(p.id).unwrap();
    let record: anola_protocol::RecordFields =
        serde_json::from_value(json!({"patient_id": p.id, "author": "CHW", "consultation_notes": "home visit"})).unwrap();
    clinic.add_record(record).expect("a record written offline");
    assert!(clinic.sync_now().await.is_err(), "the server is down");

    // Back online: the entries ride on the next push and show in the access history.
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    clinic.sync_now().await.expect("sync after the server came back");
    let token = admin_token(&url).await;
    let history = anola_e2e::accounts::get_json(&format!("{url}/admin/patients/{}/access?clinic_id=main", p.id), &token).await;
    let entries = history["entries"].as_array().unwrap_or_else(|| panic!("{history}"));
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    for want in ["write", "view_patient", "view_record"] {
        assert!(actions.contains(&want), "no {want} in the access history: {history}");
    }
    assert!(entries.iter().all(|e| e["user_id"] == json!(user_id)), "{history}");
    assert!(
        entries
            .iter()
            .all(|e| e["device_id"].as_str().is_some_and(|d| d.starts_with("dev_"))),
        "{history}"
    );

    // Disabled on the server: the next sync removes the account from the device, and with the
    // server gone again the password no longer opens it.
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/users/{user_id}/disable"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let err = clinic.sync_now().await.unwrap_err();
    assert_eq!(err.code(), "account_disabled", "{err}");
    server.kill();
    let username = std::fs::read_to_string(dir.join("harness-user")).unwrap();
    let refused = ws.sign_in(&username, STAFF_PASSWORD, None).await.unwrap_err();
    assert!(
        ["invalid_credentials", "account_disabled", "signed_out"].contains(&refused.code()),
        "a disabled account still unlocks offline: {refused}"
    );
    assert!(
        ws.state().known_users.iter().all(|u| u.user_id != user_id),
        "still offered on the sign-in screen"
    );
}
