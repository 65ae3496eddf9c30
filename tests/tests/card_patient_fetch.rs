//! A genuine card of a patient the device does not hold yet: an online device fetches that one
//! patient from the server on demand (no sync round: other new patients stay on the server until
//! the next pull, which then merges the fetched one again without duplicating it); a device of
//! another clinic is told the patient is not registered there; offline, the device says to sync.

use anola_client::ClientError;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{free_port, unique_db};
use anola_protocol::{PatientFields, Role};
use serde_json::json;

fn patient(given: &str) -> PatientFields {
    serde_json::from_value(json!({"given_name": given, "family_name": "Banda", "date_of_birth": "1990-10-10"})).unwrap()
}

fn rejected(e: ClientError) -> (String, String) {
    match e {
        ClientError::CardRejected { reason, message } => (reason, message),
        other => panic!("expected a card refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_card_patient_is_fetched_on_demand() {
    let ferret = Ferret::start();
    let port = free_port();
    let dbname = unique_db("fetch");
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let (_wa, a) = enrolled(&dirs.path().join("a"), &url, "main", Role::FrontDesk, None).await;
    let (_wb, b) = enrolled(&dirs.path().join("b"), &url, "main", Role::FrontDesk, None).await;
    let (_wc, c) = enrolled(&dirs.path().join("c"), &url, "north", Role::FrontDesk, None).await;
    // B and C download the card keys before the patient exists.
    b.sync_now().await.unwrap();
    c.sync_now().await.unwrap();

    let chikondi = a.register_patient(patient("Chikondi")).unwrap();
    a.sync_now().await.unwrap();
    let card = a.issue_card(chikondi.id).await.unwrap();
    let other = a.register_patient(patient("Tiwonge")).unwrap();
    a.sync_now().await.unwrap();

    // B is online but has not synced since: the card's patient is fetched, nothing else.
    let seen = b.verify_card(&card.qr_text).await.expect("fetched on demand");
    assert_eq!(seen.patient.id, chikondi.id);
    assert_eq!(b.get_patient(chikondi.id).unwrap().given_name.as_deref(), Some("Chikondi"));
    assert!(b.get_patient(other.id).is_err(), "a fetch is not a sync round");
    // The next pull brings both; the fetched patient is merged again, not duplicated.
    b.sync_now().await.unwrap();
    let all = b.list_patients("Banda", 50).unwrap();
    assert_eq!(all.iter().filter(|p| p.id == chikondi.id).count(), 1);
    assert!(all.iter().any(|p| p.id == other.id));
    assert_eq!(b.status().unwrap().pending, 0);

    // Another clinic's device: the card is genuine, the patient is not registered there.
    let (reason, message) = rejected(c.verify_card(&card.qr_text).await.unwrap_err());
    assert_eq!(reason, "other_clinic");
    assert!(message.contains("not registered at this clinic"), "{message}");
    assert!(c.get_patient(chikondi.id).is_err(), "nothing of another clinic reaches the device");

    // Offline: the device cannot fetch and says to sync.
    let late = a.register_patient(patient("Mphatso")).unwrap();
    a.sync_now().await.unwrap();
    let late_card = a.issue_card(late.id).await.unwrap();
    server.kill();
    let (reason, message) = rejected(b.verify_card(&late_card.qr_text).await.unwrap_err());
    assert_eq!(reason, "unknown_patient");
    assert!(message.contains("sync"), "{message}");
}
