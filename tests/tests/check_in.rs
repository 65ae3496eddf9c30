//! Card check-in against the real server: cards are issued online, then with the server down a
//! patient checks in by scanning their QR (today's appointment → checked in, queue 1), another by
//! typing the fallback code (walk-in, queue 2), a revoked card is refused, kiosk mode allows only
//! check-in; when the server is back the check-ins sync and another device sees them.

use anola_client::sync::admin::AdminClient;
use anola_e2e::accounts::admin_token;
use anola_e2e::ferret::Ferret;
use anola_e2e::procs::ServerProc;
use anola_e2e::workstations::enrolled;
use anola_e2e::{free_port, unique_db};
use anola_protocol::{AppointmentFields, AppointmentStatus, PatientFields, Provider, Role};
use serde_json::json;

fn patient(given: &str) -> PatientFields {
    serde_json::from_value(json!({"given_name": given, "family_name": "Kadi", "date_of_birth": "1984-05-06"})).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_offline_card_check_in_reaches_the_server() {
    let ferret = Ferret::start();
    let port = free_port();
    let dbname = unique_db("checkin");
    let server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    let url = server.url();
    let dirs = tempfile::tempdir().unwrap();
    let (ws, clinic) = enrolled(&dirs.path().join("desk"), &url, "main", Role::FrontDesk, None).await;

    let token = admin_token(&url).await;
    let provider: Provider = serde_json::from_value(json!({
        "id": "22222222-2222-4222-8222-222222222222", "clinic_id": "main", "title": "Dr.",
        "given_name": "Achieng", "family_name": "Odhiambo", "active": true}))
    .unwrap();
    AdminClient::with_token(&url, "main", &token)
        .put_provider(&provider)
        .await
        .expect("put provider");

    let amina = clinic.register_patient(patient("Amina")).unwrap();
    let baraka = clinic.register_patient(patient("Baraka")).unwrap();
    let chidi = clinic.register_patient(patient("Chidi")).unwrap();
    clinic.sync_now().await.expect("first sync");
    assert!(clinic.cards_fetched_at().unwrap().is_some(), "the round refreshed the card cache");

    let a_card = clinic.issue_card(amina.id).await.expect("issue a card");
    assert!(a_card.qr_text.starts_with("shc:/") && a_card.svg.contains(r#"width="85.6mm""#));
    assert_eq!(
        clinic.get_patient(amina.id).unwrap().health_card_id.as_deref(),
        Some(a_card.card_id.as_str())
    );
    let b_card = clinic.issue_card(baraka.id).await.unwrap();
    let c_card = clinic.issue_card(chidi.id).await.unwrap();
    let booked: AppointmentFields = serde_json::from_value(json!({
        "patient_id": amina.id, "provider_id": provider.id, "date": clinic.local_today(), "start_time": "00:00",
        "duration_minutes": 15, "appointment_type": "consultation", "mode": "in_person", "status": "scheduled"}))
    .unwrap();
    let appt = clinic.book_appointment(booked).unwrap();
    // Chidi's card is reported lost.
    let r = reqwest::Client::new()
        .post(format!("{url}/admin/cards/{}/revoke", c_card.card_id))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    clinic.sync_now().await.expect("sync before going offline");

    // The server goes away: everything below is offline.
    server.kill();
    let first = clinic
        .check_in(&format!("{}\n", a_card.qr_text))
        .await
        .expect("offline check-in by QR");
    assert_eq!(
        (first.queue_number, first.appointment_id, first.walk_in, first.initials.as_str()),
        (1, appt.id, false, "A. K.")
    );
    assert_eq!(clinic.get_appointment(appt.id).unwrap().status, Some(AppointmentStatus::CheckedIn));
    let walk = clinic
        .check_in(&b_card.fallback_code)
        .await
        .expect("offline check-in by fallback code");
    assert!(walk.walk_in);
    assert_eq!(walk.queue_number, 2);
    let refused = clinic.verify_card(&c_card.qr_text).await.unwrap_err();
    let json = serde_json::to_value(&refused).unwrap();
    assert_eq!(
        (json["code"].as_str(), json["reason"].as_str()),
        (Some("card_rejected"), Some("revoked")),
        "{json}"
    );
    // The card printed again from the cache, offline.
    let reprint = clinic.card_svg(amina.id, None).unwrap();
    assert_eq!(reprint.card_id, a_card.card_id);

    // Kiosk mode: check-in only, left with the staff PIN.
    assert_eq!(ws.enter_kiosk().unwrap_err().code(), "pin_required");
    ws.set_pin("2468").unwrap();
    assert!(ws.enter_kiosk().unwrap().kiosk);
    let kiosk = ws.clinic().unwrap();
    assert_eq!(kiosk.list_patients("", 10).unwrap_err().code(), "forbidden");
    let again = kiosk.check_in(&a_card.qr_text).await.unwrap();
    assert_eq!((again.queue_number, again.already_checked_in), (1, true));
    assert_eq!(ws.leave_kiosk("1111").unwrap_err().code(), "invalid_credentials");
    assert!(!ws.leave_kiosk("2468").unwrap().kiosk);
    assert!(clinic.list_patients("", 10).is_ok());

    // The server is back: the check-ins sync and another device sees them.
    let _server = ServerProc::start(port, ferret.uri(), &dbname, &[]);
    clinic.sync_now().await.expect("sync after the server came back");
    assert_eq!(clinic.status().unwrap().pending, 0);
    let (_ws2, other) = enrolled(&dirs.path().join("second"), &url, "main", Role::FrontDesk, None).await;
    other.sync_now().await.unwrap();
    assert_eq!(other.get_appointment(appt.id).unwrap().status, Some(AppointmentStatus::CheckedIn));
    let w = other.get_appointment(walk.appointment_id).expect("the walk-in reached the server");
    assert_eq!(
        (w.patient_id, w.status, w.provider_id),
        (Some(baraka.id), Some(AppointmentStatus::CheckedIn), Some(provider.id))
    );
    // The second device verifies the cards offline from its own cache.
    let seen = other.verify_card(&b_card.fallback_code).await.unwrap();
    assert_eq!(seen.patient.id, baraka.id);
}
